"""Pull: bring a session recorded by another store from the server into this file.

``pull(store, ref)`` resolves ``ref`` on the server (an exact ulid, then a label, then a
unique ulid prefix of six or more characters, like ``Store.find``), reads the session
and every fork ancestor its timeline needs from one consistent snapshot of the server
(``REPEATABLE READ``), and only then writes them into the file in one local transaction
(``_pulled.apply_pulled``), which validates the whole batch.  A pull that dies while
reading (server killed, link frozen) has written nothing; the next pull starts over.
Pulling again brings only the events after the local copy's last seq, and refreshes
the end time and the origin's labels.

A pulled session belongs to its origin store: this file can read it, label and archive
it, and continue it only in a local fork (``Store.resume`` makes one), which push sends
as this store's own session with its parent link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _sync_source
from .._pulled import PulledSession, apply_pulled
from ..errors import AmbiguousSession, InvalidInput, SessionNotFound, SyncError
from ..ids import is_ulid, normalise_prefix

if TYPE_CHECKING:
    from ..models import Session
    from ..store import Store

__all__ = ["pull"]

MIN_PREFIX = 6
_MAX_CANDIDATES = 10
_MAX_DEPTH = 10_000  # a fork chain longer than this on the server is refused as a loop
_ATTEMPTS = 3  # reads of the server when a concurrent pull wrote the same sessions first

_CHAIN_SQL = """
WITH RECURSIVE chain AS (
    SELECT s.ulid, s.parent_ulid, 0 AS depth FROM zero_session.sessions AS s WHERE s.ulid = %s
    UNION ALL
    SELECT p.ulid, p.parent_ulid, c.depth + 1
      FROM zero_session.sessions AS p JOIN chain AS c ON p.ulid = c.parent_ulid
     WHERE c.depth < %s
)
SELECT s.ulid, s.origin, s.parent_ulid, s.fork_seq, s.started_at_ms, s.ended_at_ms,
       s.last_seq, s.cli_version, s.engine_base_url, s.cwd, s.meta_text, s.expires_at_ms,
       ARRAY(SELECT l.name FROM zero_session.labels AS l
              WHERE l.ulid = s.ulid AND l.store_id = s.origin ORDER BY l.name),
       c.depth
  FROM chain AS c JOIN zero_session.sessions AS s ON s.ulid = c.ulid
 ORDER BY c.depth DESC
