"""SQL and logic for events: validation, sequenced appends and timeline reads.

Sequencing happens inside the caller's ``BEGIN IMMEDIATE`` transaction: one ``UPDATE
... RETURNING`` bumps the session's ``last_seq`` by the batch size (and checks that the
session is open and, optionally, that its last seq is what the caller expected), then
the events are inserted at the seqs it reserved.  No seq is ever read outside the write
lock, so concurrent writers in any process get gapless, unique seqs.

A fork's timeline is its ancestors' events up to each fork point followed by its own.
One recursive query finds the chain of (session, seq range) segments and joins events
on it; because a timeline's seqs run 1..n without gaps, a page of the timeline is simply
the seq range ``(after, after + page]``, which every segment answers from its primary key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import apsw

from ._sql import fetch_all
from .errors import InvalidInput, SeqConflict, SessionEnded, SessionNotFound
from .models import KIND_PATTERN, Event, EventKind

__all__ = [
    "check_kind",
    "encode_data",
    "insert_events",
    "own_events",
    "reserve_seqs",
    "timeline_page",
]

_KNOWN_KINDS = frozenset(k.value for k in EventKind)
_JSON_SCALARS = (str, int, float, bool, type(None))


def check_kind(kind: object) -> str:
    """The kind as a plain str; InvalidInput unless it matches ``[a-z][a-z0-9_.-]{0,63}``."""
    if isinstance(kind, str):
        if kind in _KNOWN_KINDS:
            return str(kind.value) if isinstance(kind, EventKind) else kind
        if KIND_PATTERN.fullmatch(kind):
            return kind
        raise InvalidInput(f"event kind {kind!r} must match [a-z][a-z0-9_.-]{{0,63}}")
    raise TypeError(f"event kind must be a str, not {type(kind).__name__}")


MAX_DATA_DEPTH = 200
"""How deeply ``data`` may nest; deeper values (and cycles) are refused, so every stored
value can be read back by ``json.loads`` without hitting the recursion limit."""

# One step of the walk: (value, depth, the step it sits in, its key or index there).
_Step = tuple[Any, int, "_Step | None", object]


def _where(step: _Step | None) -> str:
    keys: list[str] = []
    while step is not None and step[2] is not None:
        keys.append(f"[{step[3]!r}]")
        step = step[2]
    return "data" + "".join(reversed(keys))


def _check_json_value(value: Any, max_values: int) -> None:
    """Refuse values JSON would not give back unchanged (tuples, non-str keys, NaN...).

    The walk is iterative and bounded: nesting deeper than :data:`MAX_DATA_DEPTH` (which
    includes cycles) is refused, and so is a value with more than ``max_values`` parts
    (each part takes at least one byte of JSON, so it could not fit the size cap anyway;
    this also stops a shared-reference "bomb" before it is expanded).
    """
    stack: list[_Step] = [(value, 0, None, None)]
    seen = 0
    while stack:
        step = stack.pop()
        item, depth = step[0], step[1]
        seen += 1
        if seen > max_values:
            raise InvalidInput(f"data has more than {max_values:,} values; the cap is in bytes")
        if isinstance(item, dict | list):
            if depth >= MAX_DATA_DEPTH:
                raise InvalidInput(
                    f"{_where(step)}: nested deeper than {MAX_DATA_DEPTH} levels (or a cycle)"
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise InvalidInput(
                            f"{_where(step)}: keys must be str, got {type(key).__name__}"
                        )
                    stack.append((child, depth + 1, step, key))
            else:
                stack.extend((child, depth + 1, step, i) for i, child in enumerate(item))
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInput(f"{_where(step)}: {item!r} is not valid JSON")
        elif not isinstance(item, _JSON_SCALARS):
            raise InvalidInput(
                f"{_where(step)}: {type(item).__name__} is not JSON "
                "(use dict, list, str, int, float, bool or None)"
            )


def encode_data(data: Any, *, max_bytes: int) -> str | None:
    """``data`` as compact JSON text, or None; InvalidInput when it would not round-trip
    or plainly cannot fit in ``max_bytes``."""
    if data is None:
        return None
    _check_json_value(data, max_bytes)
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"data is not JSON-serialisable: {exc}") from exc


def check_size(text: str, data_json: str | None, max_event_bytes: int) -> None:
    """InvalidInput when text plus serialised data exceed the per-event cap (UTF-8 bytes)."""
    chars = len(text) + (len(data_json) if data_json is not None else 0)
    if chars * 4 <= max_event_bytes:
        return  # cannot exceed the cap even if every character took four bytes
    try:
        size = len(text.encode("utf-8")) + (
            len(data_json.encode("utf-8")) if data_json is not None else 0
        )
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"event text is not valid Unicode: {exc}") from exc
    if size > max_event_bytes:
        raise InvalidInput(
            f"event is {size:,} bytes (text plus data); the cap is {max_event_bytes:,}"
        )


_RESERVE = (
    "UPDATE sessions SET last_seq = last_seq + ?, last_event_at_ms = ? "
    "WHERE ulid = ? AND ended_at_ms IS NULL RETURNING id, last_seq"
)
_RESERVE_EXPECTED = (
    "UPDATE sessions SET last_seq = last_seq + ?, last_event_at_ms = ? "
    "WHERE ulid = ? AND ended_at_ms IS NULL AND last_seq = ? RETURNING id, last_seq"
)


def reserve_seqs(
    conn: apsw.Connection, ulid: str, count: int, at_ms: int, expected_seq: int | None
) -> tuple[int, int]:
    """Reserve ``count`` seqs; returns (session id, first reserved seq).

    Raises SessionNotFound, SessionEnded or SeqConflict (``expected_seq`` is the last seq
    the caller believes the session has).
    """
    if expected_seq is None:
        rows = fetch_all(conn, _RESERVE, (count, at_ms, ulid))
    else:
        rows = fetch_all(conn, _RESERVE_EXPECTED, (count, at_ms, ulid, expected_seq))
    if rows:
        session_id, last_seq = rows[0]
        return session_id, last_seq - count + 1
    found = fetch_all(conn, "SELECT last_seq, ended_at_ms FROM sessions WHERE ulid = ?", (ulid,))
    if not found:
        raise SessionNotFound(ulid)
    last_seq, ended_at_ms = found[0]
    if ended_at_ms is not None:
        raise SessionEnded(ulid)
    raise SeqConflict(ulid, expected_seq if expected_seq is not None else -1, last_seq)


_INSERT = "INSERT INTO events (session_id, seq, at_ms, kind, text, data) VALUES (?, ?, ?, ?, ?, ?)"


def insert_events(conn: apsw.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert prepared ``(session_id, seq, at_ms, kind, text, data_json)`` rows."""
    if len(rows) == 1:
        conn.execute(_INSERT, rows[0])
    else:
        conn.executemany(_INSERT, rows)


