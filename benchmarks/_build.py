"""Build benchmark files fast: the real schema, filled by raw apsw bulk inserts.

Appending a million events one by one through any API would take longer than the
benchmark itself, so files are created by ``Store.open`` (the real migrations) and then
filled in C by ``INSERT ... SELECT`` over a recursive counter.  The inserts respect the
schema's triggers: each session row is inserted first with its final ``last_seq``, so the
``events_refuse_out_of_range`` trigger accepts the events that follow.
"""

from __future__ import annotations

from pathlib import Path

import apsw
from ulid import ULID

from zero_session import Store

BASE_MS = 1_780_000_000_000

# kind cycles through four kinds; every fourth event carries a small JSON object.
_EVENTS_OF_SESSION = """
WITH RECURSIVE c(x) AS (SELECT ?2 + 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?3)
INSERT INTO events (session_id, seq, at_ms, kind, text, data)
SELECT ?1, x, ?4 + x,
       CASE x % 4 WHEN 0 THEN 'prompt' WHEN 1 THEN 'system' WHEN 2 THEN 'command' ELSE 'warn' END,
       'event ' || x || ': a line of text of a typical interactive session',
       CASE WHEN x % 4 = 0 THEN json_object('qty', x, 'symbol', 'ACME') END
  FROM c
"""

_EVENTS_OF_RANGE = """
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?3)
INSERT INTO events (session_id, seq, at_ms, kind, text, data)
SELECT s.id, c.x, s.started_at_ms + c.x,
       CASE c.x % 4 WHEN 0 THEN 'prompt' WHEN 1 THEN 'system' WHEN 2 THEN 'command' ELSE 'warn' END,
       'event ' || c.x || ': a line of text of a typical interactive session',
       CASE WHEN c.x % 4 = 0 THEN json_object('qty', c.x, 'symbol', 'ACME') END
  FROM sessions AS s, c
 WHERE s.id BETWEEN ?1 AND ?2
 ORDER BY s.id, c.x
"""

_INSERT_SESSION = (
    "INSERT INTO sessions (ulid, parent_id, fork_seq, started_at_ms, ended_at_ms, last_seq, "
    "last_event_at_ms, cli_version, cwd, meta, writer_host, writer_pid) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, 'bench', '/bench', '{}', 'bench-host', 1)"
)


def ulid_at(ms: int) -> str:
    """A ULID whose time part is ``ms`` (random part fresh), like one made at that time."""
    return str(ULID.from_timestamp(ms / 1000))


def create(path: Path) -> None:
    """A new, empty store file with the real schema."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    Store.open(path).close()


def connect(path: Path) -> apsw.Connection:
    """A raw connection tuned for bulk loading (no fsync: a crash just rebuilds the file)."""
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    return conn


def add_session(
    conn: apsw.Connection,
    *,
    n_events: int,
    started_at_ms: int,
    parent: tuple[int, int] | None = None,
    ended: bool = True,
) -> tuple[int, str]:
    """A session with ``n_events`` own events; ``parent`` is (parent id, fork_seq).

    ``ended=False`` leaves it open for appends.  Returns (session id, ulid).  Call inside
    a transaction.
    """
    parent_id, fork_seq = parent if parent is not None else (None, 0)
    ulid = ulid_at(started_at_ms)
    last_seq = fork_seq + n_events
    conn.execute(
        _INSERT_SESSION,
        (
            ulid,
            parent_id,
            fork_seq,
            started_at_ms,
            started_at_ms + 1 if ended else None,
            last_seq,
            started_at_ms + last_seq,
        ),
    )
    session_id = conn.last_insert_rowid()
    if n_events:
        conn.execute(_EVENTS_OF_SESSION, (session_id, fork_seq, last_seq, started_at_ms))
    return session_id, ulid


def add_many_sessions(
    conn: apsw.Connection, *, count: int, events_each: int, first_ms: int, label_every: int = 0
) -> list[str]:
    """``count`` sessions of ``events_each`` events, one second apart; returns their ulids.

    Every ``label_every``-th session gets a label, so listings read some labels.
    Call inside a transaction.
    """
    rows = []
    ulids = []
    for i in range(count):
        at = first_ms + i * 1000
        ulid = ulid_at(at)
        ulids.append(ulid)
        rows.append((ulid, None, 0, at, at + 1, events_each, at + events_each))
    conn.executemany(_INSERT_SESSION, rows)
    last_id = conn.last_insert_rowid()
    first_id = last_id - count + 1
    if events_each:
        conn.execute(_EVENTS_OF_RANGE, (first_id, last_id, events_each))
    if label_every:
        conn.executemany(
            "INSERT INTO milestones (key, value, at_ms) VALUES (?, ?, ?)",
            [(f"session.label.l{i}", ulids[i], first_ms) for i in range(0, count, label_every)],
        )
    return ulids


def checkpoint(conn: apsw.Connection) -> None:
    """Fold the WAL back into the file so every contender starts from the same state."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def file_bytes(path: Path) -> int:
    """The size of the database file plus its WAL, in bytes."""
    wal = Path(str(path) + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
