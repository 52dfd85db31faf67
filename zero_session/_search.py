"""Full-text search over event text with SQLite FTS5, indexed lazily.

Appends never touch the search index: indexing at append time (a trigger into FTS5)
made a single append several times slower with ``durability="normal"`` (see
``benchmarks/bench_search.py``), far past the 20 % the project allows.  Instead the
table ``event_search_pending`` lists the sessions that may hold events the index has not
seen, with the seq up to which it has (triggers add a session when it starts or is
reopened, which appends never do).  Every search first catches up: it indexes the new
events of those sessions in transactions of at most :data:`CATCH_UP_EVENTS` events, so
writers in other processes wait at most one such step, and drops the ended sessions it
has fully indexed.  Search therefore also finds text appended by other processes.

``events`` is WITHOUT ROWID, so ``event_search_rows`` gives each indexed event the
integer rowid FTS5 needs (``search_id``).  The FTS5 table takes its text from the view
``event_search_source`` (external content), so text is stored once.  Ids grow in the
order events were indexed, and each catch-up indexes its events by time, so "newest
first" is ``ORDER BY rowid DESC``, which FTS5 answers without sorting all matches.

These objects (:data:`SEARCH_SCHEMA_SQL`) are not part of a new file: SQLite parses the
whole schema on the first statement of every connection, and most stores never search,
so they would slow every open (and every ``start``, through a trigger) for nothing.  The
first search creates them (:func:`create_index`) in its write transaction, listing every
session as pending from its fork point, so the catch-up indexes all existing events.
Once created they stay.  A read-only store cannot create them: searching a file that
has none raises ReadOnlyStore.

See https://www.sqlite.org/fts5.html#external_content_tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import apsw
import attrs

from ._events import TIMELINE_CHAIN_SQL
from ._sql import fetch_all
from .errors import InvalidInput
from .models import iso_utc

__all__ = [
    "CATCH_UP_EVENTS",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_PREFIXES",
    "MAX_QUERY_WORDS",
    "SEARCH_SCHEMA_SQL",
    "SearchHit",
    "catch_up",
    "change_mark",
    "check_query",
    "create_index",
    "forget_session",
    "has_index",
    "has_pending",
    "prepare_query",
    "search",
]

CATCH_UP_EVENTS = 20_000

# What one query may ask of FTS5, whose work grows with each word, and most with each
# prefix search (``w*`` reads the entries of every indexed word starting with ``w``):
# a search box never needs more, and a longer query held the store's mutex (and so
# every writer of this Store) for seconds to minutes.  Store.interrupt() cancels the
# rest.
MAX_QUERY_CHARS = 1_000
MAX_QUERY_WORDS = 64
MAX_QUERY_PREFIXES = 4
_CATCH_UP_SESSIONS = 500
_SNIPPET_TOKENS = 16


@attrs.frozen(slots=True)
class SearchHit:
    """One event whose text matched a search, with a snippet around the match.

    ``session`` is the ulid of the session that recorded the event; ``snippet`` is part
    of its text with the matching words between the search's marks.
    """

    session: str
    seq: int
    at_ms: int
    kind: str
    snippet: str

    @property
    def at_iso(self) -> str:
        """``at_ms`` as ISO-8601 UTC text."""
        return iso_utc(self.at_ms) or ""


def prepare_query(query: object, *, literal: bool) -> str:
    """The FTS5 MATCH expression for ``query``.

    With ``literal`` every whitespace-separated word is quoted, so punctuation such as
    ``/fork`` or ``buy:10`` is searched for rather than parsed as FTS5 syntax.  Raises
    InvalidInput for an empty query or one past the caps (:data:`MAX_QUERY_CHARS`,
    :data:`MAX_QUERY_WORDS`, :data:`MAX_QUERY_PREFIXES`), TypeError for a non-str.
    """
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, not {type(query).__name__}")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"search query is {len(query):,} characters long; the cap is {MAX_QUERY_CHARS:,}"
        )
    if "\x00" in query:
        raise InvalidInput("search query may not contain NUL characters")
    words = query.split()
    if not words:
        raise InvalidInput("search query is empty")
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidInput(f"search query has {len(words)} words; the cap is {MAX_QUERY_WORDS}")
    if not literal and query.count("*") > MAX_QUERY_PREFIXES:
        raise InvalidInput(
            f"search query has {query.count('*')} prefix searches (word*); "
            f"the cap is {MAX_QUERY_PREFIXES}"
        )
    if literal:
        return " ".join('"' + word.replace('"', '""') + '"' for word in words)
    return query


# The search objects, created by the first search (never by a migration: see the module
# docstring and migrations/0003_search_on_demand.sql).  IF NOT EXISTS and OR IGNORE make
# it harmless to run twice; create_index runs it inside a write transaction, so two
# processes searching a file for the first time at once create the objects once.
# Nothing newer than SQLite 3.40, so Debian 12's sqlite3 shell reads all of it.
SEARCH_SCHEMA_SQL = """
-- The sessions that may have events the index has not seen: events with
-- seq <= indexed_seq are indexed.  Every session is listed from its start, and again from
-- the moment it is reopened; a catch-up drops the ended sessions it has indexed.
CREATE TABLE IF NOT EXISTS event_search_pending (
    session_id  INTEGER PRIMARY KEY REFERENCES sessions (id),
    indexed_seq INTEGER NOT NULL
);

