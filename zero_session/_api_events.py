"""Store methods for events: appends (through group commit) and timeline reads.

Sequencing and the timeline queries live in ``_events``; appends are submitted to
``_group_commit`` so that threads share transactions and fsyncs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from itertools import chain
from typing import Any, TypeVar

import apsw

from . import _events
from ._sql import fetch_all
from ._store_core import REPLAY_PAGE, EventItem, SessionRef, StoreCore, check_int
from .errors import InvalidInput, ReadOnlyStore, SessionNotFound
from .models import Event

T = TypeVar("T")

_STILL_THERE = "SELECT 1 FROM sessions WHERE id = ? AND ulid = ?"

__all__ = ["EventMethods"]

# events(kinds=...) binds one SQL parameter per kind, and SQLite allows 32,766: far more
# kinds than any program has, so a larger set is a mistake reported as such.
MAX_KINDS_FILTER = 1_000


class EventMethods(StoreCore):
    """Appending events and reading them back: own events, tail, replay."""

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
            check_int(expected_seq, "expected_seq")
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
        rows, datas = _events.prepare_items(items, self._max_event_bytes)
        if expected_seq is not None:
            check_int(expected_seq, "expected_seq")
        if not rows:
            with self._reading() as conn:
                self._position(conn, ulid)  # SessionNotFound, as a real append would
            return []
        if self._readonly:
            raise ReadOnlyStore(f"{self._path} was opened read-only")

        def write(conn: apsw.Connection) -> list[Event]:
            return _events.insert_prepared(conn, ulid, rows, datas, self._now(), expected_seq)

        return self._committer.submit(write)

    def events(
        self,
        session: SessionRef,
        *,
        after_seq: int = 0,
        limit: int | None = 100,
        kinds: Collection[str] | None = None,
    ) -> list[Event]:
        """The session's own events (not inherited ones) after ``after_seq``, oldest first.

        ``kinds`` keeps only events of those kinds (at most 1,000 of them).  Raises
        SessionNotFound, InvalidInput.
        """
        ulid = self._ulid_of(session)
        check_int(after_seq, "after_seq")
        if limit is not None:
            check_int(limit, "limit", minimum=1)
        kind_list = None
        if kinds is not None:
            if isinstance(kinds, str):
                raise TypeError("kinds must be a collection of kinds, not a single str")
            kind_list = sorted({_events.check_kind(k) for k in kinds})
            if len(kind_list) > MAX_KINDS_FILTER:
                raise InvalidInput(
                    f"kinds names {len(kind_list):,} kinds; the cap is {MAX_KINDS_FILTER:,}"
                )
        with self._reading() as conn:
            session_id, fork_seq, _ = self._position(conn, ulid)
            return _events.own_events(
                conn, ulid, session_id, max(after_seq, fork_seq), limit, kind_list
            )

    def tail(self, session: SessionRef, n: int = 200) -> list[Event]:
        """The last ``n`` events of the session's timeline (forks included), oldest first."""
        ulid = self._ulid_of(session)
        check_int(n, "n")
        with self._reading() as conn:
            session_id, fork_seq, last_seq = self._position(conn, ulid)
            return _events.timeline_page(
                conn, (session_id, ulid, fork_seq), max(0, last_seq - n), last_seq
            )

    def replay(self, session: SessionRef, *, after_seq: int = 0) -> Iterator[Event]:
        """The whole timeline, oldest first: inherited events through every ancestor, then
        the session's own, as it stood when iteration began.

        Reads in pages under the mutex and yields outside it, so the consumer may append
        while iterating.  Raises SessionNotFound (when iteration starts), InvalidInput.
        """
        ulid = self._ulid_of(session)
        check_int(after_seq, "after_seq")
        # Pages are read lazily; chaining them in C costs nothing per event.
        return chain.from_iterable(self._replay_pages(ulid, after_seq))

    def _replay_pages(self, ulid: str, after_seq: int) -> Iterator[list[Event]]:
        return self._timeline_pages(ulid, after_seq, _events.timeline_page)

    def _timeline_pages(
        self,
        ulid: str,
        after_seq: int,
        read_page: Callable[[apsw.Connection, _events.Owner, int, int], list[T]],
    ) -> Iterator[list[T]]:
        """Pages of the timeline after ``after_seq`` as it stood when the first page was
        asked for, each read under the mutex by ``read_page(conn, owner, after, upto)``.

        Raises SessionNotFound when the session is deleted between two pages."""
        with self._reading() as conn:
            session_id, fork_seq, upto = self._position(conn, ulid)
            owner = (session_id, ulid, fork_seq)
            if after_seq >= upto:
                return
            page_end = min(after_seq + REPLAY_PAGE, upto)
            page = read_page(conn, owner, after_seq, page_end)
        while True:
            yield page
            if page_end >= upto:
                return
            after_seq, page_end = page_end, min(page_end + REPLAY_PAGE, upto)
            with self._reading() as conn:
                # The session is remembered by its internal id, which a new session may
                # take once it is deleted: never read another session's events.
                if not fetch_all(conn, _STILL_THERE, (session_id, ulid)):
                    raise SessionNotFound(ulid, "deleted while its timeline was being read")
                page = read_page(conn, owner, after_seq, page_end) if after_seq < upto else []

    # ------------------------------------ fast paths for adapters (no Event objects)

    def _append_rows(
        self,
        ulid: str,
        rows: list[tuple[str, str, str | None]],
        *,
        expected_seq: int | None = None,
    ) -> int:
        """Append ``(kind, text, data_json)`` rows in one transaction; the first seq.

        For adapters that check and encode their own items as
        :func:`_events.prepare_items` does (valid kinds, ``data_json`` valid JSON within
        the size cap; the Agents adapter encodes as ``json.dumps`` would, see
        :func:`_events.encode_as_json_dumps`), since ``rows`` are not checked again, and
        need no ``Event`` objects back.  Same errors as :meth:`append_many`.
        """
        if not rows:
            raise ValueError("no rows to append")
        if self._readonly:
            raise ReadOnlyStore(f"{self._path} was opened read-only")

        def write(conn: apsw.Connection) -> int:
            return _events.insert_rows(conn, ulid, rows, self._now(), expected_seq)

        return self._committer.submit(write)

    def _timeline_data(self, ulid: str, after_seq: int) -> Iterator[list[tuple[int, str, Any]]]:
        """Pages of ``(seq, kind, data)`` of the timeline after ``after_seq`` (as
        :meth:`replay` reads them, without building events).  Raises SessionNotFound."""
        return self._timeline_pages(ulid, after_seq, _events.timeline_data)
