"""The exception hierarchy of zero_session, and the translation of apsw errors into it.

Every public method raises only :class:`ZeroSessionError` subclasses (plus ``TypeError``
for arguments of the wrong type).  Each subclass carries the facts a caller needs to act
on it: the ulid that was not found, the candidates of an ambiguous prefix, the expected
and actual seq of a conflict.  Where a builtin exception means the same thing, ours also
subclasses it (``InvalidInput`` is a ``ValueError``, ``SessionNotFound`` a
``LookupError``), following attrs' ``FrozenError(AttributeError)``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence

import apsw

__all__ = [
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
]


def _rebuild(
    cls: type[ZeroSessionError], args: tuple[object, ...], state: dict[str, object]
) -> ZeroSessionError:
    """Recreate an unpickled error without calling its ``__init__`` (whose arguments differ
    from ``args``, the formatted message), then restore its attributes."""
    exc = cls.__new__(cls, *args)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class ZeroSessionError(Exception):
    """Base class of every error zero_session raises on purpose.

    Every subclass survives ``pickle`` (multiprocessing, concurrent.futures) with its type,
    message and attributes: ``__reduce__`` rebuilds it from its message and ``__dict__``
    instead of calling ``__init__`` again, so a subclass with its own constructor
    arguments needs nothing extra.
    """

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class InvalidInput(ZeroSessionError, ValueError):
    """An argument has the right type but a value the store refuses; nothing was written."""


class SessionNotFound(ZeroSessionError, LookupError):
    """No session matches ``needle`` (a ulid, a label or a ulid prefix)."""

    def __init__(self, needle: str, detail: str = "") -> None:
        self.needle = needle
        message = f"no session matches {needle!r}"
        super().__init__(f"{message} ({detail})" if detail else message)


class AmbiguousSession(ZeroSessionError, LookupError):
    """A ulid prefix matches several sessions; ``candidates`` lists their ulids.

    ``more`` is true when further sessions match beyond the listed candidates.
    """

    def __init__(self, needle: str, candidates: Sequence[str], *, more: bool = False) -> None:
        self.needle = needle
        self.candidates = tuple(candidates)
        self.more = more
        shown = ", ".join(self.candidates)
        count = f"more than {len(self.candidates)}" if more else str(len(self.candidates))
        super().__init__(f"{needle!r} matches {count} sessions: {shown}")


class SeqConflict(ZeroSessionError):
    """``expected_seq`` was not the session's last seq; nothing was written.

    ``expected`` is the last seq the caller believed the session had, ``actual`` the last
    seq it really has.  Re-read the session and retry.
    """

    def __init__(self, ulid: str, expected: int, actual: int) -> None:
        self.ulid = ulid
        self.expected = expected
        self.actual = actual
        super().__init__(f"session {ulid}: expected last seq {expected}, but it is {actual}")


class SessionEnded(ZeroSessionError):
    """The session has recorded its end; ``resume`` it (or fork it) to write again."""

    def __init__(self, ulid: str) -> None:
        self.ulid = ulid
        super().__init__(f"session {ulid} has ended; resume or fork it to append")


class SessionBusy(ZeroSessionError):
    """Another live process is writing the session; pass ``force=True`` to take it over."""

    def __init__(self, ulid: str, pid: int | None, host: str | None) -> None:
        self.ulid = ulid
        self.pid = pid
        self.host = host
        super().__init__(
            f"session {ulid} is being written by live process {pid} on {host}; "
            "use force=True to take it over"
        )


class HasForks(ZeroSessionError):
    """The session has forks; delete them first or pass ``cascade=True``.

    ``children`` lists the ulids of its direct forks.
    """

    def __init__(self, ulid: str, children: Sequence[str]) -> None:
        self.ulid = ulid
        self.children = tuple(children)
        shown = ", ".join(self.children)
        super().__init__(
            f"session {ulid} has {len(self.children)} fork(s): {shown}; "
            "delete them first or pass cascade=True"
        )


class SessionActive(ZeroSessionError):
    """``start(exclusive=True)``: a live session already holds ``scope`` (a cwd or a key).

    ``ulid`` is the live session, ``pid`` and ``host`` its writer.  It frees the scope when
    it ends or its process is gone.
    """

    def __init__(self, scope: str, ulid: str, pid: int | None, host: str | None) -> None:
        self.scope = scope
        self.ulid = ulid
        self.pid = pid
        self.host = host
        super().__init__(
            f"live session {ulid} (process {pid} on {host}) already holds {scope!r}; "
            "end it first or start without exclusive=True"
        )


class LabelTaken(ZeroSessionError):
    """The label ``name`` names another session (``ulid``); pass ``move=True`` to move it."""

    def __init__(self, name: str, ulid: str) -> None:
        self.name = name
        self.ulid = ulid
        super().__init__(f"label {name!r} already names session {ulid}; use move=True to move it")


class ForeignSession(ZeroSessionError):
    """The session was pulled from another store (``origin``), which alone appends to it.

    Continue it in a local fork: ``store.resume(ulid)`` or ``store.fork(ulid)``.
    """

    def __init__(self, ulid: str, origin: str) -> None:
        self.ulid = ulid
        self.origin = origin
        super().__init__(
            f"session {ulid} belongs to store {origin}; only that store appends to it. "
            "Continue it in a local fork (resume or fork it)"
        )


class SyncError(ZeroSessionError):
    """Sync with the PostgreSQL server failed; nothing local was lost or changed.

    ``kind`` tells the cases apart: ``"unreachable"`` (no connection, timeout, link
    lost), ``"rejected"`` (authentication, privileges, a refused row), ``"diverged"``
    (the server holds a different event at an existing seq), ``"schema"`` (the server's
    schema is missing, too new, or cannot be created by this role), ``"missing"`` (the
    ``postgres`` extra is not installed).  Messages never contain a password.
    """

    KINDS = ("unreachable", "rejected", "diverged", "schema", "missing")

    def __init__(self, message: str, kind: str = "rejected") -> None:
        self.kind = kind
        super().__init__(message)


class StorageError(ZeroSessionError):
    """The database failed underneath us (I/O error, disk full, ...); nothing half-written."""


class DiskFull(StorageError):
    """No room for the write (disk full, quota, file size limit); nothing was written.

    The store stays usable: reads work, and writes work again once space returns.
    """


class StoreLocked(StorageError):
    """Another connection held the database locked for longer than the busy timeout."""


class SchemaTooNew(StorageError):
    """The file was written by a newer zero_session whose schema this code does not know."""

    def __init__(self, path: str, found: int, known: int) -> None:
        self.path = path
        self.found = found
        self.known = known
        super().__init__(
            f"{path}: schema version {found} is newer than this zero_session knows "
            f"({known}); upgrade zero_session"
        )


class NotAStore(StorageError):
    """The file is not a zero_session store: not SQLite, corrupt, or another application's."""


