"""Watch: push, then again every ``interval`` seconds, until asked to stop.

One connection is kept between ticks.  A tick finds what changed from the file alone
(the push cursors), so an idle store costs one local read per tick and no server round
trip.  Losing the server is not fatal: the failure is reported to ``on_error`` and the
next tick reconnects.  A refused login or a schema this role may not create is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from .._store_core import StoreCore
from ..errors import SyncError
from ._connect import Target, resolve
from ._push import Pusher
from ._reports import PushReport

__all__ = ["run_watch"]

_FATAL_KINDS = ("rejected", "schema", "missing")


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
    try:
        while not stop.is_set():
            try:
                if pusher is None:
                    conn = target.connect(connect_timeout_s=connect_timeout_s)
                    pusher = Pusher(store, conn, target, io_timeout_s=io_timeout_s)
                report = pusher.push(stop=stop)
                if on_push is not None and (
                    report.events or report.sessions or report.milestones or report.diverged
                ):
                    on_push(report)
            except SyncError as exc:
                if exc.kind in _FATAL_KINDS and not _lost_link(conn):
                    raise
                if on_error is not None:
                    on_error(exc)
                pusher = None
                _close(conn)
                conn = None
            stop.wait(interval)
    finally:
        _close(conn)


def _lost_link(conn: Any) -> bool:
    """Whether ``conn`` is gone (then any error it raised is worth a retry)."""
    return conn is not None and bool(conn.closed or conn.broken)


def _close(conn: Any) -> None:
    if conn is not None:
        with suppress(Exception):  # closing a broken link: nothing left to do
            conn.close()
