"""Writing sessions pulled from other stores: the batch type and the one door.

:func:`apply_pulled` is the local half of ``sync.pull``: a batch of sessions (parents
first) with their new events and metadata, validated whole and written in one
transaction, so a pull that fails anywhere leaves the file exactly as it was.  Who owns
a session, and why the file refuses appends to a pulled one, is ``_origins``; this module
is loaded only by a pull (it was part of ``_origins``, which every session read loads).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import apsw
import attrs

from ._origins import read_store_id
from ._sql import fetch_all
from .errors import InvalidInput, ReadOnlyStore
from .ids import is_ulid
from .models import KIND_PATTERN

if TYPE_CHECKING:
    from ._store_core import StoreCore
    from .models import Session

__all__ = ["PulledEvent", "PulledSession", "apply_pulled"]

PulledEvent = tuple[int, int, str, str, str | None]
"""One pulled event: ``(seq, at_ms, kind, text, data_json)``, data as its exact JSON text."""


@attrs.frozen(slots=True)
class PulledSession:
    """One session of a pulled batch, as its origin store has it on the server.

    ``events`` are the events after this store's copy (all of its own events for a
    session new here), in seq order, gapless.  ``parent_ulid`` must be present locally or
    earlier in the batch.  ``meta_json`` and each event's data are exact JSON text.
    """

    ulid: str
    origin: str
    parent_ulid: str | None
    fork_seq: int
    started_at_ms: int
    ended_at_ms: int | None
    cli_version: str | None
    engine_base_url: str | None
    cwd: str | None
    meta_json: str
    expires_at_ms: int | None
    origin_labels: tuple[str, ...]
    events: Sequence[PulledEvent] = ()


_INSERT_SESSION = (
    "INSERT INTO sessions (ulid, parent_id, fork_seq, started_at_ms, last_seq, cli_version, "
    "engine_base_url, cwd, meta, expires_at_ms, origin_store_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_REFRESH = (
    "UPDATE sessions SET last_seq = ?, last_event_at_ms = coalesce(?, last_event_at_ms), "
    "ended_at_ms = ?, origin_labels = ? WHERE id = ?"
)
_INSERT_EVENT = (
    "INSERT INTO events (session_id, seq, at_ms, kind, text, data) VALUES (?, ?, ?, ?, ?, ?)"
)


def apply_pulled(store: StoreCore, batch: Sequence[PulledSession]) -> list[Session]:
    """Write a pulled batch in one transaction; the sessions as stored, in batch order.

    Every session is checked before anything stays: its origin is another store (and the
    one its local copy already has), its parent is here or earlier in the batch, its
    identity (parent, fork_seq, start) matches the local copy, and its events continue
    the local last seq without a gap, with valid kinds and JSON data.  Raises
    InvalidInput naming the session and the problem, ReadOnlyStore, StorageError; on any
    error the file is left exactly as it was.
    """
    from ._sessions import require_row, to_session

    if store._readonly:
        raise ReadOnlyStore(f"{store._path} was opened read-only")
    for pulled in batch:
        _check_shape(pulled)
    with store._writing() as conn:
        mine = read_store_id(conn)
        for pulled in batch:
            if pulled.origin == mine:
                raise InvalidInput(
                    f"session {pulled.ulid} originates from this store; it is never pulled"
                )
            _apply_one(conn, pulled)
        rows = [require_row(conn, pulled.ulid) for pulled in batch]
    now = store._now()
    return [to_session(row, now) for row in rows]


def _check_shape(pulled: PulledSession) -> None:
    """Checks that need no database: ids, numbers, event order, kinds and types."""
    import json

    name = f"pulled session {pulled.ulid!r}"
    if not is_ulid(pulled.ulid):
        raise InvalidInput(f"{name}: not a ulid")
    if not is_ulid(pulled.origin):
        raise InvalidInput(f"{name}: origin {pulled.origin!r} is not a store id")
    if pulled.parent_ulid is not None and not is_ulid(pulled.parent_ulid):
        raise InvalidInput(f"{name}: parent {pulled.parent_ulid!r} is not a ulid")
    if pulled.parent_ulid is None and pulled.fork_seq != 0:
        raise InvalidInput(f"{name}: fork_seq {pulled.fork_seq} without a parent")
    for field in ("fork_seq", "started_at_ms"):
        value = getattr(pulled, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{name}: {field} must be an int ≥ 0, got {value!r}")
    try:
        json.loads(pulled.meta_json)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name}: meta is not JSON ({exc})") from exc
    if not all(isinstance(label, str) for label in pulled.origin_labels):
        raise InvalidInput(f"{name}: origin labels must be str")
    events = pulled.events
    if not events:
        return
    # Per event only what Python must see (a row SQLite could not bind); types and JSON
    # are checked by SQLite after the insert (_check_rows), seqs by count and range: the
    # first continues the local copy, the primary key refuses a repeat and the file's
    # trigger a seq past the new last seq, so n rows from first..first+n-1 are gapless.
    first, last = events[0][0], events[-1][0]
    if isinstance(first, bool) or not isinstance(first, int) or not isinstance(last, int):
        raise InvalidInput(f"{name}: seqs must be ints")
    if last - first + 1 != len(events):
        raise InvalidInput(
            f"{name}: events not gapless ({len(events)} events from seq {first} to {last})"
        )
    if any(len(event) != 5 for event in events):
        raise InvalidInput(f"{name}: an event must be (seq, at_ms, kind, text, data_json)")
    for kind in {event[2] for event in events}:
        if not isinstance(kind, str) or not KIND_PATTERN.fullmatch(kind):
            raise InvalidInput(f"{name}: invalid kind {kind!r}")


def _apply_one(conn: apsw.Connection, pulled: PulledSession) -> None:
    """Insert or extend one pulled session inside the caller's transaction."""
    import json

    name = f"pulled session {pulled.ulid}"
    local = fetch_all(
        conn,
        "SELECT s.id, s.origin_store_id, p.ulid, s.fork_seq, s.started_at_ms, s.last_seq "
        "FROM sessions AS s LEFT JOIN sessions AS p ON p.id = s.parent_id WHERE s.ulid = ?",
        (pulled.ulid,),
    )
    if local:
        session_id, origin, parent_ulid, fork_seq, started_at_ms, last_seq = local[0]
        if origin != pulled.origin:
            owner = "this store" if origin is None else f"store {origin}"
            raise InvalidInput(f"{name}: belongs to {owner} here, not to {pulled.origin}")
        if (parent_ulid, fork_seq, started_at_ms) != (
            pulled.parent_ulid,
            pulled.fork_seq,
            pulled.started_at_ms,
        ):
            raise InvalidInput(f"{name}: parent, fork_seq or start differ from the local copy")
    else:
        parent_id = None
        if pulled.parent_ulid is not None:
            parent = fetch_all(
                conn, "SELECT id, last_seq FROM sessions WHERE ulid = ?", (pulled.parent_ulid,)
            )
            if not parent:
                raise InvalidInput(f"{name}: its parent {pulled.parent_ulid} is not here")
            parent_id, parent_last = parent[0]
            if pulled.fork_seq > parent_last:
                raise InvalidInput(
                    f"{name}: forked at {pulled.fork_seq}, past its parent's last seq "
                    f"{parent_last} here"
                )
        conn.execute(
            _INSERT_SESSION,
            (
                pulled.ulid,
                parent_id,
                pulled.fork_seq,
                pulled.started_at_ms,
                pulled.fork_seq,
                pulled.cli_version,
                pulled.engine_base_url,
                pulled.cwd,
                pulled.meta_json,
                pulled.expires_at_ms,
                pulled.origin,
            ),
        )
        session_id, last_seq = conn.last_insert_rowid(), pulled.fork_seq
    events = pulled.events
    if events and events[0][0] != last_seq + 1:
        raise InvalidInput(
            f"{name}: events start at seq {events[0][0]}, the local copy ends at {last_seq}"
        )
    new_last = last_seq + len(events)
    labels = json.dumps(sorted(set(pulled.origin_labels))) if pulled.origin_labels else None
    conn.execute("INSERT INTO pulling_sessions (session_id) VALUES (?)", (session_id,))
    conn.execute(
        _REFRESH,
        (new_last, events[-1][1] if events else None, pulled.ended_at_ms, labels, session_id),
    )
    if events:
        # The session's id is an int read from the file, written into the statement so
        # that apsw binds each event tuple as it comes, with no per-row Python.
        insert = _INSERT_EVENT.replace("VALUES (?,", f"VALUES ({int(session_id)},", 1)
        try:
            conn.executemany(insert, events)
        except (apsw.ConstraintError, apsw.BindingsError, TypeError) as exc:
            raise InvalidInput(f"{name}: events refused by the file ({exc})") from exc
        _check_rows(conn, name, session_id, last_seq)
    conn.execute("DELETE FROM pulling_sessions WHERE session_id = ?", (session_id,))


_BAD_ROW_SQL = (
    "SELECT seq, typeof(at_ms), typeof(text), typeof(data) FROM events "
    "WHERE session_id = ? AND seq > ? AND (typeof(at_ms) != 'integer' "
    "OR typeof(text) != 'text' OR (data IS NOT NULL AND (typeof(data) != 'text' "
    "OR NOT json_valid(data)))) LIMIT 1"
)


def _check_rows(conn: apsw.Connection, name: str, session_id: int, after_seq: int) -> None:
    """Refuse new events whose time is not an integer, whose text is not text or whose
    data is not JSON text: checked by SQLite in one pass over the rows just inserted."""
    bad = conn.execute(_BAD_ROW_SQL, (session_id, after_seq)).fetchall()
    if bad:
        seq, at_type, text_type, data_type = bad[0]
        raise InvalidInput(
            f"{name}: event {seq}: at_ms must be an int, text a str and data JSON text "
            f"(got {at_type}, {text_type}, {data_type})"
        )
