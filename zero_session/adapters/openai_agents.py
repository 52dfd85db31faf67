"""An OpenAI Agents SDK ``Session`` stored in zero_session (extra: ``agents``).

``ZeroAgentsSession(session_id, store)`` implements the SDK's ``Session`` protocol
(``get_items``, ``add_items``, ``pop_item``, ``clear_session``), so an agent program
passes it to ``Runner.run(..., session=...)`` and its conversation lands in our file,
where it can be listed, labelled, forked, replayed and inspected with ``sqlite3``.

Append-only, decided.  The SDK can remove items (``pop_item``, ``clear_session``); our
log never changes an event.  So removal is itself an event, and the items are a fold of
the log:

* ``agents.item`` — one conversation item; ``data`` is the item, ``text`` a summary.
* ``agents.pop`` — retracts one earlier item; ``data`` is ``{"seq": <its seq>}``.
* ``agents.clear`` — retracts every item up to ``data["through_seq"]``.

``get_items`` replays the timeline and applies them in order.  The fold is cached and
extended with only the events appended since the last call (by any process), so a call
costs one small range read.  History is never lost: replaying the session shows what
was said and what was retracted, and a fork of the session (``fork``) continues a
conversation from any point, items included, without copying anything.

The SDK's ``session_id`` maps to a zero_session session through the milestone
``agents.session.<session_id>`` → ulid, created on first use (``set_milestone_once``, so
two processes racing to create it agree on one session).

``SQLiteSession`` is a drop-in for the SDK's class of that name: its constructor
(``session_id, db_path, …``), sessions on one file sharing one ``Store``, a plain
``close()`` after which every call raises (SessionClosed, a ``RuntimeError``), and
``session_settings`` always a ``SessionSettings``.  Older SDKs (from 0.2) lack some of
what that needs; ``_agents_compat`` feature-detects it.

Items are stored as the SDK's ``SQLiteSession`` stores them, decided.  It keeps
``json.dumps(item)`` and gives back ``json.loads`` of it, so a tuple in an item comes back
as a list and an int key as a str key; the adapter, a drop-in for it, does the same
(compact JSON, ``_events.encode_as_json_dumps``) instead of holding items to the store's
stricter rule for ``append`` (data must come back unchanged), which would refuse items
the SDK accepts and cost a walk of every item.  Still refused, as ``UnstorableItem``
(an ``InvalidInput`` and a ``TypeError``, which the SDK raises for what ``json.dumps``
refuses) naming the item's index, with nothing written: NaN and infinities (``json.dumps`` would
write them, but they are not JSON and would make the file's JSON invalid), values JSON
cannot hold, cycles, nesting deeper than the store's limit, text that is not Unicode,
and items over the store's size cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from agents.items import TResponseInputItem

from .._events import encode_as_json_dumps
from ..errors import (
    ForeignSession,
    InvalidInput,
    SeqConflict,
    SessionEnded,
    StoreClosed,
    ZeroSessionError,
)
from ..store import Store
from . import _shared_stores
from ._agents_compat import SessionSettings, effective_limit, normalise_settings
from ._agents_items import (
    CLEAR,
    ITEM,
    POP,
    Row,
    UnstorableItem,
    first_not_unicode,
    item_rows,
)

__all__ = [
    "CLEAR",
    "ITEM",
    "POP",
    "SQLiteSession",
    "SessionClosed",
    "SessionSettings",
    "UnstorableItem",
    "ZeroAgentsSession",
]

MILESTONE_PREFIX = "agents.session."

T = TypeVar("T")


def _in_thread(work: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """``work(*args)`` in the running loop's default executor, to be awaited: what
    ``asyncio.to_thread`` does, without copying the caller's context variables (the
    store reads none) nor a coroutine of its own, a few µs less on every call."""
    return asyncio.get_running_loop().run_in_executor(None, work, *args)


async def _outcome(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in the executor, awaited to its outcome even when the caller is
    cancelled meanwhile: a write that started is waited for (committed or not) before
    the cancellation propagates, so a cancelled ``add_items`` never leaves the caller
    unsure whether the items were written and retrying them twice.  As the SDK's own
    sessions do for their writes."""
    pending = _in_thread(work, *args)
    try:
        return await asyncio.shield(pending)
    except asyncio.CancelledError:
        while not pending.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({pending})
        raise


class SessionClosed(ZeroSessionError, RuntimeError):
    """The Agents session was closed (``close()``); every later call raises this.

    A ``RuntimeError``, as the SDK's ``SQLiteSession`` raises after ``close()``."""


