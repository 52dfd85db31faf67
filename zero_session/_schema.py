"""Connection set-up, file identity checks and the migrations runner.

Migrations are the numbered files ``NNNN_name.sql`` of the top-level ``migrations/``
folder, shipped inside the wheel as ``zero_session/migrations``.  Each one is applied in
its own ``BEGIN IMMEDIATE`` transaction together with ``PRAGMA user_version = NNNN``,
so a crash never leaves a half-migrated file, and two processes opening a fresh file at
once apply it exactly once.  Reading the version never writes.

A file is ours when its ``PRAGMA application_id`` is :data:`APPLICATION_ID`.  An empty
file (no schema at all) is initialised; any other SQLite file is refused untouched.
See https://www.sqlite.org/pragma.html#pragma_application_id.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import apsw
import attrs

from ._sql import fetch_all
from .errors import NotAStore, SchemaTooNew, StorageError

__all__ = [
    "APPLICATION_ID",
    "Migration",
    "check_identity",
    "configure",
    "known_version",
    "load_migrations",
    "migrate",
]

APPLICATION_ID = 0x5A534553  # "ZSES"
_MIGRATION_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}


@attrs.frozen(slots=True)
class Migration:
    """One numbered schema step."""

    version: int
    name: str
    sql: str


def _migrations_folder() -> Traversable:
    packaged = resources.files("zero_session") / "migrations"
    if packaged.is_dir():
        return packaged
    # A source checkout or editable install: the top-level folder beside the package.
    return Path(__file__).resolve().parent.parent / "migrations"


@cache
def load_migrations() -> tuple[Migration, ...]:
    """Every migration, in order; the numbers must run 1, 2, 3, ... without a gap."""
    found: list[Migration] = []
    for entry in _migrations_folder().iterdir():
        match = _MIGRATION_NAME.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StorageError(f"migrations are not numbered 1..n: {[m.version for m in found]}")
    return tuple(found)


def known_version() -> int:
    """The schema version this code writes."""
    return len(load_migrations())


def configure(
    conn: apsw.Connection, *, durability: str, busy_timeout_ms: int, readonly: bool
) -> None:
    """Set the pragmas of *our* connection (never process-global state).

    WAL lets readers and one writer work at once across processes;
    ``synchronous=FULL`` makes every commit durable across power loss, ``NORMAL`` only
    across process crashes.  See https://www.sqlite.org/wal.html.
    """
    conn.setbusytimeout(busy_timeout_ms)
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        if int(fetch_all(conn, "PRAGMA page_count")[0][0]) == 0:
            # A new file: let delete/prune give space back (PRAGMA incremental_vacuum).
            # Only possible before the first page is written, and switching to WAL
            # writes one.  See https://www.sqlite.org/pragma.html#pragma_auto_vacuum.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchall()
        if mode and str(mode[0][0]).lower() not in ("wal", "memory"):
            raise StorageError(f"could not switch the database to WAL mode (got {mode[0][0]})")
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[durability]}")


def check_identity(conn: apsw.Connection, path: str) -> int:
    """The file's schema version, after making sure the file is ours (or empty).

    Raises NotAStore for a file that is not SQLite or belongs to another application,
    SchemaTooNew for a file written by a newer zero_session.
    """
    app_id = int(fetch_all(conn, "PRAGMA application_id")[0][0])
    version = int(fetch_all(conn, "PRAGMA user_version")[0][0])
    if app_id != APPLICATION_ID:
        has_objects = conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()
        if app_id != 0 or version != 0 or has_objects:
            raise NotAStore(
                f"{path}: a SQLite file of another application "
                f"(application_id {app_id:#x}); refusing to touch it"
            )
    if version > known_version():
        raise SchemaTooNew(path, version, known_version())
    return version


def migrate(conn: apsw.Connection, path: str) -> None:
    """Apply every pending migration, each in its own transaction."""
    for migration in load_migrations():
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            current = check_identity(conn, path)
            if current < migration.version:
                conn.execute(migration.sql)
                conn.execute(f"PRAGMA user_version = {migration.version}")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("COMMIT")
        except BaseException:
            if not conn.getautocommit():
                conn.execute("ROLLBACK")
            raise
