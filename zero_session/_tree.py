"""The fork tree: a session's direct forks, and sessions arranged as a tree of forks.

A fork stores its parent's id (``sessions.parent_id``, indexed by
``sessions_by_parent``), so "the forks of X" is one index lookup and a subtree is one
recursive query down that index.  The whole forest (every session, for a browser's list)
is one read of the sessions table arranged in Python: roots newest first, each followed
by its forks, depth first, newest first at every level.  Each node carries the text of
the session's first prompt, read for all nodes in one batched query that looks only at
the first :data:`FIRST_PROMPT_WINDOW` own events of each session (a session that starts
with a million system events does not cost a million rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from . import _sessions
from ._sql import LIMIT_SQL, fetch_all
from .models import Session

if TYPE_CHECKING:
    import apsw

    from ._store_core import StoreCore

__all__ = [
    "FIRST_PROMPT_CHARS",
    "FIRST_PROMPT_WINDOW",
    "SessionNode",
    "fork_sessions",
    "session_tree",
]

FIRST_PROMPT_WINDOW = 64
"""How many of a session's own first events are looked at for its first prompt."""

FIRST_PROMPT_CHARS = 200
"""The first prompt is cut to this many characters."""


@attrs.frozen(slots=True)
class SessionNode:
    """One session in a tree of forks.

    ``depth`` is 0 for a root of the tree (a session without a parent, or whose parent
    is not part of the tree read, e.g. archived and hidden); ``first_prompt`` is the text
    of the session's own first ``prompt`` event (cut to :data:`FIRST_PROMPT_CHARS`), or
    None when its first :data:`FIRST_PROMPT_WINDOW` events hold none.
    """

    session: Session
    depth: int
    first_prompt: str | None


_FORKS_SQL = " WHERE s.parent_id = ? ORDER BY s.started_at_ms, s.id"
_SUBTREE_SQL = """
 WHERE s.id IN (
    WITH RECURSIVE subtree(id) AS (
        SELECT id FROM sessions WHERE ulid = ?
        UNION
        SELECT s.id FROM sessions AS s JOIN subtree AS t ON s.parent_id = t.id
    )
    SELECT id FROM subtree
)
"""
# Roots newest first along sessions_newest_first: sessions without a parent, or whose
# parent is archived (and so left out of a listing without archived sessions).
_ROOTS_SQL = f" WHERE s.parent_id IS NULL ORDER BY s.started_at_ms DESC, s.id DESC {LIMIT_SQL}"
_VISIBLE_ROOTS_SQL = (
    " WHERE s.archived_at_ms IS NULL "
    "AND (s.parent_id IS NULL OR (SELECT p.archived_at_ms FROM sessions AS p "
    "WHERE p.id = s.parent_id) IS NOT NULL) "
    f"ORDER BY s.started_at_ms DESC, s.id DESC {LIMIT_SQL}"
)
_BELOW_SQL = """
 WHERE s.id IN (
    WITH RECURSIVE below(id) AS (
        SELECT s.id FROM sessions AS s WHERE s.parent_id IN (SELECT value FROM json_each(?))
        UNION
        SELECT s.id FROM sessions AS s JOIN below AS b ON s.parent_id = b.id
    )
    SELECT id FROM below
)
"""
_FIRST_PROMPT = f"""
(SELECT substr(e.text, 1, {FIRST_PROMPT_CHARS}) FROM events AS e
  WHERE e.session_id = s.id AND e.seq > s.fork_seq
    AND e.seq <= s.fork_seq + {FIRST_PROMPT_WINDOW} AND e.kind = 'prompt'
  ORDER BY e.seq LIMIT 1)
"""
_BY_IDS = " WHERE s.id IN (SELECT value FROM json_each(?))"
_PROMPTS_SQL = f"SELECT s.id, {_FIRST_PROMPT} FROM sessions AS s"
_PROMPTS_BLOB_SQL = f"SELECT s.id, CAST({_FIRST_PROMPT} AS BLOB) FROM sessions AS s"


