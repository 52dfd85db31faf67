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

import os
import re
import time
from collections.abc import Callable
from contextlib import suppress
from functools import cache, partial
from typing import TYPE_CHECKING, Any, NamedTuple

import apsw

from ._busy import wait_when_busy
from ._sql import fetch_all
from .errors import NotAStore, SchemaTooNew, StorageError

if TYPE_CHECKING:
    from importlib.abc import Traversable

__all__ = [
    "APPLICATION_ID",
    "Migration",
    "check_identity",
    "configure",
    "configure_current",
    "header_is_current",
    "is_current",
    "known_version",
    "load_migrations",
    "migrate",
]

APPLICATION_ID = 0x5A534553  # "ZSES"
_MIGRATION_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}


class Migration(NamedTuple):
    """One numbered schema step (a NamedTuple: internal, and cheaper to import)."""

    version: int
    name: str
    sql: str


def _migrations_folder() -> str | Traversable:
    """The folder of migration files: a path on disk (read with ``os``, no ``pathlib``
    import), else a resource of the package."""
    here = os.path.dirname(os.path.realpath(__file__))
    for folder in (
        os.path.join(here, "migrations"),  # an installed wheel ships them in the package
        os.path.join(os.path.dirname(here), "migrations"),  # a checkout or editable install
    ):
        if os.path.isdir(folder):
            return folder
    # Anything else (a zipped install): ask importlib.resources, imported only here since
    # it pulls in tempfile, shutil and the compression modules (~5 ms).
    from importlib import resources

    return resources.files("zero_session") / "migrations"


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


def _migration_files() -> list[tuple[str, Callable[[], str]]]:
    """(file name, a function reading it) for each file of the migrations folder."""
    folder = _migrations_folder()
    if isinstance(folder, str):
        return [
            (name, partial(_read_text, os.path.join(folder, name))) for name in os.listdir(folder)
        ]
    return [(entry.name, partial(entry.read_text, "utf-8")) for entry in folder.iterdir()]


@cache
def load_migrations() -> tuple[Migration, ...]:
    """Every migration, in order; the numbers must run 1, 2, 3, ... without a gap."""
    found: list[Migration] = []
    for name, read in _migration_files():
        match = _MIGRATION_NAME.fullmatch(name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), read()))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StorageError(f"migrations are not numbered 1..n: {[m.version for m in found]}")
    return tuple(found)


def known_version() -> int:
    """The schema version this code writes."""
    return len(load_migrations())


