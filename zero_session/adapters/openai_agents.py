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

Items are stored as the SDK's ``SQLiteSession`` stores them, decided.  It keeps
``json.dumps(item)`` and gives back ``json.loads`` of it, so a tuple in an item comes back
as a list and an int key as a str key; the adapter, a drop-in for it, does the same
(compact JSON, ``_events.encode_as_json_dumps``) instead of holding items to the store's
stricter rule for ``append`` (data must come back unchanged), which would refuse items
the SDK accepts and cost a walk of every item.  Still refused, as ``InvalidInput``
naming the item's index, with nothing written: NaN and infinities (``json.dumps`` would
write them, but they are not JSON and would make the file's JSON invalid), values JSON
cannot hold, cycles, nesting deeper than the store's limit, text that is not Unicode,
and items over the store's size cap.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from itertools import repeat
from typing import Any, TypeVar

from agents.items import TResponseInputItem
from agents.memory import SessionSettings

from .._events import (
    check_kind,
    check_size,
    encode_as_json_dumps,
    encode_each_as_json_dumps,
)
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
T = TypeVar("T")


def _summary(item: Any) -> str:
    """A readable one-line ``text`` for the event (the item itself is in ``data``)."""
    if type(item) is dict:
        content = item.get("content")
        role = item.get("role")
        if (
            type(content) is str
            and type(role) is str
            and len(role) + len(content) + 2 <= SUMMARY_CHARS
        ):
            text = f"{role}: {content}"
            # The usual message is already one clean line: skip the normalisation.  A
            # str that is printable has no whitespace but " " (str.isprintable).
            if text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
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
    return _one_line(text)


def _one_line(text: str) -> str:
    """``text`` with every run of whitespace made one space, trimmed, and cut to
    :data:`SUMMARY_CHARS` with an ellipsis.

    Reads only the head of a long text (a long message would otherwise be split and
    joined whole to keep 200 characters of it): the head's line is a prefix of the whole
    text's line, so once it is longer than the cut it gives the same summary.  A head
    that is mostly whitespace falls back to the whole text.  The usual long message is
    one clean line up to the cut and is cut without splitting at all.
    """
    head = text[: SUMMARY_CHARS + 1]
    if (
        len(head) > SUMMARY_CHARS
        and head[0] != " "
        and head[-1] != " "
        and head.isprintable()
        and "  " not in head
    ):
        # Its only whitespace is single spaces and the character after the cut is not
        # one: the whole text's line starts with this head.
        return head[: SUMMARY_CHARS - 1] + "…"
    head = text[: 4 * SUMMARY_CHARS]
    line = " ".join(head.split())
    if len(line) <= SUMMARY_CHARS and len(head) < len(text):
        line = " ".join(text.split())
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


def _item_rows(items: list[TResponseInputItem], max_event_bytes: int) -> list[Row]:
    """One ``agents.item`` row per item: its summary, and the item stored as
    ``json.dumps`` would store it (see the module docstring).  Raises InvalidInput
    naming the item.

    Loops in C where it can (encoding, the size check's bound, the rows): this is most
    of the Python work of ``add_items``.
    """
    datas = encode_each_as_json_dumps(items)
    texts = list(map(_summary, items))
    if (max(map(len, texts)) + max(map(len, datas))) * 4 > max_event_bytes:
        for index, (text, data_json) in enumerate(zip(texts, datas, strict=True)):
            try:
                check_size(text, data_json, max_event_bytes)
            except InvalidInput as exc:
                raise InvalidInput(f"item {index}: {exc}") from exc
    return list(zip(repeat(ITEM, len(texts)), texts, datas, strict=True))


def _first_not_unicode(rows: list[Row]) -> int | None:
    """The index of the first row SQLite cannot take as UTF-8 (a lone surrogate), if any.

    Looked for only after the store refused a batch, so that the error names the item
    without every item paying for an extra encoding."""
    for index, (_, text, data_json) in enumerate(rows):
        try:
            text.encode()
            if data_json is not None:
                data_json.encode()
        except UnicodeEncodeError:
            return index
    return None


def _in_thread(work: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """``work(*args)`` in the running loop's default executor, to be awaited: what
    ``asyncio.to_thread`` does, without copying the caller's context variables (the
    store reads none) nor a coroutine of its own, a few µs less on every call."""
    return asyncio.get_running_loop().run_in_executor(None, work, *args)


class ZeroAgentsSession:
    """The Agents SDK's ``Session`` protocol over a zero_session :class:`Store`.

    ``session_id`` names the conversation; ``session_settings`` (the SDK's
    ``SessionSettings``) may set a default ``limit`` for ``get_items``.  Blocking store
    work runs in the event loop's default executor.  Store errors (``ZeroSessionError``) propagate;
    ``add_items`` raises InvalidInput naming the item it refuses (see the module
    docstring), having written none of them.
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
        items = await _in_thread(self._current_items)
        if limit is not None:
            return items[-limit:] if limit > 0 else []
        return items

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append the items, in one transaction."""
        if items:
            await _in_thread(self._add, list(items))

    async def pop_item(self) -> TResponseInputItem | None:
        """Retract and return the newest item (None when there is none)."""
        return await _in_thread(self._pop)

    async def clear_session(self) -> None:
        """Retract every item so far; the history stays in the log."""
        await _in_thread(self._clear)

    # ------------------------------------------------------------------ extras

    async def ulid(self) -> str:
        """The zero_session session holding this conversation (created on first use)."""
        return await _in_thread(self._session_ulid)

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

        return await _in_thread(make)

    async def close(self) -> None:
        """Record the session's end (it is resumed by the next write)."""
        await _in_thread(lambda: self._store.end(self._session_ulid()))

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

    def _append(self, ulid: str, rows: list[Row], *, expected_seq: int | None = None) -> None:
        # Checked and encoded by the caller, appended without building Event objects we
        # would throw away.
        try:
            self._store._append_rows(ulid, rows, expected_seq=expected_seq)
        except SessionEnded:  # ended by close() or another process: reopen and write
            self._store.resume(ulid, force=True, tail=0)
            self._store._append_rows(ulid, rows, expected_seq=expected_seq)

    def _add(self, items: list[TResponseInputItem]) -> None:
        with self._lock:
            rows = _item_rows(items, self._store._max_event_bytes)
            try:
                self._append(self._session_ulid(), rows)
            except InvalidInput as exc:
                index = _first_not_unicode(rows)
                if index is None:
                    raise
                raise InvalidInput(f"item {index}: {exc}") from exc

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
            self._retract(retraction)
