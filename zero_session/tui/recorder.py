"""``Recorder``: the write handle a TUI holds, which never blocks the UI nor loses an event.

A TUI records from its UI thread (and often from worker threads).  If another process
holds the file's write lock for seconds, the disk fills or an I/O error strikes, the UI
must keep running.  So :meth:`Recorder.record` only puts the event in a bounded
in-memory queue and returns at once; a background writer thread writes the queue in
order (in batches, one transaction each).  A failure is kept as ``last_error``, reported
once through ``warnings`` and the ``on_warning`` callback, and the writer retries every
``retry_interval_s`` until the store works again; the held events then land in order, so
the timeline has no hole (they carry the time they were written, not the time they
were recorded).

The queue holds at most ``backlog_limit`` events.  When it is full, ``record`` drops
the *new* event (what is queued stays a gapless prefix of what was recorded), returns
False, counts it in ``dropped`` and says so once per overflow.

Another process may end the session being written (``zero-session end``): the writer
then continues in a fork of it (the new ``current``, the ended session its parent) and
says so once.  If the session was deleted, it continues in a new session.  Nothing
recorded is lost either way.

``fork`` and ``resume`` write what is queued to the old session first, under the same
lock as the writer, so each event lands either before a switch (in the old session, and
so in a fork's inherited timeline) or after it (in the new one).  ``flush(timeout)``
waits for the queue to be written; ``close`` flushes, then ends every session the
recorder started, forked or resumed, as the design's exit rule asks.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from .._words import count
from ..errors import InvalidInput, SessionEnded, SessionNotFound, StoreClosed, ZeroSessionError
from ..models import Resumed, Session
from ..store import Store

__all__ = ["NO_PERSIST_NOTICE", "Recorder"]

DEFAULT_BACKLOG_LIMIT = 10_000
DEFAULT_RETRY_INTERVAL_S = 0.5
DEFAULT_FLUSH_TIMEOUT_S = 10.0
DEFAULT_CLOSE_TIMEOUT_S = 5.0
BATCH_SIZE = 1_000
"""At most this many queued events are written in one transaction."""

NO_PERSIST_NOTICE = "not saving: this session is kept in memory and is gone when you exit"

Queued = tuple[str, str, Any]


class Recorder:
    """Owns the session a program writes to; see the module docstring for the rules.

    ``Recorder(store, ...)`` starts a session with the given ``cli_version``,
    ``engine_base_url``, ``cwd`` and ``meta`` (or, with ``resume=needle``, resumes that
    session instead, raising like :meth:`Store.resume`).  With
    ``start_in_background=True`` the constructor returns at once, even while another
    process holds the write lock: the writer starts (or resumes) the session before it
    writes the first event, a failed resume is reported as a warning and a new session
    is started instead, and ``current`` is None until then.

    ``Recorder(None)`` or :meth:`no_persist` records into a private in-memory store:
    everything works, nothing is saved, and the first warning says so.
    ``owns_store=True`` makes :meth:`close` close the store too.  ``on_warning`` is
    called with each warning as it happens (from the thread that met it, the writer
    thread included; outside the recorder's locks; its exceptions swallowed).

    ``exclusive=True`` (with an optional ``scope``) starts the session like
    ``Store.start(exclusive=True)`` and raises SessionActive when a live session holds
    that scope, so a program can refuse to run twice in one directory.  Sessions the
    recorder starts later (after its session was deleted elsewhere) are not exclusive.
    """

    def __init__(
        self,
        store: Store | None,
        *,
        cli_version: str | None = None,
        engine_base_url: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        meta: Mapping[str, Any] | None = None,
        resume: str | None = None,
        force: bool = False,
        on_warning: Callable[[str], None] | None = None,
        owns_store: bool = False,
        backlog_limit: int = DEFAULT_BACKLOG_LIMIT,
        retry_interval_s: float = DEFAULT_RETRY_INTERVAL_S,
        start_in_background: bool = False,
        exclusive: bool = False,
        scope: str | None = None,
    ) -> None:
        if exclusive and (start_in_background or resume is not None):
            raise InvalidInput(
                "exclusive=True starts a session: not with resume= nor start_in_background"
            )
        if isinstance(backlog_limit, bool) or not isinstance(backlog_limit, int):
            raise TypeError(f"backlog_limit must be an int, not {type(backlog_limit).__name__}")
        if backlog_limit < 1 or not 0 <= retry_interval_s <= 86_400:
            raise InvalidInput(
                f"backlog_limit must be ≥ 1 and retry_interval_s 0-86400 s, got {backlog_limit} "
                f"and {retry_interval_s}"
            )
        self._persistent = store is not None
        self._store = store if store is not None else Store.memory()
        self._owns_store = owns_store or store is None
        self._cli_version = cli_version
        self._engine_base_url = engine_base_url
        self._cwd = cwd
        self._meta = dict(meta) if meta is not None else None
        self._on_warning = on_warning
        self._backlog_limit = backlog_limit
        self._retry_interval_s = retry_interval_s
        # _state guards the queue and the flags below; it is never held across a store
        # call.  _writing is held by whoever writes to the store (the writer thread, or
        # fork/resume/close on the caller's thread), so writes and switches are ordered.
        self._state = threading.Condition(threading.Lock())
        self._writing = threading.RLock()
        self._queue: deque[Queued] = deque()
        self._busy = False  # the writer holds a batch taken from the queue
        self._kick = False  # retry now (flush), not after retry_interval_s
        self._stopping = False
        self._failed_at = 0.0
        self._overflowing = False
        self._dropped = 0
        self._lost_since_failure = 0
        self._current: str | None = None
        self._opened: list[str] = []
        self._pending_open: tuple[str | None, bool] | None = None
        self._last_error: BaseException | None = None
        self._warnings: list[str] = []
        self._closed = False
        self.resumed: Resumed | None = None
        """What :meth:`resume` (or ``resume=`` at creation) found last, for the banner."""
        if not self._persistent:
            self._warn(NO_PERSIST_NOTICE)
        self._writer = threading.Thread(target=self._run, name="zero-session-recorder", daemon=True)
        if start_in_background:
            self._pending_open = (resume, force)
            self._writer.start()
            with self._state:
                self._state.notify_all()
            return
        if resume is not None:
            self.resume(resume, force=force)
        elif exclusive:  # SessionActive (another live session holds the scope) is raised
            session = self._store.start(
                cli_version=cli_version,
                engine_base_url=engine_base_url,
                cwd=cwd,
                meta=meta,
                exclusive=True,
                scope=scope,
            )
            self._switch_locked(session.ulid)
        else:
            notes: list[str] = []
            with self._writing:
                self._start_locked(notes)
            self._emit(notes)
        self._writer.start()

    @classmethod
    def no_persist(cls, **options: Any) -> Recorder:
        """A recorder that saves nothing (``--no-persist``): an in-memory store of its own."""
        return cls(None, **options)

    # ------------------------------------------------------------------ state

    @property
    def store(self) -> Store:
        """The store written to (a private in-memory one when not persistent)."""
        return self._store

    @property
    def persistent(self) -> bool:
        """False for a no-persist recorder, whose sessions vanish at close."""
        return self._persistent

    @property
    def current(self) -> str | None:
        """The ulid of the session being written; None only while no session could be
        started yet (the store is failing or busy; the writer keeps trying)."""
        return self._current

    @property
    def sessions(self) -> tuple[str, ...]:
        """Every session this recorder started, forked or resumed, oldest first."""
        with self._state:
            return tuple(self._opened)

    @property
    def last_error(self) -> BaseException | None:
        """The failure that is keeping events from being saved now; None when all is well."""
        return self._last_error

    @property
    def pending(self) -> int:
        """How many recorded events wait in memory to be written."""
        with self._state:
            return len(self._queue)

    @property
    def dropped(self) -> int:
        """How many events were not kept because the queue was full (``backlog_limit``)."""
        return self._dropped

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every warning reported so far, oldest first."""
        with self._state:
            return tuple(self._warnings)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def describe(self) -> str:
        """One line telling where events go, for a status bar."""
        if not self._persistent:
            return NO_PERSIST_NOTICE
        return f"recording to {self._store.path}"

    # ---------------------------------------------------------------- recording

    def record(self, kind: str, text: str, data: Any = None) -> bool:
        """Queue one event for the current session; whether it was kept.  Never raises,
        never waits for the store.

        False when the recorder is closed or the queue already holds ``backlog_limit``
        events (the event is dropped and counted in ``dropped``).  An event the store
        refuses (a bad kind, data that is not JSON) is reported as a warning when the
        writer reaches it, and skipped.  ``data`` is serialised when the writer reaches
        it: do not change it after recording.
        """
        notes: list[str] = []
        with self._state:
            if self._closed:
                if self._last_error is None or not isinstance(self._last_error, StoreClosed):
                    self._fail_locked(StoreClosed("the recorder is closed"), notes)
                kept = False
            elif len(self._queue) >= self._backlog_limit:
                self._dropped += 1
                self._lost_since_failure += 1
                if not self._overflowing:
                    self._overflowing = True
                    self._note_locked(
                        f"recording queue full ({self._backlog_limit:,} events): "
                        "dropping new events until it drains",
                        notes,
                    )
                kept = False
            else:
                self._queue.append((kind, text, data))
                self._state.notify_all()
                kept = True
        self._emit(notes)
        return kept

    def flush(self, timeout: float | None = DEFAULT_FLUSH_TIMEOUT_S) -> bool:
        """Wait until everything recorded so far is written (retrying a failing store at
        once); whether nothing is left waiting.  ``timeout`` in seconds (None: no limit).
        Never raises."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._state:
            self._kick = True
            self._state.notify_all()
            while (self._queue or self._busy) and not self._closed:
                if isinstance(self._last_error, StoreClosed):
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._state.wait(remaining)
            return not self._queue and not self._busy

    # ------------------------------------------------------------ writer thread

    def _run(self) -> None:
        """The writer thread: write the queue in batches until stopped."""
        while True:
            with self._state:
                while not self._stopping:
                    if self._queue or self._pending_open is not None:
                        if self._last_error is None or self._kick:
                            break
                        waited = time.monotonic() - self._failed_at
                        if waited >= self._retry_interval_s:
                            break
                        self._state.wait(self._retry_interval_s - waited)
                    else:
                        self._state.wait()
                if self._stopping:
                    return
                self._kick = False
            notes: list[str] = []
            with self._writing:
                self._write_some_locked(notes)
            self._emit(notes)

    def _write_some_locked(self, notes: list[str]) -> None:
        """One step of writing: the opening start/resume if due, then one batch."""
        if self._pending_open is not None:
            self._open_in_background_locked(notes)
            if self._pending_open is not None:
                return
        with self._state:
            batch = list(itertools.islice(self._queue, BATCH_SIZE))
            self._busy = bool(batch)
        try:
            if batch:
                self._write_batch_locked(batch, notes)
        finally:
            with self._state:
                self._busy = False
                self._state.notify_all()

    def _open_in_background_locked(self, notes: list[str]) -> None:
        """The opening start (or resume) of ``start_in_background``."""
        assert self._pending_open is not None
        needle, force = self._pending_open
        if needle is not None:
            try:
                self._resume_locked(needle, force)
            except ZeroSessionError as exc:
                if _is_transient(exc):
                    self._fail(exc, notes)
                    return
                self._note(f"could not resume {needle}: {exc}; starting a new session", notes)
            else:
                self._opened_in_background()
                assert self.resumed is not None
                for warning in self.resumed.warnings:
                    self._note(warning, notes)
                self._recovered(notes)
                return
        self._start_locked(notes)
        if self._current is not None:
            self._opened_in_background()
            self._recovered(notes)

    def _opened_in_background(self) -> None:
        with self._state:
            self._pending_open = None
            self._state.notify_all()

    def _write_batch_locked(self, batch: list[Queued], notes: list[str]) -> None:
        """Write ``batch`` (the queue's head) to the current session and dequeue it."""
        try:
            if self._current is None:
                self._start_locked(notes)
                if self._current is None:
                    return
            try:
                try:
                    self._store.append_many(self._current, batch)
                except (InvalidInput, TypeError):
                    self._write_one_by_one_locked(batch, notes)
            except SessionEnded:
                self._continue_in_fork_locked(notes)
                return  # the next step writes the batch to the fork
            except SessionNotFound:
                self._continue_in_new_session_locked(notes)
                return
        except Exception as exc:
            self._fail(exc, notes)
            return
        self._dequeue(len(batch))
        self._recovered(notes)

    def _write_one_by_one_locked(self, batch: list[Queued], notes: list[str]) -> None:
        """Write item by item so one refused item does not sink the others; the items
        written before a failure are dequeued even if a later one fails."""
        assert self._current is not None
        for index, (kind, text, data) in enumerate(batch):
            try:
                self._store.append(self._current, kind, text, data=data)
            except (InvalidInput, TypeError) as exc:
                self._note(f"not recorded ({kind!r}): {exc}", notes)
            except BaseException:
                self._dequeue(index)
                raise
        # the whole batch is dequeued by the caller

    def _continue_in_fork_locked(self, notes: list[str]) -> None:
        ended = self._current
        assert ended is not None
        child = self._store.fork(ended)
        self._switch_locked(child.ulid)
        self._note(
            f"session {ended} was ended by another process; continuing in its fork {child.ulid}",
            notes,
        )

    def _continue_in_new_session_locked(self, notes: list[str]) -> None:
        gone = self._current
        self._current = None
        self._start_locked(notes)
        if self._current is not None:
            self._note(
                f"session {gone} was deleted by another process; "
                f"continuing in new session {self._current}",
                notes,
            )

    def _dequeue(self, n: int) -> None:
        with self._state:
            for _ in range(n):
                self._queue.popleft()
            if self._overflowing and len(self._queue) < self._backlog_limit:
                self._overflowing = False

    # ----------------------------------------------------------------- failures

    def _fail(self, exc: BaseException, notes: list[str]) -> None:
        with self._state:
            self._fail_locked(exc, notes)

    def _fail_locked(self, exc: BaseException, notes: list[str]) -> None:
        first = self._last_error is None
        self._last_error = exc
        self._failed_at = time.monotonic()
        self._state.notify_all()
        if first:
            self._note_locked(
                f"recording failed: {exc}; keeping events in memory and retrying", notes
            )

    def _recovered(self, notes: list[str]) -> None:
        with self._state:
            if self._last_error is None:
                return
            self._last_error = None
            message = "recording resumed; events held meanwhile are saved"
            if self._lost_since_failure:
                message += f" except {self._lost_since_failure:,} that did not fit in memory"
                self._lost_since_failure = 0
            self._note_locked(message, notes)

    def _note(self, message: str, notes: list[str]) -> None:
        with self._state:
            self._note_locked(message, notes)

    def _note_locked(self, message: str, notes: list[str]) -> None:
        notes.append(message)
        self._warnings.append(message)

    # ------------------------------------------------------------- switching

    def _start_locked(self, notes: list[str]) -> None:
        """Start the session to write; on failure keep the error (the caller reports)."""
        try:
            session = self._store.start(
                cli_version=self._cli_version,
                engine_base_url=self._engine_base_url,
                cwd=self._cwd,
                meta=self._meta,
            )
        except ZeroSessionError as exc:
            self._fail(exc, notes)
        else:
            self._switch_locked(session.ulid)

    def _switch_locked(self, ulid: str) -> None:
        with self._state:
            self._current = ulid
            if ulid not in self._opened:
                self._opened.append(ulid)
            self._state.notify_all()

    def wait_until_writing(self, timeout: float | None) -> bool:
        """Wait until the session is started or resumed (``start_in_background``);
        whether it is.  Returns early, False, when the store is failing.  Never raises."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._state:
            while self._current is None or self._pending_open is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if self._last_error is not None or (remaining is not None and remaining <= 0):
                    return False
                self._state.wait(remaining)
            return True

    def fork(self, *, at_seq: int | None = None) -> Session:
        """Fork the current session (at its last seq by default) and write to the child.

        What is queued is written to the parent first.  Raises ZeroSessionError (the
        store's error) when that or the fork cannot be done; the target is then
        unchanged.
        """
        with self._writing:
            current = self._require_current_locked()
            child = self._store.fork(current, at_seq=at_seq)
            self._switch_locked(child.ulid)
        return child

    def resume(self, needle: str, *, force: bool = False) -> Resumed:
        """Resume the session ``needle`` names (ulid, label or prefix) and write to it.

        What is queued is written to the old session first.  Raises the store's errors
        (SessionNotFound, AmbiguousSession, SessionBusy, StorageError...); the target is
        then unchanged.
        """
        with self._writing:
            if self._closed:
                raise StoreClosed("the recorder is closed")
            if self._current is not None or self._pending_open is not None:
                self._require_current_locked()
            resumed = self._resume_locked(needle, force)
        self._emit(list(resumed.warnings), store=True)
        return resumed

    def _resume_locked(self, needle: str, force: bool) -> Resumed:
        resumed = self._store.resume(
            needle,
            cli_version=self._cli_version,
            engine_base_url=self._engine_base_url,
            force=force,
        )
        self._switch_locked(resumed.session.ulid)
        self.resumed = resumed
        return resumed

    def _require_current_locked(self) -> str:
        """The current ulid with what was queued before this call written; raises what
        stops that."""
        if self._closed:
            raise StoreClosed("the recorder is closed")
        notes: list[str] = []
        with self._state:
            due = len(self._queue)
        if self._pending_open is not None:
            self._open_in_background_locked(notes)
        if self._current is None:
            self._start_locked(notes)
        while due > 0 and self._current is not None:
            before = self.pending
            self._write_some_locked(notes)
            written = before - self.pending
            if written <= 0 and self._last_error is not None:
                break
            due -= max(written, 0)
        self._emit(notes)
        if due > 0 or self._current is None:
            raise self._last_error or StoreClosed("no session")
        return self._current

    # ---------------------------------------------------------------- closing

    def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Write what is queued (waiting up to ``timeout`` seconds), end every session this
        recorder opened, close an owned store.  Never raises; what fails (events that
        could not be written in time, a session that could not be ended) is reported as
        a warning.  Idempotent."""
        if self._closed:
            return
        self.flush(timeout)
        notes: list[str] = []
        with self._state:
            self._stopping = True
            self._state.notify_all()
        if self._writer.is_alive() and self._writer is not threading.current_thread():
            self._writer.join(timeout)
        with self._writing, self._state:
            if self._closed:
                return
            self._closed = True
            unsaved = len(self._queue)
        if unsaved:
            self._note(f"{count(unsaved, 'recorded event')} could not be saved", notes)
        for ulid in self.sessions:
            try:
                self._store.end(ulid)
            except ZeroSessionError as exc:
                self._note(f"could not end session {ulid}: {exc}", notes)
        if self._owns_store:
            self._store.close()
        self._emit(notes)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -------------------------------------------------------------- warnings

    def _warn(self, message: str) -> None:
        notes: list[str] = []
        self._note(message, notes)
        self._emit(notes)

    def _emit(self, notes: list[str], *, store: bool = False) -> None:
        """Hand warnings to the callback (outside the locks); ``store`` also keeps them."""
        if store:
            with self._state:
                self._warnings.extend(notes)
        if self._on_warning is None:
            return
        for note in notes:
            try:
                self._on_warning(note)
            except Exception:  # a broken callback must not break recording
                continue

    def __repr__(self) -> str:
        return f"<Recorder current={self._current} sessions={len(self._opened)}>"


def _is_transient(exc: BaseException) -> bool:
    """Whether a failed background resume is worth retrying rather than giving up on."""
    from ..errors import AmbiguousSession, SessionBusy

    return not isinstance(exc, SessionNotFound | AmbiguousSession | SessionBusy | InvalidInput)
