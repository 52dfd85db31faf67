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
    default_path,
)

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
