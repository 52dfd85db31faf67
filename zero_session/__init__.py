"""zero_session: an embedded SQLite event-log store for interactive programs.

Record every prompt, command and alert of a TUI, REPL or agent CLI into a session;
resume it, fork it into a child that keeps its parent's history, replay it, label it.
"""

from ._check import CheckReport, Problem
from .errors import (
    AmbiguousSession,
    InvalidInput,
    NotAStore,
    ReadOnlyStore,
    SchemaTooNew,
    SeqConflict,
    SessionBusy,
    SessionEnded,
    SessionNotFound,
    StorageError,
    StoreClosed,
    StoreLocked,
    StoreUsedAfterFork,
    ZeroSessionError,
)
from .models import Event, EventKind, Milestone, Resumed, Session, Status
from .store import Clock, Store, default_path

__all__ = [
    "AmbiguousSession",
    "CheckReport",
    "Clock",
    "Event",
    "EventKind",
    "InvalidInput",
    "Milestone",
    "NotAStore",
    "Problem",
    "ReadOnlyStore",
    "Resumed",
    "SchemaTooNew",
    "SeqConflict",
    "Session",
    "SessionBusy",
    "SessionEnded",
    "SessionNotFound",
    "Status",
    "StorageError",
    "Store",
    "StoreClosed",
    "StoreLocked",
    "StoreUsedAfterFork",
    "ZeroSessionError",
    "default_path",
]

__version__ = "0.1.0"
