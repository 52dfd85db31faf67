"""How the Agents adapter turns conversation items into event rows.

Each item becomes one ``agents.item`` event: ``data`` is the item stored as the SDK's
``SQLiteSession`` stores it (``json.dumps``, see :mod:`zero_session.adapters.openai_agents`),
``text`` a one-line summary (``user: buy 10``) for people reading the log in ``sqlite3``.
An item that cannot be stored raises :class:`UnstorableItem` naming its index.
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

from .._events import check_kind, check_size, encode_each_as_json_dumps
from ..errors import InvalidInput

__all__ = ["CLEAR", "ITEM", "POP", "Row", "UnstorableItem", "first_not_unicode", "item_rows"]

ITEM = "agents.item"
POP = "agents.pop"
CLEAR = "agents.clear"
SUMMARY_CHARS = 200
for _kind in (ITEM, POP, CLEAR):
    check_kind(_kind)  # valid kinds, so rows need not check them again

Row = tuple[str, str, "str | None"]


class UnstorableItem(InvalidInput, TypeError):
    """An item ``add_items`` cannot store (not JSON, NaN, too deep, too big, not
    Unicode); none of the call's items were written.

    A ``TypeError``, as the SDK's ``SQLiteSession`` raises for an item ``json.dumps``
    refuses, and an ``InvalidInput`` (so a ``ValueError``), as the store raises.
    """


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


def item_rows(items: list[Any], max_event_bytes: int) -> list[Row]:
    """One ``agents.item`` row per item: its summary, and the item stored as
    ``json.dumps`` would store it.  Raises UnstorableItem naming the item.

    Loops in C where it can (encoding, the size check's bound, the rows): this is most
    of the Python work of ``add_items``.
    """
    try:
        datas = encode_each_as_json_dumps(items)
    except InvalidInput as exc:
        raise UnstorableItem(str(exc)) from exc
    texts = list(map(_summary, items))
    if (max(map(len, texts)) + max(map(len, datas))) * 4 > max_event_bytes:
        for index, (text, data_json) in enumerate(zip(texts, datas, strict=True)):
            try:
                check_size(text, data_json, max_event_bytes)
            except InvalidInput as exc:
                raise UnstorableItem(f"item {index}: {exc}") from exc
    return list(zip(repeat(ITEM, len(texts)), texts, datas, strict=True))


def first_not_unicode(rows: list[Row]) -> int | None:
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
