"""Counts for people: the whole store's statistics and one timeline's events per kind.

Totals come from the session rows (``last_seq - fork_seq`` is a session's own event
count), so they cost one pass over ``sessions``; only the per-kind counts read events.
"""

from __future__ import annotations

import os

import apsw
import attrs

from ._events import TIMELINE_CHAIN_SQL
from ._sessions import LABEL_PREFIX
from ._sql import fetch_all

__all__ = ["StoreStats", "kind_counts", "store_stats"]


@attrs.frozen(slots=True)
class StoreStats:
    """What ``Store.stats`` found.

    ``file_bytes`` and ``wal_bytes`` are the sizes on disk of the database file and its
    write-ahead log (0 for a memory store).  ``by_kind`` is (kind, events) pairs, most
    frequent first; ``busiest`` is (ulid, own events) pairs, largest first.
    """

    sessions: int
    events: int
    milestones: int
    labels: int
    first_started_at_ms: int | None
    last_started_at_ms: int | None
    file_bytes: int
    wal_bytes: int
    by_kind: tuple[tuple[str, int], ...]
    busiest: tuple[tuple[str, int], ...]


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _blob_safe(sql: str) -> str:
    return sql.replace("e.kind", "CAST(e.kind AS BLOB)", 1)


def store_stats(conn: apsw.Connection, path: str, *, top: int) -> StoreStats:
    """Read the statistics; call inside one read transaction for a consistent picture."""
    sessions, events, first, last = fetch_all(
        conn,
        "SELECT count(*), coalesce(sum(last_seq - fork_seq), 0), "
        "min(started_at_ms), max(started_at_ms) FROM sessions",
    )[0]
    milestones = fetch_all(conn, "SELECT count(*) FROM milestones")[0][0]
    labels = fetch_all(
        conn,
        "SELECT count(*) FROM milestones WHERE key >= ? AND key < ?",
        (LABEL_PREFIX, LABEL_PREFIX[:-1] + "/"),
    )[0][0]
    kind_sql = "SELECT e.kind, count(*) AS n FROM events AS e GROUP BY e.kind ORDER BY n DESC, 1"
    by_kind = fetch_all(conn, kind_sql, blob_sql=_blob_safe(kind_sql))
    busiest = fetch_all(
        conn,
        "SELECT ulid, last_seq - fork_seq AS n FROM sessions WHERE last_seq > fork_seq "
        "ORDER BY n DESC, started_at_ms DESC LIMIT ?",
        (top,),
    )
    on_disk = path not in ("", ":memory:")
    return StoreStats(
        sessions=sessions,
        events=events,
        milestones=milestones,
        labels=labels,
        first_started_at_ms=first,
        last_started_at_ms=last,
        file_bytes=_size(path) if on_disk else 0,
        wal_bytes=_size(path + "-wal") if on_disk else 0,
        by_kind=tuple((str(kind), n) for kind, n in by_kind),
        busiest=tuple((ulid, n) for ulid, n in busiest),
    )


_TIMELINE_KINDS_SQL = (
    TIMELINE_CHAIN_SQL
    + """
SELECT e.kind, count(*) AS n
  FROM chain AS c
  JOIN events AS e ON e.session_id = c.id AND e.seq > c.lo AND e.seq <= c.hi
 GROUP BY e.kind
 ORDER BY n DESC, 1
"""
)


def kind_counts(conn: apsw.Connection, session_id: int) -> dict[str, int]:
    """Events per kind over a session's whole timeline (inherited events included)."""
    rows = fetch_all(
        conn, _TIMELINE_KINDS_SQL, (session_id,), blob_sql=_blob_safe(_TIMELINE_KINDS_SQL)
    )
    return {str(kind): n for kind, n in rows}
