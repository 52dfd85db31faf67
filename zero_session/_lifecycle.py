"""Archive, delete and prune: how sessions leave the default listing, and the file.

Deleting is the only way events ever leave.  The schema's triggers refuse ``DELETE`` of
an event or a session unless the session's id sits in ``purging_sessions``; :func:`purge`
puts it there, removes the session's search entries, events, labels and row, and takes
the id out again, inside the caller's transaction.  Forks are removed before their
parents (children always have larger ids than their parents), so the parent link never
dangles.

Rules, each enforced here and tested:

* ``delete`` refuses a session that has forks unless ``cascade`` (then the whole subtree
  goes), and refuses a session that another live process writes unless ``force``; the
  caller's own live sessions may be deleted (it is the one writing them).
* ``prune`` removes sessions that match a criterion (inactive for longer than
  ``older_than``; expired) and no keep rule: never a live session (of any process),
  never a labelled one with ``keep_labeled``, never an archived one with
  ``keep_archived``, and never an ancestor of a session it keeps.  Large prunes run in
  several transactions, children first; each one re-checks its sessions, so a session
  resumed, labelled or forked meanwhile is kept (and so are its ancestors).
* Space: new files use ``auto_vacuum = INCREMENTAL`` and give freed pages back to the
  file system after every delete or prune.  Files created before that (or by other
  tools) keep their freed pages for reuse; ``Store.vacuum()`` rebuilds them once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

import apsw
import attrs

from . import _liveness, _scopes, _search
from ._lineage import loop_error
from ._sessions import LABEL_PREFIX
from ._sql import fetch_all
from .errors import HasForks, InvalidInput, SessionBusy, SessionNotFound

__all__ = [
    "PRUNE_CHUNK_EVENTS",
    "Facts",
    "PrunePlan",
    "PruneReport",
    "chunks",
    "delete_tree",
    "dry_run_report",
    "file_bytes",
    "plan_prune",
    "prune_step",
    "purge",
    "reclaim_space",
    "set_archived",
    "vacuum",
]

PRUNE_CHUNK_EVENTS = 50_000
_PRUNE_CHUNK_SESSIONS = 500
_LABEL_UPPER = LABEL_PREFIX[:-1] + "/"  # the first key after every 'session.label.*'
# A session's last activity: its start, its last event or its end, whichever is latest.
_ACTIVITY_SQL = "max(s.started_at_ms, coalesce(s.ended_at_ms, 0), coalesce(s.last_event_at_ms, 0))"


@attrs.frozen(slots=True)
class PruneReport:
    """What ``delete`` or ``prune`` removed, or with ``dry_run`` would remove.

    ``sessions`` lists the ulids, forks before their parents; ``n_events`` counts their
    own events and ``event_bytes`` the UTF-8 bytes of those events' text and data.
    ``bytes_reclaimed`` is how much the file shrank (0 for a dry run, and for files
    without incremental auto-vacuum, whose freed pages are reused instead).
    """

    sessions: tuple[str, ...]
    n_events: int
    event_bytes: int
    bytes_reclaimed: int
    dry_run: bool = False

    @property
    def n_sessions(self) -> int:
        """How many sessions were (or would be) removed."""
        return len(self.sessions)


def set_archived(conn: apsw.Connection, ulid: str, at_ms: int | None) -> None:
    """Archive (keeping an earlier archive time) or, with None, unarchive a session."""
    if at_ms is None:
        conn.execute("UPDATE sessions SET archived_at_ms = NULL WHERE ulid = ?", (ulid,))
    else:
        conn.execute(
            "UPDATE sessions SET archived_at_ms = coalesce(archived_at_ms, ?) WHERE ulid = ?",
            (at_ms, ulid),
        )
    if not conn.changes():
        raise SessionNotFound(ulid)


class Facts(NamedTuple):
    """What is read of a session to decide whether it may go."""

    id: int
    ulid: str
    parent_id: int | None
    own_events: int
    ended_at_ms: int | None
    writer_host: str | None
    writer_pid: int | None
    writer_token: str | None


# The SQL of each Facts field, in order (alias s).
_FACTS_SQL = (
    "s.id, s.ulid, s.parent_id, s.last_seq - s.fork_seq, s.ended_at_ms, "
    "s.writer_host, s.writer_pid, s.writer_token"
)


def _fetch_facts(conn: apsw.Connection, sql: str, params: Sequence[Any]) -> list[Facts]:
    return list(map(Facts._make, fetch_all(conn, sql, params)))


def _is_live(facts: Facts) -> bool:
    return facts.ended_at_ms is None and _liveness.is_alive(
        facts.writer_host, facts.writer_pid, facts.writer_token
    )


def _is_mine(facts: Facts) -> bool:
    me = _liveness.current_writer()
    return (facts.writer_host, facts.writer_pid) == (me.host, me.pid)


def _event_bytes(conn: apsw.Connection, session_ids: Iterable[int]) -> int:
    total = 0
    for session_id in session_ids:
        total += int(
            fetch_all(
                conn,
                "SELECT coalesce(sum(length(CAST(text AS BLOB)) "
                "+ coalesce(length(CAST(data AS BLOB)), 0)), 0) "
                "FROM events WHERE session_id = ?",
                (session_id,),
            )[0][0]
        )
    return total


def purge(conn: apsw.Connection, doomed: Sequence[Facts]) -> tuple[int, int]:
    """Remove these sessions, their events, search entries and labels; forks first.

    Returns (events removed, their bytes).  Call inside a write transaction.
    """
    n_events = 0
    n_bytes = 0
    indexed = _search.has_index(conn)  # no search yet: no search entries to remove
    for facts in sorted(doomed, key=lambda f: f.id, reverse=True):
        session_id, ulid = facts.id, facts.ulid
        n_bytes += _event_bytes(conn, (session_id,))
        conn.execute("INSERT INTO purging_sessions (session_id) VALUES (?)", (session_id,))
        if indexed:
            _search.forget_session(conn, session_id)
        conn.execute("DELETE FROM events WHERE session_id = ?", (session_id,))
        n_events += conn.changes()
        conn.execute(
            "DELETE FROM milestones WHERE value = ? AND key >= ? AND key < ?",
            (ulid, LABEL_PREFIX, _LABEL_UPPER),
        )
        _scopes.forget_scope(conn, ulid)
        conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        conn.execute("DELETE FROM purging_sessions WHERE session_id = ?", (session_id,))
    return n_events, n_bytes


# A session and its subtree of forks, along the sessions_by_parent index; CROSS JOIN keeps
# the tree as the outer loop (a plain JOIN let SQLite scan every session for rowid order).
# UNION, not UNION ALL: a loop in a tampered file ends the walk (delete_tree reports it).
SUBTREE_FACTS_SQL = (
    "WITH RECURSIVE tree(id) AS ("
    " SELECT id FROM sessions WHERE ulid = ?"
    " UNION SELECT c.id FROM sessions AS c JOIN tree AS t ON c.parent_id = t.id)"
    f" SELECT {_FACTS_SQL} FROM tree CROSS JOIN sessions AS s ON s.id = tree.id"
    " ORDER BY s.id"
)


def delete_tree(
    conn: apsw.Connection, ulid: str, *, cascade: bool, force: bool
) -> tuple[list[Facts], int, int]:
    """Delete a session (with ``cascade``, its whole subtree of forks).

    Returns (the sessions removed, events removed, their bytes).  Raises
    SessionNotFound, HasForks (forks exist and not ``cascade``), SessionBusy (another
    live process writes one of them and not ``force``).
    """
    tree = _fetch_facts(conn, SUBTREE_FACTS_SQL, (ulid,))
    if not tree:
        raise SessionNotFound(ulid)
    root = next(facts for facts in tree if facts.ulid == ulid)
    if root.parent_id is not None and root.parent_id in {facts.id for facts in tree}:
        # A loop below the root runs through the root itself: it is its own ancestor.
        raise loop_error(ulid)
    children = [f.ulid for f in tree if f.parent_id == root.id]
    if children and not cascade:
        raise HasForks(ulid, children)
    if not force:
        for facts in tree:
            if _is_live(facts) and not _is_mine(facts):
                raise SessionBusy(facts.ulid, facts.writer_pid, facts.writer_host)
    n_events, n_bytes = purge(conn, tree)
    return tree, n_events, n_bytes


def _criteria(
    *,
    older_than: timedelta | None,
    expired: bool,
    keep_labeled: bool,
    keep_archived: bool,
    now_ms: int,
) -> tuple[str, list[int]]:
    """The SQL condition (alias ``s``) selecting prune candidates, with its parameters."""
    reasons: list[str] = []
    params: list[int] = []
    if older_than is not None:
        reasons.append(f"{_ACTIVITY_SQL} < ?")
        params.append(now_ms - older_than // timedelta(milliseconds=1))
    if expired:
        reasons.append("s.expires_at_ms <= ?")
        params.append(now_ms)
    if not reasons:
        return "0", []
    where = "(" + " OR ".join(reasons) + ")"
    if keep_archived:
        where += " AND s.archived_at_ms IS NULL"
    if keep_labeled:
        where += (
            " AND NOT EXISTS (SELECT 1 FROM milestones AS m WHERE m.value = s.ulid"
            f" AND m.key >= '{LABEL_PREFIX}' AND m.key < '{_LABEL_UPPER}')"
        )
    return where, params


@attrs.frozen(slots=True)
class PrunePlan:
    """The sessions a prune would remove (forks first) and the condition that chose them."""

    doomed: tuple[Facts, ...]
    where: str
    params: tuple[int, ...]


def plan_prune(
    conn: apsw.Connection,
    *,
    older_than: timedelta | None,
    expired: bool,
    keep_labeled: bool,
    keep_archived: bool,
    now_ms: int,
    only: Collection[str] | None = None,
) -> PrunePlan:
    """Decide what a prune removes: candidates (among the ulids ``only``, when given)
    minus live sessions minus every ancestor of a session that stays.  Raises
    InvalidInput for a negative ``older_than``."""
    if older_than is not None:
        if not isinstance(older_than, timedelta):
            raise TypeError(f"older_than must be a timedelta, not {type(older_than).__name__}")
        if older_than < timedelta(0):
            raise InvalidInput(f"older_than must not be negative, got {older_than}")
    where, params = _criteria(
        older_than=older_than,
        expired=expired,
        keep_labeled=keep_labeled,
        keep_archived=keep_archived,
        now_ms=now_ms,
    )
    candidates: dict[int, Facts] = {
        f.id: f
        for f in _fetch_facts(conn, f"SELECT {_FACTS_SQL} FROM sessions AS s WHERE {where}", params)
        if not _is_live(f) and (only is None or f.ulid in only)
    }
    if candidates:
        parent_of: dict[int, int] = dict(
            fetch_all(conn, "SELECT id, parent_id FROM sessions WHERE parent_id IS NOT NULL")
        )
        for child in parent_of:
            if child in candidates:
                continue
            # A kept session: none of its ancestors may go.
            parent = parent_of.get(child)
            while parent is not None and candidates.pop(parent, None) is not None:
                parent = parent_of.get(parent)
    doomed = sorted(candidates.values(), key=lambda f: f.id, reverse=True)
    return PrunePlan(tuple(doomed), where, tuple(params))


def prune_step(
    conn: apsw.Connection, plan: PrunePlan, chunk: Sequence[Facts]
) -> tuple[list[Facts], int, int]:
    """Remove the sessions of ``chunk`` that still qualify, re-checked inside this
    transaction: still a candidate, not live, and no fork left (forks go first).

    Returns (the sessions removed, events removed, their bytes).
    """
    ids = [f.id for f in chunk]
    marks = ", ".join("?" for _ in ids)
    still = _fetch_facts(
        conn,
        f"SELECT {_FACTS_SQL} FROM sessions AS s WHERE s.id IN ({marks}) AND {plan.where}",
        [*ids, *plan.params],
    )
    removed: list[Facts] = []
    n_events = n_bytes = 0
    for facts in sorted(still, key=lambda f: f.id, reverse=True):
        has_fork = fetch_all(
            conn, "SELECT 1 FROM sessions WHERE parent_id = ? LIMIT 1", (facts.id,)
        )
        if has_fork or _is_live(facts):
            continue
        events, size = purge(conn, (facts,))
        removed.append(facts)
        n_events += events
        n_bytes += size
    return removed, n_events, n_bytes


def chunks(doomed: Sequence[Facts]) -> list[list[Facts]]:
    """Split a prune into transactions of bounded size, forks before parents."""
    out: list[list[Facts]] = []
    current: list[Facts] = []
    events = 0
    for facts in doomed:
        if current and (
            events + facts.own_events > PRUNE_CHUNK_EVENTS or len(current) >= _PRUNE_CHUNK_SESSIONS
        ):
            out.append(current)
            current, events = [], 0
        current.append(facts)
        events += facts.own_events
    if current:
        out.append(current)
    return out


def dry_run_report(conn: apsw.Connection, plan: PrunePlan) -> PruneReport:
    """The report of a prune that removes nothing."""
    return PruneReport(
        sessions=tuple(f.ulid for f in plan.doomed),
        n_events=sum(f.own_events for f in plan.doomed),
        event_bytes=_event_bytes(conn, (f.id for f in plan.doomed)),
        bytes_reclaimed=0,
        dry_run=True,
    )


def file_bytes(conn: apsw.Connection) -> int:
    """The database's size in bytes (pages in use or free, as SQLite counts them)."""
    pages = int(fetch_all(conn, "PRAGMA page_count")[0][0])
    return pages * int(fetch_all(conn, "PRAGMA page_size")[0][0])


def reclaim_space(conn: apsw.Connection) -> None:
    """Give free pages back to the file system when the file allows it (incremental
    auto-vacuum); otherwise they stay in the file for reuse."""
    if int(fetch_all(conn, "PRAGMA auto_vacuum")[0][0]) == 2:
        fetch_all(conn, "PRAGMA incremental_vacuum")


def vacuum(conn: apsw.Connection) -> None:
    """Rebuild the whole file compactly and switch it to incremental auto-vacuum.

    Outside any transaction; slow on big files (it rewrites everything).
    See https://www.sqlite.org/lang_vacuum.html.
    """
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("VACUUM")
