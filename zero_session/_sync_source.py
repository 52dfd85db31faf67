"""What ``zero_session.sync`` reads from and writes to a store: the small cursor API.

The sync package uses a ``Store`` from outside (it is not a mixin) and needs a few things
the public API does not give: the file's ``store_id``, a snapshot of every session's
row, a session's own events after a seq as raw rows (the exact JSON text of ``data``,
not the decoded value), and the push cursors.  Each function takes the store's mutex for
one short read or write transaction and never across anything slow, so an append on the
same ``Store`` waits at most one page read.

The store's identity and the cursors are milestones under the reserved prefix
``zero_session.``, which ``set_milestone`` refuses: ``zero_session.store_id`` is a ULID made
once; ``zero_session.sync.<server id>.<ulid>`` holds ``"<seq> <fingerprint>"``, what this
file last pushed of that session to that server (written after the server committed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from . import _milestones
from ._follow import change_fingerprint
from ._origins import STORE_ID_KEY
from ._sessions import LABEL_PREFIX
from ._sql import LIMIT_SQL, fetch_all
from .ids import new_ulid

if TYPE_CHECKING:
    from ._store_core import StoreCore

__all__ = [
    "CURSOR_PREFIX",
    "STORE_ID_KEY",
    "EventRow",
    "LocalSession",
    "LocalSnapshot",
    "advance_cursors",
    "change_mark",
    "cursors",
    "drop_cursors",
    "event_rows",
    "labels_of",
    "snapshot",
    "store_id",
]

CURSOR_PREFIX = _milestones.INTERNAL_PREFIX + "sync."


class LocalSession(NamedTuple):
    """One session's row, as sync pushes it (``session_id`` is the file's internal id)."""

    session_id: int
    ulid: str
    parent_ulid: str | None
    fork_seq: int
    started_at_ms: int
    ended_at_ms: int | None
    last_seq: int
    last_event_at_ms: int | None
    cli_version: str | None
    engine_base_url: str | None
    cwd: str | None
    meta: str
    archived_at_ms: int | None
    expires_at_ms: int | None


class LocalSnapshot(NamedTuple):
    """Sessions (parents before children) and milestones, read in one transaction."""

    sessions: list[LocalSession]
    milestones: dict[str, tuple[str, int]]  # key -> (value, at_ms), labels included


EventRow = tuple[int, int, str, str, str | None, int | None]
"""One stored event as raw columns: (seq, at_ms, kind, text, data, data_is_json), where
``data`` is the exact JSON text (or None) and ``data_is_json`` SQLite's ``json_valid``.
Plain tuples, as apsw returns them: a push reads millions."""


_SESSIONS_SQL = (
    "SELECT s.id, s.ulid, p.ulid, s.fork_seq, s.started_at_ms, s.ended_at_ms, s.last_seq, "
    "s.last_event_at_ms, s.cli_version, s.engine_base_url, s.cwd, s.meta, "
    "s.archived_at_ms, s.expires_at_ms "
    "FROM sessions AS s LEFT JOIN sessions AS p ON p.id = s.parent_id "
    # Sessions pulled from other stores are theirs to push, never this store's: a local
    # fork of one is pushed with its parent link (the parent is on the server already).
    f"WHERE s.origin_store_id IS NULL AND s.id > ? ORDER BY s.id {LIMIT_SQL}"
)
_SESSIONS_BLOB_SQL = _SESSIONS_SQL.replace(
    "s.cli_version, s.engine_base_url, s.cwd, s.meta",
    "CAST(s.cli_version AS BLOB), CAST(s.engine_base_url AS BLOB), CAST(s.cwd AS BLOB), "
    "CAST(s.meta AS BLOB)",
)
_MILESTONES_SQL = f"SELECT key, value, at_ms FROM milestones WHERE key > ? ORDER BY key {LIMIT_SQL}"
_MILESTONES_BLOB_SQL = (
    "SELECT CAST(key AS BLOB), CAST(value AS BLOB), at_ms FROM milestones "
    f"WHERE key > ? ORDER BY key {LIMIT_SQL}"
)
SNAPSHOT_PAGE = 2_000  # rows per read transaction of a snapshot
_EVENTS_SQL = (
    "SELECT seq, at_ms, kind, text, data, json_valid(data) FROM events "
    f"WHERE session_id = ? AND seq > ? ORDER BY seq {LIMIT_SQL}"
)
_EVENTS_BLOB_SQL = _EVENTS_SQL.replace(
    "kind, text, data,", "CAST(kind AS BLOB), CAST(text AS BLOB), CAST(data AS BLOB),"
)


def store_id(store: StoreCore, *, create: bool) -> str | None:
    """The file's ``store_id``; made (once, in one write transaction) when ``create``.

    A copied file or a restored backup keeps it: it is the same store.  Returns None
    when the store never had one and ``create`` is False (a read-only store never
    writes).  Raises ReadOnlyStore when it must create one in a read-only store.
    """
    with store._reading() as conn:
        found = _milestones.get_value(conn, STORE_ID_KEY)
    if found is not None or not create:
        return found
    with store._writing() as conn:
        _milestones.set_value_once(conn, STORE_ID_KEY, new_ulid(), store._now())
        return _milestones.get_value(conn, STORE_ID_KEY)


def snapshot(store: StoreCore) -> LocalSnapshot:
    """Every session row this store owns (not the ones pulled from other stores) and
    every milestone, read in pages of :data:`SNAPSHOT_PAGE` rows, each page its own
    short read transaction (a store of many sessions never holds the mutex long).

    Pages follow the sessions' ids, so parents still come before children; a session
    started meanwhile is in it or waits for the next push.
    """
    sessions: list[LocalSession] = []
    last_id = 0
    while True:
        with store._reading() as conn:
            rows = fetch_all(
                conn, _SESSIONS_SQL, (last_id, SNAPSHOT_PAGE), blob_sql=_SESSIONS_BLOB_SQL
            )
        sessions += [LocalSession(*row) for row in rows]
        if len(rows) < SNAPSHOT_PAGE:
            break
        last_id = rows[-1][0]
    milestones: dict[str, tuple[str, int]] = {}
    last_key = ""
    while True:
        with store._reading() as conn:
            found = fetch_all(
                conn, _MILESTONES_SQL, (last_key, SNAPSHOT_PAGE), blob_sql=_MILESTONES_BLOB_SQL
            )
        milestones.update((key, (value, at_ms)) for key, value, at_ms in found)
        # A key that is not valid UTF-8 (typed into the sqlite3 shell) reads back
        # repaired and may sort before the real one: stop rather than read again.
        if len(found) < SNAPSHOT_PAGE or found[-1][0] <= last_key:
            break
        last_key = found[-1][0]
    return LocalSnapshot(sessions, milestones)


def event_rows(store: StoreCore, session_id: int, after_seq: int, limit: int) -> list[EventRow]:
    """Up to ``limit`` of the session's own events after ``after_seq``, in seq order,
    read in one short transaction under the mutex."""
    with store._reading() as conn:
        return fetch_all(
            conn, _EVENTS_SQL, (session_id, after_seq, limit), blob_sql=_EVENTS_BLOB_SQL
        )


def labels_of(milestones: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """label name -> (ulid, at_ms), from a snapshot's milestones."""
    cut = len(LABEL_PREFIX)
    return {k[cut:]: v for k, v in milestones.items() if k.startswith(LABEL_PREFIX)}


