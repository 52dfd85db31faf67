"""Sessions pulled from other stores: who owns them, and the file refusing to continue them.

A session belongs to the store that created it, and only that store appends to it, so
that two machines never write the same session.  ``sessions.origin_store_id`` is NULL
for this store's own sessions and the origin's store id for a pulled one (migration
``session_origins``).  The file itself refuses to continue a pulled session: a trigger
rejects a new ``last_seq`` (which every append takes) or an end, unless the session's id
is listed in ``pulling_sessions``, which only ``_pulled.apply_pulled`` does, for the length of
its transaction.  The append paths call :func:`refuse_foreign` when their write finds
nothing to update or is rejected, so callers get ``ForeignSession`` naming the owner, not
a bare constraint error; successful appends pay nothing for it.

Writing pulled sessions is ``_pulled.apply_pulled`` (the local half of ``sync.pull``),
loaded only by a pull.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import apsw

from ._sql import fetch_all
from .errors import ForeignSession
from .ids import new_ulid

if TYPE_CHECKING:
    from ._sessions import SessionRow

__all__ = [
    "STORE_ID_KEY",
    "decode_labels",
    "origin_of",
    "read_store_id",
    "refuse_foreign",
]

STORE_ID_KEY = "zero_session.store_id"
"""The milestone holding this store's id (made by ``_sync_source.store_id``, which
re-exports it), under ``_milestones.INTERNAL_PREFIX`` so that the API cannot write it.
Spelled out: ``_milestones`` imports this module (through ``_scopes`` and ``_sessions``)."""


def read_store_id(conn: apsw.Connection) -> str | None:
    """This store's id, or None when it has none yet (it never pushed or pulled)."""
    rows = fetch_all(conn, "SELECT value FROM milestones WHERE key = ?", (STORE_ID_KEY,))
    return str(rows[0][0]) if rows else None


def decode_labels(raw: str) -> tuple[str, ...]:
    """The origin labels column (a JSON array of names) as a sorted tuple; ``()`` when
    it was tampered with into something else."""
    import json  # here: ~1.5 ms of `import zero_session`

    try:
        names = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(names, list):
        return ()
    return tuple(sorted(n for n in names if isinstance(n, str)))


def origin_of(conn: apsw.Connection, ulid: str) -> str | None:
    """The origin store id of the session (None: this store's own, or no such session)."""
    rows = fetch_all(conn, "SELECT origin_store_id FROM sessions WHERE ulid = ?", (ulid,))
    return rows[0][0] if rows else None


def refuse_foreign(conn: apsw.Connection, ulid: str) -> None:
    """Raise ForeignSession when the session was pulled from another store.

    Called by the writes that continue a session (append, end) only once their write was
    refused or found nothing to update, to tell why.
    """
    origin = origin_of(conn, ulid)
    if origin is not None:
        raise ForeignSession(ulid, origin)


def fork_to_continue(conn: apsw.Connection, row: SessionRow, now_ms: int) -> tuple[SessionRow, str]:
    """A new local fork of the pulled session ``row`` at its last seq, written by this
    process: how ``resume`` continues a session this store may not append to.  Returns
    the fork's row and the warning that says so."""
    from ._sessions import insert_session, require_row

    child = new_ulid()
    insert_session(
        conn,
        ulid=child,
        parent_id=row.id,
        fork_seq=row.last_seq,
        started_at_ms=now_ms,
        cli_version=row.cli_version,
        engine_base_url=row.engine_base_url,
        cwd=row.cwd,
        meta_json=row.meta,
        expires_at_ms=None,
    )
    note = (
        f"session {row.ulid} belongs to store {row.origin_store_id}; continuing it in a "
        f"new local fork {child}"
    )
    return require_row(conn, child), note
