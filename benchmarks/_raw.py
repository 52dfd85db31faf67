"""The limit: the cheapest raw-apsw way to get the same answer, with no library around it.

Writes are what a program would write by hand against the same schema: the same
statements, the same transactions (``BEGIN IMMEDIATE``), the same connection settings,
the work the SQL needs (``json.dumps`` of the data it stores) and nothing else: no
validation, no value objects, no locking, no error translation.

Reads are **not** zero_session's SQL replayed (that would only measure our Python and
flatter our queries): each is the cheapest statement a person would write by hand for the
same answer, returning plain tuples.  Replay: one SELECT through the fork chain (a
session's own primary-key range for a root session), no JSON guard, nothing decoded.
Listing: one SELECT along the ``sessions_newest_first`` index with ``LIMIT 20``, counts
from the stored ``last_seq``.  Get and find: one indexed lookup of the session's row.
Our own statements are kept here as ``OURS_*`` for the side figures (how much of the gap
is our SQL, how much our Python).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import apsw

try:
    from zero_session._event_writes import _CHUNK_ROWS as CHUNK_ROWS
    from zero_session._event_writes import _chunk_sql as chunk_sql
except ImportError:  # a checkout from before the split of _events (a "before" run)
    from zero_session._events import _CHUNK_ROWS as CHUNK_ROWS  # type: ignore[attr-defined,no-redef]
    from zero_session._events import _chunk_sql as chunk_sql  # type: ignore[attr-defined,no-redef]

SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}

RESERVE = (
    "UPDATE sessions SET last_seq = last_seq + ?, last_event_at_ms = ? "
    "WHERE ulid = ? AND ended_at_ms IS NULL RETURNING id, last_seq"
)
# Since schema 5 a reservation also seals the seqs already stored (``sealed_seq``), which
# the append-only insert trigger checks: the cheapest correct raw append does it too.
RESERVE_SEALING = RESERVE.replace(
    "last_event_at_ms = ? ", "last_event_at_ms = ?, sealed_seq = last_seq "
)
_RESERVE_BY_CONNECTION: dict[int, str] = {}


def _reserve_sql(conn: apsw.Connection) -> str:
    """The reservation for this file's schema (a "before" run's file has no sealed_seq),
    looked up once per connection so that the timed appends pay nothing for it."""
    sql = _RESERVE_BY_CONNECTION.get(id(conn))
    if sql is None:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
        sql = RESERVE_SEALING if "sealed_seq" in columns else RESERVE
        _RESERVE_BY_CONNECTION[id(conn)] = sql
    return sql


INSERT = "INSERT INTO events (session_id, seq, at_ms, kind, text, data) VALUES (?, ?, ?, ?, ?, ?)"

CHAIN = """
WITH RECURSIVE chain(id, ulid, parent_id, lo, hi) AS (
    SELECT id, ulid, parent_id, fork_seq, last_seq FROM sessions WHERE id = ?
    UNION ALL
    SELECT p.id, p.ulid, p.parent_id, p.fork_seq, min(c.lo, c.hi)
      FROM sessions AS p JOIN chain AS c ON p.id = c.parent_id
)
SELECT id, ulid, lo, hi FROM chain
"""
# zero_session's range read: the CASE wraps text that is not JSON (typed into the sqlite3
# shell) so that a page of values decodes in one json.loads.
RANGE = (
    "SELECT seq, at_ms, kind, text, "
    "CASE WHEN data IS NULL OR json_valid(data) THEN data "
    "ELSE json_object('_invalid_json', data) END FROM events "
    "WHERE session_id = ? AND seq > ? AND seq <= ? ORDER BY seq"
)
# The same rows without that guard: the least any reader of this schema could do.
RANGE_PLAIN = (
    "SELECT seq, at_ms, kind, text, data FROM events "
    "WHERE session_id = ? AND seq > ? AND seq <= ? ORDER BY seq"
)

SESSION_COLUMNS = """
    s.id, s.ulid, p.ulid, s.fork_seq, s.started_at_ms, s.ended_at_ms, s.last_seq,
    s.last_event_at_ms, s.cli_version, s.engine_base_url, s.cwd, s.meta,
    s.writer_host, s.writer_pid, s.writer_token, s.archived_at_ms, s.expires_at_ms,
    (SELECT group_concat(substr(m.key, 15), char(31))
       FROM milestones AS m
      WHERE m.value = s.ulid
        AND m.key >= 'session.label.' AND m.key < 'session.label/') AS labels
