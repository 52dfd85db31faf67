"""Bounded walks of fork lineage.

A session's parent exists before it and never changes (the schema refuses anything
else since version 4), so fork chains cannot loop.  A file written before, or edited
with the guards dropped, still can: every walk of ancestors stops after
:data:`MAX_FORK_DEPTH` steps and reports a loop as a StorageError instead of running
forever.
"""

from __future__ import annotations

from collections.abc import Sequence

import apsw

from ._sql import fetch_all
from .errors import StorageError

__all__ = ["MAX_FORK_DEPTH", "check_chain", "check_lineage", "loop_error"]

MAX_FORK_DEPTH = 10_000
"""How many ancestors a walk follows; a deeper chain is reported like a loop (no
program forks ten thousand times in a row, and the walk stays in milliseconds)."""


def loop_error(ulid: object) -> StorageError:
    """The error for a session whose ancestors loop (or run deeper than the bound)."""
    return StorageError(
        f"session {ulid}: its fork lineage loops (a session is its own ancestor) or is "
        f"deeper than {MAX_FORK_DEPTH:,}; the file was edited outside zero_session "
        "(Store.check() reports it)"
    )


def check_chain(ids: Sequence[int], ulid: object) -> None:
    """Raise StorageError when the ids of a bounded ancestor walk repeat (a loop) or
    reach the bound."""
    if len(ids) > MAX_FORK_DEPTH or len(set(ids)) != len(ids):
        raise loop_error(ulid)


def check_lineage(conn: apsw.Connection, session_id: int, ulid: object) -> None:
    """Walk the session's ancestors (bounded) and raise StorageError on a loop."""
    from ._replay import TIMELINE_CHAIN_SQL  # here: _replay imports this module

    rows = fetch_all(conn, TIMELINE_CHAIN_SQL + "SELECT id FROM chain", (session_id,))
    check_chain([row[0] for row in rows], ulid)
