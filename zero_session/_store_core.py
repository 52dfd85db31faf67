"""The Store's foundation: one connection, one mutex, opening and transactions.

``StoreCore`` opens and configures the connection (``_schema``), refuses use after
``os.fork()`` or ``close()``, and offers the two ways every public method touches the
file: ``_reading`` (the mutex, errors translated) and ``_writing`` (the mutex around a
``BEGIN IMMEDIATE`` transaction that commits or rolls back).  The public methods live in
one mixin module per concern (``_api_*.py``) and are gathered by ``store.Store``.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from threading import get_ident
from typing import TYPE_CHECKING, Any, Literal, Self

import apsw

from . import _fork_safety, _schema
from ._busy import wait_when_busy
from ._files import create_private_file, immutable_uri, not_utf8
from ._sql import fetch_all
from ._typed import wrong_type
from .errors import (
    Interrupted,
    InvalidInput,
    NotAStore,
    ReadOnlyStore,
    SessionNotFound,
    StorageError,
    StoreClosed,
    StoreUsedAfterFork,
    translate,
)
from .ids import parse_ulid
from .models import Session

if TYPE_CHECKING:
    from pathlib import Path

    from ._group_commit import GroupCommit

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "DEFAULT_MAX_EVENT_BYTES",
    "MAX_TIME_MS",
    "MIN_TIME_MS",
    "NOT_ARCHIVED_SQL",
    "REPLAY_PAGE",
    "Clock",
    "EventItem",
    "SessionRef",
    "StoreCore",
    "check_int",
    "check_optional_text",
    "default_path",
]

Clock = Callable[[], int]
"""A callable returning the current time in epoch milliseconds."""

Durability = Literal["full", "normal"]
EventItem = tuple[str, str] | tuple[str, str, Any]
SessionRef = str | Session

DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024
DEFAULT_BUSY_TIMEOUT_MS = 5_000
REPLAY_PAGE = 2_000
_INTERRUPT_REPEAT_S = 0.001
NOT_ARCHIVED_SQL = "s.archived_at_ms IS NULL"


def _system_clock() -> int:
    return time.time_ns() // 1_000_000


def default_path() -> Path:
    """``$ZERO_SESSION_DB``, else ``$XDG_STATE_HOME/zero-session/sessions.db``.

    ``XDG_STATE_HOME`` defaults to ``~/.local/state``; a relative one is ignored, as the
    XDG Base Directory specification says.
    """
    from pathlib import Path

    return Path(_default_path())


def _default_path() -> str:
    """:func:`default_path` as a str, without importing ``pathlib`` (see ``_files``)."""
    configured = os.environ.get("ZERO_SESSION_DB")
    if configured:
        return os.path.expanduser(configured)
    state_home = os.environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(state_home):  # unset, empty or relative: the spec's default
        state_home = os.path.expanduser("~/.local/state")
    return os.path.join(state_home, "zero-session", "sessions.db")


def _as_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a str with ``~`` expanded."""
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"path must be str or os.PathLike[str], not {type(path).__name__}")
    return os.path.expanduser(text)


def _kind_of(mode: int) -> str:
    """What a file that is not a regular file is, for an error message."""
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    return "a special file"