"""
SELECT_SESSION = (
    f"SELECT {SESSION_COLUMNS} FROM sessions AS s LEFT JOIN sessions AS p ON p.id = s.parent_id"
)
LIST = (
    f"{SELECT_SESSION} WHERE s.archived_at_ms IS NULL "
    "ORDER BY s.started_at_ms DESC, s.id DESC LIMIT ?"
)
BY_ULID = f"{SELECT_SESSION} WHERE s.ulid = ?"
LABEL = "SELECT value FROM milestones WHERE key = ?"
PREFIX = "SELECT ulid FROM sessions WHERE ulid >= ? AND ulid <= ? ORDER BY ulid LIMIT ?"
INSERT_SESSION = (
    "INSERT INTO sessions (ulid, parent_id, fork_seq, started_at_ms, last_seq, "
    "cli_version, engine_base_url, cwd, meta, writer_host, writer_pid, writer_token, "
    "expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def connect(path: Path | str, durability: str) -> apsw.Connection:
    """A connection configured like the Store's own (WAL, busy timeout, foreign keys)."""
    conn = apsw.Connection(str(path))
    conn.setbusytimeout(5000)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[durability]}")
    return conn


def header_version_and_id(conn: apsw.Connection) -> tuple[int, int]:
    """The header's user_version and application_id, read through the connection's own
    file handle without a read transaction (which, in WAL mode, would create the -wal
    and -shm)."""
    header = conn.read("main", 0, 0, 100)[1]
    return int.from_bytes(header[60:64], "big"), int.from_bytes(header[68:72], "big")


def close_keeping_an_empty_wal(conn: apsw.Connection, path: str) -> None:
    """Close; with nothing in the -wal, without SQLite's checkpoint-on-close (which would
    delete the -wal and -shm that the next open then creates again)."""
    try:
        empty = os.stat(path + "-wal").st_size == 0
    except OSError:
        empty = False
    if empty:
        conn.config(apsw.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1)
    conn.close()


def open_close(path: Path | str, durability: str) -> None:
    """What opening an up-to-date store costs at the least: connect, read the header's
    version and id (from the header's bytes: no read transaction), close.
    ``durability`` is set on first use, as the Store does."""
    name = str(path)
    conn = apsw.Connection(name)
    conn.setbusytimeout(5000)
    header_version_and_id(conn)
    conn.close()


POSITION = "SELECT id, fork_seq, last_seq FROM sessions WHERE ulid = ?"


def segments(
    conn: apsw.Connection, session_id: int, fork_seq: int, after: int, upto: int
) -> list[tuple[int, int, int]]:
    """``(segment id, start, end]`` of the timeline range, as zero_session finds them: a
    range past the fork point is the session's own, else the chain of ancestors."""
    if after >= fork_seq:
        return [(session_id, after, upto)]
    found = sorted(conn.execute(CHAIN, (session_id,)), key=lambda s: s[2])
    return [
        (sid, max(lo, after), min(hi, upto))
        for sid, _, lo, hi in found
        if max(lo, after) < min(hi, upto)
    ]


def open_read_last(path: Path | str, durability: str, ulid: str) -> list[Any]:
    """Open, configure, read a session's last event (its position, its timeline's
    segments, one range read), close: the first answer a program gets from a store."""
    name = str(path)
    conn = apsw.Connection(name)
    conn.setbusytimeout(5000)
    header_version_and_id(conn)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL").fetchall()
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[durability]}")
    session_id, fork_seq, last_seq = conn.execute(POSITION, (ulid,)).fetchall()[0]
    rows: list[Any] = []
    for segment_id, lo, hi in segments(conn, session_id, fork_seq, last_seq - 1, last_seq):
        rows += conn.execute(RANGE, (segment_id, lo, hi)).fetchall()
    close_keeping_an_empty_wal(conn, name)
    return rows


def append(
    conn: apsw.Connection, ulid: str, kind: str, text: str, data: Any, at_ms: int
) -> tuple[int, int]:
    """One event in one BEGIN IMMEDIATE transaction; returns (session id, seq)."""
    data_json = None if data is None else json.dumps(data)
    conn.execute("BEGIN IMMEDIATE")
    session_id, seq = conn.execute(_reserve_sql(conn), (1, at_ms, ulid)).fetchall()[0]
    conn.execute(INSERT, (session_id, seq, at_ms, kind, text, data_json))
    conn.execute("COMMIT")
    return session_id, seq


