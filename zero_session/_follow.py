"""Live updates: follow one session's new events, or watch the session listing change.

Other processes write the same file, and SQLite has no cross-process notification, so
both iterators poll.  A poll is cheap: under the store's mutex it reads ``PRAGMA
data_version`` (which changes when *another* connection commits, see
https://sqlite.org/pragma.html#pragma_data_version) and the connection's own
``total_changes()`` (which counts commits made through this very connection, by any
thread).  Only when that fingerprint moved does it read anything else: the session's
``last_seq`` and the new part of its timeline, with the same timeline query ``replay``
uses.  Between polls the iterator sleeps on a ``threading.Event``, so it burns no CPU
and a ``close()`` (or the caller's ``stop`` event) from another thread ends it promptly.

The mutex is held only for one poll, never across a ``yield``: a consumer may append to
the session it follows, and other threads are never blocked by an idle follower.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Generic, Protocol, Self, TypeVar

import apsw

from . import _events
from ._sql import fetch_all
from .errors import InvalidInput, SessionNotFound
from .models import Event, Session


class FollowedStore(Protocol):
    """The few store operations a follower and a watcher use (a ``Store`` has them):
    the connection under the store's mutex, and the session listing.  Named here so
    that this module needs nothing from ``store``, which imports it."""

    def _reading(self) -> AbstractContextManager[apsw.Connection]: ...

    def list_sessions(
        self, limit: int | None = 20, *, include_archived: bool = False
    ) -> list[Session]: ...


__all__ = ["DEFAULT_POLL_INTERVAL_S", "Follower", "Watcher"]

DEFAULT_POLL_INTERVAL_S = 0.025
"""25 ms between polls: well under the 100 ms a person notices, a few µs of work each."""

DEFAULT_REFRESH_S = 2.0
"""How often a watcher re-lists even without a write, so liveness changes show up."""

FOLLOW_PAGE = 2_000

_T = TypeVar("_T")


MAX_INTERVAL_S = 86_400.0
"""The longest poll or refresh interval: a day (longer ones overflowed the sleep later)."""


def check_interval(value: object, name: str) -> float:
    """``value`` as a float number of seconds in (0, a day]; InvalidInput otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not 0 < value <= MAX_INTERVAL_S:
        raise InvalidInput(f"{name} must be > 0 and ≤ {MAX_INTERVAL_S:g} seconds, got {value!r}")
    return float(value)


def change_fingerprint(conn: apsw.Connection) -> tuple[int, int]:
    """What moves when anyone commits: other connections' data version, our own changes."""
    version = fetch_all(conn, "PRAGMA data_version")[0][0]
    return int(version), int(conn.total_changes())


def _position(conn: apsw.Connection, ulid: str) -> tuple[int, int, int]:
    """``(id, fork_seq, last_seq)`` of the session."""
    rows = fetch_all(conn, "SELECT id, fork_seq, last_seq FROM sessions WHERE ulid = ?", (ulid,))
    if not rows:
        raise SessionNotFound(ulid)
    return int(rows[0][0]), int(rows[0][1]), int(rows[0][2])


class _Polling(Generic[_T]):
    """A blocking iterator over what successive polls find; stoppable from any thread."""

    def __init__(self, *, poll_interval_s: float, stop: threading.Event | None) -> None:
        self._interval = check_interval(poll_interval_s, "poll_interval_s")
        self._stop = stop
        self._closed = threading.Event()
        self._buffer: deque[_T] = deque()

    def poll(self) -> list[_T]:
        """What is new since the last poll, without waiting."""
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called or the ``stop`` event is set."""
        return self._closed.is_set() or (self._stop is not None and self._stop.is_set())

    def close(self) -> None:
        """End the iteration; safe from any thread, and a waiting ``next`` returns promptly."""
        self._closed.set()

    def __iter__(self) -> Iterator[_T]:
        return self

    def __next__(self) -> _T:
        while not self.closed:
            if self._buffer:
                return self._buffer.popleft()
            found = self.poll()
            if found:
                self._buffer.extend(found)
                continue
            self._closed.wait(self._interval)
        raise StopIteration

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Follower(_Polling[Event]):
    """New events of one session's timeline, as any process appends them.

    Iterating blocks until the next event arrives or the follower is closed.  ``poll()``
    returns what is new right now without waiting (for event loops that schedule their
    own polls).  Raises SessionNotFound if the session disappears, StoreClosed if the
    store is closed while following.
    """

    def __init__(
        self,
        store: FollowedStore,
        ulid: str,
        *,
        after_seq: int | None,
        poll_interval_s: float,
        stop: threading.Event | None,
    ) -> None:
        super().__init__(poll_interval_s=poll_interval_s, stop=stop)
        self._store = store
        self._ulid = ulid
        with store._reading() as conn:
            self._fingerprint = change_fingerprint(conn)
            _, _, last_seq = _position(conn, ulid)
        self._after = last_seq if after_seq is None else after_seq
        self._behind = self._after < last_seq

    @property
    def session(self) -> str:
        """The ulid of the followed session."""
        return self._ulid

    @property
    def last_seq(self) -> int:
        """The seq of the last event handed out (or the starting point)."""
        return self._after

    def poll(self) -> list[Event]:
        """The events appended since the last poll (at most one page), without waiting."""
        if self.closed:
            return []
        with self._store._reading() as conn:
            fingerprint = change_fingerprint(conn)
            if fingerprint == self._fingerprint and not self._behind:
                return []
            self._fingerprint = fingerprint
            session_id, fork_seq, last_seq = _position(conn, self._ulid)
            if last_seq <= self._after:
                return []
            upto = min(last_seq, self._after + FOLLOW_PAGE)
            page = _events.timeline_page(
                conn, (session_id, self._ulid, fork_seq), self._after, upto
            )
        self._after = upto
        self._behind = upto < last_seq
        return page


class Watcher(_Polling[list[Session]]):
    """The session listing (like ``list_sessions``), each time it changes.

    The first ``next`` returns the current listing at once; later ones wait until a
    commit (from any process) changes it, or until a periodic refresh finds a status that
    changed without a write (a writer process that died is ``interrupted`` from then on).
    """

    def __init__(
        self,
        store: FollowedStore,
        *,
        limit: int | None,
        include_archived: bool,
        poll_interval_s: float,
        refresh_s: float,
        stop: threading.Event | None,
    ) -> None:
        super().__init__(poll_interval_s=poll_interval_s, stop=stop)
        self._store = store
        self._limit = limit
        self._include_archived = include_archived
        self._refresh_s = check_interval(refresh_s, "refresh_s")
        self._fingerprint: tuple[int, int] | None = None
        self._listed_at = 0.0
        self._listing: list[Session] | None = None

    def poll(self) -> list[list[Session]]:
        """``[listing]`` when it differs from the last one handed out, else ``[]``."""
        if self.closed:
            return []
        with self._store._reading() as conn:
            fingerprint = change_fingerprint(conn)
        stale = time.monotonic() - self._listed_at >= self._refresh_s
        if fingerprint == self._fingerprint and not stale:
            return []
        self._fingerprint = fingerprint
        self._listed_at = time.monotonic()
        listing = self._store.list_sessions(self._limit, include_archived=self._include_archived)
        if listing == self._listing:
            return []
        self._listing = listing
        return [listing]