def fork_sessions(store: StoreCore, ulid: str) -> list[Session]:
    """The direct forks of the session, oldest first.  Raises SessionNotFound."""
    with store._reading() as conn:
        parent = _sessions.require_row(conn, ulid)
        rows = _sessions._fetch(conn, _FORKS_SQL, (parent.id,))
    now = store._now()
    return [_sessions.to_session(row, now) for row in rows]


def _first_prompts(conn: apsw.Connection, where: str, params: Sequence[Any]) -> dict[int, str]:
    """``{session id: first prompt}`` of the sessions ``where`` selects, in one query."""
    sql, blob_sql = _PROMPTS_SQL + where, _PROMPTS_BLOB_SQL + where
    rows = fetch_all(conn, sql, params, blob_sql=blob_sql)
    return {session_id: text for session_id, text in rows if text is not None}


def _arrange(
    rows: list[_sessions.SessionRow], prompts: dict[int, str], now_ms: int, root: str | None = None
) -> list[SessionNode]:
    """Rows as a depth-first forest: roots newest first, forks under their parent.

    ``root`` is a root whatever its parent; a session in a parent loop (only in a
    tampered file) reaches no root and is left out.
    """
    newest_first = sorted(rows, key=lambda row: (row.started_at_ms, row.id), reverse=True)
    present = {row.ulid for row in rows}
    children: dict[str, list[_sessions.SessionRow]] = {}
    roots: list[_sessions.SessionRow] = []
    for row in newest_first:
        parent = row.parent_ulid
        if parent is not None and parent in present and row.ulid != root:
            children.setdefault(parent, []).append(row)
        else:
            roots.append(row)
    nodes: list[SessionNode] = []
    stack: list[tuple[_sessions.SessionRow, int]] = [(row, 0) for row in reversed(roots)]
    while stack:
        row, depth = stack.pop()
        session = _sessions.to_session(row, now_ms)
        nodes.append(SessionNode(session, depth, prompts.get(row.id)))
        stack += [(child, depth + 1) for child in reversed(children.get(row.ulid, ()))]
    return nodes


def _newest_trees(
    conn: apsw.Connection, limit: int, include_archived: bool
) -> tuple[list[Any], dict[int, str]]:
    """The rows of the ``limit`` newest roots and of everything below them."""
    sql = _ROOTS_SQL if include_archived else _VISIBLE_ROOTS_SQL
    roots = _sessions._fetch(conn, sql, (limit,))
    ids = "[" + ",".join(str(row.id) for row in roots) + "]"
    below = _sessions._fetch(conn, _BELOW_SQL, (ids,))
    if not include_archived:
        below = [row for row in below if row.archived_at_ms is None]
    rows = roots + below
    every = "[" + ",".join(str(row.id) for row in rows) + "]"
    prompts = _first_prompts(conn, _BY_IDS, (every,))
    return rows, prompts


def session_tree(
    store: StoreCore, ulid: str | None, *, include_archived: bool, limit: int | None = None
) -> list[SessionNode]:
    """The subtree under ``ulid`` (itself first), or every session for None, depth first.

    Archived sessions are left out unless ``include_archived`` (the root asked for is
    always kept); a session whose parent is left out becomes a root.  ``limit`` (with
    ``ulid`` None) keeps the newest ``limit`` roots and their subtrees: an index walk, so
    a first screen costs the same in a store of any size.  Raises SessionNotFound.
    """
    with store._reading() as conn:
        if ulid is None and limit is not None:
            rows, prompts = _newest_trees(conn, limit, include_archived)
        elif ulid is None:
            where = "" if include_archived else " WHERE s.archived_at_ms IS NULL"
            rows = _sessions._fetch(conn, where, ())
            prompts = _first_prompts(conn, where, ())
        else:
            _sessions.require_row(conn, ulid)
            rows = _sessions._fetch(conn, _SUBTREE_SQL, (ulid,))
            if not include_archived:
                rows = [row for row in rows if row.ulid == ulid or row.archived_at_ms is None]
            ids = "[" + ",".join(str(row.id) for row in rows) + "]"
            prompts = _first_prompts(conn, _BY_IDS, (ids,))
    return _arrange(rows, prompts, store._now(), ulid)