def append_many(
    conn: apsw.Connection, ulid: str, items: list[tuple[str, str, Any]], at_ms: int
) -> int:
    """Several events in one transaction; returns the first seq."""
    rows = [(kind, text, None if data is None else json.dumps(data)) for kind, text, data in items]
    conn.execute("BEGIN IMMEDIATE")
    session_id, last = conn.execute(_reserve_sql(conn), (len(rows), at_ms, ulid)).fetchall()[0]
    first = last - len(rows) + 1
    # zero_session's statements: multi-row INSERTs of power-of-two chunks (its SQL text
    # is borrowed, so both run exactly the same statements).
    done = 0
    while done < len(rows):
        size = min(CHUNK_ROWS, 1 << ((len(rows) - done).bit_length() - 1))
        params: list[Any] = [session_id, first + done, at_ms]
        for row in rows[done : done + size]:
            params += row
        conn.execute(chunk_sql(size), params)
        done += size
    conn.execute("COMMIT")
    return first


def replay(conn: apsw.Connection, ulid: str, *, guard: bool = True) -> list[tuple[Any, ...]]:
    """The whole timeline as tuples: the chain of segments, then one primary-key range
    read per segment; ``guard=False`` leaves out the JSON-validity CASE."""
    session_id, fork_seq, last_seq = conn.execute(POSITION, (ulid,)).fetchall()[0]
    sql = RANGE if guard else RANGE_PLAIN
    rows: list[tuple[Any, ...]] = []
    for segment_id, lo, hi in segments(conn, session_id, fork_seq, 0, last_seq):
        rows += conn.execute(sql, (segment_id, lo, hi)).fetchall()
    return rows


# The session columns a listing shows, straight from the table: the cheapest statement
# for the same facts.  The parent's ulid is left out (its id is read instead, which
# favours raw apsw); the labels and the origin of a pulled session are part of every
# Session, and since schema 6 the labels are stored on the row, so the statement reads
# them too (``plain_session_sql``: a file without those columns reads without them).
PLAIN_COLUMNS = (
    "id, ulid, parent_id, fork_seq, started_at_ms, ended_at_ms, last_seq, last_event_at_ms, "
    "cli_version, engine_base_url, cwd, meta, writer_host, writer_pid, writer_token, "
    "archived_at_ms, expires_at_ms"
)
STORED_ANSWER_COLUMNS = ("labels", "origin_store_id", "origin_labels")


class PlainSessionSQL(NamedTuple):
    """The raw statements for list, get and find on one file's schema."""

    list: str
    by_ulid: str
    by_prefix: str


def plain_session_sql(conn: apsw.Connection, list_limit: int) -> PlainSessionSQL:
    """The cheapest statements for this file: :data:`PLAIN_COLUMNS` plus those of
    :data:`STORED_ANSWER_COLUMNS` the file has.  Looked up once, before timing.

    The listing's limit is written into its SQL: SQLite prepares a statement whose
    ``LIMIT ?`` is bound again on every run, which made the 20-row listing ~1.5x slower.
    """
    present = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
    columns = ", ".join([PLAIN_COLUMNS, *(c for c in STORED_ANSWER_COLUMNS if c in present)])
    return PlainSessionSQL(
        list=(
            f"SELECT {columns} FROM sessions WHERE archived_at_ms IS NULL "
            f"ORDER BY started_at_ms DESC, id DESC LIMIT {list_limit:d}"
        ),
        by_ulid=f"SELECT {columns} FROM sessions WHERE ulid = ?",
        by_prefix=f"SELECT {columns} FROM sessions WHERE ulid >= ? AND ulid <= ? LIMIT 2",
    )


# Our statements, for the side figure only (how much of the gap is our SQL): the store's
# own session query (labels, parent ulid, origin), and find's one statement.
try:
    from zero_session._sessions import SELECT_SESSION_SQL as OURS_SELECT
except ImportError:  # a checkout from before the named session row
    OURS_SELECT = SELECT_SESSION
try:
    from zero_session._sessions import _FIND_SQL as OURS_FIND
except ImportError:  # before find read a prefix in one statement
    OURS_FIND = None
