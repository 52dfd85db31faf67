"""Waiting for another connection's write lock: short tries up to the busy timeout.

The handler itself is driven here the way SQLite drives it (``tries`` counting up from
0 within one wait); the lock held past the timeout by another process, and writers
under contention, are in tests/test_concurrency.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import apsw
import pytest

from zero_session import Store, StoreLocked, _busy


def test_tries_often_until_the_deadline_then_gives_up() -> None:
    wait = _busy._BusyWait(200)
    began = time.monotonic()
    tries = 0
    while wait(tries):
        tries += 1
        assert time.monotonic() - began < 5, "never gave up"
    waited = time.monotonic() - began
    assert 0.2 <= waited < 2.0
    # SQLite's own handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50 ms: ten tries in
    # 200 ms.  Ours tries every ~1 ms (a loaded machine may stretch each sleep a little).
    assert tries > 20


def test_a_new_wait_starts_a_new_deadline() -> None:
    wait = _busy._BusyWait(20)
    tries = 0
    while wait(tries):
        tries += 1
    assert wait(0) is True  # tries back at 0: another statement waits afresh


def test_the_store_waits_through_its_own_handler(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store.open(path, busy_timeout_ms=100) as store:
        store.start()
        holder = apsw.Connection(str(path))
        holder.execute("BEGIN IMMEDIATE")
        began = time.monotonic()
        try:
            with pytest.raises(StoreLocked):
                store.start()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert time.monotonic() - began >= 0.1
        store.start()  # and writes again once the lock is gone
