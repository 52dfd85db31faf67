"""Checking and encoding events before they are written: kinds, texts and ``data``.

Everything an append must refuse is refused here, before the write transaction, with
InvalidInput naming the problem (and the item's index in a batch): a kind that does not
match ``[a-z][a-z0-9_.-]{0,63}``, a text that is not a str, ``data`` that would not read
back unchanged as JSON or does not fit the size cap.  The usual small, plain values take
fast paths; the general walk names the problem for anything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from typing import Any

from .errors import InvalidInput
from .models import KIND_PATTERN, EventKind

__all__ = [
    "MAX_DATA_DEPTH",
    "Row",
    "check_kind",
    "check_size",
    "deeper_than",
    "encode_as_json_dumps",
    "encode_data",
    "encode_each_as_json_dumps",
    "prepare_event",
    "prepare_items",
]


_KNOWN_KINDS = frozenset(k.value for k in EventKind)


_JSON_SCALARS = (str, int, float, bool, type(None))


# Custom kinds already matched against the pattern (a program uses a handful): a set
# lookup instead of a regular expression per event.  Bounded, in case kinds are made up
# on the fly.
_CHECKED_KINDS: set[str] = set()


_MAX_CHECKED_KINDS = 1024


def check_kind(kind: object) -> str:
    """The kind as a plain str; InvalidInput unless it matches ``[a-z][a-z0-9_.-]{0,63}``."""
    if isinstance(kind, str):
        if kind in _KNOWN_KINDS:
            return str(kind.value) if isinstance(kind, EventKind) else kind
        if type(kind) is str and kind in _CHECKED_KINDS:
            return kind
        if KIND_PATTERN.fullmatch(kind):
            if type(kind) is str and len(_CHECKED_KINDS) < _MAX_CHECKED_KINDS:
                _CHECKED_KINDS.add(kind)
            return kind
        raise InvalidInput(f"event kind {kind!r} must match [a-z][a-z0-9_.-]{{0,63}}")
    raise TypeError(f"event kind must be a str, not {type(kind).__name__}")


MAX_DATA_DEPTH = 200
"""How deeply ``data`` may nest; deeper values (and cycles) are refused, so every stored
value can be read back by ``json.loads`` without hitting the recursion limit."""


# One step of the walk: (value, depth, the step it sits in, its key or index there).
_Step = tuple[Any, int, "_Step | None", object]


def _where(step: _Step | None) -> str:
    keys: list[str] = []
    while step is not None and step[2] is not None:
        keys.append(f"[{step[3]!r}]")
        step = step[2]
    return "data" + "".join(reversed(keys))


def _check_json_value(value: Any, max_values: int) -> None:
    """Refuse values JSON would not give back unchanged (tuples, non-str keys, NaN...).

    The walk is iterative and bounded: nesting deeper than :data:`MAX_DATA_DEPTH` (which
    includes cycles) is refused, and so is a value with more than ``max_values`` parts
    (each part takes at least one byte of JSON, so it could not fit the size cap anyway;
    this also stops a shared-reference "bomb" before it is expanded).
    """
    stack: list[_Step] = [(value, 0, None, None)]
    seen = 0
    while stack:
        step = stack.pop()
        item, depth = step[0], step[1]
        seen += 1
        if seen > max_values:
            raise InvalidInput(f"data has more than {max_values:,} values; the cap is in bytes")
        if isinstance(item, dict | list):
            if depth >= MAX_DATA_DEPTH:
                raise InvalidInput(
                    f"{_where(step)}: nested deeper than {MAX_DATA_DEPTH} levels (or a cycle)"
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise InvalidInput(
                            f"{_where(step)}: keys must be str, got {type(key).__name__}"
                        )
                    stack.append((child, depth + 1, step, key))
            else:
                stack.extend((child, depth + 1, step, i) for i, child in enumerate(item))
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInput(f"{_where(step)}: {item!r} is not valid JSON")
        elif not isinstance(item, _JSON_SCALARS):
            raise InvalidInput(
                f"{_where(step)}: {type(item).__name__} is not JSON "
                "(use dict, list, str, int, float, bool or None)"
            )


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})


def _is_plain_json(value: Any, max_values: int) -> bool:
    """Whether ``value`` is built only of the exact JSON types (dict with str keys, list,
    str, int, bool, None, finite float), at most :data:`MAX_DATA_DEPTH` deep and of at
    most ``max_values`` parts.

    The usual event data, accepted level by level without the general walk's
    bookkeeping; anything else (subclasses, tuples, NaN, too deep, too big) goes through
    :func:`_check_json_value`, which accepts it or names the problem.
    """
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if kind is float:
        return math.isfinite(value)
    scalars = _PLAIN_SCALARS
    isfinite = math.isfinite
    if kind is dict:
        # An object, the most common data: one pass over its members; only the nested
        # ones (often none) go on to the level walk below.
        if len(value) >= max_values:
            return False
        level: list[Any] = []
        for key, child in value.items():
            if type(key) is not str:
                return False
            child_kind = type(child)
            if child_kind in scalars:
                continue
            if child_kind is dict or child_kind is list:
                level.append(child)
            elif child_kind is not float or not isfinite(child):
                return False
        if not level:
            return True
        depth, seen = 1, 1 + len(value)
    elif kind is list:
        level, depth, seen = [value], 0, 1
    else:
        return False
    while level:
        if depth >= MAX_DATA_DEPTH:
            return False
        below: list[Any] = []
        for container in level:
            seen += len(container)
            if seen > max_values:
                return False
            if type(container) is dict:
                for key in container:
                    if type(key) is not str:
                        return False
                children = container.values()
            else:
                children = container
            for child in children:
                kind = type(child)
                if kind in scalars:
                    continue
                if kind is dict or kind is list:
                    below.append(child)
                elif kind is not float or not isfinite(child):
                    return False
        level = below
        depth += 1
    return True


def _not_json(value: object) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _make_encoders() -> tuple[Callable[[Any], str], Callable[[Iterable[Any]], list[str]]]:
    """Compact JSON with non-ASCII kept and NaN refused, built once (on first use:
    ``json`` adds ~1.5 ms to ``import zero_session``): a function for one value, and one
    for many values that loops in C (no Python frame per value).

    ``json.dumps`` with non-default options builds a new encoder on every call; the C
    encoder made once is half the cost.  No circular check: :func:`encode_data` walks
    values first, and :func:`encode_as_json_dumps` refuses the RecursionError of a cycle.
    """
    import json.encoder

    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (another Python implementation)
        encode_one = json.JSONEncoder(
            ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
        ).encode
        return encode_one, lambda values: list(map(encode_one, values))
    iterencode = make(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    join = "".join

    def encode(value: Any) -> str:
        return join(iterencode(value, 0))

    def encode_each(values: Iterable[Any]) -> list[str]:
        return list(map(join, map(iterencode, values, repeat(0))))

    return encode, encode_each


_encode: Callable[[Any], str] | None = None


_encode_each: Callable[[Iterable[Any]], list[str]] | None = None


def _encoder() -> Callable[[Any], str]:
    global _encode, _encode_each
    if _encode is None:
        _encode, _encode_each = _make_encoders()
    return _encode


def _each_encoder() -> Callable[[Iterable[Any]], list[str]]:
    _encoder()
    assert _encode_each is not None
    return _encode_each


def encode_data(data: Any, *, max_bytes: int) -> str | None:
    """``data`` as compact JSON text, or None; InvalidInput when it would not round-trip
    or plainly cannot fit in ``max_bytes``."""
    if data is None:
        return None
    if not _is_plain_json(data, max_bytes):
        _check_json_value(data, max_bytes)
    try:
        return (_encode or _encoder())(data)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"data is not JSON-serialisable: {exc}") from exc


def encode_as_json_dumps(data: Any) -> str:
    """``data`` as compact JSON text, accepting what ``json.dumps`` accepts: tuples (and
    list or dict subclasses) are written as arrays and objects, int, float, bool and None
    keys as strings, so the value read back may differ in type from the one given.

    For adapters that must store exactly what their framework's own store stores (the
    Agents SDK's ``SQLiteSession`` keeps ``json.dumps(item)``); the store's own
    ``append`` uses :func:`encode_data`, which refuses whatever would not come back
    unchanged.  Still refused, with InvalidInput: NaN and infinities (not valid JSON, so
    SQLite's JSON functions and ``sqlite3`` users would choke on them), other types, and
    nesting deeper than :data:`MAX_DATA_DEPTH` (including cycles).  No walk of the value
    before encoding: a level of nesting takes two characters of the text, so only a text
    longer than twice :data:`MAX_DATA_DEPTH` has its value's depth measured.
    """
    try:
        text = (_encode or _encoder())(data)
    except RecursionError as exc:
        raise InvalidInput(
            f"data is nested deeper than {MAX_DATA_DEPTH} levels (or a cycle)"
        ) from exc
    except ValueError as exc:
        raise InvalidInput(f"data is not valid JSON (NaN or Infinity?): {exc}") from exc
    except TypeError as exc:
        raise InvalidInput(f"data is not JSON-serialisable: {exc}") from exc
    if len(text) > 2 * MAX_DATA_DEPTH and deeper_than(data, MAX_DATA_DEPTH):
        raise InvalidInput(f"data is nested deeper than {MAX_DATA_DEPTH} levels")
    return text


def encode_each_as_json_dumps(values: Sequence[Any]) -> list[str]:
    """:func:`encode_as_json_dumps` of each value, encoded in one loop in C.

    Raises InvalidInput naming the index of the first value refused (found, and its
    problem named, by encoding the values one by one once the loop has failed).
    """
    try:
        texts: list[str] | None = (_encode_each or _each_encoder())(values)
    except (TypeError, ValueError, RecursionError):
        texts = None
    if texts is not None:
        # Nesting deeper than the limit takes two brackets a level: most texts are too
        # short for it; a longer one has its value's depth measured (a walk of its arrays
        # and objects, which costs far less than its text when that is mostly strings).
        longest = max(map(len, texts), default=0)
        if longest <= 2 * MAX_DATA_DEPTH or not any(
            len(text) > 2 * MAX_DATA_DEPTH and deeper_than(value, MAX_DATA_DEPTH)
            for text, value in zip(texts, values, strict=True)
        ):
            return texts
    encoded: list[str] = []
    for index, value in enumerate(values):
        try:
            encoded.append(encode_as_json_dumps(value))
        except InvalidInput as exc:
            raise InvalidInput(f"item {index}: {exc}") from exc
    return encoded


def deeper_than(value: Any, levels: int) -> bool:
    """Whether arrays and objects nest more than ``levels`` deep in ``value`` (``[]`` is
    one level).  ``value`` was encoded already, so it has no cycle and the walk costs no
    more than the text."""
    level = [value] if isinstance(value, dict | list | tuple) else []
    depth = 0
    while level:
        depth += 1
        if depth > levels:
            return True
        below: list[Any] = []
        for container in level:
            below += container.values() if isinstance(container, dict) else container
        level = [child for child in below if isinstance(child, dict | list | tuple)]
    return False


def check_size(text: str, data_json: str | None, max_event_bytes: int) -> None:
    """InvalidInput when text plus serialised data exceed the per-event cap (UTF-8 bytes)."""
    chars = len(text) + (len(data_json) if data_json is not None else 0)
    if chars * 4 <= max_event_bytes:
        return  # cannot exceed the cap even if every character took four bytes
    try:
        size = len(text.encode("utf-8")) + (
            len(data_json.encode("utf-8")) if data_json is not None else 0
        )
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"event text is not valid Unicode: {exc}") from exc
    if size > max_event_bytes:
        raise InvalidInput(
            f"event is {size:,} bytes (text plus data); the cap is {max_event_bytes:,}"
        )


def prepare_event(
    kind: object, text: object, data: Any, max_event_bytes: int
) -> tuple[str, str | None]:
    """``(kind, data_json)`` for one event, checked: the single-append twin of
    :func:`prepare_items`, with the same fast paths.  Raises TypeError, InvalidInput."""
    if type(kind) is not str or (kind not in _KNOWN_KINDS and kind not in _CHECKED_KINDS):
        kind = check_kind(kind)
    if type(text) is not str and not isinstance(text, str):
        raise TypeError(f"event text must be a str, not {type(text).__name__}")
    data_json = None if data is None else encode_data(data, max_bytes=max_event_bytes)
    if (len(text) + (len(data_json) if data_json else 0)) * 4 > max_event_bytes:
        check_size(text, data_json, max_event_bytes)
    return kind, data_json


Row = tuple[str, str, "str | None"]
"""An event checked and encoded before the transaction: ``(kind, text, data_json)``."""


def prepare_items(items: Iterable[Any], max_event_bytes: int) -> tuple[list[Row], list[Any]]:
    """Check and encode ``(kind, text)`` / ``(kind, text, data)`` items, in order: their
    rows, and their ``data`` values (for the events returned).

    The common case (a known kind as a plain str, small text, flat data) takes no
    function call per item.  Raises TypeError or InvalidInput naming the item's index.
    """
    rows: list[Row] = []
    datas: list[Any] = []
    append_row, append_data = rows.append, datas.append
    known, checked = _KNOWN_KINDS, _CHECKED_KINDS
    for index, item in enumerate(items):
        if not isinstance(item, tuple | list) or len(item) not in (2, 3):
            raise TypeError(f"item {index} must be (kind, text) or (kind, text, data)")
        kind, text = item[0], item[1]
        data = item[2] if len(item) == 3 else None
        try:
            if type(kind) is not str or (kind not in known and kind not in checked):
                kind = check_kind(kind)
            if type(text) is not str and not isinstance(text, str):
                raise TypeError(f"event text must be a str, not {type(text).__name__}")
            data_json = None if data is None else encode_data(data, max_bytes=max_event_bytes)
            if (len(text) + (len(data_json) if data_json else 0)) * 4 > max_event_bytes:
                check_size(text, data_json, max_event_bytes)
        except InvalidInput as exc:
            raise InvalidInput(f"item {index}: {exc}") from exc
        append_row((kind, text, data_json))
        append_data(data)
    return rows, datas