class ReadOnlyStore(StorageError):
    """A write was attempted on a store opened with ``readonly=True`` or a read-only file."""


class Interrupted(ZeroSessionError):
    """A read was cancelled by ``Store.interrupt()`` from another thread; nothing was
    written and the store stays usable."""


class StoreClosed(ZeroSessionError):
    """The store was closed; open a new one."""


class StoreUsedAfterFork(ZeroSessionError):
    """A Store was used in a child process after ``os.fork()``; open a new Store there."""


# Operating-system errors that mean "no room": SQLite reports ENOSPC as SQLITE_FULL but
# a quota (EDQUOT) or a file size limit (EFBIG, RLIMIT_FSIZE) as a plain write error.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def translate(exc: BaseException, *, context: str = "", os_errno: int = 0) -> ZeroSessionError:
    """Map an apsw (or codec) exception to the matching ZeroSessionError subclass.

    ``os_errno`` is the connection's ``system_errno`` (the operating system's error
    behind an I/O error), used to tell a full disk from other I/O errors.
    """
    prefix = f"{context}: " if context else ""
    # An exception raised by a Python VFS may carry no message; name its class instead.
    detail = str(exc) or type(exc).__name__
    message = f"{prefix}{detail}"
    if isinstance(exc, ZeroSessionError):
        return exc
    if isinstance(exc, apsw.BusyError | apsw.LockedError):
        return StoreLocked(f"{prefix}database is locked by another connection ({exc})")
    if isinstance(exc, apsw.NotADBError | apsw.CorruptError):
        return NotAStore(f"{prefix}not a zero_session database or corrupt ({exc})")
    if isinstance(exc, apsw.ReadOnlyError):
        return ReadOnlyStore(f"{prefix}database is read-only ({exc})")
    if isinstance(exc, apsw.FullError) or (isinstance(exc, apsw.IOError) and os_errno in _NO_ROOM):
        reason = f"{os.strerror(os_errno)}, " if os_errno in _NO_ROOM else ""
        return DiskFull(f"{prefix}disk or database full ({reason}{detail}); nothing was written")
    if isinstance(exc, apsw.InterruptError):
        return Interrupted(f"{prefix}the operation was interrupted ({exc})")
    if isinstance(exc, apsw.CantOpenError):
        return StorageError(f"{prefix}cannot open database file ({exc})")
    if isinstance(exc, apsw.TooBigError):
        return InvalidInput(f"{prefix}value too big for SQLite ({exc})")
    if isinstance(exc, UnicodeError):
        return InvalidInput(f"{prefix}text is not valid Unicode ({exc})")
    if isinstance(exc, apsw.IOError):
        return StorageError(f"{prefix}I/O error ({detail})")
    return StorageError(message)