_MAX_SQLITE_INT = 2**63 - 1
# Times are stored as epoch ms and shown as ISO-8601 dates, which end with year 9999.
MIN_TIME_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z
MAX_TIME_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def check_int(value: object, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise InvalidInput(f"{name} must be ≥ {minimum}, got {value}")
    if value > _MAX_SQLITE_INT:  # SQLite integers are 64-bit
        raise InvalidInput(f"{name} must be ≤ {_MAX_SQLITE_INT}, got {value}")
    return value


def check_optional_text(value: object, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
    return value


class _Reading:
    """The context of :meth:`StoreCore._reading`, as a class: every read takes it, and a
    generator-based context manager costs several calls more per read.  The connection
    and the read's number live on the store, under its mutex.  (Not one kept per store:
    that would make a cycle, and a Store dropped unclosed would keep its file open until
    the cyclic collector ran.)"""

    __slots__ = ("_store",)

    def __init__(self, store: StoreCore) -> None:
        self._store = store

    def __enter__(self) -> apsw.Connection:
        store = self._store
        if _fork_safety.current_pid != store._pid:
            store._check_process()  # raises StoreUsedAfterFork
        store._lock.acquire()
        conn = store._conn
        if conn is None or store._pending_setup is not None:
            try:
                conn = store._connection()  # StoreClosed, or the deferred pragmas
            except BaseException:
                store._lock.release()
                raise
        store._read_number += 1
        store._reader = get_ident()  # from here on, interrupt() may cancel this read
        return conn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        store = self._store
        try:
            interrupt_lock = store._interrupt_lock
            interrupt_lock.acquire()
            store._reader = 0
            if store._interrupting:
                store._read_ended.notify_all()
            interrupt_lock.release()
            if store._cancelled_read == store._read_number:
                # Cancelled during this read: also when SQLite's interrupt landed between
                # two statements (and so reached none), the caller asked to stop.
                store._cancelled_read = 0
                conn = store._conn
                if conn is not None and not conn.getautocommit():
                    # The interrupt reached the COMMIT that ends a read transaction
                    # (export, stats): end it here, or the next write could not begin.
                    with suppress(apsw.Error):
                        conn.execute("ROLLBACK")
                if exc is None or isinstance(exc, apsw.InterruptError):
                    raise Interrupted(f"{store._path}: the read was cancelled by interrupt()")
            if exc is not None and isinstance(exc, apsw.Error | UnicodeError):
                # Translated under the mutex: the connection's OS error number is ours.
                raise store._translated(exc, store._conn) from exc
        finally:
            store._lock.release()


class StoreCore:
    """The connection, the mutex and the transactions every Store method runs in.

    Create it with :meth:`open` or :meth:`memory`; close it with :meth:`close` or use it as
    a context manager.
    """

    def __init__(
        self,
        conn: apsw.Connection,
        *,
        path: str,
        clock: Clock,
        readonly: bool,
        max_event_bytes: int,
    ) -> None:
        self._conn: apsw.Connection | None = conn
        # Reentrant only so that a fork from code running under it does not wait for
        # itself (see _fork_safety); the store never takes it twice itself.
        self._lock = threading.RLock()
        self._group_commit: GroupCommit | None = None  # made by the first append
        self._pid = os.getpid()
        self._path = path
        self._clock = clock
        self._readonly = readonly
        self._max_event_bytes = max_event_bytes
        self._search_mark: tuple[int, int] | None = None  # see _catch_up_search
        # interrupt(): the reads are numbered; the one running now can be cancelled.
        self._interrupt_lock = threading.Lock()
        self._read_ended = threading.Condition(self._interrupt_lock)
        self._interrupting = 0  # threads waiting in interrupt()
        self._read_number = 0
        self._reader = 0  # the thread running the read numbered _read_number, or 0
        self._cancelled_read = 0
        # An up-to-date file is opened without loading its schema; the pragmas that
        # need it are set on first use (see _connection).
        self._pending_setup: tuple[str, int] | None = None
        self._opened_current = False  # opened without creating or migrating the file
        _fork_safety.track(self)

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        durability: Durability = "full",
        clock: Clock | None = None,
        readonly: bool = False,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        vfs: str | None = None,
    ) -> Self:
        """Open (creating and migrating if needed) the store at ``path``.

        ``path`` defaults to :func:`default_path`.  ``durability="full"`` makes every
        acknowledged append survive power loss; ``"normal"`` only process crashes.
        ``readonly=True`` never creates the file nor writes to it, and also reads a file
        whose folder is not writable (see :func:`_immutable_uri`).  Raises NotAStore (not
        SQLite, corrupt, another application's file, not a regular file: a
        directory, a FIFO, a socket, a device), SchemaTooNew, ReadOnlyStore (the
        file or its folder cannot be written: open it with ``readonly=True``),
        StorageError (cannot open or create, missing with ``readonly=True``),
        StoreLocked (migration blocked).
        """
        if durability not in _schema.SYNCHRONOUS:
            raise InvalidInput(f"durability must be 'full' or 'normal', got {durability!r}")
        check_int(busy_timeout_ms, "busy_timeout_ms")
        check_int(max_event_bytes, "max_event_bytes", minimum=1)
        target = _default_path() if path is None else _as_path(path)
        if "\x00" in target or not_utf8(target):
            raise InvalidInput(f"path {target!r} is not a possible SQLite file name")
        try:  # one stat answers "a file?" and "exists?" (the open path is hot in CLIs)
            found = os.stat(target)
            exists, mode, size = True, found.st_mode, found.st_size
        except (OSError, ValueError):
            exists, mode, size = False, stat.S_IFREG, 0
        if not stat.S_ISREG(mode):
            raise NotAStore(f"{target} is {_kind_of(mode)}, not a regular file: not a store")
        uri = None
        if readonly:
            if not exists:
                raise StorageError(f"{target} does not exist (readonly=True never creates it)")
            flags = apsw.SQLITE_OPEN_READONLY
            uri = immutable_uri(target)
            if uri is not None:
                flags |= apsw.SQLITE_OPEN_URI
        else:
            try:
                if not exists:
                    create_private_file(target)
            except OSError as exc:
                raise StorageError(f"cannot create {target}: {exc}") from exc
            flags = apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
        try:
            return cls._connect(
                target,
                uri=uri,
                size=size if exists else None,
                flags=flags,
                vfs=vfs,
                durability=durability,
                clock=clock,
                readonly=readonly,
                busy_timeout_ms=busy_timeout_ms,
                max_event_bytes=max_event_bytes,
            )
        except ReadOnlyStore as exc:
            if readonly:
                raise
            raise ReadOnlyStore(f"{exc}; open it with readonly=True to read it") from exc

    @classmethod
    def memory(cls, *, clock: Clock | None = None) -> Self:
        """A private in-memory store, gone when closed; handy for tests and --no-persist."""
        flags = apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
        return cls._connect(
            ":memory:",
            flags=flags,
            vfs=None,
            durability="normal",
            clock=clock,
            readonly=False,
            busy_timeout_ms=DEFAULT_BUSY_TIMEOUT_MS,
            max_event_bytes=DEFAULT_MAX_EVENT_BYTES,
        )

    @classmethod
    def _connect(
        cls,
        path: str,
        *,
        uri: str | None = None,
        size: int | None = None,
        flags: int,
        vfs: str | None,
        durability: str,
        clock: Clock | None,
        readonly: bool,
        busy_timeout_ms: int,
        max_event_bytes: int,
    ) -> Self:
        conn: apsw.Connection | None = None
        try:
            name = uri or path
            conn = (
                apsw.Connection(name, flags=flags, vfs=vfs)
                if vfs
                else apsw.Connection(name, flags=flags)
            )
            wait_when_busy(conn, busy_timeout_ms)
            # The header's bytes answer for an existing file opened as asked (a custom
            # VFS may store the file differently, and a file SQLite could only open
            # read-only must fail as before): else a read through SQLite explains.
            current = (
                size is not None
                and vfs is None
                and (readonly or not conn.readonly("main"))
                and _schema.header_is_current(conn, path, size, writable=not readonly)
            )
            configured = not (current or _schema.is_current(conn))
            if configured:
                # New, older or foreign file: check it, configure and migrate now.
                version = _schema.check_identity(conn, path)
                _schema.configure(
                    conn,
                    durability=durability,
                    busy_timeout_ms=busy_timeout_ms,
                    readonly=readonly,
                    fresh=version == 0,
                )
                if readonly:
                    if version < _schema.known_version():
                        raise StorageError(
                            f"{path}: schema version {version} needs an upgrade; "
                            "open it once without readonly=True"
                        )
                elif version < _schema.known_version():
                    _schema.migrate(conn, path)
        except BaseException as exc:
            os_errno = 0
            if conn is not None:
                os_errno = conn.system_errno
                # The error that stopped the open matters, not one from closing after it.
                with suppress(apsw.Error):
                    conn.close()
            if isinstance(exc, apsw.Error | UnicodeError):
                raise translate(exc, context=path, os_errno=os_errno) from exc
            raise
        store = cls(
            conn,
            path=path,
            clock=clock or _system_clock,
            readonly=readonly,
            max_event_bytes=max_event_bytes,
        )
        if not configured:
            store._pending_setup = (durability, busy_timeout_ms)
            store._opened_current = True
        return store

    @property
    def _committer(self) -> GroupCommit:
        """The append queue, made on first use: a store that only reads never needs it.

        Two threads racing here may each make one; both are correct (every transaction
        takes the store's mutex), one is simply forgotten.  No lock is taken, and the
        queue belongs to the store's process, so a child after ``os.fork()`` reaches the
        queue's own check (StoreUsedAfterFork) instead of a lock copied mid-use.
        """
        committer = self._group_commit
        if committer is None:
            from ._group_commit import GroupCommit  # here: reading needs none of it

            committer = self._group_commit = GroupCommit(
                self._lock, self._writable_connection, self._translated, pid=self._pid
            )
        return committer

    @property
    def path(self) -> str:
        """The database file's path (``:memory:`` for a memory store)."""
        return self._path

    @property
    def readonly(self) -> bool:
        """Whether writes are refused with ReadOnlyStore."""
        return self._readonly

    def close(self) -> None:
        """Close the connection; later calls raise StoreClosed.  Safe to call twice.

        Raises StorageError when SQLite's final checkpoint fails (an I/O error, a full
        disk): the store is closed anyway and every committed event stays in the
        ``-wal`` file, which the next open folds back in.
        """
        if os.getpid() != self._pid:
            # A child after os.fork(): the connection is the parent's, and so may be the
            # mutex, copied while held; touch neither.
            self._conn = None
            return
        _fork_safety.forget(self)
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    if self._only_read(conn):
                        conn.config(apsw.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1)
                    conn.close()
                except apsw.Error as exc:
                    raise translate(exc, context=self._path) from exc

    def _only_read(self, conn: apsw.Connection) -> bool:
        """Whether this store opened a current file, read it, wrote nothing, and its
        ``-wal`` holds nothing: then closing may skip SQLite's checkpoint-on-close.

        Closing the last connection to a WAL file checkpoints and deletes the ``-wal``
        and ``-shm``, and the next reader creates both again: for a store that only
        read, that round trip is a fifth of what opening it and reading cost.  With
        nothing in the ``-wal`` there is nothing to fold back, so the close leaves the two
        files (an empty ``-wal``: the main file holds every commit) for the next open.
        A store never used opened neither; one that created, migrated or wrote the
        file, or whose ``-wal`` holds another process's commits, closes as SQLite always
        does.  See https://www.sqlite.org/c3ref/c_dbconfig_defensive.html.
        """
        if not self._opened_current or self._pending_setup is not None:
            return False
        if conn.total_changes():
            return False
        try:
            return os.stat(self._path + "-wal").st_size == 0
        except (OSError, ValueError):
            return False

    def interrupt(self) -> None:
        """Cancel the read this store is running now, from another thread (a UI's "stop").

        The read (a search, a listing, a page of a replay) raises Interrupted; nothing
        is written and the store stays usable.  Returns once that read has stopped
        (SQLite stops a statement at its next step).  Does nothing when no read runs:
        a write (an append, an import, a search's indexing step) is never cancelled,
        and a later read is not affected.
        See https://www.sqlite.org/c3ref/interrupt.html.
        """
        me = get_ident()
        with self._interrupt_lock:
            conn, target = self._conn, self._read_number
            if not self._reader or conn is None or os.getpid() != self._pid:
                return
            self._cancelled_read = target
            self._interrupting += 1
            try:
                # SQLite forgets an interrupt that falls between two statements, so it
                # is repeated until the read ends; it never reaches past the read,
                # since the read ends (and _reader is cleared) under this lock.
                while self._reader and self._read_number == target:
                    conn.interrupt()
                    if self._reader == me:
                        return  # called from inside the read itself: it stops on return
                    self._read_ended.wait(_INTERRUPT_REPEAT_S)
            finally:
                self._interrupting -= 1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ transactions

    def _check_process(self) -> None:
        """Raise StoreUsedAfterFork in a child after ``os.fork()``: checked before the
        mutex is taken, since the child's copy of it may have been held at the fork."""
        if os.getpid() != self._pid:
            raise StoreUsedAfterFork(
                f"this Store was opened by process {self._pid}; open a new Store in "
                f"process {os.getpid()}"
            )

    def _connection(self) -> apsw.Connection:
        """The open connection of this process; call with the mutex held."""
        self._check_process()
        conn = self._conn
        if conn is None:
            raise StoreClosed(f"the store {self._path} is closed")
        if self._pending_setup is not None:
            self._finish_setup(conn, *self._pending_setup)
        return conn

    def _finish_setup(self, conn: apsw.Connection, durability: str, busy_timeout_ms: int) -> None:
        """The connection's pragmas, deferred from :meth:`open` to the first statement.

        Opening an up-to-date store reads only the file header; SQLite parses the schema
        on the first statement that needs it, and these pragmas do, so they wait until
        the store is used and then cost nothing extra.  A store opened and closed unused
        never parses its schema at all.
        """
        try:
            _schema.configure_current(
                conn,
                durability=durability,
                busy_timeout_ms=busy_timeout_ms,
                readonly=self._readonly,
            )
        except (apsw.Error, UnicodeError) as exc:
            raise self._translated(exc, conn) from exc
        self._pending_setup = None

    def _reading(self) -> _Reading:
        """``with store._reading() as conn``: the connection under the mutex, with apsw
        errors translated."""
        return _Reading(self)

    def _writable_connection(self) -> apsw.Connection:
        """The open connection, unless the store is read-only; call with the mutex held."""
        conn = self._connection()
        if self._readonly:
            raise ReadOnlyStore(f"{self._path} was opened read-only")
        return conn

    @contextmanager
    def _writing(self) -> Iterator[apsw.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction under the mutex: committed, or rolled back."""
        self._check_process()
        with self._lock:
            conn = self._writable_connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if not conn.getautocommit():
                        conn.execute("ROLLBACK")
                    raise
            except (apsw.Error, UnicodeError) as exc:
                raise self._translated(exc, conn) from exc

    def _translated(self, exc: BaseException, conn: apsw.Connection | None) -> BaseException:
        """The error a caller sees for ``exc``: an apsw error becomes a ZeroSessionError
        naming the file (the OS error number tells a full disk from other I/O errors),
        and a file that turns out not to be writable says how to read it."""
        if not isinstance(exc, apsw.Error | UnicodeError):
            return exc
        os_errno = conn.system_errno if conn is not None else 0
        error = translate(exc, context=self._path, os_errno=os_errno)
        if isinstance(error, ReadOnlyStore) and not self._readonly:
            return ReadOnlyStore(f"{error}; open it with readonly=True to read it")
        return error

    def _now(self) -> int:
        now = self._clock()
        if isinstance(now, bool) or not isinstance(now, int):
            raise TypeError(f"the clock must return int epoch ms, got {type(now).__name__}")
        if not MIN_TIME_MS <= now <= MAX_TIME_MS:
            raise InvalidInput(
                f"the clock returned {now} ms, outside the years 1 to 9999 that times "
                "can be stored and shown in"
            )
        return now

    @staticmethod
    def _ulid_of(session: object) -> str:
        if isinstance(session, Session):
            return session.ulid
        return parse_ulid(session)

    def _position(self, conn: apsw.Connection, ulid: str) -> tuple[int, int, int]:
        rows = fetch_all(
            conn, "SELECT id, fork_seq, last_seq FROM sessions WHERE ulid = ?", (ulid,)
        )
        if not rows:
            raise SessionNotFound(ulid)
        session_id, fork_seq, last_seq = rows[0]
        if type(fork_seq) is not int:
            raise wrong_type(ulid, "sessions", "fork_seq", fork_seq)
        if type(last_seq) is not int:
            raise wrong_type(ulid, "sessions", "last_seq", last_seq)
        return session_id, fork_seq, last_seq

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"<Store {self._path!r} {state}>"