"""

# Text and data as the file had them: PostgreSQL text cannot hold NUL, so such an event
# keeps its exact UTF-8 in text_bytes / data_bytes (rare: read apart, see _events).
_EVENTS_SQL = (
    "SELECT seq, at_ms, kind, text, data_text FROM zero_session.events "
    "WHERE ulid = %s AND seq > %s AND seq <= %s ORDER BY seq"
)
_EXACT_SQL = (
    "SELECT seq, text_bytes, data_bytes FROM zero_session.events "
    "WHERE ulid = %s AND seq > %s AND seq <= %s "
    "AND (text_bytes IS NOT NULL OR data_bytes IS NOT NULL)"
)


def pull(
    store: Store,
    ref: str,
    dsn: str | None = None,
    *,
    io_timeout_s: float,
    connect_timeout_s: float | None = None,
) -> Session:
    """Bring the session ``ref`` names on the server, with the fork ancestors its timeline
    needs, into ``store``; the pulled session as stored here.

    ``store.replay(ulid)`` then equals the origin's replay event for event.
    ``io_timeout_s`` bounds the wait for the server's answers, so a frozen link ends in
    a SyncError; ``connect_timeout_s`` (default: the DSN's, else 10 s) bounds connecting.
    Raises
    SessionNotFound (no session on the server matches), AmbiguousSession (a label two
    stores use for different sessions, or a prefix of several: ``candidates`` name each
    with its origin store), SyncError (server unreachable, link lost, schema missing:
    nothing was written), InvalidInput (the server's rows do not continue the local copy),
    ReadOnlyStore.
    """
    import psycopg

    from ._connect import IoGuard, connect
    from ._errors import ServerSchemaTooNew
    from ._server_schema import ensure_schema, known_server_version, server_version

    if not isinstance(ref, str):
        raise TypeError(f"ref must be a str, not {type(ref).__name__}")
    mine = _sync_source.store_id(store, create=False)  # None: it never pushed
    conn, target = connect(dsn, connect_timeout_s=connect_timeout_s)
    guard = IoGuard(conn, io_timeout_s)
    try:
        with guard():
            version = server_version(conn)
            if version == 0:
                raise SessionNotFound(ref, f"nothing was ever pushed to {target.name}")
            if version < known_server_version():
                ensure_schema(conn, target)  # upgrade, as push would; ServerSchemaTooNew
            elif version > known_server_version():
                raise ServerSchemaTooNew(target.name, version, known_server_version())
        server = _Server(conn, guard)
        for attempt in range(_ATTEMPTS):
            with conn.transaction():
                server.rows("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                ulid = _resolve(server, ref)
                batch = _read_chain(server, store, ulid, mine)
            if not batch:
                break
            try:
                apply_pulled(store, batch)
                break
            except InvalidInput:
                # Another pull of the same sessions (another process) may have written
                # first: the batch no longer continues the local copies.  Read again from
                # them; a batch that is wrong in itself fails again and is raised.
                if attempt == _ATTEMPTS - 1:
                    raise
    except (psycopg.Error, OSError) as exc:
        raise target.error(exc, "cannot pull from") from None
    finally:
        conn.close()
    return store.get(ulid)


class _Server:
    """The pull's connection: each round trip bounded by the I/O guard."""

    def __init__(self, conn: Any, guard: Any) -> None:
        self._conn = conn
        self._guard = guard

    def rows(self, sql: str, params: Any = None, *, binary: bool = False) -> list[Any]:
        """The rows ``sql`` returns (none for a statement without results)."""
        with self._guard():
            cursor = self._conn.cursor(binary=binary).execute(sql, params)
            return cursor.fetchall() if cursor.description else []


def _resolve(server: _Server, ref: str) -> str:
    """The ulid ``ref`` names on the server: exact ulid, else label, else unique prefix."""
    text = ref.strip()
    if not text:
        raise SessionNotFound(ref, "give a ulid, a label or a ulid prefix")
    prefix = normalise_prefix(text)
    exact = "SELECT 1 FROM zero_session.sessions WHERE ulid = %s"
    if prefix is not None and is_ulid(prefix) and server.rows(exact, (prefix,)):
        return prefix
    named = server.rows(
        "SELECT DISTINCT l.ulid, l.store_id FROM zero_session.labels AS l "
        "JOIN zero_session.sessions AS s ON s.ulid = l.ulid "
        "WHERE l.name = %s ORDER BY l.ulid, l.store_id",
        (text,),
    )
    if len({ulid for ulid, _ in named}) == 1:
        return str(named[0][0])
    if named:
        raise AmbiguousSession(ref, [f"{ulid} (label of store {origin})" for ulid, origin in named])
    if prefix is None or len(prefix) < MIN_PREFIX:
        detail = f"a prefix needs at least {MIN_PREFIX} characters" if prefix else ""
        raise SessionNotFound(ref, detail)
    matches = server.rows(
        "SELECT ulid, origin FROM zero_session.sessions WHERE ulid >= %s AND ulid <= %s "
        "ORDER BY ulid LIMIT %s",
        (prefix, prefix + "Z" * (26 - len(prefix)), _MAX_CANDIDATES + 1),
    )
    if not matches:
        raise SessionNotFound(ref, "not on the server")
    if len(matches) > 1:
        shown = [f"{ulid} (store {origin})" for ulid, origin in matches[:_MAX_CANDIDATES]]
        raise AmbiguousSession(ref, shown, more=len(matches) > _MAX_CANDIDATES)
    return str(matches[0][0])


def _read_chain(server: _Server, store: Store, ulid: str, mine: str | None) -> list[PulledSession]:
    """The session and its ancestors, root first, each with the events the local copy
    lacks; sessions this store owns are left out (the file is their source of truth)."""
    rows = server.rows(_CHAIN_SQL, (ulid, _MAX_DEPTH))
    if not rows or rows[0][2] is not None:
        raise SyncError(
            f"the server's fork chain of session {ulid} is broken or loops", kind="rejected"
        )
    batch: list[PulledSession] = []
    for row in rows:
        (ulid_, origin, parent, fork_seq, started, ended, last_seq) = row[:7]
        local = _local(store, ulid_)
        if origin == mine or (local is not None and local.origin is None):
            if local is None:
                raise SyncError(
                    f"session {ulid_} was recorded by this store but is no longer in "
                    f"{store.path}; pull cannot bring a store's own session back",
                    kind="rejected",
                )
            continue
        after = local.last_seq if local is not None else fork_seq
        events = _events(server, ulid_, after, last_seq) if last_seq > after else []
        batch.append(
            PulledSession(
                ulid=ulid_,
                origin=origin,
                parent_ulid=parent,
                fork_seq=fork_seq,
                started_at_ms=started,
                ended_at_ms=ended,
                cli_version=row[7],
                engine_base_url=row[8],
                cwd=row[9],
                meta_json=row[10],
                expires_at_ms=row[11],
                origin_labels=tuple(row[12]),
                events=events,
            )
        )
    return batch


def _local(store: Store, ulid: str) -> Session | None:
    try:
        return store.get(ulid)
    except SessionNotFound:
        return None


def _events(server: _Server, ulid: str, after_seq: int, upto_seq: int) -> list[Any]:
    """The session's events ``after_seq < seq <= upto_seq`` as ``(seq, at_ms, kind, text,
    data_json)``, exactly as the origin's file holds them; SyncError when the server lacks
    some of them."""
    span = (ulid, after_seq, upto_seq)
    exact = {seq: (text, data) for seq, text, data in server.rows(_EXACT_SQL, span)}
    # Binary results: integers arrive without text parsing.
    rows = server.rows(_EVENTS_SQL, span, binary=True)
    if len(rows) != upto_seq - after_seq:
        raise SyncError(
            f"the server lists session {ulid} up to seq {upto_seq} but holds "
            f"{len(rows)} of its {upto_seq - after_seq} events after seq {after_seq}",
            kind="rejected",
        )
    for index, row in enumerate(rows) if exact else ():
        if row[0] in exact:
            raw_text, raw_data = exact[row[0]]
            text = bytes(raw_text).decode("utf-8") if raw_text is not None else row[3]
            data = bytes(raw_data).decode("utf-8") if raw_data is not None else row[4]
            rows[index] = (row[0], row[1], row[2], text, data)
    return rows