OURS_LIST = f"{OURS_SELECT} WHERE s.archived_at_ms IS NULL ORDER BY s.started_at_ms DESC, s.id DESC"
# A whole timeline in one statement: the chain of segments joined to each segment's
# primary-key range, in seq order.
ONE_SELECT_TIMELINE = """
WITH RECURSIVE chain(id, parent_id, lo, hi) AS (
    SELECT id, parent_id, fork_seq, last_seq FROM sessions WHERE ulid = ?
    UNION ALL
    SELECT p.id, p.parent_id, p.fork_seq, min(c.lo, c.hi)
      FROM sessions AS p JOIN chain AS c ON p.id = c.parent_id
)
SELECT e.seq, e.at_ms, e.kind, e.text, e.data
  FROM chain JOIN events AS e ON e.session_id = chain.id AND e.seq > chain.lo AND e.seq <= chain.hi
 ORDER BY e.seq
"""
ONE_SELECT_ROOT = (
    "SELECT e.seq, e.at_ms, e.kind, e.text, e.data FROM sessions AS s "
    "JOIN events AS e ON e.session_id = s.id WHERE s.ulid = ? ORDER BY e.seq"
)


def replay_one_select(conn: apsw.Connection, ulid: str, *, root: bool) -> list[tuple[Any, ...]]:
    """The whole timeline as tuples in one statement: through the fork chain, or (a root
    session, which has no chain) the session's own primary-key range."""
    return conn.execute(ONE_SELECT_ROOT if root else ONE_SELECT_TIMELINE, (ulid,)).fetchall()


def list_sessions(conn: apsw.Connection, plain: PlainSessionSQL) -> list[tuple[Any, ...]]:
    """The newest sessions (the limit ``plain`` was made with), one indexed SELECT, as
    tuples."""
    return conn.execute(plain.list).fetchall()


def ours_list_sql(limit: int) -> str:
    """Our listing statement with this limit written in (as the store runs it)."""
    return f"{OURS_LIST} LIMIT {limit:d}"


def list_sessions_ours(conn: apsw.Connection, sql: str) -> list[tuple[Any, ...]]:
    """The newest sessions through our statement (``ours_list_sql``: labels, parent
    ulid, origin)."""
    return conn.execute(sql).fetchall()


def get(conn: apsw.Connection, ulid: str, plain: PlainSessionSQL) -> tuple[Any, ...]:
    """A session's row by exact ulid: one indexed lookup."""
    return conn.execute(plain.by_ulid, (ulid,)).fetchall()[0]


def find_prefix(conn: apsw.Connection, prefix: str, plain: PlainSessionSQL) -> tuple[Any, ...]:
    """A session's row by unique ulid prefix: one indexed range lookup (two rows at most,
    to know it is unique)."""
    upper = prefix + "Z" * (26 - len(prefix))
    rows = conn.execute(plain.by_prefix, (prefix, upper)).fetchall()
    assert len(rows) == 1
    return rows[0]


def find_prefix_ours(conn: apsw.Connection, prefix: str) -> tuple[Any, ...]:
    """The same through our statements: one range read (the label's target, missing
    here, else the prefix's first two rows); before that, the label, the prefix's ulids,
    then the row."""
    upper = prefix + "Z" * (26 - len(prefix))
    if OURS_FIND is not None:
        rows = conn.execute(OURS_FIND, ("session.label." + prefix, prefix, upper)).fetchall()
        assert len(rows) == 1
        return rows[0]
    conn.execute(LABEL, ("session.label." + prefix,)).fetchall()
    matches = conn.execute(PREFIX, (prefix, upper, 11)).fetchall()
    assert len(matches) == 1
    return conn.execute(BY_ULID, (matches[0][0],)).fetchall()[0]


def fork(conn: apsw.Connection, ulid: str, child_ulid: str, now_ms: int) -> tuple[Any, ...]:
    """A child row at the parent's last seq, in one transaction; returns the child row."""
    conn.execute("BEGIN IMMEDIATE")
    parent = conn.execute(BY_ULID, (ulid,)).fetchall()[0]
    conn.execute(
        INSERT_SESSION,
        (
            child_ulid,
            parent[0],
            parent[6],
            now_ms,
            parent[6],
            parent[8],
            parent[9],
            parent[10],
            parent[11],
            "host",
            1,
            None,
            None,
        ),
    )
    child = conn.execute(BY_ULID, (child_ulid,)).fetchall()[0]
    conn.execute("COMMIT")
    return tuple(child)
