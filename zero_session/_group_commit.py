"""Group commit: appends from several threads share one transaction, hence one fsync.

With ``durability="full"`` every COMMIT waits for an fsync of the WAL (a fraction of a
millisecond on an SSD, far more on a disk), so a Store that committed each append on its
own would be capped at one fsync per event however many threads append.  Instead an
append is a *request* in a queue.  A thread that finds no leader becomes the leader: it
takes every queued request, opens one ``BEGIN IMMEDIATE`` transaction under the Store's
mutex, runs each request inside its own ``SAVEPOINT`` (so one request's SeqConflict or
SessionEnded undoes only that request), commits once, and only then hands each waiting
thread its result or its exception.  Requests queued while the leader writes form the
next batch, so the batch grows with the number of writers.

No request is acknowledged before the COMMIT that carries it has returned: durability
is exactly what it was with one commit per append.  When the transaction itself fails
(disk full, I/O error, locked past the timeout, the store closed) every request of the
batch gets that error and none of its events is kept.  A lone writer (nobody leading,
nobody queued) skips the queue and runs its request as a plain transaction.

The connection is only ever used under the Store's mutex; the queue has its own small
lock so that threads can queue while the leader is waiting for the disk.

**Gathering.**  Without it, batches alternate between halves of the writers: when a
batch commits, its writers return, and the first to come back with its next append found
nobody leading and wrote alone while the others queued behind it (commits of 3 and 1
events with 4 threads).  So while the last batch carried several requests, a new leader
first waits for as many requests as that batch had, for at most half as long as the last
commit took (``COMMIT`` is the fsync at ``durability="full"``: a fraction of a
millisecond; at ``normal`` a few microseconds, so it barely waits).  A lone writer
(last batch of one) never waits; when writers stop, the batch shrinks and so does the
wait.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import apsw

from .errors import StorageError

__all__ = ["GroupCommit"]

# The longest a leader waits for the last batch's writers to queue again.
_MAX_GATHER_S = 0.002

T = TypeVar("T")

Work = Callable[[apsw.Connection], T]


class _Request(Generic[T]):
    """One caller's write, and what came of it once ``done``."""

    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Work[T]) -> None:
        self.work = work
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit:
    """Runs write requests from many threads in shared transactions.

    ``lock`` is the Store's mutex (held whenever the connection is used); ``connection``
    returns the writable connection or raises (StoreClosed, ReadOnlyStore, ...);
    ``translated`` turns an exception raised while writing into the one a caller sees;
    ``pid`` is the process that owns the Store (a child after ``os.fork()`` must not
    use the queue, even one it made itself).  ``commits`` and ``requests`` count
    committed transactions and the requests they carried, for the benchmarks.
    """

    def __init__(
        self,
        lock: threading.RLock,
        connection: Callable[[], apsw.Connection],
        translated: Callable[[BaseException, apsw.Connection | None], BaseException],
        *,
        pid: int,
    ) -> None:
        self._lock = lock
        self._connection = connection
        self._translated = translated
        self._queue_lock = threading.Lock()
        self._turn = threading.Condition(self._queue_lock)
        self._arrived = threading.Condition(self._queue_lock)
        self._queue: list[_Request[Any]] = []
        self._leading = False
        self._gathering = False
        self._waiting = 0
        self._last_batch = 1
        self._gather_s = 0.0
        self._pid = pid
        self.commits = 0
        self.requests = 0

    def submit(self, work: Work[T]) -> T:
        """Run ``work(conn)`` inside a committed write transaction; its result once durable.

        ``work`` may run in another thread (the leader's) and must only use the
        connection it is given.  Its exception is raised here, and undoes only its own
        writes.
        """
        if os.getpid() != self._pid:
            # A child after os.fork(): the queue's state (even a held lock, a leader that
            # only the parent will finish) was copied mid-use, so take no lock: the
            # Store's connection check raises StoreUsedAfterFork before using anything.
            self._connection()
        with self._queue_lock:
            alone = not self._leading and not self._queue and self._last_batch <= 1
            if alone:
                self._leading = True
        if alone:
            # Nobody leads or waits: write it without the queue (the common case).
            try:
                return self._run_alone(work)
            finally:
                self._hand_over()
        request = _Request(work)
        with self._queue_lock:
            self._queue.append(request)
            if self._gathering:
                self._arrived.notify()
            if self._leading:
                self._waiting += 1
                while self._leading and not request.done:
                    self._turn.wait()
                self._waiting -= 1
                if request.done:
                    return request.outcome()
            # Lead: take every request queued so far (this one included), once the last
            # batch's writers are back or the short wait is over.
            self._leading = True
            self._gather()
            batch, self._queue = self._queue, []
        try:
            self._run(batch)
        finally:
            self._hand_over()
        return request.outcome()

    def _gather(self) -> None:
        """Wait (queue lock held, released while waiting) until as many requests are
        queued as the last batch carried, or half the last commit's time has passed."""
        expected = self._last_batch
        if expected <= 1 or len(self._queue) >= expected:
            return
        deadline = time.monotonic() + min(self._gather_s, _MAX_GATHER_S)
        self._gathering = True
        try:
            while len(self._queue) < expected:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
        finally:
            self._gathering = False

    def _commit(self, conn: apsw.Connection, requests: int) -> None:
        """COMMIT, and remember how long it took and how many requests it carried."""
        began = time.monotonic()
        conn.execute("COMMIT")
        self._gather_s = (time.monotonic() - began) / 2
        self._last_batch = requests
        self.commits += 1
        self.requests += requests

    def _hand_over(self) -> None:
        """Stop leading; wake the waiters (done ones return, one of the others leads)."""
        with self._queue_lock:
            self._leading = False
            if self._waiting:
                self._turn.notify_all()

    def _run_alone(self, work: Work[T]) -> T:
        """One request in its own transaction: a failure rolls it all back."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                result = work(conn)
                self._commit(conn, 1)
            except BaseException as exc:
                if not conn.getautocommit():
                    conn.execute("ROLLBACK")
                error = self._translated(exc, conn)
                if error is exc:
                    raise
                raise error from exc
            return result

    def _run(self, batch: list[_Request[Any]]) -> None:
        """Write and commit ``batch``; every request ends ``done``, whatever happens."""
        conn: apsw.Connection | None = None
        try:
            with self._lock:
                conn = self._connection()
                try:
                    self._write(conn, batch)
                except BaseException:
                    if not conn.getautocommit():
                        conn.execute("ROLLBACK")
                    raise
        except BaseException as exc:
            error = self._translated(exc, conn)
            if not isinstance(error, Exception):
                error = StorageError(f"the write was interrupted ({exc!r})")
            for request in batch:
                if request.error is None:
                    request.error = error
                request.result = None
            if not isinstance(exc, Exception):
                raise
        finally:
            for request in batch:
                request.done = True

    def _write(self, conn: apsw.Connection, batch: list[_Request[Any]]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        if len(batch) == 1:
            # Alone: the transaction is the request's own, a failure rolls it all back.
            batch[0].result = batch[0].work(conn)
        else:
            for request in batch:
                conn.execute("SAVEPOINT zs_request")
                try:
                    request.result = request.work(conn)
                except Exception as exc:
                    if conn.getautocommit():
                        raise  # SQLite rolled the whole transaction back: the batch fails
                    conn.execute("ROLLBACK TO zs_request")
                    request.error = self._translated(exc, conn)
                conn.execute("RELEASE zs_request")
        self._commit(conn, len(batch))
