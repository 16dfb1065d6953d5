"""The pieces of a backup check that need no database: DSN splitting, schema normalization,
count comparison and dump path confinement."""

from __future__ import annotations

import pytest

from maintenance.backup.compare import compare_counts, normalize_schema, schema_diff
from maintenance.backup.paths import confine_dump_path
from maintenance.backup.tools import BackupToolError, Endpoint
from maintenance.errors import MaintenanceError

PG_DUMP_HEADER = """--
-- PostgreSQL database dump
--

\\restrict XAn3cArDmh2UKMf9Na3GLFzEn3mWtlSiJlF5kBmSDKmZWXA8flNYReOphWcqjzJ

-- Dumped from database version 15.20
SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE TABLE public.items (
    id integer NOT NULL
);


ALTER TABLE public.items OWNER TO app_owner;
GRANT SELECT ON TABLE public.items TO reporting;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner GRANT SELECT ON TABLES TO reporting;

\\unrestrict XAn3cArDmh2UKMf9Na3GLFzEn3mWtlSiJlF5kBmSDKmZWXA8flNYReOphWcqjzJ
"""


def test_password_is_kept_off_the_connection_string_the_tools_get():
    endpoint = Endpoint.from_dsn(
        "postgresql://backup:s3cr3t@db.internal:6432/orders?sslmode=require", what="source"
    )

    assert "s3cr3t" not in endpoint.conninfo()
    assert "sslmode=require" in endpoint.conninfo()
    assert endpoint.tool_env()["PGPASSWORD"] == "s3cr3t"
    assert endpoint.describe() == "db.internal:6432/orders"
    assert "s3cr3t" not in repr(endpoint)


def test_tools_get_a_fresh_environment_without_the_worker_s_pg_variables(monkeypatch):
    monkeypatch.setenv("PGHOST", "somewhere-else")
    monkeypatch.setenv("PGPASSWORD", "the-worker-s-own")

    env = Endpoint.from_dsn("host=db dbname=orders", what="source").tool_env()

    assert set(env) == {"PATH", "HOME", "LC_ALL"}


def test_invalid_dsn_error_does_not_quote_it():
    with pytest.raises(BackupToolError) as raised:
        Endpoint.from_dsn("host=db password=hunter2 =broken", what="source (ORDERS_DSN)")
    assert str(raised.value) == (
        "the source (ORDERS_DSN) DSN is not a valid PostgreSQL connection string"
    )


def test_normalized_schema_keeps_only_what_describes_the_schema():
    assert normalize_schema(PG_DUMP_HEADER) == [
        "CREATE TABLE public.items (",
        "    id integer NOT NULL",
        ");",
    ]


def test_dumps_differing_only_in_restrict_keys_owners_and_grants_have_no_diff():
    other = (
        PG_DUMP_HEADER.replace("XAn3c", "Zq9w")
        .replace("app_owner", "postgres")
        .replace("-- Dumped from database version 15.20", "-- Dumped from database version 16.4")
    )
    assert schema_diff(PG_DUMP_HEADER, other) == ""


def test_count_comparison_names_tables_that_differ_or_exist_on_one_side():
    compared = compare_counts({"public.a": 3, "public.b": 5}, {"public.a": 3, "public.c": 0})

    assert compared.mismatched == ["public.b", "public.c"]
    assert compared.rows["public.c"] == {"source": None, "restored": 0}
    assert compared.source_total == 8


@pytest.fixture
def backups(settings, tmp_path):
    directory = tmp_path / "backups"
    (directory / "nightly").mkdir(parents=True)
    (directory / "nightly" / "orders.dump").write_bytes(b"PGDMP")
    settings.MAINTENANCE_BACKUP_DIR = directory
    return directory.resolve()


def test_relative_absolute_and_linked_paths_inside_the_directory_are_accepted(backups):
    (backups / "latest.dump").symlink_to(backups / "nightly" / "orders.dump")
    expected = backups / "nightly" / "orders.dump"

    assert confine_dump_path("nightly/orders.dump") == expected
    assert confine_dump_path(str(expected)) == expected
    assert confine_dump_path("latest.dump") == expected  # the file the link points to


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("../backups/nightly/orders.dump", "dump_path_invalid"),  # even when it lands inside
        ("nightly/../../etc/passwd", "dump_path_invalid"),
        ("/etc/passwd", "dump_outside_directory"),
        ("/etc/no-such-file", "dump_outside_directory"),  # no probing for files outside
        ("nightly", "dump_not_a_file"),
        ("nightly/missing.dump", "dump_missing"),
        ("night\x00ly", "dump_path_invalid"),
    ],
)
def test_paths_that_leave_the_directory_or_name_no_dump_are_refused(backups, raw, code):
    with pytest.raises(MaintenanceError) as raised:
        confine_dump_path(raw)
    assert raised.value.code == code


def test_schedules_may_name_a_dump_that_does_not_exist_yet(backups):
    path = confine_dump_path("nightly/tomorrow.dump", must_exist=False)
    assert path == backups / "nightly" / "tomorrow.dump"
