"""zero_session: an embedded SQLite event-log store for interactive programs.

Record every prompt, command and alert of a TUI, REPL or agent CLI into a session;
resume it, fork it into a child that keeps its parent's history, replay it, label it.
"""

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~5 ms)
if TYPE_CHECKING:
    from typing import Any

    from ._check import CheckReport, Problem
    from ._lifecycle import PruneReport
    from ._search import SearchHit
    from ._stats import StoreStats
    from ._summary import Summary
    from ._timeline import TimelineWindow
    from ._transfer import TransferCounts
    from ._tree import SessionNode
    from .aio import AsyncStore
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

# Every public name loads on first use (PEP 562): ``import zero_session`` costs almost
# nothing, ``from zero_session import Store`` loads the store and its value types, and
# the embedding kit, the report types and the async store load only when asked for.
# A command line can then set itself up (e.g. switch the garbage collector off while it
# imports) before any of it loads.
_LAZY = {
    "Clock": "zero_session.store",
    "Store": "zero_session.store",
    "default_path": "zero_session.store",
    "Event": "zero_session.models",
    "EventKind": "zero_session.models",
    "Milestone": "zero_session.models",
    "Resumed": "zero_session.models",
    "Session": "zero_session.models",
    "Status": "zero_session.models",
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
_LAZY.update(
    dict.fromkeys(
        (
            "AmbiguousSession",
            "DiskFull",
            "ForeignSession",
            "HasForks",
            "Interrupted",
            "InvalidInput",
            "LabelTaken",
            "NotAStore",
            "ReadOnlyStore",
            "SchemaTooNew",
            "SeqConflict",
            "SessionActive",
            "SessionBusy",
            "SessionEnded",
            "SessionNotFound",
            "StorageError",
            "StoreClosed",
            "StoreLocked",
            "StoreUsedAfterFork",
            "SyncError",
            "ZeroSessionError",
        ),
        "zero_session.errors",
    )
)
# Submodules that ``import zero_session`` used to load, reachable as attributes as before.
_SUBMODULES = frozenset({"errors", "ids", "models", "store"})


def __getattr__(name: str) -> "Any":
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"zero_session.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zero_session' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
