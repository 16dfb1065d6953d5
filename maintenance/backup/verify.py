"""One backup check from start to finish: dump (or take the given dump), restore, compare.

The steps, each within what is left of the check's deadline:

1. Source side. Without a dump path, a read-only REPEATABLE READ transaction on the source
   exports its snapshot; `pg_dump -Fc` and `pg_dump --schema-only` both run on that snapshot and
   the row counts are taken inside the same transaction, so all three describe one moment even
   on a busy database. With a dump path, the source's schema and counts are taken as they are
   now (a dump from last night is compared with today's database).
2. A scratch database `opsportal_verify_<id>_<random>` is created (on the scratch server, by
   default the source's own) and the dump restored into it with
   `pg_restore --clean --if-exists --no-acl --no-owner`.
3. Its schema and row counts are compared with the source's.
4. The scratch database is dropped whatever happened, with a time budget of its own (a check
   that ran out of time must still clean up).

Every failure to carry out a step is a BackupToolError and becomes an `error` outcome; a
restore that completes but differs is a `failed` outcome with the diff and the counts.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.conf import settings

from diagnostics.probes.base import ProbeConfigError, secret_from_env
from diagnostics.redaction import clip, redact

from ..models import BackupState
from . import tools
from .compare import CountComparison, compare_counts, schema_diff, table_row_counts
from .databases import create_database, drop_database, exported_snapshot, session
from .tools import BackupToolError, Deadline, Endpoint

logger = logging.getLogger(__name__)

DROP_BUDGET_S = 60  # for dropping the scratch database, outside the check's own deadline
NAMED_MISMATCHES = 3  # tables named in the summary; the page shows them all


@dataclass(frozen=True)
class Outcome:
    state: str
    summary: str
    schema_diff: str = ""
    row_counts: dict = field(default_factory=dict)
    error: str = ""

    @classmethod
    def failure(cls, message: str) -> Outcome:
        return cls(state=BackupState.ERROR, summary=clip(message, 500), error=message)


@dataclass(frozen=True)
class SourceSide:
    schema: str
    counts: dict[str, int]


def source_endpoint(target) -> Endpoint:
    config = target.config or {}
    try:
        dsn = secret_from_env(config, "dsn_env")
    except ProbeConfigError as exc:
        raise BackupToolError(str(exc)) from None
    return Endpoint.from_dsn(
        dsn,
        what=f"source ({config['dsn_env']})",
        connect_timeout_s=config.get("connect_timeout_s", 5),
    )


def scratch_server_endpoint(source: Endpoint) -> Endpoint:
    url = settings.MAINTENANCE_BACKUP_SCRATCH_URL
    if not url:
        return source
    return Endpoint.from_dsn(
        url,
        what="scratch server (MAINTENANCE_BACKUP_SCRATCH_URL)",
        connect_timeout_s=int(source.params.get("connect_timeout", 5)),
    )


def verify_backup(
    *, target, scratch_name: str, dump_path: Path | None, timeout_s: float
) -> Outcome:
    """Run the whole check; never leaves the scratch database behind without saying so."""
    deadline = Deadline(timeout_s)
    scratch_server = None
    created = False
    try:
        source = source_endpoint(target)
        scratch_server = scratch_server_endpoint(source)
        with tempfile.TemporaryDirectory(prefix="opsportal-backup-") as workdir:
            if dump_path is None:
                dump_path = Path(workdir) / "source.dump"
                source_side = _dump_source(source, dump_path, deadline)
            else:
                source_side = _read_source(source, deadline)
            created = True  # from here on the database may exist, even if CREATE fails midway
            create_database(scratch_server, scratch_name, deadline=deadline)
            outcome = _restore_and_compare(
                scratch_server.with_database(scratch_name), dump_path, source_side, deadline
            )
    except BackupToolError as exc:
        outcome = Outcome.failure(str(exc))
    finally:
        leftover = _drop(scratch_server, scratch_name) if created else ""
    if leftover:
        outcome = replace(outcome, error="\n".join(filter(None, [outcome.error, leftover])))
    return outcome


def _dump_source(source: Endpoint, dump_path: Path, deadline: Deadline) -> SourceSide:
    with exported_snapshot(source, deadline=deadline) as (connection, snapshot):
        tools.dump_custom(source, dump_path, deadline=deadline, snapshot=snapshot)
        schema = tools.dump_schema(source, deadline=deadline, snapshot=snapshot)
        counts = table_row_counts(connection, deadline=deadline, where=source.describe())
    return SourceSide(schema, counts)


def _read_source(source: Endpoint, deadline: Deadline) -> SourceSide:
    schema = tools.dump_schema(source, deadline=deadline)
    with session(source, deadline=deadline) as connection:
        counts = table_row_counts(connection, deadline=deadline, where=source.describe())
    return SourceSide(schema, counts)


def _restore_and_compare(
    restored: Endpoint, dump_path: Path, source: SourceSide, deadline: Deadline
) -> Outcome:
    complaints = tools.restore(restored, dump_path, deadline=deadline)
    restored_schema = tools.dump_schema(restored, deadline=deadline)
    with session(restored, deadline=deadline) as connection:
        restored_counts = table_row_counts(connection, deadline=deadline, where="the restored copy")
    diff = schema_diff(source.schema, restored_schema)
    counts = compare_counts(source.counts, restored_counts)
    problems = _problems(diff, counts, complaints)
    if problems:
        summary = "; ".join(problems)
        state = BackupState.FAILED
    else:
        summary = (
            f"Schema and row counts match: {len(counts.rows)} tables, {counts.source_total} rows."
        )
        state = BackupState.PASSED
    error = f"pg_restore reported errors:\n{clip(redact(complaints))}" if complaints else ""
    return Outcome(
        state=state,
        summary=clip(summary, 500),
        schema_diff=diff,
        row_counts=counts.rows,
        error=error,
    )


def _problems(diff: str, counts: CountComparison, complaints: str) -> list[str]:
    problems = []
    if diff:
        changed = sum(
            1
            for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        )
        problems.append(f"Schema differs ({changed} lines)")
    if counts.mismatched:
        named = ", ".join(
            f"{table} {_count(counts.rows[table]['source'])} → "
            f"{_count(counts.rows[table]['restored'])}"
            for table in counts.mismatched[:NAMED_MISMATCHES]
        )
        more = len(counts.mismatched) - NAMED_MISMATCHES
        suffix = f" and {more} more" if more > 0 else ""
        tables = "table" if len(counts.mismatched) == 1 else "tables"
        problems.append(
            f"Row counts differ in {len(counts.mismatched)} {tables} "
            f"(source → restored: {named}{suffix})"
        )
    if complaints:
        problems.append("pg_restore reported errors")
    return problems


def _count(value: int | None) -> str:
    return "missing" if value is None else str(value)


def _drop(server: Endpoint | None, name: str) -> str:
    """Drop the scratch database; return what went wrong (for the check's record) or ''."""
    if server is None:
        return ""
    try:
        drop_database(server, name, deadline=Deadline(DROP_BUDGET_S))
    except BackupToolError as exc:
        logger.error("backup check: scratch database %s was not dropped: %s", name, exc)
        return f"The scratch database {name} could not be dropped: {exc}"
    return ""
