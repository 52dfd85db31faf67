"""The Store: one SQLite file of sessions, their append-only events, and milestones.

Storage design.  A session is a row in ``sessions``; its events are rows of ``events``
keyed ``(session_id, seq)`` in a WITHOUT ROWID table, so a session's events sit together
on disk in seq order and a timeline read is a primary-key range scan.  The session row
keeps ``last_seq``, the last seq of its whole timeline, so counting is O(1) and appending
is one ``UPDATE ... RETURNING`` that reserves seqs plus one ``INSERT`` per event, inside
``BEGIN IMMEDIATE`` so that seqs are gapless across threads and processes.  A fork copies
nothing: the child row stores ``parent_id`` and ``fork_seq``, its own events continue at
``fork_seq + 1``, and reading its timeline walks the ancestor chain with one recursive
query, taking each ancestor's events up to the point where the next generation forked.
Labels are milestones (``session.label.<name>`` → ulid), so one small key/value table
carries both.  Triggers in the file itself refuse UPDATE and DELETE of events, also from
the ``sqlite3`` shell; events leave only with their whole session through the API.

Concurrency.  One ``Store`` owns one apsw connection and one mutex; every public method
takes the mutex, so a Store may be shared by threads.  Iterators read a page under the
mutex and yield outside it.  Other processes may open the same file: WAL mode lets them
read while one writes, and the busy timeout queues writers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._api_events import EventMethods
from ._api_labels import LabelMethods
from ._api_lifecycle import LifecycleMethods
from ._api_live import LiveMethods
from ._api_maintenance import MaintenanceMethods
from ._api_sessions import SessionMethods
from ._store_core import (
    DEFAULT_BUSY_TIMEOUT_MS,
    DEFAULT_MAX_EVENT_BYTES,
    REPLAY_PAGE,
    Clock,
    EventItem,
    SessionRef,
    check_int,
    default_path,
)

if TYPE_CHECKING:
    from ._timeline import TimelineWindow
    from ._tree import SessionNode
    from .models import Event, Session

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "DEFAULT_MAX_EVENT_BYTES",
    "REPLAY_PAGE",
    "Clock",
    "EventItem",
    "SessionRef",
    "Store",
    "default_path",
]


class Store(
    SessionMethods,
    EventMethods,
    LabelMethods,
    LifecycleMethods,
    LiveMethods,
    MaintenanceMethods,
):
    """One zero_session database: sessions, their events, labels and milestones.

    Create it with :meth:`open` (a file, by default :func:`default_path`) or
    :meth:`memory`; close it with :meth:`close` or use it as a context manager.  Methods
    that take a session accept its ulid or a ``Session``.  Each group of methods lives
    in its own module: ``_api_sessions``, ``_api_events``, ``_api_labels``,
    ``_api_lifecycle``, ``_api_live`` and ``_api_maintenance``, over ``_store_core``.
    """

    # Reads for full-screen browsers (any TUI): windows, the fork tree, search in one
    # timeline.  The SQL and the reasoning live in _timeline and _tree, imported on
    # first use (they cost `import zero_session` nothing).

    def timeline(self, session: SessionRef, from_seq: int = 1, limit: int = 100) -> TimelineWindow:
        """The timeline events ``from_seq <= seq < from_seq + limit`` (fewer at its end),
        with the timeline's length: one primary-key range read per segment, so a window
        costs the same anywhere in a timeline of any length.  Raises SessionNotFound,
        InvalidInput.
        """
        ulid = self._ulid_of(session)
        check_int(from_seq, "from_seq", minimum=1)
        check_int(limit, "limit", minimum=1)
        from . import _timeline

        return _timeline.read_window(self, ulid, from_seq, limit)

    def timeline_end(self, session: SessionRef, limit: int = 100) -> TimelineWindow:
        """The last ``limit`` events of the timeline, oldest first, with its length (the
        window :meth:`timeline` gives at ``last_seq - limit + 1``, read in one step).
        Raises SessionNotFound, InvalidInput.
        """
        ulid = self._ulid_of(session)
        check_int(limit, "limit", minimum=1)
        from . import _timeline

        return _timeline.read_window_end(self, ulid, limit)

    def search_timeline(
        self,
        session: SessionRef,
        text: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 1,
    ) -> list[Event]:
        """Events of the session's timeline whose text contains ``text``, nearest first.

        The seq is the cursor: ``after_seq`` (default 0) finds the next matches
        (ascending seq), ``before_seq`` the previous ones (descending seq).  Matches
        substrings, case-insensitively for ASCII letters; needs no index, so it works on
        a read-only store and sees events appended up to the moment it starts.  Raises
        SessionNotFound, InvalidInput (empty text, both cursors given), TypeError.
        """
        from . import _timeline

        ulid = self._ulid_of(session)
        needle = _timeline.check_needle(text)
        check_int(limit, "limit", minimum=1)
        if after_seq is not None and before_seq is not None:
            from .errors import InvalidInput

            raise InvalidInput("give after_seq or before_seq, not both")
        if after_seq is not None:
            check_int(after_seq, "after_seq")
        if before_seq is not None:
            check_int(before_seq, "before_seq", minimum=1)
        return _timeline.search_timeline(
            self, ulid, needle, after_seq=after_seq, before_seq=before_seq, limit=limit
        )

    def forks(self, session: SessionRef) -> list[Session]:
        """The sessions forked directly from this one, oldest first (one index lookup on
        ``sessions_by_parent``).  Raises SessionNotFound, InvalidInput.
        """
        from . import _tree

        return _tree.fork_sessions(self, self._ulid_of(session))

    def session_tree(
        self,
        session: SessionRef | None = None,
        *,
        include_archived: bool = False,
        limit: int | None = None,
    ) -> list[SessionNode]:
        """Sessions as a tree of forks, depth first, each with its depth and first prompt.

        With ``session``: it and every session forked from it, directly or not.  Without:
        every session, roots newest first, each followed by its forks (newest first at
        every level).  Archived sessions are left out unless ``include_archived``; a
        session whose parent is left out is shown as a root.  ``limit`` (without
        ``session``) keeps only the ``limit`` newest roots with their forks: read along
        the listing index, so a first screenful costs the same in a store of any size.
        Raises SessionNotFound, InvalidInput.
        """
        from . import _tree

        ulid = None if session is None else self._ulid_of(session)
        if limit is not None:
            check_int(limit, "limit", minimum=1)
        return _tree.session_tree(self, ulid, include_archived=include_archived, limit=limit)
