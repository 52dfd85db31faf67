"""A timeline through its forks: the chain of (session, seq range) segments, and pages.

A fork's timeline is its ancestors' events up to each fork point followed by its own.
One recursive query finds the chain of segments; because a timeline's seqs run 1..n
without gaps, a page of the timeline is simply the seq range ``(after, after + page]``,
which every segment answers from its primary key (:mod:`zero_session._event_reads`).
"""

from __future__ import annotations

from typing import Any

import apsw

from ._event_reads import (
    DATA_RANGE_BLOB_SQL,
    DATA_RANGE_SQL,
    RANGE_BLOB_SQL,
    RANGE_SQL,
    decode_all,
    to_events,
)
from ._lineage import MAX_FORK_DEPTH, check_chain
from ._sql import fetch_all
from ._typed import wrong_type
from .models import Event

__all__ = ["TIMELINE_CHAIN_SQL", "Owner", "timeline_data", "timeline_page"]


# The segments of a timeline, (session id, ulid, lo, hi]: the session's own events, then
# each ancestor's up to the lowest fork point below it (min(c.lo, c.hi): a child forked
# from its parent at 0 must not pass the grandparent's events through).  One recursive
# query; every reader of a timeline (replay, search, counts) starts from this CTE.
# The walk stops after MAX_FORK_DEPTH steps, so a loop in a tampered file ends (and
# _lineage.check_chain reports it) instead of running forever.
TIMELINE_CHAIN_SQL = f"""
WITH RECURSIVE chain(id, ulid, parent_id, lo, hi, depth) AS (
    SELECT id, ulid, parent_id, fork_seq, last_seq, 0 FROM sessions WHERE id = ?
    UNION ALL
    SELECT p.id, p.ulid, p.parent_id, p.fork_seq, min(c.lo, c.hi), c.depth + 1
      FROM sessions AS p JOIN chain AS c ON p.id = c.parent_id
     WHERE c.depth < {MAX_FORK_DEPTH}
)
"""


_CHAIN_SQL = TIMELINE_CHAIN_SQL + "SELECT id, ulid, lo, hi FROM chain\n"


Owner = tuple[int, str, int]
"""``(id, ulid, fork_seq)`` of the session whose timeline is read."""


def _segments(
    conn: apsw.Connection, owner: Owner, after_seq: int, upto_seq: int
) -> list[tuple[int, str, int, int]]:
    """``(segment id, ulid, start, end]`` of each segment overlapping the seq range, in
    timeline order.

    A range past the fork point holds only the session's own events (every root
    session's whole timeline, every tail): no chain to walk, and no recursive query to
    prepare, which a new connection's first read would otherwise pay for.
    """
    session_id, ulid, fork_seq = owner
    if after_seq >= fork_seq:
        return [(session_id, ulid, after_seq, upto_seq)] if after_seq < upto_seq else []
    chain = fetch_all(conn, _CHAIN_SQL, (session_id,))
    check_chain([segment[0] for segment in chain], ulid)
    for _, segment_ulid, lo, hi in chain:
        if type(lo) is not int or type(hi) is not int:
            column, value = ("fork_seq", lo) if type(lo) is not int else ("last_seq", hi)
            raise wrong_type(segment_ulid, "sessions", column, value)
    segments = sorted(chain, key=lambda segment: segment[2])
    return [
        (segment_id, ulid, max(lo, after_seq), min(hi, upto_seq))
        for segment_id, ulid, lo, hi in segments
        if max(lo, after_seq) < min(hi, upto_seq)
    ]


def timeline_page(
    conn: apsw.Connection, owner: Owner, after_seq: int, upto_seq: int
) -> list[Event]:
    """Timeline events with ``after_seq < seq <= upto_seq``, oldest first.

    One recursive query finds the segments; each segment overlapping the page is then
    one primary-key range read (no join, no sort).
    """
    sql, blob_sql = RANGE_SQL, RANGE_BLOB_SQL
    events: list[Event] = []
    for segment_id, ulid, start, end in _segments(conn, owner, after_seq, upto_seq):
        rows = fetch_all(conn, sql, (segment_id, start, end), blob_sql=blob_sql)
        events += to_events(ulid, rows)
    return events


def timeline_data(
    conn: apsw.Connection, owner: Owner, after_seq: int, upto_seq: int
) -> list[tuple[int, str, Any]]:
    """``(seq, kind, data)`` of the timeline events in the range, oldest first.

    :func:`timeline_page` without ``Event`` objects, times or texts, for a reader that
    folds the data by kind (the Agents adapter): about half the cost per event.
    """
    sql, blob_sql = DATA_RANGE_SQL, DATA_RANGE_BLOB_SQL
    out: list[tuple[int, str, Any]] = []
    for segment_id, ulid, start, end in _segments(conn, owner, after_seq, upto_seq):
        rows = fetch_all(conn, sql, (segment_id, start, end), blob_sql=blob_sql)
        seqs, kinds, raws = zip(*rows, strict=True) if rows else ((), (), ())
        if not set(map(type, seqs)) <= {int}:
            raise wrong_type(ulid, "events", "seq", next(s for s in seqs if type(s) is not int))
        out += zip(seqs, kinds, decode_all(list(raws)), strict=True)
    return out