class ZeroAgentsSession:
    """The Agents SDK's ``Session`` protocol over a zero_session :class:`Store`.

    ``session_id`` names the conversation.  ``session_settings`` (the SDK's
    ``SessionSettings`` or a dict of its fields, normalised as the SDK does; unknown
    keys raise TypeError) may set a default ``limit`` for ``get_items``; it defaults to
    ``SessionSettings()``.  Blocking store work runs in the event loop's default
    executor.  Store errors (``ZeroSessionError``) propagate; ``add_items`` raises
    UnstorableItem naming the item it refuses, having written none of them; after
    ``close()`` every call raises SessionClosed.
    """

    def __init__(
        self,
        session_id: str,
        store: Store,
        *,
        session_settings: SessionSettings | dict[str, Any] | None = None,
        cli_version: str | None = None,
    ) -> None:
        if not isinstance(session_id, str) or not session_id:
            raise TypeError("session_id must be a non-empty str")
        self.session_id = session_id
        self.session_settings: SessionSettings | None = normalise_settings(session_settings)
        self._store = store
        self._cli_version = cli_version
        self._milestone = MILESTONE_PREFIX + session_id
        self._lock = threading.Lock()
        self._closed = False
        self._ulid: str | None = None
        self._items: dict[int, TResponseInputItem] = {}
        self._folded_upto = 0

    @property
    def store(self) -> Store:
        """The store holding the conversation."""
        return self._store

    # ------------------------------------------------------------ the protocol

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The conversation's items, oldest first; the latest ``limit`` when given (or
        set in ``session_settings``).  As the SDK's ``SQLiteSession``: 0 gives none, a
        negative limit all of them."""
        self._check_open()
        limit = effective_limit(limit, self.session_settings)
        items = await _in_thread(self._current_items)
        if limit is None or limit < 0:
            return items
        return items[-limit:] if limit > 0 else []

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append the items, in one transaction.  Raises UnstorableItem, writing none."""
        self._check_open()
        if items:
            await _outcome(self._add, list(items))

    async def pop_item(self) -> TResponseInputItem | None:
        """Retract and return the newest item (None when there is none)."""
        self._check_open()
        return await _outcome(self._pop)

    async def clear_session(self) -> None:
        """Retract every item so far; the history stays in the log."""
        self._check_open()
        await _outcome(self._clear)

    def close(self) -> None:
        """Record the end of the zero_session session (if this conversation has one; the
        next writer resumes it) and refuse every later call with SessionClosed.

        A plain method, as the SDK's ``SQLiteSession.close()``; calling it again does
        nothing.  The store stays open: it belongs to the caller.  A conversation pulled
        from another store and only read here gets no end recorded (its end is its
        origin's to record).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            ulid = self._ulid
        if ulid is not None:
            # Nothing to record in a store the caller closed first, nor for a conversation
            # pulled from another store and only read here (its end is its origin's).
            with contextlib.suppress(StoreClosed, ForeignSession):
                self._store.end(ulid)

    # ------------------------------------------------------------------ extras

    async def ulid(self) -> str:
        """The zero_session session holding this conversation (created on first use)."""
        self._check_open()
        return await _in_thread(self._session_ulid)

    async def fork(self, session_id: str) -> ZeroAgentsSession:
        """A new conversation ``session_id`` on the same store that starts with this
        one's items (O(1): no item is copied)."""
        self._check_open()
        await _outcome(self._fork_into, MILESTONE_PREFIX + session_id)
        return ZeroAgentsSession(
            session_id,
            self._store,
            session_settings=self.session_settings,
            cli_version=self._cli_version,
        )

    # ----------------------------------------------------------------- workers

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosed(f"{type(self).__name__} is closed")

    def _fork_into(self, milestone: str) -> None:
        child = self._store.fork(self._session_ulid())
        self._store.set_milestone(milestone, child.ulid)

    def _session_ulid(self) -> str:
        if self._ulid is not None:
            return self._ulid
        found = self._store.get_milestone(self._milestone)
        if found is None:
            session = self._store.start(
                cli_version=self._cli_version, meta={"agents_session_id": self.session_id}
            )
            if self._store.set_milestone_once(self._milestone, session.ulid):
                found = session.ulid
            else:  # another process created it first: use theirs
                self._store.end(session)
                found = self._store.get_milestone(self._milestone)
                assert found is not None
        self._ulid = found
        return found

    def _fold(self, page: list[tuple[int, str, Any]]) -> None:
        items = self._items
        for seq, kind, data in page:
            if kind == ITEM:
                items[seq] = data
            elif kind == POP and isinstance(data, dict):
                items.pop(int(data.get("seq", -1)), None)
            elif kind == CLEAR and isinstance(data, dict):
                through = int(data.get("through_seq", 0))
                for old in [s for s in items if s <= through]:
                    del items[old]
        if page:
            self._folded_upto = page[-1][0]

    def _refresh(self) -> str:
        """Fold in what was appended since the last call; the session's ulid.

        Reads ``(seq, kind, data)`` rows, not ``Event`` objects: the fold needs no more.
        """
        ulid = self._session_ulid()
        for page in self._store._timeline_data(ulid, self._folded_upto):
            self._fold(page)
        return ulid

    def _current_items(self) -> list[TResponseInputItem]:
        with self._lock:
            self._check_open()
            self._refresh()
            return list(self._items.values())

    def _append(self, ulid: str, rows: list[Row], *, expected_seq: int | None = None) -> None:
        # Checked and encoded by the caller, appended without building Event objects we
        # would throw away.  Written through the store's append path (seq reservation
        # and all its checks), only without the Event objects.
        try:
            self._store._append_rows(ulid, rows, expected_seq=expected_seq)
        except SessionEnded:  # ended by close() or another process: reopen and write
            self._store.resume(ulid, force=True, tail=0)
            self._store._append_rows(ulid, rows, expected_seq=expected_seq)
        except ForeignSession:
            ulid = self._continue_in_local_fork(ulid)
            self._store._append_rows(ulid, rows, expected_seq=expected_seq)

    def _continue_in_local_fork(self, ulid: str) -> str:
        """The conversation was pulled from another store, which alone appends to its
        session: continue it in a local fork (all its items, nothing copied) and point
        ``session_id`` at the fork from now on.  The fork starts at the pulled session's
        last seq, so the fold's seqs stay valid."""
        child = self._store.fork(ulid)
        self._store.set_milestone(self._milestone, child.ulid)
        self._ulid = child.ulid
        return child.ulid

    def _add(self, items: list[TResponseInputItem]) -> None:
        with self._lock:
            self._check_open()
            rows = item_rows(items, self._store._max_event_bytes)
            try:
                self._append(self._session_ulid(), rows)
            except InvalidInput as exc:
                index = first_not_unicode(rows)
                if index is None:
                    raise
                raise UnstorableItem(f"item {index}: {exc}") from exc

    def _retract(self, make: Callable[[], Row | None]) -> None:
        """Append the retraction ``make()`` builds from the fold, exactly at the fold's end.

        ``expected_seq`` makes the append fail if another writer added to the session
        after our fold; then fold again and retry, so we never retract the wrong item.
        """
        while True:
            ulid = self._refresh()
            entry = make()
            if entry is None:
                return
            try:
                self._append(ulid, [entry], expected_seq=self._folded_upto)
            except SeqConflict:
                continue
            return

    def _pop(self) -> TResponseInputItem | None:
        popped: list[TResponseInputItem] = []

        def retraction() -> Row | None:
            popped.clear()
            if not self._items:
                return None
            seq = next(reversed(self._items))
            popped.append(self._items[seq])
            return (POP, f"retract item {seq}", encode_as_json_dumps({"seq": seq}))

        with self._lock:
            self._check_open()
            self._retract(retraction)
        return popped[0] if popped else None

    def _clear(self) -> None:
        def retraction() -> Row | None:
            if not self._items:
                return None
            through = self._folded_upto
            data = encode_as_json_dumps({"through_seq": through})
            return (CLEAR, f"clear items through {through}", data)

        with self._lock:
            self._check_open()
            self._retract(retraction)


