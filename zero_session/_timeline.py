"""Windowed timeline reads and search within one timeline, for screens that scroll.

A full-screen browser shows a few dozen rows of a timeline that may hold millions of
events.  Because a timeline's seqs run 1..n without gaps, the rows on screen are a seq
range, and every segment of the timeline (the session's own events, then each
ancestor's up to the fork point below it) answers its part of that range from the
``events`` primary key: a window costs the same at seq 1 and at seq 1,000,000, and
"the end" is simply ``last_seq - limit``.  Nothing here loads a whole timeline.

Search within one timeline scans the event text in seq order from a cursor (the seq of
the current match) forwards or backwards, in chunks of :data:`SEARCH_CHUNK` seqs, each
read under the store's mutex, so another thread is never blocked for a whole scan.  It
matches **substrings** (SQLite ``LIKE``: case-insensitive for ASCII letters, exact for
every other character) and needs no index, so it works on a read-only store and always
sees the newest events, unlike :meth:`Store.search` (FTS5 words, index caught up by a
writable store).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ._events import TIMELINE_CHAIN_SQL, timeline_page, to_events
from ._sql import LIMIT_SQL, fetch_all
from .errors import InvalidInput, SessionNotFound
from .models import Event

if TYPE_CHECKING:
    import apsw

    from ._store_core import StoreCore

__all__ = [
    "SEARCH_CHUNK",
    "TimelineWindow",
    "read_window",
    "read_window_end",
    "search_timeline",
]

SEARCH_CHUNK = 50_000
"""Seqs scanned per hold of the store's mutex by :func:`search_timeline`."""

_MAX_NEEDLE = 1_000


@attrs.frozen(slots=True)
class TimelineWindow:
    """Consecutive events of one session's timeline, with where the timeline stood.

    ``events`` are oldest first and gapless; ``last_seq`` is the timeline's last seq
    when the window was read (its length); events with ``seq <= fork_seq`` are inherited
    from ancestors (their ``session`` is the ancestor's ulid).
    """

    session: str
    events: tuple[Event, ...]
    last_seq: int
    fork_seq: int

    @property
    def first_seq(self) -> int | None:
        """The seq of the first event in the window, None when it is empty."""
        return self.events[0].seq if self.events else None

    def inherited(self, event: Event) -> bool:
        """Whether ``event`` comes from an ancestor rather than the session itself."""
        return event.seq <= self.fork_seq


# The segments of a timeline: (session id, ulid, lo, hi] in timeline order.
_CHAIN_SQL = TIMELINE_CHAIN_SQL + "SELECT id, ulid, lo, hi FROM chain ORDER BY lo"
_POSITION_SQL = "SELECT id, fork_seq, last_seq FROM sessions WHERE ulid = ?"
_DATA = (
    "CASE WHEN data IS NULL OR json_valid(data) THEN data "
    "ELSE json_object('_invalid_json', data) END"
)
_MATCH = "WHERE session_id = ? AND seq > ? AND seq <= ? AND text LIKE ? ESCAPE '\\'"
_MATCH_SQL = f"SELECT seq, at_ms, kind, text, {_DATA} FROM events {_MATCH}"
_MATCH_BLOB_SQL = (
    f"SELECT seq, at_ms, CAST(kind AS BLOB), CAST(text AS BLOB), CAST({_DATA} AS BLOB) "
    f"FROM events {_MATCH}"
)

Segment = tuple[int, str, int, int]


def _position(conn: apsw.Connection, ulid: str) -> tuple[int, int, int]:
    """``(id, fork_seq, last_seq)`` of the session; SessionNotFound."""
    rows = fetch_all(conn, _POSITION_SQL, (ulid,))
    if not rows:
        raise SessionNotFound(ulid)
    session_id, fork_seq, last_seq = rows[0]
    return session_id, fork_seq, last_seq


