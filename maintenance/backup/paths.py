"""Confine dump files to MAINTENANCE_BACKUP_DIR.

A dump path comes from a person (API, page) and ends up as an argument of pg_restore on the
worker, so it must never reach outside the directory backups are written to: `..` is refused
outright, symlinks are resolved before the containment check (a link inside the directory that
points elsewhere is refused too), and existence is checked only after containment, so the
answer never tells whether a file outside the directory exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from ..errors import MaintenanceError


def dump_directory() -> Path:
    configured = Path(settings.MAINTENANCE_BACKUP_DIR)
    if not configured.is_absolute():
        configured = Path(settings.BASE_DIR) / configured
    return configured.resolve()


def confine_dump_path(raw: str, *, must_exist: bool = True) -> Path:
    """The resolved path of a dump inside the dump directory, or a MaintenanceError.

    `must_exist=False` (schedules): the file may be written later, by tonight's backup job.
    """
    if "\x00" in raw:
        raise MaintenanceError("The dump path is not a valid path.", code="dump_path_invalid")
    candidate = Path(raw.strip())
    if ".." in candidate.parts:
        raise MaintenanceError("The dump path must not contain '..'.", code="dump_path_invalid")
    base = dump_directory()
    resolved = (base / candidate).resolve()  # an absolute `candidate` replaces `base`
    if not resolved.is_relative_to(base):
        raise MaintenanceError(
            f"Dumps are read only from {base} (MAINTENANCE_BACKUP_DIR); {raw} is outside it.",
            code="dump_outside_directory",
        )
    if not must_exist:
        return resolved
    if not resolved.exists():
        raise MaintenanceError(f"There is no dump at {raw}.", code="dump_missing")
    if not resolved.is_file():
        raise MaintenanceError(f"{raw} is not a file.", code="dump_not_a_file")
    if not os.access(resolved, os.R_OK):
        raise MaintenanceError(f"{raw} is not readable by the portal.", code="dump_unreadable")
    return resolved
