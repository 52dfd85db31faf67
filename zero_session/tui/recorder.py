"""``Recorder``: the write handle a TUI holds, which never lets a store failure crash it.

A TUI records from its UI thread (and often from worker threads).  If the disk fills, the
file is locked by another process past the busy timeout or an I/O error strikes, the UI
must keep running.  So :meth:`Recorder.record` never raises: a failure is kept as
``last_error``, reported once through ``warnings`` and the ``on_warning`` callback, and
what could not be written waits in a bounded in-memory backlog.  The next ``record``
retries; when the store works again the backlog is written first, in order, in one
transaction, so the timeline has no hole (the held events carry the time they were
finally written, not the time they were recorded).

One lock orders every write against ``fork`` and ``resume``: each event lands either
before a switch (in the old session, and so also in a fork's inherited timeline) or
after it (in the new one), whichever thread recorded it.  ``close`` ends every session
the recorder started, forked or resumed, as the design's exit rule asks.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidInput, StoreClosed, ZeroSessionError
from ..models import Event, Resumed, Session
from ..store import Store

__all__ = ["NO_PERSIST_NOTICE", "Recorder"]

DEFAULT_BACKLOG_LIMIT = 10_000
DEFAULT_RETRY_INTERVAL_S = 0.5

NO_PERSIST_NOTICE = "not saving: this session is kept in memory and is gone when you exit"

Backlogged = tuple[str, str, Any]


class Recorder:
    """Owns the session a program writes to; see the module docstring for the rules.

    ``Recorder(store, ...)`` starts a session with the given ``cli_version``,
    ``engine_base_url``, ``cwd`` and ``meta`` (or, with ``resume=needle``, resumes that
    session instead, raising like :meth:`Store.resume`).  ``Recorder(None)`` or
    :meth:`no_persist` records into a private in-memory store: everything works, nothing
    is saved, and the first warning says so.  ``owns_store=True`` makes :meth:`close`
    close the store too.  ``on_warning`` is called (outside the recorder's lock, its
    exceptions swallowed) with each warning as it happens.
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
    ) -> None:
        if isinstance(backlog_limit, bool) or not isinstance(backlog_limit, int):
            raise TypeError(f"backlog_limit must be an int, not {type(backlog_limit).__name__}")
        if backlog_limit < 0 or not retry_interval_s >= 0:
            raise InvalidInput(
                f"backlog_limit and retry_interval_s must be ≥ 0, got {backlog_limit} "
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
        self._failed_at = 0.0
        self._lock = threading.RLock()
        self._current: str | None = None
        self._opened: list[str] = []
        self._backlog: list[Backlogged] = []
        self._dropped = 0
        self._last_error: BaseException | None = None
        self._warnings: list[str] = []
        self._closed = False
        self.resumed: Resumed | None = None
        """What :meth:`resume` (or ``resume=`` at creation) found last, for the banner."""
        if not self._persistent:
            self._warn(NO_PERSIST_NOTICE)
        if resume is not None:
            self.resume(resume, force=force)
        else:
            notes: list[str] = []
            with self._lock:
                self._start_locked(notes)
            self._emit(notes)

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
        started because the store is failing (the next ``record`` retries)."""
        return self._current

    @property
    def sessions(self) -> tuple[str, ...]:
        """Every session this recorder started, forked or resumed, oldest first."""
        with self._lock:
            return tuple(self._opened)

    @property
    def last_error(self) -> BaseException | None:
        """The failure that is keeping events from being saved now; None when all is well."""
        return self._last_error

    @property
    def pending(self) -> int:
        """How many recorded events wait in memory for the store to recover."""
        return len(self._backlog)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every warning reported so far, oldest first."""
        with self._lock:
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

    # ---------------------------------------------------------------- writing

    def record(self, kind: str, text: str, data: Any = None) -> Event | None:
        """Record one event in the current session; the Event, or None if not saved now.

        Never raises.  Bad input (a kind or data the store refuses) is reported and
        dropped.  A store failure keeps the event in the backlog (up to
        ``backlog_limit``; later ones are counted as lost) to be written on recovery.
        While failing, the store is retried at most every ``retry_interval_s`` so a
        locked file does not stall every keystroke for the busy timeout.
        """
        notes: list[str] = []
        event: Event | None = None
        with self._lock:
            try:
                event = self._record_locked((kind, text, data), notes)
            except Exception as exc:  # never into the UI, whatever went wrong
                self._fail(exc, notes)
        self._emit(notes)
        return event

    def _record_locked(self, item: Backlogged, notes: list[str]) -> Event | None:
        if self._closed:
            self._fail(StoreClosed("the recorder is closed"), notes)
            return None
        if len(self._backlog) < self._backlog_limit:
            self._backlog.append(item)
        else:
            self._dropped += 1
        if self._last_error is not None:
            waited = time.monotonic() - self._failed_at
            if waited < self._retry_interval_s:
                return None
        for written, event in self._drain_locked(notes):
            if written is item:
                return event
        return None

    def flush(self) -> bool:
        """Try to write the backlog now; whether nothing is left waiting.  Never raises."""
        notes: list[str] = []
        with self._lock:
            if not self._closed:
                self._drain_locked(notes)
            done = not self._backlog
        self._emit(notes)
        return done

    def _drain_locked(self, notes: list[str]) -> list[tuple[Backlogged, Event]]:
        """Write the backlog in order (one transaction when all is valid)."""
        if not self._backlog:
            return []
        try:
            if self._current is None:
                self._start_locked(notes)
                if self._current is None:
                    return []
            try:
                events = self._store.append_many(self._current, self._backlog)
                written = list(zip(self._backlog, events, strict=True))
                self._backlog.clear()
            except (InvalidInput, TypeError):
                written = self._drain_one_by_one_locked(self._current, notes)
        except Exception as exc:
            self._fail(exc, notes)
            return []
        self._recovered(notes)
        return written

    def _drain_one_by_one_locked(
        self, ulid: str, notes: list[str]
    ) -> list[tuple[Backlogged, Event]]:
        """Write item by item so one refused item does not sink the others."""
        written: list[tuple[Backlogged, Event]] = []
        while self._backlog:
            item = self._backlog[0]
            kind, text, data = item
            try:
                event = self._store.append(ulid, kind, text, data=data)
            except (InvalidInput, TypeError) as exc:
                notes.append(f"not recorded ({kind!r}): {exc}")
                self._warnings.append(notes[-1])
            else:
                written.append((item, event))
            self._backlog.pop(0)
        return written

    def _fail(self, exc: BaseException, notes: list[str]) -> None:
        first = self._last_error is None
        self._last_error = exc
        self._failed_at = time.monotonic()
        if first:
            notes.append(f"recording failed: {exc}; keeping events in memory and retrying")
            self._warnings.append(notes[-1])

    def _recovered(self, notes: list[str]) -> None:
        if self._last_error is None:
            return
        self._last_error = None
        message = "recording resumed; events held meanwhile are saved"
        if self._dropped:
            message += f" except {self._dropped:,} that did not fit in memory"
            self._dropped = 0
        notes.append(message)
        self._warnings.append(message)

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
        self._current = ulid
        if ulid not in self._opened:
            self._opened.append(ulid)

    # ------------------------------------------------------------- switching

    def fork(self, *, at_seq: int | None = None) -> Session:
        """Fork the current session (at its last seq by default) and write to the child.

        Held events are written to the parent first.  Raises ZeroSessionError (the
        store's error) when the fork cannot be made; the target is then unchanged.
        """
        with self._lock:
            current = self._require_current_locked()
            child = self._store.fork(current, at_seq=at_seq)
            self._switch_locked(child.ulid)
        return child

    def resume(self, needle: str, *, force: bool = False) -> Resumed:
        """Resume the session ``needle`` names (ulid, label or prefix) and write to it.

        Held events are written to the old session first.  Raises the store's errors
        (SessionNotFound, AmbiguousSession, SessionBusy, StorageError...); the target is
        then unchanged.
        """
        with self._lock:
            if self._closed:
                raise StoreClosed("the recorder is closed")
            if self._current is not None:
                self._require_current_locked()
            resumed = self._store.resume(
                needle,
                cli_version=self._cli_version,
                engine_base_url=self._engine_base_url,
                force=force,
            )
            self._switch_locked(resumed.session.ulid)
            self.resumed = resumed
        self._emit(list(resumed.warnings), store=True)
        return resumed

    def _require_current_locked(self) -> str:
        """The current ulid with the backlog written; raises what stops that."""
        if self._closed:
            raise StoreClosed("the recorder is closed")
        notes: list[str] = []
        if self._current is None:
            self._start_locked(notes)
        self._drain_locked(notes)
        self._emit(notes)
        if self._backlog or self._current is None:
            raise self._last_error or StoreClosed("no session")
        return self._current

    # ---------------------------------------------------------------- closing

    def close(self) -> None:
        """Write what is held, end every session this recorder opened, close an owned
        store.  Never raises; what fails is reported as a warning.  Idempotent."""
        notes: list[str] = []
        with self._lock:
            if self._closed:
                return
            self._drain_locked(notes)
            if self._backlog:
                notes.append(f"{len(self._backlog):,} recorded events could not be saved")
                self._warnings.append(notes[-1])
            for ulid in self._opened:
                try:
                    self._store.end(ulid)
                except ZeroSessionError as exc:
                    notes.append(f"could not end session {ulid}: {exc}")
                    self._warnings.append(notes[-1])
            self._closed = True
            if self._owns_store:
                self._store.close()
        self._emit(notes)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -------------------------------------------------------------- warnings

    def _warn(self, message: str) -> None:
        self._warnings.append(message)
        self._emit([message])

    def _emit(self, notes: list[str], *, store: bool = False) -> None:
        """Hand warnings to the callback (outside the lock); ``store`` also keeps them."""
        if store:
            with self._lock:
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