def _segments(
    conn: apsw.Connection, ulid: str, session_id: int, fork_seq: int, last_seq: int
) -> list[Segment]:
    """``(session id, ulid, lo, hi]`` of each segment of the timeline, oldest first (a
    session that is no fork has one: no recursive query)."""
    if fork_seq == 0:
        return [(session_id, ulid, 0, last_seq)]
    return [tuple(row) for row in fetch_all(conn, _CHAIN_SQL, (session_id,))]


def read_window(store: StoreCore, ulid: str, from_seq: int, limit: int) -> TimelineWindow:
    """The events with ``from_seq <= seq < from_seq + limit`` (fewer at the end)."""
    with store._reading() as conn:
        session_id, fork_seq, last_seq = _position(conn, ulid)
        after = min(from_seq - 1, last_seq)
        upto = min(after + limit, last_seq)
        events = timeline_page(conn, (session_id, ulid, fork_seq), after, upto)
    return TimelineWindow(ulid, tuple(events), last_seq, fork_seq)


def read_window_end(store: StoreCore, ulid: str, limit: int) -> TimelineWindow:
    """The last ``limit`` events of the timeline, oldest first."""
    with store._reading() as conn:
        session_id, fork_seq, last_seq = _position(conn, ulid)
        after = max(0, last_seq - limit)
        events = timeline_page(conn, (session_id, ulid, fork_seq), after, last_seq)
    return TimelineWindow(ulid, tuple(events), last_seq, fork_seq)


def like_pattern(needle: str) -> str:
    """``needle`` as a ``LIKE ... ESCAPE '\\'`` pattern matching it as a substring."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_needle(needle: object) -> str:
    """The search text; TypeError unless a str, InvalidInput when empty or too long."""
    if not isinstance(needle, str):
        raise TypeError(f"text must be a str, not {type(needle).__name__}")
    if not needle:
        raise InvalidInput("search text is empty")
    if len(needle) > _MAX_NEEDLE:
        raise InvalidInput(f"search text is {len(needle)} characters; at most {_MAX_NEEDLE}")
    return needle


def _match_chunk(
    conn: apsw.Connection,
    segments: list[Segment],
    after: int,
    upto: int,
    pattern: str,
    backwards: bool,
    limit: int,
) -> list[Event]:
    """Matches with ``after < seq <= upto``, nearest the cursor first, at most ``limit``."""
    order = f" ORDER BY seq {'DESC ' if backwards else ''}{LIMIT_SQL}"
    ordered = reversed(segments) if backwards else segments
    found: list[Event] = []
    for segment_id, owner, lo, hi in ordered:
        start, end = max(lo, after), min(hi, upto)
        if start >= end:
            continue
        params = (segment_id, start, end, pattern, limit - len(found))
        rows = fetch_all(conn, _MATCH_SQL + order, params, blob_sql=_MATCH_BLOB_SQL + order)
        found += to_events(owner, rows)
        if len(found) >= limit:
            break
    return found


def search_timeline(
    store: StoreCore,
    ulid: str,
    needle: str,
    *,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
) -> list[Event]:
    """Events of the timeline whose text contains ``needle``, nearest the cursor first.

    Forwards (``after_seq``): seq > after_seq, ascending.  Backwards (``before_seq``):
    seq < before_seq, descending.  The timeline's end is read when the search starts,
    so the newest events are searched too.
    """
    pattern = like_pattern(needle)
    with store._reading() as conn:
        session_id, fork_seq, last_seq = _position(conn, ulid)
        segments = _segments(conn, ulid, session_id, fork_seq, last_seq)
    found: list[Event] = []
    if before_seq is None:
        cursor = after_seq or 0
        while cursor < last_seq and len(found) < limit:
            upto = min(cursor + SEARCH_CHUNK, last_seq)
            with store._reading() as conn:
                found += _match_chunk(
                    conn, segments, cursor, upto, pattern, False, limit - len(found)
                )
            cursor = upto
    else:
        cursor = min(before_seq - 1, last_seq)
        while cursor > 0 and len(found) < limit:
            after = max(cursor - SEARCH_CHUNK, 0)
            with store._reading() as conn:
                found += _match_chunk(
                    conn, segments, after, cursor, pattern, True, limit - len(found)
                )
            cursor = after
    return found