# The chain of segments of a timeline: (session id, ulid, lo, hi], newest first.  An
# ancestor contributes only up to the lowest fork point below it: min(c.lo, c.hi), since a
# child forked from its parent at 0 must not pass the grandparent's events through.
_CHAIN = """
WITH RECURSIVE chain(id, ulid, parent_id, lo, hi) AS (
    SELECT id, ulid, parent_id, fork_seq, last_seq FROM sessions WHERE id = ?
    UNION ALL
    SELECT p.id, p.ulid, p.parent_id, p.fork_seq, min(c.lo, c.hi)
      FROM sessions AS p JOIN chain AS c ON p.id = c.parent_id
)
"""
_TIMELINE_PAGE = (
    _CHAIN
    + """
SELECT c.ulid, e.seq, e.at_ms, e.kind, e.text, e.data
  FROM chain AS c
  JOIN events AS e
    ON e.session_id = c.id AND e.seq > max(c.lo, ?) AND e.seq <= min(c.hi, ?)
 ORDER BY e.seq
"""
)
_TIMELINE_PAGE_BLOB = _TIMELINE_PAGE.replace(
    "e.kind, e.text, e.data",
    "CAST(e.kind AS BLOB), CAST(e.text AS BLOB), CAST(e.data AS BLOB)",
)

_OWN = "SELECT ?, seq, at_ms, kind, text, data FROM events WHERE session_id = ? AND seq > ?"


def _to_events(rows: Iterable[tuple[Any, ...]]) -> list[Event]:
    loads = json.loads
    out: list[Event] = []
    append = out.append
    for ulid, seq, at_ms, kind, text, data in rows:
        if data is not None:
            try:
                data = loads(data)
            except ValueError:
                data = {"_invalid_json": data}
        append(Event(ulid, seq, at_ms, kind, text, data))
    return out


def _fetch_events(
    conn: apsw.Connection, sql: str, blob_sql: str, params: Sequence[Any]
) -> list[Event]:
    return _to_events(fetch_all(conn, sql, params, blob_sql=blob_sql))


def timeline_page(
    conn: apsw.Connection, session_id: int, after_seq: int, upto_seq: int
) -> list[Event]:
    """Timeline events with ``after_seq < seq <= upto_seq``, oldest first."""
    params = (session_id, after_seq, upto_seq)
    return _fetch_events(conn, _TIMELINE_PAGE, _TIMELINE_PAGE_BLOB, params)


def own_events(
    conn: apsw.Connection,
    ulid: str,
    session_id: int,
    after_seq: int,
    limit: int | None,
    kinds: Collection[str] | None,
) -> list[Event]:
    """The session's own events after ``after_seq``, oldest first."""
    sql = _OWN
    params: list[Any] = [ulid, session_id, after_seq]
    if kinds is not None:
        sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params += list(kinds)
    sql += " ORDER BY seq"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    blob_sql = sql.replace(
        "kind, text, data", "CAST(kind AS BLOB), CAST(text AS BLOB), CAST(data AS BLOB)", 1
    )
    return _fetch_events(conn, sql, blob_sql, params)
