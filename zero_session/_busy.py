"""Waiting for another connection's write lock: short, jittered sleeps up to a deadline.

SQLite's own busy handler (``sqlite3_busy_timeout``) sleeps 1, 2, 5, 10, ... up to 100 ms
between tries.  Under steady contention from several processes a waiter that has backed
off to 100 ms keeps missing the short gaps between the others' transactions: measured with
8 threads and 4 processes creating sessions (``benchmarks/bench_concurrent.py``), some
``start()`` calls waited past the whole 5 s timeout and failed with StoreLocked, and the
p99 of ``start()`` was hundreds of milliseconds.  This handler tries again every 0.25 to
~1 ms (jittered, so waiters do not wake in step) until the same deadline, which costs a
lock probe per try and keeps every waiter in the race.  See
https://www.sqlite.org/c3ref/busy_handler.html.
"""

from __future__ import annotations

import time

import apsw

__all__ = ["wait_when_busy"]

_FIRST_PAUSE_S = 0.00025
_LONGEST_PAUSE_S = 0.001


class _BusyWait:
    """The busy handler of one connection: True to try again, False to give up."""

    __slots__ = ("_started", "_timeout_s")

    def __init__(self, timeout_ms: int) -> None:
        self._timeout_s = timeout_ms / 1000
        self._started = 0.0

    def __call__(self, tries: int) -> bool:
        now = time.monotonic()
        if tries == 0:
            self._started = now
        elif now - self._started >= self._timeout_s:
            return False
        pause = min(_LONGEST_PAUSE_S, _FIRST_PAUSE_S * (tries + 1))
        # Jitter from the clock's low digits: between 0.5 and 1.5 times the pause.
        time.sleep(pause * (0.5 + (time.perf_counter_ns() % 1000) / 1000))
        return True


def wait_when_busy(conn: apsw.Connection, timeout_ms: int) -> None:
    """Make ``conn`` wait up to ``timeout_ms`` for a lock held by another connection
    (0: fail at once), trying again often instead of SQLite's growing sleeps."""
    if timeout_ms <= 0:
        conn.setbusytimeout(0)
    else:
        conn.setbusyhandler(_BusyWait(timeout_ms))