CREATE TRIGGER IF NOT EXISTS sessions_search_pending_on_start
AFTER INSERT ON sessions
BEGIN
    INSERT INTO event_search_pending (session_id, indexed_seq) VALUES (NEW.id, NEW.fork_seq);
END;

-- An ended session leaves the pending list only once fully indexed, and cannot gain
-- events until it is reopened; OR IGNORE keeps the older mark if it never left.
CREATE TRIGGER IF NOT EXISTS sessions_search_pending_on_reopen
AFTER UPDATE OF ended_at_ms ON sessions
WHEN NEW.ended_at_ms IS NULL
BEGIN
    INSERT OR IGNORE INTO event_search_pending (session_id, indexed_seq)
    VALUES (NEW.id, NEW.last_seq);
END;

-- events is WITHOUT ROWID and FTS5 needs an integer rowid per document: this table
-- gives each indexed event one, growing in the order events were indexed.
CREATE TABLE IF NOT EXISTS event_search_rows (
    search_id  INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS event_search_rows_by_event
    ON event_search_rows (session_id, seq);

-- The FTS5 external content: each indexed event's text, read through the map, so the
-- text is stored once (in events) and snippet() and highlight() still work.
CREATE VIEW IF NOT EXISTS event_search_source AS
SELECT r.search_id AS search_id, e.text AS text
  FROM event_search_rows AS r
  JOIN events AS e ON e.session_id = r.session_id AND e.seq = r.seq;

CREATE VIRTUAL TABLE IF NOT EXISTS event_search USING fts5 (
    text,
    content = 'event_search_source',
    content_rowid = 'search_id',
    columnsize = 0
);

-- For people in the sqlite3 shell (docs/lifecycle.md shows a query).
CREATE VIEW IF NOT EXISTS event_search_log AS
SELECT
    r.search_id,
    s.ulid,
    e.seq,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.at_ms / 1000.0, 'unixepoch') AS at,
    e.kind,
    e.text
FROM event_search_rows AS r
JOIN sessions AS s ON s.id = r.session_id
JOIN events AS e ON e.session_id = r.session_id AND e.seq = r.seq;

-- Every session that exists already, so the first catch-up indexes all their events.
INSERT OR IGNORE INTO event_search_pending (session_id, indexed_seq)
SELECT id, fork_seq FROM sessions;
"""

_SEARCH_OBJECTS = (
    "event_search",
    "event_search_log",
    "event_search_pending",
    "event_search_rows",
    "event_search_rows_by_event",
    "event_search_source",
    "sessions_search_pending_on_reopen",
    "sessions_search_pending_on_start",
)
_COUNT_OBJECTS_SQL = (
    "SELECT count(*) FROM sqlite_schema WHERE name IN ("
    + ", ".join(f"'{name}'" for name in _SEARCH_OBJECTS)
    + ")"
)


def has_index(conn: apsw.Connection) -> bool:
    """Whether the file has the search objects (the first search creates them)."""
    return int(fetch_all(conn, _COUNT_OBJECTS_SQL)[0][0]) == len(_SEARCH_OBJECTS)


def create_index(conn: apsw.Connection) -> None:
    """Create the search objects unless they exist, every session pending from its fork
    point.  Call inside a write transaction (it is what makes a race harmless)."""
    if not has_index(conn):
        conn.execute(SEARCH_SCHEMA_SQL)


_PENDING_SQL = """
SELECT p.session_id, max(p.indexed_seq, s.fork_seq), s.last_seq, s.ended_at_ms IS NOT NULL
  FROM event_search_pending AS p
  JOIN sessions AS s ON s.id = p.session_id
 WHERE s.last_seq > p.indexed_seq OR s.ended_at_ms IS NOT NULL