class SQLiteSession(ZeroAgentsSession):
    """A drop-in for the SDK's ``agents.SQLiteSession``, stored in zero_session.

    Change ``from agents import SQLiteSession`` to
    ``from zero_session.adapters.openai_agents import SQLiteSession``: the constructor,
    the protocol and ``close()`` are the SDK's, and the conversation lands in a
    zero_session file, where it can be listed, labelled, forked, replayed and inspected
    with the ``zero-session`` CLI and ``sqlite3``.

    Sessions on one file share one :class:`Store` (closed with the last of them);
    ``":memory:"`` (the default, as in the SDK) gives each session a private in-memory
    store.  ``sessions_table`` and ``messages_table`` name the SDK's tables; our schema
    has no per-session tables, so other names than the defaults keep this conversation
    apart from the same ``session_id`` under the default names, as separate tables
    would.  Raises what :meth:`Store.open` raises for a file that is not a store, and
    TypeError for unknown settings.
    """

    def __init__(
        self,
        session_id: str,
        db_path: str | os.PathLike[str] = ":memory:",
        sessions_table: str = "agent_sessions",
        messages_table: str = "agent_messages",
        session_settings: SessionSettings | dict[str, Any] | None = None,
    ) -> None:
        settings = normalise_settings(session_settings)  # TypeError before opening
        store = _shared_stores.acquire(db_path)
        super().__init__(session_id, store, session_settings=settings)
        self.db_path = db_path
        self.sessions_table = sessions_table
        self.messages_table = messages_table
        if (sessions_table, messages_table) != ("agent_sessions", "agent_messages"):
            self._milestone = f"{MILESTONE_PREFIX}{sessions_table}/{messages_table}/{session_id}"

    def close(self) -> None:
        """End the session's record, give back the shared store (the last session on a
        file closes it), and refuse every later call with SessionClosed."""
        already = self._closed
        try:
            super().close()
        finally:
            if not already:
                _shared_stores.release(self._store)
