"""Pulling from the sync server inside the shell: ``--resume REF`` for a session this
file does not have yet, and the ``/pull REF`` command.

Only when a server is configured (``$ZERO_SESSION_PG``, or libpq's ``PGSERVICE`` /
``PGHOST``): without one, a ref that is not local stays "no session matches".  The sync
package (and psycopg) is imported only here, on use.
"""

from __future__ import annotations

import os

from ..errors import SessionNotFound, ZeroSessionError
from ..store import Store
from .commands import LineKind, OutputLine, error_line

__all__ = ["find_or_pull", "pull_lines", "server_configured"]


def server_configured() -> bool:
    """Whether the environment names a sync server to pull from."""
    return any(os.environ.get(name) for name in ("ZERO_SESSION_PG", "PGSERVICE", "PGHOST"))


def find_or_pull(store: Store, ref: str) -> str:
    """The ulid of the session ``ref`` names here; when none does and a server is
    configured, pulled from the server first.  Raises SessionNotFound (nowhere),
    AmbiguousSession, SyncError."""
    try:
        return store.find(ref).ulid
    except SessionNotFound:
        if not server_configured():
            raise
    from ..sync import pull

    return pull(store, ref).ulid


def pull_lines(store: Store, args: list[str]) -> list[OutputLine]:
    """``/pull REF``: bring the session from the server; what to show."""
    if len(args) != 1:
        return [OutputLine(LineKind.ERROR, "usage: /pull <ulid|prefix|label>")]
    if not server_configured():
        return [OutputLine(LineKind.ERROR, "no sync server configured (set $ZERO_SESSION_PG)")]
    from ..sync import pull

    try:
        session = pull(store, args[0])
    except ZeroSessionError as exc:
        return [error_line(exc)]
    origin = f"store {session.origin}" if session.origin else "this store"
    return [
        OutputLine(
            LineKind.INFO,
            f"pulled {session.ulid} ({session.last_seq:,} events) from {origin}; "
            f"/resume {session.ulid} continues it here in a new fork",
        )
    ]
