"""Compare a source database with its restored copy: schema diff and exact row counts.

Schemas are compared as `pg_dump --schema-only` text. pg_dump emits objects in a stable order
(by type, then name), so the two dumps line up without sorting; normalizing only removes what
differs between two dumps of identical schemas: comments (they carry names and versions), SET
lines and the search_path call, blank lines, the `\\restrict <random key>` / `\\unrestrict` lines
newer pg_dump writes, and ownership and privileges, which the restore drops on purpose
(--no-owner --no-acl).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .databases import execute
from .tools import Deadline

MAX_DIFF_CHARS = 100_000  # of a stored diff; a whole-schema mismatch says enough by then

_DROPPED = re.compile(
    r"^(--|SET |SELECT pg_catalog\.set_config\('search_path'|\\restrict |\\unrestrict |"
    r"GRANT |REVOKE |ALTER DEFAULT PRIVILEGES )"
)
_OWNER = re.compile(r"^ALTER .* OWNER TO .*;$")

# Ordinary tables (partitions included) outside the system schemas. Partitioned parents are left
# out: their rows are the partitions' rows, counted there.
USER_TABLES = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
ORDER BY 1, 2
"""


def normalize_schema(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line or _DROPPED.match(line) or _OWNER.match(line):
            continue
        lines.append(line)
    return lines


def schema_diff(source: str, restored: str) -> str:
    """A unified diff from the source's schema to the restored one; empty when they match."""
    diff = "\n".join(
        difflib.unified_diff(
            normalize_schema(source),
            normalize_schema(restored),
            fromfile="source",
            tofile="restored",
            lineterm="",
        )
    )
    if len(diff) > MAX_DIFF_CHARS:
        diff = diff[:MAX_DIFF_CHARS] + "\n… (diff truncated)"
    return diff


def table_row_counts(
    connection: psycopg.Connection, *, deadline: Deadline, where: str
) -> dict[str, int]:
    """Exact `count(*)` of every user table, keyed `schema.table`."""
    counts = {}
    tables = execute(connection, USER_TABLES, deadline=deadline, what=f"listing tables of {where}")
    for schema, table in tables:
        name = f"{schema}.{table}"
        rows = execute(
            connection,
            sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            ),
            deadline=deadline,
            what=f"counting the rows of {name} on {where}",
        )
        counts[name] = rows[0][0]
    return counts


@dataclass(frozen=True)
class CountComparison:
    # {table: {"source": n, "restored": m}}; None where the table is missing on that side.
    rows: dict[str, dict[str, int | None]]
    mismatched: list[str]

    @property
    def source_total(self) -> int:
        return sum(entry["source"] or 0 for entry in self.rows.values())


def compare_counts(source: dict[str, int], restored: dict[str, int]) -> CountComparison:
    rows = {
        table: {"source": source.get(table), "restored": restored.get(table)}
        for table in sorted(source.keys() | restored.keys())
    }
    mismatched = [table for table, entry in rows.items() if entry["source"] != entry["restored"]]
    return CountComparison(rows=rows, mismatched=mismatched)
