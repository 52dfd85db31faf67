"""The server's sessions, newest first: what ``zero-session sync list`` shows, so that a
session recorded elsewhere can be found before pulling it."""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import InvalidInput
from ..ids import is_ulid

__all__ = ["ServerSession", "list_sessions"]


@attrs.frozen(slots=True)
class ServerSession:
    """One session as the server holds it: its origin store and that store's labels.

    ``last_seq`` is the last seq pushed of its timeline; ``n_events`` its own events.
    """

    ulid: str
    origin: str
    parent_ulid: str | None
    fork_seq: int
    started_at_ms: int
    ended_at_ms: int | None
    last_seq: int
    last_event_at_ms: int | None
    cli_version: str | None
    cwd: str | None
    labels: tuple[str, ...]
    archived_at_ms: int | None

    @property
    def n_events(self) -> int:
        """How many events the session recorded itself (not inherited from a parent)."""
        return self.last_seq - self.fork_seq


_LIST_SQL = """
SELECT s.ulid, s.origin, s.parent_ulid, s.fork_seq, s.started_at_ms, s.ended_at_ms,
       s.last_seq, s.last_event_at_ms, s.cli_version, s.cwd,
       ARRAY(SELECT l.name FROM zero_session.labels AS l
              WHERE l.ulid = s.ulid AND l.store_id = s.origin ORDER BY l.name),
       s.archived_at_ms
  FROM zero_session.sessions AS s
 WHERE (%(store)s::text IS NULL OR s.origin = %(store)s::text)
 ORDER BY s.started_at_ms DESC, s.ulid DESC
 LIMIT %(limit)s
"""


def list_sessions(
    dsn: str | None = None,
    *,
    store: str | None = None,
    limit: int | None = 20,
    io_timeout_s: float,
    connect_timeout_s: float | None = None,
) -> list[ServerSession]:
    """The server's sessions newest first, of every store or only of ``store`` (a store
    id); at most ``limit`` (None: all).  Never writes, on the server or anywhere.

    Raises InvalidInput (a bad store id or limit), SyncError (unreachable, rejected, or
    no zero_session schema on the server).
    """
    import psycopg

    from ._connect import IoGuard, connect
    from ._server_schema import known_server_version, server_version

    if store is not None and not (isinstance(store, str) and is_ulid(store)):
        raise InvalidInput(f"store must be a store id (a ulid), got {store!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidInput(f"limit must be an int ≥ 1 or None, got {limit!r}")
    conn, target = connect(dsn, connect_timeout_s=connect_timeout_s)
    try:
        with IoGuard(conn, io_timeout_s)():
            version = server_version(conn)
            if version == 0:
                return []  # nothing was ever pushed there
            if version > known_server_version():
                from ._errors import ServerSchemaTooNew

                raise ServerSchemaTooNew(target.name, version, known_server_version())
            rows = conn.execute(_LIST_SQL, {"store": store, "limit": limit}).fetchall()
    except (psycopg.Error, OSError) as exc:
        raise target.error(exc, "cannot list the sessions of") from None
    finally:
        conn.close()
    return [_server_session(row) for row in rows]


def _server_session(row: Any) -> ServerSession:
    return ServerSession(
        ulid=row[0],
        origin=row[1],
        parent_ulid=row[2],
        fork_seq=row[3],
        started_at_ms=row[4],
        ended_at_ms=row[5],
        last_seq=row[6],
        last_event_at_ms=row[7],
        cli_version=row[8],
        cwd=row[9],
        labels=tuple(row[10]),
        archived_at_ms=row[11],
    )