"""


def change_mark(conn: apsw.Connection) -> tuple[int, int]:
    """A value that changes whenever anyone commits to the file: other connections'
    commits change ``PRAGMA data_version``, this connection's own the count of changes.

    See https://www.sqlite.org/pragma.html#pragma_data_version.
    """
    version = int(fetch_all(conn, "PRAGMA data_version")[0][0])
    return version, int(conn.total_changes())


def has_pending(conn: apsw.Connection) -> bool:
    """Whether a catch-up has anything to do (a read; no write lock taken)."""
    return bool(fetch_all(conn, _PENDING_SQL + " LIMIT 1"))


def catch_up(conn: apsw.Connection, *, max_events: int | None = None) -> bool:
    """Index up to ``max_events`` (default :data:`CATCH_UP_EVENTS`) pending events;
    whether more remain.  Call inside a write transaction.
    """
    pending = fetch_all(
        conn, _PENDING_SQL + " ORDER BY p.session_id LIMIT ?", (_CATCH_UP_SESSIONS + 1,)
    )
    budget = CATCH_UP_EVENTS if max_events is None else max_events
    ranges: list[tuple[int, int, int]] = []
    finished: list[int] = []
    marks: list[tuple[int, int]] = []
    for session_id, indexed_seq, last_seq, ended in pending[:_CATCH_UP_SESSIONS]:
        if budget == 0:
            break
        upto = min(last_seq, indexed_seq + budget)
        if upto > indexed_seq:
            ranges.append((session_id, indexed_seq, upto))
            budget -= upto - indexed_seq
        if upto == last_seq and ended:
            finished.append(session_id)
        else:
            marks.append((upto, session_id))
    if ranges:
        _index_ranges(conn, ranges)
    conn.executemany("UPDATE event_search_pending SET indexed_seq = ? WHERE session_id = ?", marks)
    conn.executemany(
        "DELETE FROM event_search_pending WHERE session_id = ?", [(i,) for i in finished]
    )
    return budget == 0 or len(pending) > _CATCH_UP_SESSIONS


def _index_ranges(conn: apsw.Connection, ranges: Sequence[tuple[int, int, int]]) -> None:
    """Give the events in the ``(session_id, after_seq, upto_seq]`` ranges search ids, in
    time order, and add their text to the FTS5 index."""
    newest = fetch_all(conn, "SELECT coalesce(max(search_id), 0) FROM event_search_rows")
    last_id = int(newest[0][0])
    values = ", ".join("(?, ?, ?)" for _ in ranges)
    params: list[int] = [value for item in ranges for value in item]
    conn.execute(
        f"WITH pending(session_id, after_seq, upto_seq) AS (VALUES {values}) "
        "INSERT OR IGNORE INTO event_search_rows (session_id, seq) "
        "SELECT e.session_id, e.seq FROM pending AS p "
        "JOIN events AS e ON e.session_id = p.session_id "
        "AND e.seq > p.after_seq AND e.seq <= p.upto_seq "
        "ORDER BY e.at_ms, e.session_id, e.seq",
        params,
    )
    conn.execute(
        "INSERT INTO event_search (rowid, text) "
        "SELECT search_id, text FROM event_search_source WHERE search_id > ?",
        (last_id,),
    )


def forget_session(conn: apsw.Connection, session_id: int) -> None:
    """Remove a session's events from the index; call before deleting its events, and
    only when :func:`has_index`."""
    # External content: FTS5 needs each row's indexed text to remove its tokens.
    conn.execute(
        "INSERT INTO event_search (event_search, rowid, text) "
        "SELECT 'delete', r.search_id, e.text FROM event_search_rows AS r "
        "JOIN events AS e ON e.session_id = r.session_id AND e.seq = r.seq "
        "WHERE r.session_id = ?",
        (session_id,),
    )
    conn.execute("DELETE FROM event_search_rows WHERE session_id = ?", (session_id,))
    conn.execute("DELETE FROM event_search_pending WHERE session_id = ?", (session_id,))


_HITS_SQL = """
SELECT s.ulid, e.seq, e.at_ms, e.kind, h.snippet
  FROM (SELECT rowid AS search_id, snippet(event_search, 0, ?, ?, '…', ?) AS snippet
          FROM event_search
         WHERE event_search MATCH ?
         ORDER BY rowid DESC
         LIMIT ?) AS h
  JOIN event_search_rows AS r ON r.search_id = h.search_id
  JOIN events AS e ON e.session_id = r.session_id AND e.seq = r.seq
  JOIN sessions AS s ON s.id = r.session_id
 ORDER BY h.search_id DESC
