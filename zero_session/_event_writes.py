"""Sequenced writes of events: seqs reserved, then rows inserted, in the caller's
transaction.

Sequencing happens inside the caller's ``BEGIN IMMEDIATE`` transaction: one ``UPDATE
... RETURNING`` bumps the session's ``last_seq`` by the batch size (and checks that the
session is open and, optionally, that its last seq is what the caller expected), then
the events are inserted at the seqs it reserved.  No seq is ever read outside the write
lock, so concurrent writers in any process get gapless, unique seqs.  The rows come from
:mod:`zero_session._event_input`, already checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, repeat
from typing import Any

import apsw

from . import _origins
from ._event_input import Row
from ._event_values import build_events
from ._sql import fetch_all
from .errors import SeqConflict, SessionEnded, SessionNotFound
from .models import Event

__all__ = ["insert_events", "insert_prepared", "insert_rows", "insert_rows_at", "reserve_seqs"]


def insert_prepared(
    conn: apsw.Connection,
    ulid: str,
    rows: Sequence[Row],
    datas: Sequence[Any],
    at_ms: int,
    expected_seq: int | None,
) -> list[Event]:
    """Reserve seqs for the rows :func:`prepare_items` made and insert them; the events,
    in order.

    Call inside a write transaction.  Raises like :func:`reserve_seqs`.
    """
    session_id, first = reserve_seqs(conn, ulid, len(rows), at_ms, expected_seq)
    insert_rows_at(conn, session_id, first, at_ms, rows)
    kinds, texts, _ = zip(*rows, strict=True) if rows else ((), (), ())
    count = len(rows)
    return build_events(
        ulid, range(first, first + count), repeat(at_ms, count), kinds, texts, datas, count
    )


def insert_rows(
    conn: apsw.Connection,
    ulid: str,
    rows: Sequence[Row],
    at_ms: int,
    expected_seq: int | None,
) -> int:
    """Reserve seqs for checked ``(kind, text, data_json)`` rows and insert them; the
    first seq.  No ``Event`` objects: for callers that do not need them back.

    The rows must have been checked as :func:`prepare_items` checks them (valid kind,
    ``data_json`` valid JSON, within the size cap).  Call inside a write transaction.
    Raises like :func:`reserve_seqs`.
    """
    session_id, first = reserve_seqs(conn, ulid, len(rows), at_ms, expected_seq)
    insert_rows_at(conn, session_id, first, at_ms, rows)
    return first


# A batch is inserted by multi-row INSERTs of power-of-two sizes up to _CHUNK_ROWS (100
# rows: 64 + 32 + 4), so there are at most nine such statements, each prepared once and
# then kept in apsw's statement cache.  Not executemany: it takes its statement from that
# cache once per row, which costs a lookup per row and, since the cache is a ring of 100
# uses, pushes every other statement out of it (a batch of 100 would have BEGIN, the seq
# reservation and COMMIT prepared again on every call).  Session, first seq and time are
# bound once per statement, each row binds only its kind, text and data.
_CHUNK_ROWS = 256


_CHUNK_SQL: dict[int, str] = {}


def _chunk_sql(size: int) -> str:
    values = ["(?1, ?2, ?3, ?4, ?5, ?6)"]
    values += [
        f"(?1, ?2 + {i}, ?3, ?{3 * i + 4}, ?{3 * i + 5}, ?{3 * i + 6})" for i in range(1, size)
    ]
    sql = "INSERT INTO events (session_id, seq, at_ms, kind, text, data) VALUES " + ", ".join(
        values
    )
    _CHUNK_SQL[size] = sql
    return sql


def insert_rows_at(
    conn: apsw.Connection, session_id: int, first_seq: int, at_ms: int, rows: Sequence[Row]
) -> None:
    """Insert checked ``(kind, text, data_json)`` rows at seqs ``first_seq, first_seq + 1,
    ...`` of the session (reserved by :func:`reserve_seqs`), all at ``at_ms``."""
    total = len(rows)
    done = 0
    while done < total:
        size = min(_CHUNK_ROWS, 1 << ((total - done).bit_length() - 1))
        params: list[Any] = [session_id, first_seq + done, at_ms]
        params += chain.from_iterable(rows if size == total else rows[done : done + size])
        conn.execute(_CHUNK_SQL.get(size) or _chunk_sql(size), params)
        done += size


# Reserving also seals the seqs before the ones reserved (``sealed_seq``, see migration
# 0005): REPLACE over a stored event is then refused by the insert trigger's range check.
_RESERVE_SQL = (
    "UPDATE sessions SET last_seq = last_seq + ?, last_event_at_ms = ?, sealed_seq = last_seq "
    "WHERE ulid = ? AND ended_at_ms IS NULL RETURNING id, last_seq"
)


_RESERVE_EXPECTED_SQL = (
    "UPDATE sessions SET last_seq = last_seq + ?, last_event_at_ms = ?, sealed_seq = last_seq "
    "WHERE ulid = ? AND ended_at_ms IS NULL AND last_seq = ? RETURNING id, last_seq"
)


def reserve_seqs(
    conn: apsw.Connection, ulid: str, count: int, at_ms: int, expected_seq: int | None
) -> tuple[int, int]:
    """Reserve ``count`` seqs; returns (session id, first reserved seq).

    Raises SessionNotFound, SessionEnded or SeqConflict (``expected_seq`` is the last seq
    the caller believes the session has), ForeignSession (pulled from another store).
    """
    # Plain execute: the statement returns only integers, no text to repair.
    rows: list[tuple[int, int]]
    try:
        if expected_seq is None:
            rows = conn.execute(_RESERVE_SQL, (count, at_ms, ulid)).fetchall()  # type: ignore[assignment]
        else:
            rows = conn.execute(  # type: ignore[assignment]
                _RESERVE_EXPECTED_SQL, (count, at_ms, ulid, expected_seq)
            ).fetchall()
    except apsw.ConstraintError:
        _origins.refuse_foreign(conn, ulid)  # the file refuses to continue a pulled session
        raise
    if rows:
        session_id, last_seq = rows[0]
        return session_id, last_seq - count + 1
    _origins.refuse_foreign(conn, ulid)  # ended at its origin: still not ours to write
    found = fetch_all(conn, "SELECT last_seq, ended_at_ms FROM sessions WHERE ulid = ?", (ulid,))
    if not found:
        raise SessionNotFound(ulid)
    last_seq, ended_at_ms = found[0]
    if ended_at_ms is not None:
        raise SessionEnded(ulid)
    raise SeqConflict(ulid, expected_seq if expected_seq is not None else -1, last_seq)


_INSERT_SQL = (
    "INSERT INTO events (session_id, seq, at_ms, kind, text, data) VALUES (?, ?, ?, ?, ?, ?)"
)


def insert_events(conn: apsw.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert prepared ``(session_id, seq, at_ms, kind, text, data_json)`` rows."""
    if len(rows) == 1:
        conn.execute(_INSERT_SQL, rows[0])
    else:
        conn.executemany(_INSERT_SQL, rows)
