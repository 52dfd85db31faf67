"""Forking while a thread writes: every open Store's mutex is held across ``os.fork()``.

SQLite's POSIX advisory locks belong to a process, so a child holds none of its
parent's.  But SQLite also keeps, in process memory, which locks its connections hold
on each file (the unix VFS's per-file lock counts and its table of WAL-index locks), and
a new connection to the same file shares that bookkeeping.  A child forked while a
thread of the parent is inside a write transaction inherits the memory as it was: to the
child the file looks write-locked by a connection of its own process that will never
finish, so a *new* Store opened there got StoreLocked.

Every transaction of a Store runs under its mutex, so holding every open Store's mutex
while the process forks means no transaction is half done when the memory is copied:
the fork waits for a write (or read) in progress to end.  The mutex is reentrant, so a
thread forking from code that already holds one (a clock called inside a write) does not
wait for itself.  A mutex still held after :data:`FORK_WAIT_S` (a read that runs that
long, two threads each holding one store and waiting for the other) is left alone and
the fork goes on, as it would without this module.  The parent's Store stays refused in
the child (StoreUsedAfterFork) whatever happened.
"""

from __future__ import annotations

import os
import threading

# weakref.WeakSet itself, from the module threading has already loaded: importing
# weakref would add its own import time to ``import zero_session``.
from _weakrefset import WeakSet
from typing import Protocol

__all__ = ["FORK_WAIT_S", "current_pid", "forget", "track"]

FORK_WAIT_S = 30.0


class _HasMutex(Protocol):
    _lock: threading.RLock


_open_stores: WeakSet[_HasMutex] = WeakSet()
_held: list[threading.RLock] = []

current_pid = os.getpid()
"""This process's id, renewed in a child by the after-fork hook below: every read
compares it with its store's, and ``os.getpid()`` is a system call (~0.2 µs)."""


def track(store: _HasMutex) -> None:
    """Hold ``store``'s mutex whenever this process forks (until :func:`forget`)."""
    _open_stores.add(store)


def forget(store: _HasMutex) -> None:
    """Stop holding ``store``'s mutex across forks (it is closed)."""
    _open_stores.discard(store)


def _hold_every_mutex() -> None:
    """Before the fork: take each open store's mutex (stores opened meanwhile too)."""
    taken: set[int] = set()
    while True:
        pending = [store for store in list(_open_stores) if id(store) not in taken]
        if not pending:
            return
        for store in pending:
            taken.add(id(store))
            mutex = store._lock
            if mutex.acquire(timeout=FORK_WAIT_S):
                _held.append(mutex)


def _release_every_mutex() -> None:
    """After the fork, in the parent."""
    while _held:
        _held.pop().release()


def _release_in_child() -> None:
    """After the fork, in the child: release the copies (held by the forking thread,
    the child's only thread), and forget the parent's stores, which the child may not
    use, so that a later fork in the child never waits for a copy left held."""
    global current_pid
    current_pid = os.getpid()
    _release_every_mutex()
    _open_stores.clear()


os.register_at_fork(
    before=_hold_every_mutex,
    after_in_parent=_release_every_mutex,
    after_in_child=_release_in_child,
)
