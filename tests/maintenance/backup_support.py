"""Helpers of the backup verification tests: a real source database, its dumps, a target.

The source is a scratch database on the test server (tests/diagnostics/peers/pg_scratch.py),
reached the way production reaches a target: through the DSN in the environment variable the
target's config names.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from catalog.models import Target, TargetKind
from catalog.target_configs import validate_target_config
from tests.diagnostics.peers.pg_scratch import ScratchDatabase, admin_connection, scratch_database
from tests.factories import TargetFactory

DSN_ENV = "BACKUP_TEST_SOURCE_DSN"

SOURCE_SCHEMA = (
    "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL)",
    "CREATE TABLE orders (id serial PRIMARY KEY,"
    " customer_id int NOT NULL REFERENCES customers(id), total numeric(10, 2))",
    "CREATE INDEX orders_customer_idx ON orders (customer_id)",
    "CREATE SCHEMA billing",
    "CREATE TABLE billing.invoices (id bigint PRIMARY KEY, paid boolean DEFAULT false)",
    "CREATE VIEW order_totals AS SELECT customer_id, sum(total) AS total FROM orders"
    " GROUP BY customer_id",
    "COMMENT ON TABLE orders IS 'one row per checkout'",
    "GRANT SELECT ON customers TO PUBLIC",
    "INSERT INTO customers (name) SELECT 'customer ' || n FROM generate_series(1, 30) AS n",
    "INSERT INTO orders (customer_id, total) SELECT 1 + n % 30, n FROM generate_series(1, 120) n",
    "INSERT INTO billing.invoices (id) SELECT n FROM generate_series(1, 7) AS n",
)
SOURCE_COUNTS = {"billing.invoices": 7, "public.customers": 30, "public.orders": 120}


@contextmanager
def source_database(monkeypatch) -> Iterator[ScratchDatabase]:
    """A database with three tables and rows, its DSN in DSN_ENV; dropped afterwards."""
    with scratch_database("backup_source") as database:
        database.execute(*SOURCE_SCHEMA)
        monkeypatch.setenv(DSN_ENV, database.dsn)
        yield database


def postgres_target(name: str = "orders-db", **config) -> Target:
    config = validate_target_config(TargetKind.POSTGRES, {"dsn_env": DSN_ENV, **config})
    return TargetFactory(name=name, kind=TargetKind.POSTGRES, config=config)


def take_dump(database: ScratchDatabase, path: Path) -> Path:
    """A custom-format dump, as a nightly backup job would write it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pg_dump", "--format=custom", f"--file={path}", f"--dbname={database.dsn}"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


def database_exists(name: str) -> bool:
    with admin_connection() as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()


def verify_databases_left() -> set[str]:
    with admin_connection() as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'opsportal\\_verify\\_%'"
        ).fetchall()
    return {row[0] for row in rows}
