"""Backup verification: restore a PostgreSQL dump into a throw-away database and compare it.

- `paths` confines dump files to MAINTENANCE_BACKUP_DIR.
- `tools` runs pg_dump / pg_restore with a deadline and the password kept off the command line.
- `databases` opens sessions, creates and drops the scratch database, exports a snapshot.
- `compare` normalizes schema dumps into a diff and counts rows per table.
- `verify` chains the steps for one check; `services` claims, records and schedules checks.
"""