def _switch_to_wal(conn: apsw.Connection, busy_timeout_ms: int) -> list[Any]:
    """``PRAGMA journal_mode = WAL``, retried until the busy timeout.

    While another process creates the file, the switch can fail with SQLITE_BUSY at
    once: SQLite does not call the busy handler for it, so we wait here instead.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    pause_s = 0.001
    while True:
        try:
            return list(conn.execute("PRAGMA journal_mode = WAL").fetchall())
        except apsw.BusyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(pause_s)
            pause_s = min(pause_s * 2, 0.05)


def configure(
    conn: apsw.Connection,
    *,
    durability: str,
    busy_timeout_ms: int,
    readonly: bool,
    fresh: bool = False,
) -> None:
    """Set the pragmas of *our* connection (never process-global state).

    WAL lets readers and one writer work at once across processes;
    ``synchronous=FULL`` makes every commit durable across power loss, ``NORMAL`` only
    across process crashes.  See https://www.sqlite.org/wal.html.  ``fresh``: the file
    may still be empty (not yet migrated), so its page settings can still be chosen.
    Loads the schema (``journal_mode`` and ``synchronous`` need it).
    """
    wait_when_busy(conn, busy_timeout_ms)
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        if fresh and int(fetch_all(conn, "PRAGMA page_count")[0][0]) == 0:
            # A new file: let delete/prune give space back (PRAGMA incremental_vacuum).
            # Only possible before the first page is written, and switching to WAL
            # writes one.  See https://www.sqlite.org/pragma.html#pragma_auto_vacuum.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = _switch_to_wal(conn, busy_timeout_ms)
        if mode and str(mode[0][0]).lower() not in ("wal", "memory"):
            raise StorageError(f"could not switch the database to WAL mode (got {mode[0][0]})")
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[durability]}")


_CURRENT_SETUP = {
    (durability, readonly): "PRAGMA foreign_keys = ON; "
    + ("" if readonly else "PRAGMA journal_mode = WAL; ")
    + f"PRAGMA synchronous = {level}"
    for durability, level in SYNCHRONOUS.items()
    for readonly in (False, True)
}


def configure_current(
    conn: apsw.Connection, *, durability: str, busy_timeout_ms: int, readonly: bool
) -> None:
    """:func:`configure` for a file that is ours and current (WAL already), in one call.

    The usual first statement of a store: the pragmas run as one script, and anything
    unusual (the journal mode switched away from WAL in the ``sqlite3`` shell, another
    process holding the file busy) takes the general path, which retries and explains.
    """
    try:
        mode = conn.execute(_CURRENT_SETUP[durability, readonly]).fetchall()
    except apsw.BusyError:
        mode = []
    if readonly or (mode and str(mode[0][0]).lower() == "wal"):
        return
    configure(conn, durability=durability, busy_timeout_ms=busy_timeout_ms, readonly=readonly)


def is_current(conn: apsw.Connection) -> bool:
    """Whether the file is ours at the version this code writes, read from the file
    header alone: SQLite parses a file's schema on the first statement that needs it,
    and these two pragmas do not, so opening an up-to-date store stays cheap.

    ``user_version`` is read first: migration 1 sets both values in one transaction and
    ``application_id`` never changes after, so when the version read is current the
    second read (a later snapshot) sees our id too.  Anything else takes the full check
    (:func:`check_identity`).
    """
    rows = conn.execute("PRAGMA user_version; PRAGMA application_id").fetchall()
    return rows == [(known_version(),), (APPLICATION_ID,)]


_MAGIC = b"SQLite format 3\x00"
_HEADER_BYTES = 100


def header_is_current(conn: apsw.Connection, path: str, size: int, *, writable: bool) -> bool:
    """:func:`is_current` answered from the file's first 100 bytes, without a read
    transaction.

    Reading the header with a pragma starts a read transaction, and in WAL mode that
    creates the ``-wal`` and ``-shm`` files (and closing deletes them again): most of
    what opening a store and closing it unused cost.  The bytes are read through the
    connection's own file handle (as SQLite reads them when it opens a file), never a
    descriptor of our own: closing one would drop every POSIX lock this process holds
    on the file, also another connection's (https://www.sqlite.org/howtocorrupt.html,
    section 2.2).

    The header alone is the whole truth only when no ``-wal`` holds frames that could
    carry a newer first page (a newer zero_session's migration not yet folded back
    in), so a file with a non-empty ``-wal`` answers False, as does anything unusual:
    not WAL mode, a page size or database size (``size``, from the caller's ``stat``)
    that SQLite would question, another version or application.  ``writable``: the
    store will write, so a folder where the ``-wal`` could not be created answers False
    too (the pragma's read would have failed there, and so should the open).  False
    only means "ask SQLite" (:func:`is_current`, then :func:`check_identity`), which
    explains.  See https://www.sqlite.org/fileformat2.html#the_database_header.
    """
    if size < 512:
        return False
    try:
        if os.stat(path + "-wal").st_size:
            return False
    except FileNotFoundError:
        if writable and not os.access(os.path.dirname(path) or ".", os.W_OK):
            return False
    except OSError:
        return False
    try:
        complete, header = conn.read("main", 0, 0, _HEADER_BYTES)
    except apsw.Error:
        return False
    if not complete or not header.startswith(_MAGIC):
        return False
    page_size = int.from_bytes(header[16:18], "big")
    if page_size == 1:
        page_size = 65_536
    if page_size < 512 or page_size & (page_size - 1):
        return False
    page_count = int.from_bytes(header[28:32], "big")
    return (
        header[18:20] == b"\x02\x02"  # WAL mode for reads and writes
        and header[21:24] == b"\x40\x20\x20"  # the fixed payload fractions
        and header[24:28] == header[92:96]  # so the page count is current
        and size == page_size * page_count
        and int.from_bytes(header[60:64], "big", signed=True) == known_version()
        and int.from_bytes(header[68:72], "big", signed=True) == APPLICATION_ID
    )


_IDENTITY_SQL = (
    "SELECT (SELECT application_id FROM pragma_application_id), "
    "(SELECT user_version FROM pragma_user_version), "
    "EXISTS (SELECT 1 FROM sqlite_schema)"
)


def check_identity(conn: apsw.Connection, path: str) -> int:
    """The file's schema version, after making sure the file is ours (or empty).

    Raises NotAStore for a file that is not SQLite or belongs to another application,
    SchemaTooNew for a file written by a newer zero_session.
    """
    # One statement reads all three from one snapshot: read one by one, another process
    # could commit its migration in between and the file would look half-made.
    app_id, version, has_objects = (int(v) for v in fetch_all(conn, _IDENTITY_SQL)[0])
    if app_id != APPLICATION_ID and (app_id != 0 or version != 0 or has_objects):
        raise NotAStore(
            f"{path}: a SQLite file of another application "
            f"(application_id {app_id:#x}); refusing to touch it"
        )
    if version > known_version():
        raise SchemaTooNew(path, version, known_version())
    return version


def migrate(conn: apsw.Connection, path: str) -> None:
    """Apply every pending migration, each in its own transaction, then fold the WAL back
    into the file: each migration rewrites the schema pages, and a new file's ``-wal``
    would otherwise start out several times the size of the database."""
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
    with suppress(apsw.BusyError):  # a reader in another process: it is folded in later
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
