"""Exclusive start: which live session holds a scope, read and claimed in one transaction.

A session's *scope* is the key that ``start(exclusive=True)`` refuses to share: by default
the session's ``cwd``; with ``start(scope="...")`` an explicit key instead.  No schema
change is needed for it: an explicit scope is kept as the reserved milestone
``session.scope.<ulid>`` whose value is the key, so "who holds key K" is an index lookup
on ``milestones_by_value``, and a session without that milestone holds its ``cwd``.

A session holds its scope while it is live (not ended and its writer process still
runs, see ``_liveness``); an ended session, or one whose process is gone, frees it.  The
check and the new session's insert run in the same ``BEGIN IMMEDIATE`` transaction, so
of two processes racing for one scope exactly one wins.
"""

from __future__ import annotations

import apsw

from ._sessions import SessionRow, _fetch, compute_status
from .errors import InvalidInput
from .models import Status

__all__ = ["SCOPE_PREFIX", "check_scope", "forget_scope", "live_holder", "record_scope"]

SCOPE_PREFIX = "session.scope."
_SCOPE_UPPER = SCOPE_PREFIX[:-1] + "/"  # the first key after every 'session.scope.*'
MAX_SCOPE = 512

# Tails of the session query (``_sessions._fetch`` puts its SELECT in front).
_HOLDERS_OF_KEY_SQL = (
    " WHERE s.ended_at_ms IS NULL AND s.ulid IN "
    f"(SELECT substr(m.key, {len(SCOPE_PREFIX) + 1}) FROM milestones AS m "
    "WHERE m.value = ? AND m.key >= ? AND m.key < ?)"
)
_HOLDERS_OF_CWD_SQL = (
    " WHERE s.cwd = ? AND s.ended_at_ms IS NULL AND NOT EXISTS "
    "(SELECT 1 FROM milestones AS k WHERE k.key = ? || s.ulid)"
)


def check_scope(scope: object) -> str | None:
    """An explicit scope key: None, or 1-512 characters of text; else InvalidInput."""
    if scope is None:
        return None
    if not isinstance(scope, str):
        raise TypeError(f"scope must be a str or None, not {type(scope).__name__}")
    if not 1 <= len(scope) <= MAX_SCOPE:
        raise InvalidInput(f"scope must be 1-{MAX_SCOPE} characters, got {len(scope)}")
    if any("\ud800" <= ch <= "\udfff" for ch in scope):
        raise InvalidInput(f"scope {scope!r} is not valid Unicode")
    return scope


def live_holder(
    conn: apsw.Connection, *, scope: str | None, cwd: str, now_ms: int
) -> SessionRow | None:
    """The live session holding ``scope`` (or, when None, the directory ``cwd``), if any."""
    if scope is not None:
        rows = _fetch(conn, _HOLDERS_OF_KEY_SQL, (scope, SCOPE_PREFIX, _SCOPE_UPPER))
    else:
        rows = _fetch(conn, _HOLDERS_OF_CWD_SQL, (cwd, SCOPE_PREFIX))
    for row in rows:
        if compute_status(row, now_ms) is Status.LIVE:
            return row
    return None


def record_scope(conn: apsw.Connection, ulid: str, scope: str, at_ms: int) -> None:
    """Mark the new session ``ulid`` as holding the explicit ``scope``."""
    conn.execute(
        "INSERT INTO milestones (key, value, at_ms) VALUES (?, ?, ?)",
        (SCOPE_PREFIX + ulid, scope, at_ms),
    )


def forget_scope(conn: apsw.Connection, ulid: str) -> None:
    """Drop the session's scope mark (when the session itself is deleted)."""
    conn.execute("DELETE FROM milestones WHERE key = ?", (SCOPE_PREFIX + ulid,))
