"""A new Store in a child forked while another thread of the parent was writing.

SQLite's file locks are per process, so the child holds none of them; but SQLite also
keeps in process memory which locks its connections hold on each file, and the child
inherits that memory.  Forked in the middle of a parent's write, the child saw the file
as write-locked by a connection of its own that would never finish, and a new Store
there got StoreLocked.  Each test forks while a writer thread is provably inside its
transaction: the writer's clock (called inside the transaction) blocks until the fork
has begun, signalled by a fork hook of this module, which runs before the library's.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from children import forked_exit_code

from zero_session import Store, StoreUsedAfterFork

_before_fork: list[Callable[[], None]] = []


def _run_before_fork_callbacks() -> None:
    for callback in _before_fork:
        callback()


# Registered after zero_session's own hook, so it runs before it (CPython calls the
# "before" hooks in reverse order of registration).
os.register_at_fork(before=_run_before_fork_callbacks)


class WriterStuckInside:
    """A clock that holds the writer thread inside its transaction until a fork begins."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.fork_began = threading.Event()

    def __call__(self) -> int:
        if threading.current_thread().name == "writer" and not self.inside.is_set():
            self.inside.set()
            self.fork_began.wait(10)
        return time.time_ns() // 1_000_000


WRITES: dict[str, Callable[[Store, str], object]] = {
    "append": lambda store, ulid: store.append(ulid, "prompt", "from the parent"),
    "append_many": lambda store, ulid: store.append_many(ulid, [("prompt", "a"), ("warn", "b")]),
    "set_milestone": lambda store, ulid: store.set_milestone("parent.key", "value"),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_new_store_in_a_child_forked_during_a_write(db_path: Path, write: str) -> None:
    clock = WriterStuckInside()
    store = Store.open(db_path, clock=clock)
    ulid = store.start(cwd="/").ulid
    writer = threading.Thread(target=WRITES[write], args=(store, ulid), name="writer")
    writer.start()
    assert clock.inside.wait(10)
    _before_fork.append(clock.fork_began.set)

    def child() -> int:
        try:
            store.get(ulid)
            return 2  # the parent's Store must stay refused
        except StoreUsedAfterFork:
            pass
        with Store.open(db_path, busy_timeout_ms=2_000) as own:
            before = own.get(ulid).last_seq
            own.append(ulid, "system", "from the child")
            own.set_milestone("child.key", "value")
            if own.get(ulid).last_seq != before + 1:
                return 3
        return 0

    try:
        assert forked_exit_code(child) == 0
    finally:
        _before_fork.clear()
        clock.fork_began.set()
        writer.join(10)
    with store:
        texts = [event.text for event in store.replay(ulid)]
        assert texts[-1] == "from the child"
        assert store.get_milestone("child.key") == "value"


def test_fork_while_the_forking_thread_holds_the_mutex_does_not_hang(db_path: Path) -> None:
    """The store's mutex held by the very thread that forks (code running under it, such
    as a clock): the fork must not wait for itself."""
    store = Store.open(db_path)
    ulid = store.start(cwd="/").ulid

    def child() -> int:
        with Store.open(db_path) as own:
            own.append(ulid, "system", "from the child")
        return 0

    with store._lock:
        assert forked_exit_code(child) == 0
    assert store.get(ulid).last_seq == 1
    store.close()
