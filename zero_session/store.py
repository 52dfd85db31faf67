"""The Store: one SQLite file of sessions, their append-only events, and milestones.

Storage design.  A session is a row in ``sessions``; its events are rows of ``events``
keyed ``(session_id, seq)`` in a WITHOUT ROWID table, so a session's events sit together
on disk in seq order and a timeline read is a primary-key range scan.  The session row
keeps ``last_seq``, the last seq of its whole timeline, so counting is O(1) and appending
is one ``UPDATE ... RETURNING`` that reserves seqs plus one ``INSERT`` per event, inside
``BEGIN IMMEDIATE`` so that seqs are gapless across threads and processes.  A fork copies
nothing: the child row stores ``parent_id`` and ``fork_seq``, its own events continue at
``fork_seq + 1``, and reading its timeline walks the ancestor chain with one recursive
query, taking each ancestor's events up to the point where the next generation forked.
Labels are milestones (``session.label.<name>`` → ulid), so one small key/value table
carries both.  Triggers in the file itself refuse UPDATE and DELETE of events, also from
the ``sqlite3`` shell; events leave only with their whole session through the API.

Concurrency.  One ``Store`` owns one apsw connection and one mutex; every public method
takes the mutex, so a Store may be shared by threads.  Iterators read a page under the
mutex and yield outside it.  Other processes may open the same file: WAL mode lets them
read while one writes, and the busy timeout queues writers.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import timedelta
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import apsw

from . import (
    _backup,
    _events,
    _filters,
    _follow,
    _lifecycle,
    _milestones,
    _schema,
    _search,
    _sessions,
    _stats,
    _summary,
    _transfer,
)
from ._check import CheckReport, run_check
from ._group_commit import GroupCommit
from ._lifecycle import PruneReport
from ._liveness import current_writer
from ._search import SearchHit
from ._sql import fetch_all
from ._stats import StoreStats
from ._summary import Summary
from ._transfer import TextSink, TransferCounts
from .errors import (
    InvalidInput,
    ReadOnlyStore,
    SessionBusy,
    SessionNotFound,
    StorageError,
    StoreClosed,
    StoreUsedAfterFork,
    translate,
)
from .ids import new_ulid, parse_ulid
from .models import Event, Milestone, Resumed, Session, Status

__all__ = ["Clock", "Store", "default_path"]

Clock = Callable[[], int]
"""A callable returning the current time in epoch milliseconds."""

Durability = Literal["full", "normal"]
EventItem = tuple[str, str] | tuple[str, str, Any]
SessionRef = str | Session

DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024
DEFAULT_BUSY_TIMEOUT_MS = 5_000
REPLAY_PAGE = 2_000
_NOT_ARCHIVED = "s.archived_at_ms IS NULL"


def _system_clock() -> int:
    return time.time_ns() // 1_000_000


def default_path() -> Path:
    """``$ZERO_SESSION_DB``, else ``$XDG_STATE_HOME/zero-session/sessions.db``.

    ``XDG_STATE_HOME`` defaults to ``~/.local/state``.
    """
    configured = os.environ.get("ZERO_SESSION_DB")
    if configured:
        return Path(configured).expanduser()
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(state_home) / "zero-session" / "sessions.db"


_MAX_SQLITE_INT = 2**63 - 1


def _check_int(value: object, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise InvalidInput(f"{name} must be ≥ {minimum}, got {value}")
    if value > _MAX_SQLITE_INT:  # SQLite integers are 64-bit
        raise InvalidInput(f"{name} must be ≤ {_MAX_SQLITE_INT}, got {value}")
    return value


def _check_optional_text(value: object, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
    return value


def _encode_meta(meta: object, max_bytes: int) -> str:
    if meta is None:
        return "{}"
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a dict, not {type(meta).__name__}")
    return _events.encode_data(dict(meta), max_bytes=max_bytes) or "{}"


def _create_private_file(path: Path) -> None:
    """Create the database file (and its folder) readable by the owner only.

    SQLite gives the ``-wal`` and ``-shm`` files the permissions of the database file.
    Every missing folder is created 0700 (``mkdir(parents=True)`` would give the
    intermediate ones the umask's default, 0777 under umask 0).  Existing files and
    folders keep their permissions.
    """
    missing: list[Path] = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _not_utf8(text: str) -> bool:
    """Whether ``text`` cannot be UTF-8 (SQLite takes file names as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _immutable_uri(path: Path) -> str | None:
    """A URI opening ``path`` as immutable when a read-only WAL open could not work.

    Reading a WAL file needs its ``-wal`` and ``-shm`` files, or a writable folder to
    create them in (https://www.sqlite.org/wal.html#readonly).  When there is no ``-wal``
    (the last writer closed cleanly, so the main file holds every commit) and the folder
    is not writable, the file is opened ``immutable=1``
    (https://www.sqlite.org/uri.html#uriimmutable): a snapshot read without locks, exact
    as long as nobody (someone who may write that folder) writes the file meanwhile.
    None: open normally.
    """
    wal = path.with_name(path.name + "-wal")
    if wal.exists() or os.access(path.parent, os.W_OK):
        return None
    return f"file:{urllib.parse.quote(str(path.resolve()))}?immutable=1"


class Store:
    """One zero_session database: sessions, their events, labels and milestones.

    Create it with :meth:`open` or :meth:`memory`; close it with :meth:`close` or use it as
    a context manager.  Methods that take a session accept its ulid or a ``Session``.
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
        self._lock = threading.Lock()
        self._committer = GroupCommit(self._lock, self._writable_connection)
        self._pid = os.getpid()
        self._path = path
        self._clock = clock
        self._readonly = readonly
        self._max_event_bytes = max_event_bytes
        self._search_mark: tuple[int, int] | None = None  # see _catch_up_search

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
    ) -> Store:
        """Open (creating and migrating if needed) the store at ``path``.

        ``path`` defaults to :func:`default_path`.  ``durability="full"`` makes every
        acknowledged append survive power loss; ``"normal"`` only process crashes.
        ``readonly=True`` never creates the file nor writes to it, and also reads a file
        whose folder is not writable (see :func:`_immutable_uri`).  Raises NotAStore (not
        SQLite, corrupt, another application's file), SchemaTooNew, ReadOnlyStore (the
        file or its folder cannot be written: open it with ``readonly=True``),
        StorageError (cannot open or create, missing with ``readonly=True``),
        StoreLocked (migration blocked).
        """
        if durability not in _schema.SYNCHRONOUS:
            raise InvalidInput(f"durability must be 'full' or 'normal', got {durability!r}")
        _check_int(busy_timeout_ms, "busy_timeout_ms")
        _check_int(max_event_bytes, "max_event_bytes", minimum=1)
        target = Path(path).expanduser() if path is not None else default_path()
        if "\x00" in str(target) or _not_utf8(str(target)):
            raise InvalidInput(f"path {str(target)!r} is not a possible SQLite file name")
        if target.is_dir():
            raise StorageError(f"{target} is a directory, not a database file")
        uri = None
        if readonly:
            if not target.exists():
                raise StorageError(f"{target} does not exist (readonly=True never creates it)")
            flags = apsw.SQLITE_OPEN_READONLY
            uri = _immutable_uri(target)
            if uri is not None:
                flags |= apsw.SQLITE_OPEN_URI
        else:
            try:
                _create_private_file(target)
            except OSError as exc:
                raise StorageError(f"cannot create {target}: {exc}") from exc
            flags = apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
        try:
            return cls._connect(
                str(target),
                uri=uri,
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
    def memory(cls, *, clock: Clock | None = None) -> Store:
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
        flags: int,
        vfs: str | None,
        durability: str,
        clock: Clock | None,
        readonly: bool,
        busy_timeout_ms: int,
        max_event_bytes: int,
    ) -> Store:
        conn: apsw.Connection | None = None
        try:
            name = uri or path
            conn = (
                apsw.Connection(name, flags=flags, vfs=vfs)
                if vfs
                else apsw.Connection(name, flags=flags)
            )
            conn.setbusytimeout(busy_timeout_ms)
            version = _schema.check_identity(conn, path)
            _schema.configure(
                conn, durability=durability, busy_timeout_ms=busy_timeout_ms, readonly=readonly
            )
            if readonly:
                if version < _schema.known_version():
                    raise StorageError(
                        f"{path}: schema version {version} needs an upgrade; "
                        "open it once without readonly=True"
                    )
            elif version < _schema.known_version():
                # Up to date (the common case): no write transaction on open.
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
        return cls(
            conn,
            path=path,
            clock=clock or _system_clock,
            readonly=readonly,
            max_event_bytes=max_event_bytes,
        )

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
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and os.getpid() == self._pid:
                try:
                    conn.close()
                except apsw.Error as exc:
                    raise translate(exc, context=self._path) from exc

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ transactions

    def _connection(self) -> apsw.Connection:
        """The open connection of this process; call with the mutex held."""
        if os.getpid() != self._pid:
            raise StoreUsedAfterFork(
                f"this Store was opened by process {self._pid}; open a new Store in "
                f"process {os.getpid()}"
            )
        if self._conn is None:
            raise StoreClosed(f"the store {self._path} is closed")
        return self._conn

    @contextmanager
    def _reading(self) -> Iterator[apsw.Connection]:
        """The connection under the mutex, with apsw errors translated."""
        with self._lock:
            conn = self._connection()
            try:
                yield conn
            except (apsw.Error, UnicodeError) as exc:
                raise translate(exc, os_errno=conn.system_errno) from exc

    def _writable_connection(self) -> apsw.Connection:
        """The open connection, unless the store is read-only; call with the mutex held."""
        conn = self._connection()
        if self._readonly:
            raise ReadOnlyStore(f"{self._path} was opened read-only")
        return conn

    @contextmanager
    def _writing(self) -> Iterator[apsw.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction under the mutex: committed, or rolled back."""
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
                raise translate(exc, os_errno=conn.system_errno) from exc

    def _now(self) -> int:
        now = self._clock()
        if isinstance(now, bool) or not isinstance(now, int):
            raise TypeError(f"the clock must return int epoch ms, got {type(now).__name__}")
        return now

    @staticmethod
    def _ulid_of(session: object) -> str:
        if isinstance(session, Session):
            return session.ulid
        return parse_ulid(session)

    # ---------------------------------------------------------------- sessions

    def start(
        self,
        *,
        cli_version: str | None = None,
        engine_base_url: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        meta: Mapping[str, Any] | None = None,
        ttl: timedelta | None = None,
    ) -> Session:
        """Start a new session written by this process.

        ``cwd`` (default: the current directory) is stored with symlinks resolved;
        ``meta`` must be a JSON object; ``ttl`` makes it expire that long after its
        start.  Raises InvalidInput, ReadOnlyStore.
        """
        _check_optional_text(cli_version, "cli_version")
        _check_optional_text(engine_base_url, "engine_base_url")
        meta_json = _encode_meta(meta, self._max_event_bytes)
        directory = _sessions.canonical_cwd(cwd)
        if ttl is not None and not isinstance(ttl, timedelta):
            raise TypeError(f"ttl must be a timedelta or None, not {type(ttl).__name__}")
        if ttl is not None and ttl <= timedelta(0):
            raise InvalidInput(f"ttl must be a positive timedelta, got {ttl!r}")
        ulid = new_ulid()
        with self._writing() as conn:
            now = self._now()
            expires = now + ttl // timedelta(milliseconds=1) if ttl is not None else None
            _sessions.insert_session(
                conn,
                ulid=ulid,
                parent_id=None,
                fork_seq=0,
                started_at_ms=now,
                cli_version=cli_version,
                engine_base_url=engine_base_url,
                cwd=directory,
                meta_json=meta_json,
                expires_at_ms=expires,
            )
            row = _sessions.require_row(conn, ulid)
        return _sessions.to_session(row, now)

    def end(self, session: SessionRef) -> Session:
        """Record the session's end; idempotent, the first end time is kept.

        Raises SessionNotFound.
        """
        ulid = self._ulid_of(session)
        with self._writing() as conn:
            now = self._now()
            if not _sessions.end_session(conn, ulid, now):
                raise SessionNotFound(ulid)
            row = _sessions.require_row(conn, ulid)
        return _sessions.to_session(row, now)

    def get(self, session: SessionRef) -> Session:
        """The session with this exact ulid.  Raises SessionNotFound, InvalidInput."""
        ulid = self._ulid_of(session)
        with self._reading() as conn:
            row = _sessions.require_row(conn, ulid)
        return _sessions.to_session(row, self._now())

    def find(self, needle: str) -> Session:
        """Resolve an exact ulid, else a label, else a unique ulid prefix (≥ 6 chars).

        Raises SessionNotFound, AmbiguousSession (with ``candidates``).
        """
        with self._reading() as conn:
            row = _sessions.find_row(conn, needle)
        return _sessions.to_session(row, self._now())

    def list_sessions(
        self,
        limit: int | None = 20,
        *,
        before: SessionRef | None = None,
        include_archived: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> list[Session]:
        """Sessions newest first (ties: later-created first), with counts and labels.

        ``before`` continues a listing after the given session.  Archived sessions are
        left out unless ``include_archived``.  ``cwd`` keeps the sessions of the nearest
        directory (``cwd`` or its closest ancestor) that has a matching session, like
        :meth:`latest`; ``meta`` keeps sessions whose meta has these top-level values.
        Raises SessionNotFound for ``before``, InvalidInput for a bad meta filter.
        """
        if limit is not None:
            _check_int(limit, "limit", minimum=1)
        conditions, params = _filters.meta_conditions(meta)
        directory = _sessions.canonical_cwd(cwd) if cwd is not None else None
        with self._reading() as conn:
            if directory is not None:
                probe = conditions if include_archived else [*conditions, _NOT_ARCHIVED]
                found = _filters.nearest_directory(conn, directory, probe, params)
                if found is None:
                    return []
                conditions, params = ["s.cwd = ?", *conditions], [found, *params]
            cursor = None
            if before is not None:
                row = _sessions.require_row(conn, self._ulid_of(before))
                cursor = (row[4], row[0])
            rows = _sessions.list_rows(
                conn,
                limit=limit,
                before=cursor,
                include_archived=include_archived,
                conditions=conditions,
                condition_params=params,
            )
        now = self._now()
        return [_sessions.to_session(row, now) for row in rows]

    def latest(self, cwd: str | os.PathLike[str] | None = None) -> Session | None:
        """The newest session started in ``cwd`` or its nearest ancestor that has one.

        ``cwd`` defaults to the current directory; symlinks are resolved.
        """
        directory = _sessions.canonical_cwd(cwd)
        with self._reading() as conn:
            row = _sessions.latest_row(conn, directory)
        return _sessions.to_session(row, self._now()) if row is not None else None

    def fork(self, session: SessionRef, at_seq: int | None = None) -> Session:
        """A child session that starts with the parent's first ``at_seq`` events.

        O(1): nothing is copied.  ``at_seq`` defaults to the parent's last seq and must
        be in ``0..parent.last_seq``.  The child inherits cli_version, engine_base_url,
        cwd and meta, and is written by this process.  Raises SessionNotFound,
        InvalidInput.
        """
        ulid = self._ulid_of(session)
        if at_seq is not None:
            _check_int(at_seq, "at_seq")
        child = new_ulid()
        with self._writing() as conn:
            parent = _sessions.require_row(conn, ulid)
            parent_last = parent[6]
            fork_seq = parent_last if at_seq is None else at_seq
            if fork_seq > parent_last:
                raise InvalidInput(
                    f"at_seq {fork_seq} is past the end of session {ulid} (last seq {parent_last})"
                )
            now = self._now()
            _sessions.insert_session(
                conn,
                ulid=child,
                parent_id=parent[0],
                fork_seq=fork_seq,
                started_at_ms=now,
                cli_version=parent[8],
                engine_base_url=parent[9],
                cwd=parent[10],
                meta_json=parent[11],
                expires_at_ms=None,
            )
            row = _sessions.require_row(conn, child)
        return _sessions.to_session(row, now)

    def resume(
        self,
        needle: str,
        *,
        cli_version: str | None = None,
        engine_base_url: str | None = None,
        force: bool = False,
        tail: int = 20,
    ) -> Resumed:
        """Reopen a session (found like :meth:`find`) for writing by this process.

        Clears its end, records this process as its writer and, when given, the current
        ``cli_version`` and ``engine_base_url`` (warning when they differ from the
        recorded ones).  Raises SessionBusy when another live process writes it, unless
        ``force``; SessionNotFound, AmbiguousSession.
        """
        _check_optional_text(cli_version, "cli_version")
        _check_optional_text(engine_base_url, "engine_base_url")
        _check_int(tail, "tail")
        me = current_writer()
        with self._writing() as conn:
            row = _sessions.find_row(conn, needle)
            now = self._now()
            previous = _sessions.compute_status(row, now)
            writer_host, writer_pid = row[12], row[13]
            foreign = (writer_host, writer_pid) != (me.host, me.pid)
            warnings: list[str] = []
            if previous is Status.LIVE and foreign:
                if not force:
                    raise SessionBusy(row[1], writer_pid, writer_host)
                warnings.append(f"took the session over from live process {writer_pid}")
            if row[5] is None and writer_host not in (None, me.host):
                warnings.append(
                    f"last written on host {writer_host}; cannot tell whether it still runs"
                )
            updates: dict[str, Any] = {}
            for name, index, current in (
                ("cli_version", 8, cli_version),
                ("engine_base_url", 9, engine_base_url),
            ):
                if current is None:
                    continue
                if row[index] is not None and row[index] != current:
                    warnings.append(f"recorded with {name} {row[index]}, now {current}")
                updates[name] = current
            _sessions.claim_for_writing(conn, row[0], updates)
            last_seq = row[6]
            tail_events = _events.timeline_page(conn, row[0], max(0, last_seq - tail), last_seq)
            fresh = _sessions.require_row(conn, row[1])
        return Resumed(
            session=_sessions.to_session(fresh, now),
            previous_status=previous,
            n_events=last_seq,
            tail=tuple(tail_events),
            warnings=tuple(warnings),
        )

    # ------------------------------------------------------------------ events

    def append(
        self,
        session: SessionRef,
        kind: str,
        text: str,
        *,
        data: Any = None,
        expected_seq: int | None = None,
    ) -> Event:
        """Append one event; durable (per the store's durability) once this returns.

        ``data`` is any JSON value (dict, list, str, int, float, bool, None) and comes
        back unchanged.  With ``expected_seq`` the append happens only if the session's
        last seq is exactly that (optimistic concurrency).  Raises InvalidInput,
        SessionNotFound, SessionEnded, SeqConflict, ReadOnlyStore, StorageError.
        """
        ulid = self._ulid_of(session)
        kind, data_json = _events.prepare_event(kind, text, data, self._max_event_bytes)
        if expected_seq is not None:
            _check_int(expected_seq, "expected_seq")
        if self._readonly:
            raise ReadOnlyStore(f"{self._path} was opened read-only")

        def write(conn: apsw.Connection) -> Event:
            at_ms = self._now()
            session_id, seq = _events.reserve_seqs(conn, ulid, 1, at_ms, expected_seq)
            _events.insert_events(conn, ((session_id, seq, at_ms, kind, text, data_json),))
            return _events.new_event(ulid, seq, at_ms, kind, text, data)

        # Shares a transaction (and its fsync) with appends queued by other threads.
        return self._committer.submit(write)

    def append_many(
        self,
        session: SessionRef,
        items: Iterable[EventItem],
        *,
        expected_seq: int | None = None,
    ) -> list[Event]:
        """Append ``(kind, text)`` or ``(kind, text, data)`` items in one transaction.

        All or nothing: one bad item raises before anything is written.  Same errors as
        :meth:`append`.
        """
        ulid = self._ulid_of(session)
        prepared = _events.prepare_items(items, self._max_event_bytes)
        if expected_seq is not None:
            _check_int(expected_seq, "expected_seq")
        if not prepared:
            self.get(ulid)
            return []
        if self._readonly:
            raise ReadOnlyStore(f"{self._path} was opened read-only")

        def write(conn: apsw.Connection) -> list[Event]:
            return _events.insert_prepared(conn, ulid, prepared, self._now(), expected_seq)

        return self._committer.submit(write)

    def _position(self, conn: apsw.Connection, ulid: str) -> tuple[int, int, int]:
        rows = fetch_all(
            conn, "SELECT id, fork_seq, last_seq FROM sessions WHERE ulid = ?", (ulid,)
        )
        if not rows:
            raise SessionNotFound(ulid)
        session_id, fork_seq, last_seq = rows[0]
        return session_id, fork_seq, last_seq

    def events(
        self,
        session: SessionRef,
        *,
        after_seq: int = 0,
        limit: int | None = 100,
        kinds: Collection[str] | None = None,
    ) -> list[Event]:
        """The session's own events (not inherited ones) after ``after_seq``, oldest first.

        Raises SessionNotFound, InvalidInput.
        """
        ulid = self._ulid_of(session)
        _check_int(after_seq, "after_seq")
        if limit is not None:
            _check_int(limit, "limit", minimum=1)
        kind_list = None
        if kinds is not None:
            if isinstance(kinds, str):
                raise TypeError("kinds must be a collection of kinds, not a single str")
            kind_list = sorted({_events.check_kind(k) for k in kinds})
        with self._reading() as conn:
            session_id, fork_seq, _ = self._position(conn, ulid)
            return _events.own_events(
                conn, ulid, session_id, max(after_seq, fork_seq), limit, kind_list
            )

    def tail(self, session: SessionRef, n: int = 200) -> list[Event]:
        """The last ``n`` events of the session's timeline (forks included), oldest first."""
        ulid = self._ulid_of(session)
        _check_int(n, "n")
        with self._reading() as conn:
            session_id, _, last_seq = self._position(conn, ulid)
            return _events.timeline_page(conn, session_id, max(0, last_seq - n), last_seq)

    def replay(self, session: SessionRef, *, after_seq: int = 0) -> Iterator[Event]:
        """The whole timeline, oldest first: inherited events through every ancestor, then
        the session's own, as it stood when iteration began.

        Reads in pages under the mutex and yields outside it, so the consumer may append
        while iterating.  Raises SessionNotFound (when iteration starts), InvalidInput.
        """
        ulid = self._ulid_of(session)
        _check_int(after_seq, "after_seq")
        # Pages are read lazily; chaining them in C costs nothing per event.
        return chain.from_iterable(self._replay_pages(ulid, after_seq))

    def _replay_pages(self, ulid: str, after_seq: int) -> Iterator[list[Event]]:
        with self._reading() as conn:
            session_id, _, upto = self._position(conn, ulid)
        after = after_seq
        while after < upto:
            page_end = min(after + REPLAY_PAGE, upto)
            with self._reading() as conn:
                page = _events.timeline_page(conn, session_id, after, page_end)
            yield page
            after = page_end

    # ------------------------------------------------------ labels, milestones

    def label(self, session: SessionRef, name: str) -> None:
        """Give the session the label ``name`` (moving it if another session had it).

        Labels are 1-64 printable characters without whitespace.  Raises InvalidInput,
        SessionNotFound.
        """
        ulid = self._ulid_of(session)
        name = _milestones.check_label(name)
        with self._writing() as conn:
            _sessions.require_row(conn, ulid)
            _milestones.set_value(conn, _sessions.LABEL_PREFIX + name, ulid, self._now())

    def unlabel(self, name: str) -> bool:
        """Remove the label ``name``; whether it existed.  Raises InvalidInput."""
        name = _milestones.check_label(name)
        with self._writing() as conn:
            return _milestones.delete_key(conn, _sessions.LABEL_PREFIX + name)

    def labels(self) -> dict[str, str]:
        """Every label → the ulid it names, in label order."""
        prefix = _sessions.LABEL_PREFIX
        with self._reading() as conn:
            found = _milestones.list_milestones(conn, prefix)
        return {m.key[len(prefix) :]: m.value for m in found}

    def set_milestone(self, key: str, value: str) -> None:
        """Set ``key`` to ``value`` (overwriting), stamped with the current time.

        Keys under ``session.label.`` are reserved for :meth:`label`.  Raises InvalidInput.
        """
        key = _milestones.check_key(key)
        value = _milestones.check_value(value, self._max_event_bytes)
        with self._writing() as conn:
            _milestones.set_value(conn, key, value, self._now())

    def set_milestone_once(self, key: str, value: str) -> bool:
        """Set ``key`` only if it has never been set; whether this call wrote it."""
        key = _milestones.check_key(key)
        value = _milestones.check_value(value, self._max_event_bytes)
        with self._writing() as conn:
            return _milestones.set_value_once(conn, key, value, self._now())

    def get_milestone(self, key: str) -> str | None:
        """The value of ``key``, or None when it was never set."""
        key = _milestones.check_key(key, allow_reserved=True)
        with self._reading() as conn:
            return _milestones.get_value(conn, key)

    def milestones(self, prefix: str = "") -> list[Milestone]:
        """Milestones whose key starts with ``prefix`` (labels included), in key order."""
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        with self._reading() as conn:
            return _milestones.list_milestones(conn, prefix)

    # ------------------------------------------------ reliability: self-check

    def check(self) -> CheckReport:
        """Check the file: SQLite's integrity and foreign keys plus our invariants.

        Reports every problem found (gaps in seqs, ``last_seq`` not matching the events,
        missing fork parents, fork points out of range, dangling labels) instead of
        raising; ``report.ok`` is True when there is none.  Read-only; works on a
        ``readonly=True`` store.  Raises StoreClosed, StoreLocked.
        """
        with self._reading() as conn:
            return run_check(conn)

    # ------------------------------------------------ live updates (follow, watch)

    def follow(
        self,
        session: SessionRef,
        *,
        after_seq: int | None = None,
        poll_interval_s: float = _follow.DEFAULT_POLL_INTERVAL_S,
        stop: threading.Event | None = None,
    ) -> _follow.Follower:
        """Iterate over the session's timeline events as any process appends them.

        Starts after ``after_seq`` (default: the current last seq, so only new events);
        blocks between events, polling every ``poll_interval_s`` with a cheap check.
        End it with ``.close()`` (from any thread), by setting ``stop``, or with ``with``.
        Raises SessionNotFound, InvalidInput; while iterating, StoreClosed.
        """
        ulid = self._ulid_of(session)
        if after_seq is not None:
            _check_int(after_seq, "after_seq")
        return _follow.Follower(
            self, ulid, after_seq=after_seq, poll_interval_s=poll_interval_s, stop=stop
        )

    def watch(
        self,
        *,
        limit: int | None = 20,
        include_archived: bool = False,
        poll_interval_s: float = _follow.DEFAULT_POLL_INTERVAL_S,
        refresh_s: float = _follow.DEFAULT_REFRESH_S,
        stop: threading.Event | None = None,
    ) -> _follow.Watcher:
        """Iterate over the session listing (as :meth:`list_sessions`) whenever it changes.

        The current listing comes first; then a new one after any commit (from any
        process) that changes it, or every ``refresh_s`` when a status changed by itself.
        Stops like :meth:`follow`.  Raises InvalidInput; while iterating, StoreClosed.
        """
        if limit is not None:
            _check_int(limit, "limit", minimum=1)
        return _follow.Watcher(
            self,
            limit=limit,
            include_archived=include_archived,
            poll_interval_s=poll_interval_s,
            refresh_s=refresh_s,
            stop=stop,
        )

    # --------------------------------------- lifecycle, retention, search (issue 6)

    def archive(self, session: SessionRef) -> Session:
        """Hide the session from default listings and :meth:`latest`; nothing is lost.

        It still resolves by ulid and label, and shows status ``archived`` unless live.
        Idempotent (the first archive time is kept).  Raises SessionNotFound.
        """
        ulid = self._ulid_of(session)
        with self._writing() as conn:
            now = self._now()
            _lifecycle.set_archived(conn, ulid, now)
            row = _sessions.require_row(conn, ulid)
        return _sessions.to_session(row, now)

    def unarchive(self, session: SessionRef) -> Session:
        """Show an archived session in default listings again.  Raises SessionNotFound."""
        ulid = self._ulid_of(session)
        with self._writing() as conn:
            _lifecycle.set_archived(conn, ulid, None)
            row = _sessions.require_row(conn, ulid)
        return _sessions.to_session(row, self._now())

    def delete(
        self, session: SessionRef, *, cascade: bool = False, force: bool = False
    ) -> PruneReport:
        """Remove the session, its events, its search entries and the labels naming it.

        The only way events ever leave.  Refuses a session with forks (HasForks) unless
        ``cascade``, which removes the whole subtree; refuses one that another live
        process is writing (SessionBusy) unless ``force``.  Raises SessionNotFound.
        """
        ulid = self._ulid_of(session)
        with self._writing() as conn:
            before = _lifecycle.file_bytes(conn)
            tree, n_events, n_bytes = _lifecycle.delete_tree(
                conn, ulid, cascade=cascade, force=force
            )
            _lifecycle.reclaim_space(conn)
            reclaimed = before - _lifecycle.file_bytes(conn)
        return PruneReport(
            sessions=tuple(f[1] for f in sorted(tree, key=lambda f: f[0], reverse=True)),
            n_events=n_events,
            event_bytes=n_bytes,
            bytes_reclaimed=max(0, reclaimed),
        )

    def prune(
        self,
        *,
        older_than: timedelta | None = None,
        expired: bool = True,
        keep_labeled: bool = True,
        keep_archived: bool = True,
        dry_run: bool = False,
    ) -> PruneReport:
        """Remove sessions inactive for longer than ``older_than`` and, with ``expired``,
        those whose TTL has passed; report what went (or, with ``dry_run``, would go).

        Never removes a live session, nor a labelled one (``keep_labeled``), nor an
        archived one (``keep_archived``), nor an ancestor of any session it keeps.
        A session's activity is its latest start, event or end.  Raises InvalidInput,
        ReadOnlyStore (unless ``dry_run``).
        """
        if self._readonly and not dry_run:
            raise ReadOnlyStore(f"{self._path} was opened read-only")
        with self._reading() as conn:
            plan = _lifecycle.plan_prune(
                conn,
                older_than=older_than,
                expired=expired,
                keep_labeled=keep_labeled,
                keep_archived=keep_archived,
                now_ms=self._now(),
            )
            if dry_run:
                return _lifecycle.dry_run_report(conn, plan)
        removed: list[str] = []
        n_events = n_bytes = reclaimed = 0
        for chunk in _lifecycle.chunks(plan.doomed):
            with self._writing() as conn:
                before = _lifecycle.file_bytes(conn)
                gone, events, size = _lifecycle.prune_step(conn, plan, chunk)
                _lifecycle.reclaim_space(conn)
                reclaimed += before - _lifecycle.file_bytes(conn)
            removed += [f[1] for f in gone]
            n_events += events
            n_bytes += size
        return PruneReport(
            sessions=tuple(removed),
            n_events=n_events,
            event_bytes=n_bytes,
            bytes_reclaimed=max(0, reclaimed),
        )

    def vacuum(self) -> int:
        """Rebuild the file compactly and turn on incremental auto-vacuum; bytes saved.

        Needed once for files created before zero_session reclaimed space itself; slow
        on big files (everything is rewritten).  Raises ReadOnlyStore, StoreLocked.
        """
        with self._reading() as conn:
            if self._readonly:
                raise ReadOnlyStore(f"{self._path} was opened read-only")
            before = _lifecycle.file_bytes(conn)
            _lifecycle.vacuum(conn)
            return max(0, before - _lifecycle.file_bytes(conn))

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        session: SessionRef | None = None,
        literal: bool = False,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[SearchHit]:
        """Events whose text matches the FTS5 ``query``, newest first, with snippets.

        ``session`` limits the search to that session's timeline.  ``literal`` searches
        for the words as typed (no FTS5 syntax).  Matching words are wrapped in
        ``marks``.  First indexes whatever was appended since the last search, by any
        process (a read-only store searches what is indexed already).  Raises
        InvalidInput (bad query), SessionNotFound.
        """
        match = _search.prepare_query(query, literal=literal)
        _check_int(limit, "limit", minimum=1)
        if (
            not isinstance(marks, tuple)
            or len(marks) != 2
            or not all(isinstance(m, str) for m in marks)
        ):
            raise TypeError("marks must be a (before, after) tuple of two str")
        ulid = self._ulid_of(session) if session is not None else None
        with self._reading() as conn:  # refuse bad input before indexing writes anything
            _search.check_query(conn, match)
            if ulid is not None:
                self._position(conn, ulid)
        self._catch_up_search()
        with self._reading() as conn:
            session_id = self._position(conn, ulid)[0] if ulid is not None else None
            return _search.search(conn, match, limit=limit, session_id=session_id, marks=marks)

    def _catch_up_search(self) -> None:
        """Index events appended since the last search, one bounded transaction at a time.

        Skips even the pending check when nothing was committed since the last catch-up
        (by this connection or any other), which ``_search.change_mark`` tells cheaply.
        """
        if self._readonly:
            return
        with self._reading() as conn:
            mark = _search.change_mark(conn)
            if mark == self._search_mark:
                return
            if not _search.has_pending(conn):
                self._search_mark = mark
                return
        more = True
        while more:
            with self._writing() as conn:
                more = _search.catch_up(conn)
                if not more:
                    # Inside the transaction: a commit by anyone after it changes the mark.
                    self._search_mark = _search.change_mark(conn)

    def summary(self, session: SessionRef) -> Summary:
        """Duration, event counts per kind, top commands, first and last event times.

        Counts the session's own events (a fork's inherited ones belong to its
        ancestors).  Raises SessionNotFound.
        """
        ulid = self._ulid_of(session)
        with self._reading() as conn:
            return _summary.summarise(conn, ulid, self._now())

    # ------------------------------------- cli: export, import, stats, backup

    def export(
        self, out: TextSink, *, sessions: Iterable[SessionRef] | None = None
    ) -> TransferCounts:
        """Write sessions, their events and milestones to ``out`` as JSON Lines.

        ``sessions`` None exports the whole store (every milestone included); otherwise
        the given sessions with their ancestors (so forks keep their history) and their
        labels.  One read transaction: a consistent snapshot while others write.  The
        format is described in ``zero_session/_transfer.py``.  Raises SessionNotFound.
        """
        if not callable(getattr(out, "write", None)):
            raise TypeError(f"out must have a write(str) method, not {type(out).__name__}")
        ulids = None if sessions is None else [self._ulid_of(s) for s in sessions]
        with self._reading() as conn:
            conn.execute("BEGIN")
            try:
                for ulid in ulids or ():
                    _sessions.require_row(conn, ulid)
                return _transfer.export_to(conn, out, ulids, self._now())
            finally:
                conn.execute("COMMIT")

    def import_(self, lines: Iterable[str], *, source: str = "<import>") -> TransferCounts:
        """Add what an :meth:`export` holds; returns what changed (idempotent).

        All or nothing, in one transaction.  Sessions, seqs, times, writer fields, fork
        links and milestones are restored exactly.  Raises InvalidInput (naming
        ``source`` and the line) for a malformed file or one that contradicts the store.
        """
        with self._writing() as conn:
            return _transfer.import_from(
                conn, lines, max_event_bytes=self._max_event_bytes, source=source
            )

    def stats(self, *, top: int = 5) -> StoreStats:
        """Counts of sessions, events, milestones and labels, file sizes, events per kind,
        and the ``top`` sessions with the most events.  Reads every event once."""
        _check_int(top, "top")
        with self._reading() as conn:
            conn.execute("BEGIN")
            try:
                return _stats.store_stats(conn, self._path, top=top)
            finally:
                conn.execute("COMMIT")

    def kind_counts(self, session: SessionRef) -> dict[str, int]:
        """Events per kind over the session's whole timeline, most frequent first.

        Raises SessionNotFound.
        """
        ulid = self._ulid_of(session)
        with self._reading() as conn:
            session_id, _, _ = self._position(conn, ulid)
            return _stats.kind_counts(conn, session_id)

    def backup(self, dest: str | os.PathLike[str]) -> int:
        """Copy the store to the new file ``dest`` with SQLite's online backup API.

        Consistent even while other processes write; returns the copy's size in bytes.
        Raises InvalidInput when ``dest`` exists, StorageError.
        """
        target = Path(dest).expanduser()
        with self._reading() as conn:
            return _backup.backup_to(conn, target)

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"<Store {self._path!r} {state}>"
