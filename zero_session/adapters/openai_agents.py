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
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from agents.items import TResponseInputItem
from agents.memory import SessionSettings

from .._events import check_kind, check_size, encode_data
from ..errors import InvalidInput, SeqConflict, SessionEnded
from ..store import Store

__all__ = ["ZeroAgentsSession"]

ITEM = "agents.item"
POP = "agents.pop"
CLEAR = "agents.clear"
MILESTONE_PREFIX = "agents.session."
SUMMARY_CHARS = 200
for _kind in (ITEM, POP, CLEAR):
    check_kind(_kind)  # valid kinds, so rows need not check them again

Row = tuple[str, str, "str | None"]


def _summary(item: Any) -> str:
    """A readable one-line ``text`` for the event (the item itself is in ``data``)."""
    if type(item) is dict:
        content = item.get("content")
        role = item.get("role")
        if type(content) is str and type(role) is str:
            text = f"{role}: {content}"
            # The usual message is already one clean line: skip the normalisation.  A
            # str that is printable has no whitespace but " " (str.isprintable).
            if (
                len(text) <= SUMMARY_CHARS
                and text.isprintable()
                and "  " not in text
                and text[0] != " "
                and text[-1] != " "
            ):
                return text
    return _general_summary(item)


def _general_summary(item: Any) -> str:
    if isinstance(item, dict):
        content = item.get("content")
        role = item.get("role")
        if isinstance(content, list):  # content parts: keep their text
            content = " ".join(
                str(part.get("text", "")) for part in content if isinstance(part, dict)
            )
        if role is not None and isinstance(content, str):
            text = f"{role}: {content}"
        else:
            text = str(item.get("type") or role or "item")
    else:
        text = "item"
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _rows(entries: list[tuple[str, str, Any]], max_event_bytes: int) -> list[Row]:
    """``(kind, text, data_json)`` rows, checked and encoded as ``Store.append_many``
    would (our kinds and summaries are valid by construction).  Raises InvalidInput
    naming the item."""
    rows: list[Row] = []
    append_row = rows.append
    for index, (kind, text, data) in enumerate(entries):
        try:
            data_json = encode_data(data, max_bytes=max_event_bytes)
            if (len(text) + (len(data_json) if data_json else 0)) * 4 > max_event_bytes:
                check_size(text, data_json, max_event_bytes)
        except InvalidInput as exc:
            raise InvalidInput(f"item {index}: {exc}") from exc
        append_row((kind, text, data_json))
    return rows


class ZeroAgentsSession:
    """The Agents SDK's ``Session`` protocol over a zero_session :class:`Store`.

    ``session_id`` names the conversation; ``session_settings`` (the SDK's
    ``SessionSettings``) may set a default ``limit`` for ``get_items``.  Blocking store
    work runs in ``asyncio.to_thread``.  Store errors (``ZeroSessionError``) propagate.
    """

    def __init__(
        self,
        session_id: str,
        store: Store,
        *,
        session_settings: SessionSettings | None = None,
        cli_version: str | None = None,
    ) -> None:
        if not isinstance(session_id, str) or not session_id:
            raise TypeError("session_id must be a non-empty str")
        self.session_id = session_id
        self.session_settings = session_settings
        self._store = store
        self._cli_version = cli_version
        self._lock = threading.Lock()
        self._ulid: str | None = None
        self._items: dict[int, TResponseInputItem] = {}
        self._folded_upto = 0

    @property
    def store(self) -> Store:
        """The store holding the conversation."""
        return self._store

    # ------------------------------------------------------------ the protocol

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The conversation's items, oldest first; the latest ``limit`` when given."""
        if limit is None and self.session_settings is not None:
            limit = self.session_settings.limit
        items = await asyncio.to_thread(self._current_items)
        if limit is not None:
            return items[-limit:] if limit > 0 else []
        return items

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append the items, in one transaction."""
        if items:
            await asyncio.to_thread(self._add, list(items))

    async def pop_item(self) -> TResponseInputItem | None:
        """Retract and return the newest item (None when there is none)."""
        return await asyncio.to_thread(self._pop)

    async def clear_session(self) -> None:
        """Retract every item so far; the history stays in the log."""
        await asyncio.to_thread(self._clear)

    # ------------------------------------------------------------------ extras

    async def ulid(self) -> str:
        """The zero_session session holding this conversation (created on first use)."""
        return await asyncio.to_thread(self._session_ulid)

    async def fork(self, session_id: str) -> ZeroAgentsSession:
        """A new conversation ``session_id`` that starts with this one's items (O(1))."""

        def make() -> ZeroAgentsSession:
            child = self._store.fork(self._session_ulid())
            self._store.set_milestone(MILESTONE_PREFIX + session_id, child.ulid)
            return ZeroAgentsSession(
                session_id,
                self._store,
                session_settings=self.session_settings,
                cli_version=self._cli_version,
            )

        return await asyncio.to_thread(make)

    async def close(self) -> None:
        """Record the session's end (it is resumed by the next write)."""
        await asyncio.to_thread(lambda: self._store.end(self._session_ulid()))

    # ----------------------------------------------------------------- workers

    def _session_ulid(self) -> str:
        if self._ulid is not None:
            return self._ulid
        key = MILESTONE_PREFIX + self.session_id
        found = self._store.get_milestone(key)
        if found is None:
            session = self._store.start(
                cli_version=self._cli_version, meta={"agents_session_id": self.session_id}
            )
            if self._store.set_milestone_once(key, session.ulid):
                found = session.ulid
            else:  # another process created it first: use theirs
                self._store.end(session)
                found = self._store.get_milestone(key)
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
            self._refresh()
            return list(self._items.values())

    def _append(
        self, ulid: str, entries: list[tuple[str, str, Any]], *, expected_seq: int | None = None
    ) -> None:
        # Checked and encoded here, appended without building Event objects we would
        # throw away.
        rows = _rows(entries, self._store._max_event_bytes)
        try:
            self._store._append_rows(ulid, rows, expected_seq=expected_seq)
        except SessionEnded:  # ended by close() or another process: reopen and write
            self._store.resume(ulid, force=True, tail=0)
            self._store._append_rows(ulid, rows, expected_seq=expected_seq)

    def _add(self, items: list[TResponseInputItem]) -> None:
        with self._lock:
            ulid = self._session_ulid()
            self._append(ulid, [(ITEM, _summary(item), item) for item in items])

    def _retract(self, make: Callable[[], tuple[str, str, Any] | None]) -> None:
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

        def retraction() -> tuple[str, str, Any] | None:
            popped.clear()
            if not self._items:
                return None
            seq = next(reversed(self._items))
            popped.append(self._items[seq])
            return (POP, f"retract item {seq}", {"seq": seq})

        with self._lock:
            self._retract(retraction)
        return popped[0] if popped else None

    def _clear(self) -> None:
        def retraction() -> tuple[str, str, Any] | None:
            if not self._items:
                return None
            through = self._folded_upto
            return (CLEAR, f"clear items through {through}", {"through_seq": through})

        with self._lock:
            self._retract(retraction)
