"""Status: how far the server is behind a store, as the server says.  Never writes."""

from __future__ import annotations

from typing import Any

import psycopg

from .. import _sync_source as source
from .._store_core import StoreCore
from ._connect import Target
from ._errors import ServerSchemaTooNew
from ._reports import Divergence, SyncStatus
from ._server_schema import known_server_version, server_version

__all__ = ["read_status"]

_SESSIONS_SQL = (
    "SELECT ulid, origin, last_seq, ended_at_ms, archived_at_ms, expires_at_ms "
    "FROM zero_session.sessions WHERE ulid = ANY(%s)"
)
_DIVERGENCES_SQL = (
    "SELECT ulid, seq, reason FROM zero_session.divergences WHERE store_id = %s ORDER BY ulid, seq"
)


def read_status(store: StoreCore, conn: psycopg.Connection[Any], target: Target) -> SyncStatus:
    """Compare the file's sessions with the server's rows of this store."""
    sid = source.store_id(store, create=False)
    snap = source.snapshot(store)
    try:
        version = server_version(conn)
        if version > known_server_version():
            raise ServerSchemaTooNew(target.name, version, known_server_version())
        on_server: dict[str, tuple[Any, ...]] = {}
        diverged: tuple[Divergence, ...] = ()
        if sid is not None and version > 0:
            ulids = [s.ulid for s in snap.sessions]
            on_server = {r[0]: r[1:] for r in conn.execute(_SESSIONS_SQL, (ulids,))}
            diverged = tuple(
                Divergence(u, int(seq), reason)
                for u, seq, reason in conn.execute(_DIVERGENCES_SQL, (sid,))
            )
    except psycopg.Error as exc:
        raise target.error(exc, "cannot read the status from") from None
    pending_events = pending_sessions = 0
    for session in snap.sessions:
        row = on_server.get(session.ulid)
        if row is not None and row[0] != sid:
            continue  # another store's session: a divergence, listed above
        server_last = max(int(row[1]), session.fork_seq) if row else session.fork_seq
        behind = max(0, session.last_seq - server_last)
        pending_events += behind
        metadata = (session.ended_at_ms, session.archived_at_ms, session.expires_at_ms)
        if row is None or behind or tuple(row[2:5]) != metadata:
            pending_sessions += 1
    return SyncStatus(
        pending_events=pending_events,
        pending_sessions=pending_sessions,
        diverged=diverged,
        server_schema_version=version,
        store_id=sid,
        server=target.name,
    )
