"""Watch: push whenever the file changes, and at least every ``interval`` seconds,
until asked to stop.

Every 25 ms the watch reads the file's change mark (``PRAGMA data_version`` and the
connection's own change count, as ``Store.follow`` does: microseconds, under the store's
mutex); when it moved, it pushes at once, so an append reaches the server within a poll
and a push.  Every ``interval`` seconds it pushes anyway (nothing to send costs one
local read and no server round trip).  One connection is kept between pushes.  Losing
the server is not fatal: the failure goes to ``on_error`` and the watch reconnects after
``interval`` seconds.  A refused login or a schema this role may not create is fatal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from .. import _sync_source as source
from .._store_core import StoreCore
from ..errors import SyncError
from ._connect import Target, resolve
from ._push import Pusher
from ._reports import PushReport

__all__ = ["run_watch"]

_FATAL_KINDS = ("rejected", "schema", "missing")
POLL_S = 0.025  # how often the file's change mark is read


def run_watch(
    store: StoreCore,
    dsn: str | None,
    *,
    interval: float,
    stop: threading.Event,
    on_push: Callable[[PushReport], object] | None,
    on_error: Callable[[SyncError], object] | None,
    io_timeout_s: float,
    connect_timeout_s: float | None,
) -> None:
    """Push until ``stop`` is set; see the module docstring."""
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
    target = Target(resolve(dsn))
    conn: Any = None
    pusher: Pusher | None = None
    pushed_mark: tuple[int, int] | None = None
    next_push = 0.0  # monotonic time of the next push even without a change
    retry_at = 0.0  # after a failure: no push before this time
    poll_s = min(POLL_S, interval)
    try:
        while not stop.is_set():
            mark = source.change_mark(store)
            now = time.monotonic()
            if now >= retry_at and (mark != pushed_mark or now >= next_push):
                next_push = now + interval
                try:
                    if pusher is None:
                        conn = target.connect(connect_timeout_s=connect_timeout_s)
                        pusher = Pusher(store, conn, target, io_timeout_s=io_timeout_s)
                    report = pusher.push(stop=stop)
                    pushed_mark = mark
                    if on_push is not None and (
                        report.events or report.sessions or report.milestones or report.diverged
                    ):
                        on_push(report)
                except SyncError as exc:
                    if exc.kind in _FATAL_KINDS and not _lost_link(conn):
                        raise
                    if on_error is not None:
                        on_error(exc)
                    if pusher is not None:
                        pusher.close()
                    pusher = None
                    _close(conn)
                    conn = None
                    retry_at = now + interval  # not at every poll while the server is down
            stop.wait(poll_s)
    finally:
        if pusher is not None:
            pusher.close()
        _close(conn)


def _lost_link(conn: Any) -> bool:
    """Whether ``conn`` is gone (then any error it raised is worth a retry)."""
    return conn is not None and bool(conn.closed or conn.broken)


def _close(conn: Any) -> None:
    if conn is not None:
        with suppress(Exception):  # closing a broken link: nothing left to do
            conn.close()