"""

# The search ids of a timeline's indexed events lie in this range; handing it to FTS5
# as a rowid constraint skips the matches of every session indexed outside it.
_TIMELINE_BOUNDS_SQL = (
    TIMELINE_CHAIN_SQL
    + """
SELECT min(r.search_id), max(r.search_id)
  FROM chain AS c
  JOIN event_search_rows AS r ON r.session_id = c.id AND r.seq > c.lo AND r.seq <= c.hi
"""
)
_TIMELINE_HITS_SQL = (
    TIMELINE_CHAIN_SQL
    + """
SELECT s.ulid, e.seq, e.at_ms, e.kind, snippet(event_search, 0, ?, ?, '…', ?)
  FROM event_search
 CROSS JOIN event_search_rows AS r ON r.search_id = event_search.rowid
  JOIN chain AS c ON c.id = r.session_id AND r.seq > c.lo AND r.seq <= c.hi
  JOIN events AS e ON e.session_id = r.session_id AND e.seq = r.seq
  JOIN sessions AS s ON s.id = r.session_id
 WHERE event_search MATCH ? AND event_search.rowid BETWEEN ? AND ?
 ORDER BY event_search.rowid DESC
 LIMIT ?
"""
)


def check_query(conn: apsw.Connection, match: str) -> None:
    """InvalidInput unless ``match`` is a valid FTS5 query.

    It only reads, so ``Store.search`` refuses a bad query before it indexes anything.
    """
    try:
        fetch_all(conn, "SELECT 1 FROM event_search WHERE event_search MATCH ? LIMIT 1", (match,))
    except apsw.SQLError as exc:
        raise InvalidInput(f"not a valid search query {match!r}: {exc}") from exc


def _as_blobs(sql: str, snippet: str) -> str:
    return sql.replace("e.kind, " + snippet, f"CAST(e.kind AS BLOB), CAST({snippet} AS BLOB)")


def search(
    conn: apsw.Connection,
    match: str,
    *,
    limit: int,
    session_id: int | None,
    marks: tuple[str, str],
) -> list[SearchHit]:
    """Indexed events matching ``match``, newest first; with ``session_id``, only the
    events of that session's timeline (its own and those inherited from ancestors).

    Raises InvalidInput when ``match`` is not a valid FTS5 query.
    """
    params: list[Any]
    if session_id is None:
        sql, blob_sql = _HITS_SQL, _as_blobs(_HITS_SQL, "h.snippet")
        params = [marks[0], marks[1], _SNIPPET_TOKENS, match, limit]
    else:
        low, high = fetch_all(conn, _TIMELINE_BOUNDS_SQL, (session_id,))[0]
        if low is None:
            low = high = 0  # nothing indexed: still run the query, to check its syntax
        snippet = "snippet(event_search, 0, ?, ?, '…', ?)"
        sql, blob_sql = _TIMELINE_HITS_SQL, _as_blobs(_TIMELINE_HITS_SQL, snippet)
        params = [session_id, marks[0], marks[1], _SNIPPET_TOKENS, match, low, high, limit]
    try:
        rows = fetch_all(conn, sql, params, blob_sql=blob_sql)
    except apsw.SQLError as exc:
        raise InvalidInput(f"not a valid search query {match!r}: {exc}") from exc
    return [SearchHit(*row) for row in rows]
