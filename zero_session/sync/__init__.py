"""Sync to PostgreSQL: push every store's own sessions to one server, ask how far behind
it is, keep pushing while a program runs.

The local file stays the source of truth (appends never wait for the network); the
server is an append-only merge of many stores, queried with ``psql``.  See
docs/postgres.md for the server schema, the model (origin store, forks, divergence),
faults and security.

This package is the only place psycopg is imported, and only when a function here is
called: ``import zero_session.sync`` works without the ``postgres`` extra, and using it
then raises SyncError (kind ``"missing"``) saying how to install it.

``dsn`` is a libpq connection string or URI; when None, ``$ZERO_SESSION_PG``, else
libpq's own means (``PGSERVICE``, ``PG*`` variables, ``~/.pgpass``).  No message ever
shows a password.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import SyncError
from ._errors import ServerSchemaTooNew
from ._listing import ServerSession
from ._reports import Divergence, PushReport, SyncStatus

if TYPE_CHECKING:
    from ..models import Session
    from ..store import Store

__all__ = [
    "DEFAULT_IO_TIMEOUT_S",
    "Divergence",
    "PushReport",
    "ServerSchemaTooNew",
    "ServerSession",
    "SyncStatus",
    "init",
    "list_sessions",
    "pull",
    "push",
    "status",
    "watch",
]

DEFAULT_IO_TIMEOUT_S = 60.0
INSTALL_HINT = "pip install 'zero-session[postgres]'"


def _require_psycopg() -> None:
    """Raise SyncError ``"missing"`` when psycopg (the ``postgres`` extra) is absent."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise SyncError(
            f"sync to PostgreSQL needs the 'postgres' extra: {INSTALL_HINT}", "missing"
        ) from None


def push(
    store: Store,
    dsn: str | None = None,
    *,
    progress: Callable[[int, int], object] | None = None,
    io_timeout_s: float = DEFAULT_IO_TIMEOUT_S,
    connect_timeout_s: float | None = None,
) -> PushReport:
    """Push everything the server lacks of this store; what changed there.

    Creates or migrates the server schema on first use.  ``progress(done, total)`` is
    called after each batch of events.  Safe to run again after any failure: it
    converges, nothing twice.  Raises SyncError (``unreachable``, ``rejected``,
    ``schema``, ``missing``), ServerSchemaTooNew, and the store's own errors
    (ReadOnlyStore: a push records its store_id and cursors in the file).
    """
    _require_psycopg()
    from ._connect import connect
    from ._push import Pusher

    conn, target = connect(dsn, connect_timeout_s=connect_timeout_s)
    pusher = Pusher(store, conn, target, io_timeout_s=io_timeout_s)
    try:
        with conn:
            return pusher.push(progress=progress)
    finally:
        pusher.close()


def status(
    store: Store,
    dsn: str | None = None,
    *,
    io_timeout_s: float = DEFAULT_IO_TIMEOUT_S,
    connect_timeout_s: float | None = None,
) -> SyncStatus:
    """How far the server is behind this store, asked of the server; never writes.

    Works on a read-only store; a store that never pushed has everything pending.
    Raises SyncError, ServerSchemaTooNew.
    """
    _require_psycopg()
    from ._connect import IoGuard, connect
    from ._status import read_status

    conn, target = connect(dsn, connect_timeout_s=connect_timeout_s)
    guard = IoGuard(conn, io_timeout_s)
    try:
        with conn, guard():
            return read_status(store, conn, target)
    finally:
        guard.close()


def init(
    dsn: str | None = None,
    *,
    io_timeout_s: float = DEFAULT_IO_TIMEOUT_S,
    connect_timeout_s: float | None = None,
) -> int:
    """Create or migrate the server schema; its version.

    Run it as the role that should own the schema (see ``sync init --print-sql``).
    Raises SyncError, ServerSchemaTooNew.
    """
    _require_psycopg()
    import psycopg

    from ._connect import IoGuard, connect
    from ._server_schema import ensure_schema

    conn, target = connect(dsn, connect_timeout_s=connect_timeout_s)
    guard = IoGuard(conn, io_timeout_s)
    try:
        with conn, guard():
            return ensure_schema(conn, target)
    except (psycopg.Error, OSError) as exc:
        raise target.error(exc, "cannot create the schema on") from None
    finally:
        guard.close()


def watch(
    store: Store,
    dsn: str | None = None,
    *,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    on_push: Callable[[PushReport], object] | None = None,
    on_error: Callable[[SyncError], object] | None = None,
    io_timeout_s: float = DEFAULT_IO_TIMEOUT_S,
    connect_timeout_s: float | None = None,
) -> None:
    """Push now and then every ``interval`` seconds until ``stop`` is set.

    A tick with nothing new costs a local read and no server round trip.  While the
    server is unreachable it keeps trying (each failure passed to ``on_error``, then the
    next tick reconnects); a push in progress when ``stop`` is set finishes its batch
    and returns.  Raises SyncError for anything retrying cannot fix (a rejected login,
    a schema this role may not create), ServerSchemaTooNew.
    """
    _require_psycopg()
    from ._watch import run_watch

    run_watch(
        store,
        dsn,
        interval=interval,
        stop=stop or threading.Event(),
        on_push=on_push,
        on_error=on_error,
        io_timeout_s=io_timeout_s,
        connect_timeout_s=connect_timeout_s,
    )


def pull(
    store: Store,
    ref: str,
    dsn: str | None = None,
    *,
    io_timeout_s: float = DEFAULT_IO_TIMEOUT_S,
    connect_timeout_s: float | None = None,
) -> Session:
    """Bring the session ``ref`` names on the server (a ulid, a label, a unique ulid
    prefix of 6+ characters, in that order), with the fork ancestors its timeline needs,
    into ``store``; the pulled session as stored there.

    All or nothing, in one local transaction; pulling again brings only what is new and
    refreshes its end and labels.  The pulled session belongs to its origin store:
    appending to it raises ForeignSession, ``store.resume`` continues it in a local fork.
    Raises SessionNotFound, AmbiguousSession (a label two stores use, or a prefix of
    several: each candidate with its origin), SyncError, ServerSchemaTooNew,
    ReadOnlyStore.
    """
    _require_psycopg()
    from ._pull import pull as pull_session

    return pull_session(
        store, ref, dsn, io_timeout_s=io_timeout_s, connect_timeout_s=connect_timeout_s
    )


def list_sessions(
    dsn: str | None = None,
    *,
    store: str | None = None,
    limit: int | None = 20,
    io_timeout_s: float = DEFAULT_IO_TIMEOUT_S,
    connect_timeout_s: float | None = None,
) -> list[ServerSession]:
    """The server's sessions newest first (of one origin ``store`` id, or of all), at
    most ``limit``; each with its origin and that store's labels.  Never writes.

    Raises InvalidInput, SyncError, ServerSchemaTooNew.
    """
    _require_psycopg()
    from ._listing import list_sessions as server_sessions

    return server_sessions(
        dsn,
        store=store,
        limit=limit,
        io_timeout_s=io_timeout_s,
        connect_timeout_s=connect_timeout_s,
    )
