"""Store methods for retention and search: archive, delete, prune, vacuum, search, summary.

The rules (what prune may remove, how search indexes lazily) live in ``_lifecycle``,
``_search`` and ``_summary``, which are imported by the methods that use them, so that
``import zero_session`` does not pay for them (see docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import _sessions
from ._lineage import check_lineage
from ._store_core import SessionRef, StoreCore, check_int
from .errors import ReadOnlyStore
from .models import Session

if TYPE_CHECKING:
    from datetime import timedelta

    from ._lifecycle import PruneReport
    from ._search import SearchHit
    from ._summary import Summary

__all__ = ["LifecycleMethods"]


class LifecycleMethods(StoreCore):
    """Archiving, deleting, pruning, searching and summarising sessions."""

    def archive(self, session: SessionRef) -> Session:
        """Hide the session from default listings and :meth:`latest`; nothing is lost.

        It still resolves by ulid and label, and shows status ``archived`` unless live.
        Idempotent (the first archive time is kept).  Raises SessionNotFound.
        """
        from . import _lifecycle

        ulid = self._ulid_of(session)
        with self._writing() as conn:
            now = self._now()
            _lifecycle.set_archived(conn, ulid, now)
            row = _sessions.require_row(conn, ulid)
        return _sessions.to_session(row, now)

    def unarchive(self, session: SessionRef) -> Session:
        """Show an archived session in default listings again.  Raises SessionNotFound."""
        from . import _lifecycle

        ulid = self._ulid_of(session)
        with self._writing() as conn:
            _lifecycle.set_archived(conn, ulid, None)
            row = _sessions.require_row(conn, ulid)
        return _sessions.to_session(row, self._now())

    def delete(
        self, session: SessionRef, *, cascade: bool = False, force: bool = False
    ) -> PruneReport:
        """Remove the session, its events, its search entries and the labels naming it.

        The only way events ever leave.  Refuses a session with forks (HasForks) unless
        ``cascade``, which removes the whole subtree; refuses one that another live
        process is writing (SessionBusy) unless ``force``.  Raises SessionNotFound.
        """
        from . import _lifecycle

        ulid = self._ulid_of(session)
        with self._writing() as conn:
            before = _lifecycle.file_bytes(conn)
            tree, n_events, n_bytes = _lifecycle.delete_tree(
                conn, ulid, cascade=cascade, force=force
            )
            _lifecycle.reclaim_space(conn)
            reclaimed = before - _lifecycle.file_bytes(conn)
        return _lifecycle.PruneReport(
            sessions=tuple(f.ulid for f in sorted(tree, key=lambda f: f.id, reverse=True)),
            n_events=n_events,
            event_bytes=n_bytes,
            bytes_reclaimed=max(0, reclaimed),
        )

    def prune(
        self,
        *,
        older_than: timedelta | None = None,
        expired: bool = True,
        keep_labeled: bool = True,
        keep_archived: bool = True,
        dry_run: bool = False,
        only: Iterable[SessionRef] | None = None,
    ) -> PruneReport:
        """Remove sessions inactive for longer than ``older_than`` and, with ``expired``,
        those whose TTL has passed; report what went (or, with ``dry_run``, would go).

        ``only`` prunes exactly these sessions at most: a caller that showed a dry run
        and then prunes with ``only=report.sessions`` never removes a session that
        became eligible in between (those still eligible by the criteria and the rules
        below go; any other stays).

        Never removes a live session, nor a labelled one (``keep_labeled``), nor an
        archived one (``keep_archived``), nor an ancestor of any session it keeps.
        A session's activity is its latest start, event or end.  Raises InvalidInput,
        ReadOnlyStore (unless ``dry_run``).
        """
        from . import _lifecycle

        if self._readonly and not dry_run:
            raise ReadOnlyStore(f"{self._path} was opened read-only")
        if isinstance(only, str | Session):
            raise TypeError("only must be a collection of sessions, not one session")
        only_ulids = None if only is None else {self._ulid_of(s) for s in only}
        with self._reading() as conn:
            plan = _lifecycle.plan_prune(
                conn,
                older_than=older_than,
                expired=expired,
                keep_labeled=keep_labeled,
                keep_archived=keep_archived,
                now_ms=self._now(),
                only=only_ulids,
            )
            if dry_run:
                return _lifecycle.dry_run_report(conn, plan)
        removed: list[str] = []
        n_events = n_bytes = reclaimed = 0
        for chunk in _lifecycle.chunks(plan.doomed):
            with self._writing() as conn:
                before = _lifecycle.file_bytes(conn)
                gone, events, size = _lifecycle.prune_step(conn, plan, chunk)
                _lifecycle.reclaim_space(conn)
                reclaimed += before - _lifecycle.file_bytes(conn)
            removed += [f.ulid for f in gone]
            n_events += events
            n_bytes += size
        return _lifecycle.PruneReport(
            sessions=tuple(removed),
            n_events=n_events,
            event_bytes=n_bytes,
            bytes_reclaimed=max(0, reclaimed),
        )

    def vacuum(self) -> int:
        """Rebuild the file compactly and turn on incremental auto-vacuum; bytes saved.

        Needed once for files created before zero_session reclaimed space itself; slow
        on big files (everything is rewritten).  Raises ReadOnlyStore, StoreLocked.
        """
        from . import _lifecycle

        with self._reading() as conn:
            if self._readonly:
                raise ReadOnlyStore(f"{self._path} was opened read-only")
            before = _lifecycle.file_bytes(conn)
            _lifecycle.vacuum(conn)
            return max(0, before - _lifecycle.file_bytes(conn))

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        session: SessionRef | None = None,
        literal: bool = False,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[SearchHit]:
        """Events whose text matches the FTS5 ``query``, newest first, with snippets.

        ``session`` limits the search to that session's timeline.  ``literal`` searches
        for the words as typed (no FTS5 syntax).  Matching words are wrapped in
        ``marks``.  First indexes whatever was appended since the last search, by any
        process (a read-only store searches what is indexed already).  The first search
        of a file creates its search index (see ``_search``).  Raises InvalidInput (bad
        query, or past the caps: 1,000 characters, 64 words, 4 prefix searches),
        SessionNotFound, ReadOnlyStore (a read-only store of a file that has no search
        index yet), Interrupted (cancelled by :meth:`interrupt` from another thread).
        """
        from . import _search

        match = _search.prepare_query(query, literal=literal)
        check_int(limit, "limit", minimum=1)
        if (
            not isinstance(marks, tuple)
            or len(marks) != 2
            or not all(isinstance(m, str) for m in marks)
        ):
            raise TypeError("marks must be a (before, after) tuple of two str")
        ulid = self._ulid_of(session) if session is not None else None
        with self._reading() as conn:  # refuse bad input before indexing writes anything
            exists = _search.has_index(conn)
            if exists:
                _search.check_query(conn, match)
            if ulid is not None:
                check_lineage(conn, self._position(conn, ulid)[0], ulid)
        if not exists and self._readonly:
            raise ReadOnlyStore(
                f"{self._path} has no search index yet and was opened read-only: the "
                "first search creates the index, so search once without readonly=True"
            )
        self._catch_up_search(create_for=None if exists else match)
        with self._reading() as conn:
            session_id = self._position(conn, ulid)[0] if ulid is not None else None
            return _search.search(conn, match, limit=limit, session_id=session_id, marks=marks)

    def _catch_up_search(self, *, create_for: str | None = None) -> None:
        """Index events appended since the last search, one bounded transaction at a time.

        Skips even the pending check when nothing was committed since the last catch-up
        (by this connection or any other), which ``_search.change_mark`` tells cheaply.
        With ``create_for`` (the MATCH expression of a search on a file without a search
        index), the first transaction creates the index and checks the query: a bad
        query (InvalidInput) rolls the creation back.
        """
        from . import _search

        if self._readonly:
            return
        if create_for is None:
            with self._reading() as conn:
                mark = _search.change_mark(conn)
                if mark == self._search_mark:
                    return
                if not _search.has_pending(conn):
                    self._search_mark = mark
                    return
        more = True
        while more:
            with self._writing() as conn:
                if create_for is not None:
                    _search.create_index(conn)
                    _search.check_query(conn, create_for)
                    create_for = None
                more = _search.catch_up(conn)
                if not more:
                    # Inside the transaction: a commit by anyone after it changes the mark.
                    self._search_mark = _search.change_mark(conn)

    def summary(self, session: SessionRef) -> Summary:
        """Duration, event counts per kind, top commands, first and last event times.

        Counts the session's own events (a fork's inherited ones belong to its
        ancestors).  Raises SessionNotFound.
        """
        from . import _summary

        ulid = self._ulid_of(session)
        with self._reading() as conn:
            return _summary.summarise(conn, ulid, self._now())
