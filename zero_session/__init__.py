"""zero_session: an embedded SQLite event-log store for interactive programs.

Record every prompt, command and alert of a TUI, REPL or agent CLI into a session;
resume it, fork it into a child that keeps its parent's history, replay it, label it.
"""

from typing import TYPE_CHECKING, Any

from .errors import (
    AmbiguousSession,
    DiskFull,
    ForeignSession,
    HasForks,
    Interrupted,
    InvalidInput,
    LabelTaken,
    NotAStore,
    ReadOnlyStore,
    SchemaTooNew,
    SeqConflict,
    SessionActive,
    SessionBusy,
    SessionEnded,
    SessionNotFound,
    StorageError,
    StoreClosed,
    StoreLocked,
    StoreUsedAfterFork,
    SyncError,
    ZeroSessionError,
)
from .models import Event, EventKind, Milestone, Resumed, Session, Status
from .store import Clock, Store, default_path

if TYPE_CHECKING:
    from ._check import CheckReport, Problem
    from ._lifecycle import PruneReport
    from ._search import SearchHit
    from ._stats import StoreStats
    from ._summary import Summary
    from ._timeline import TimelineWindow
    from ._transfer import TransferCounts
    from ._tree import SessionNode
    from .aio import AsyncStore
    from .tui import OutputLine, Recorder, SessionCommands

__all__ = [
    "AmbiguousSession",
    "AsyncStore",
    "CheckReport",
    "Clock",
    "DiskFull",
    "Event",
    "EventKind",
    "ForeignSession",
    "HasForks",
    "Interrupted",
    "InvalidInput",
    "LabelTaken",
    "Milestone",
    "NotAStore",
    "OutputLine",
    "Problem",
    "PruneReport",
    "ReadOnlyStore",
    "Recorder",
    "Resumed",
    "SchemaTooNew",
    "SearchHit",
    "SeqConflict",
    "Session",
    "SessionActive",
    "SessionBusy",
    "SessionCommands",
    "SessionEnded",
    "SessionNode",
    "SessionNotFound",
    "Status",
    "StorageError",
    "Store",
    "StoreClosed",
    "StoreLocked",
    "StoreStats",
    "StoreUsedAfterFork",
    "Summary",
    "SyncError",
    "TimelineWindow",
    "TransferCounts",
    "ZeroSessionError",
    "default_path",
]

__version__ = "0.1.0"

# The embedding kit and the report types of the maintenance and search methods load on
# first use, so ``import zero_session`` stays fast for programs that only need the store.
_LAZY = {
    "AsyncStore": "zero_session.aio",
    "CheckReport": "zero_session._check",
    "OutputLine": "zero_session.tui.commands",
    "Problem": "zero_session._check",
    "PruneReport": "zero_session._lifecycle",
    "Recorder": "zero_session.tui.recorder",
    "SearchHit": "zero_session._search",
    "SessionCommands": "zero_session.tui.commands",
    "StoreStats": "zero_session._stats",
    "Summary": "zero_session._summary",
    "TransferCounts": "zero_session._transfer",
    "TimelineWindow": "zero_session._timeline",
    "SessionNode": "zero_session._tree",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zero_session' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