def advance_cursors(store: StoreCore, server_id: str, cursors: dict[str, str]) -> None:
    """Record ``{name: value}`` under ``zero_session.sync.<server_id>.`` in one short write
    transaction; called only after the server committed what they describe."""
    if not cursors:
        return
    prefix = f"{CURSOR_PREFIX}{server_id}."
    with store._writing() as conn:
        now = store._now()
        for name, value in cursors.items():
            _milestones.set_value(conn, prefix + name, value, now)


def drop_cursors(store: StoreCore, server_id: str, names: list[str]) -> None:
    """Forget the cursors ``names`` (of sessions deleted locally) in one short write."""
    if not names:
        return
    prefix = f"{CURSOR_PREFIX}{server_id}."
    with store._writing() as conn:
        for name in names:
            _milestones.delete_key(conn, prefix + name)


def cursors(milestones: dict[str, tuple[str, int]], server_id: str) -> dict[str, str]:
    """The cursors for ``server_id`` found in a snapshot's milestones: name -> value."""
    prefix = f"{CURSOR_PREFIX}{server_id}."
    cut = len(prefix)
    return {k[cut:]: v for k, (v, _) in milestones.items() if k.startswith(prefix)}


def change_mark(store: StoreCore) -> tuple[int, int]:
    """What moves whenever anyone commits to the file (another connection's data
    version, this connection's own changes): a watch pushes when it moved."""
    with store._reading() as conn:
        return change_fingerprint(conn)
