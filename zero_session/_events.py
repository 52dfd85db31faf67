"""SQL and logic for events: validation, sequenced appends and timeline reads.

Sequencing happens inside the caller's ``BEGIN IMMEDIATE`` transaction: one ``UPDATE
... RETURNING`` bumps the session's ``last_seq`` by the batch size (and checks that the
session is open and, optionally, that its last seq is what the caller expected), then
the events are inserted at the seqs it reserved.  No seq is ever read outside the write
lock, so concurrent writers in any process get gapless, unique seqs.

A fork's timeline is its ancestors' events up to each fork point followed by its own.
One recursive query finds the chain of (session, seq range) segments and joins events
on it; because a timeline's seqs run 1..n without gaps, a page of the timeline is simply
the seq range ``(after, after + page]``, which every segment answers from its primary key.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from itertools import chain, repeat
from typing import Any

import apsw

from . import _origins
from ._lineage import MAX_FORK_DEPTH, check_chain
from ._sql import fetch_all
from ._typed import check_event_rows, wrong_type
from .errors import InvalidInput, SeqConflict, SessionEnded, SessionNotFound
from .models import KIND_PATTERN, Event, EventKind

__all__ = [
    "TIMELINE_CHAIN_SQL",
    "Owner",
    "check_kind",
    "encode_as_json_dumps",
    "encode_data",
    "encode_each_as_json_dumps",
    "insert_events",
    "insert_prepared",
    "insert_rows",
    "insert_rows_at",
    "new_event",
    "own_events",
    "prepare_event",
    "prepare_items",
    "reserve_seqs",
    "timeline_data",
    "timeline_page",
]

_KNOWN_KINDS = frozenset(k.value for k in EventKind)
_JSON_SCALARS = (str, int, float, bool, type(None))
_INT_ONLY = frozenset({int})


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
    if len(text) > 2 * MAX_DATA_DEPTH and _deeper_than(data, MAX_DATA_DEPTH):
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
            len(text) > 2 * MAX_DATA_DEPTH and _deeper_than(value, MAX_DATA_DEPTH)
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


def _deeper_than(value: Any, levels: int) -> bool:
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


def insert_prepared(
    conn: apsw.Connection,
    ulid: str,
    rows: Sequence[Row],
    datas: Sequence[Any],
    at_ms: int,
    expected_seq: int | None,
) -> list[Event]:
    """Reserve seqs for the rows :func:`prepare_items` made and insert them; the events,
    in order.

    Call inside a write transaction.  Raises like :func:`reserve_seqs`.
    """
    session_id, first = reserve_seqs(conn, ulid, len(rows), at_ms, expected_seq)
    insert_rows_at(conn, session_id, first, at_ms, rows)
    # Column by column in C, as _to_events does (no Python bytecode per event).
    count = len(rows)
    events = list(map(_new, repeat(Event, count)))
    consume: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend
    consume(map(_set_session, events, repeat(ulid, count)))
    consume(map(_set_seq, events, range(first, first + count)))
    consume(map(_set_at_ms, events, repeat(at_ms, count)))
    kinds, texts, _ = zip(*rows, strict=True) if rows else ((), (), ())
    consume(map(_set_kind, events, kinds))
    consume(map(_set_text, events, texts))
    consume(map(_set_data, events, datas))
    return events


def insert_rows(
    conn: apsw.Connection,
    ulid: str,
    rows: Sequence[Row],
    at_ms: int,
    expected_seq: int | None,
) -> int:
    """Reserve seqs for checked ``(kind, text, data_json)`` rows and insert them; the
    first seq.  No ``Event`` objects: for callers that do not need them back.

    The rows must have been checked as :func:`prepare_items` checks them (valid kind,
    ``data_json`` valid JSON, within the size cap).  Call inside a write transaction.
    Raises like :func:`reserve_seqs`.
    """
    session_id, first = reserve_seqs(conn, ulid, len(rows), at_ms, expected_seq)
    insert_rows_at(conn, session_id, first, at_ms, rows)
    return first


# A batch is inserted by multi-row INSERTs of power-of-two sizes up to _CHUNK_ROWS (100
# rows: 64 + 32 + 4), so there are at most nine such statements, each prepared once and
# then kept in apsw's statement cache.  Not executemany: it takes its statement from that
# cache once per row, which costs a lookup per row and, since the cache is a ring of 100
# uses, pushes every other statement out of it (a batch of 100 would have BEGIN, the seq
# reservation and COMMIT prepared again on every call).  Session, first seq and time are
# bound once per statement, each row binds only its kind, text and data.
_CHUNK_ROWS = 256
_CHUNK_SQL: dict[int, str] = {}


def _chunk_sql(size: int) -> str:
    values = ["(?1, ?2, ?3, ?4, ?5, ?6)"]
    values += [
        f"(?1, ?2 + {i}, ?3, ?{3 * i + 4}, ?{3 * i + 5}, ?{3 * i + 6})" for i in range(1, size)
    ]
    sql = "INSERT INTO events (session_id, seq, at_ms, kind, text, data) VALUES " + ", ".join(
        values
    )
    _CHUNK_SQL[size] = sql
    return sql


def insert_rows_at(
    conn: apsw.Connection, session_id: int, first_seq: int, at_ms: int, rows: Sequence[Row]
) -> None:
    """Insert checked ``(kind, text, data_json)`` rows at seqs ``first_seq, first_seq + 1,
    ...`` of the session (reserved by :func:`reserve_seqs`), all at ``at_ms``."""
    total = len(rows)
    done = 0
    while done < total:
        size = min(_CHUNK_ROWS, 1 << ((total - done).bit_length() - 1))
        params: list[Any] = [session_id, first_seq + done, at_ms]
        params += chain.from_iterable(rows if size == total else rows[done : done + size])
        conn.execute(_CHUNK_SQL.get(size) or _chunk_sql(size), params)
        done += size


# Reserving also seals the seqs before the ones reserved (``sealed_seq``, see migration
# 0005): REPLACE over a stored event is then refused by the insert trigger's range check.
_RESERVE_SQL = (
    "UPDATE sessions SET last_seq = last_seq + ?, last_event_at_ms = ?, sealed_seq = last_seq "
    "WHERE ulid = ? AND ended_at_ms IS NULL RETURNING id, last_seq"
)
_RESERVE_EXPECTED_SQL = (
    "UPDATE sessions SET last_seq = last_seq + ?, last_event_at_ms = ?, sealed_seq = last_seq "
    "WHERE ulid = ? AND ended_at_ms IS NULL AND last_seq = ? RETURNING id, last_seq"
)


def reserve_seqs(
    conn: apsw.Connection, ulid: str, count: int, at_ms: int, expected_seq: int | None
) -> tuple[int, int]:
    """Reserve ``count`` seqs; returns (session id, first reserved seq).

    Raises SessionNotFound, SessionEnded or SeqConflict (``expected_seq`` is the last seq
    the caller believes the session has), ForeignSession (pulled from another store).
    """
    # Plain execute: the statement returns only integers, no text to repair.
    rows: list[tuple[int, int]]
    try:
        if expected_seq is None:
            rows = conn.execute(_RESERVE_SQL, (count, at_ms, ulid)).fetchall()  # type: ignore[assignment]
        else:
            rows = conn.execute(  # type: ignore[assignment]
                _RESERVE_EXPECTED_SQL, (count, at_ms, ulid, expected_seq)
            ).fetchall()
    except apsw.ConstraintError:
        _origins.refuse_foreign(conn, ulid)  # the file refuses to continue a pulled session
        raise
    if rows:
        session_id, last_seq = rows[0]
        return session_id, last_seq - count + 1
    _origins.refuse_foreign(conn, ulid)  # ended at its origin: still not ours to write
    found = fetch_all(conn, "SELECT last_seq, ended_at_ms FROM sessions WHERE ulid = ?", (ulid,))
    if not found:
        raise SessionNotFound(ulid)
    last_seq, ended_at_ms = found[0]
    if ended_at_ms is not None:
        raise SessionEnded(ulid)
    raise SeqConflict(ulid, expected_seq if expected_seq is not None else -1, last_seq)


_INSERT_SQL = (
    "INSERT INTO events (session_id, seq, at_ms, kind, text, data) VALUES (?, ?, ?, ?, ?, ?)"
)


def insert_events(conn: apsw.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert prepared ``(session_id, seq, at_ms, kind, text, data_json)`` rows."""
    if len(rows) == 1:
        conn.execute(_INSERT_SQL, rows[0])
    else:
        conn.executemany(_INSERT_SQL, rows)


# The segments of a timeline, (session id, ulid, lo, hi]: the session's own events, then
# each ancestor's up to the lowest fork point below it (min(c.lo, c.hi): a child forked
# from its parent at 0 must not pass the grandparent's events through).  One recursive
# query; every reader of a timeline (replay, search, counts) starts from this CTE.
# The walk stops after MAX_FORK_DEPTH steps, so a loop in a tampered file ends (and
# _lineage.check_chain reports it) instead of running forever.
TIMELINE_CHAIN_SQL = f"""
WITH RECURSIVE chain(id, ulid, parent_id, lo, hi, depth) AS (
    SELECT id, ulid, parent_id, fork_seq, last_seq, 0 FROM sessions WHERE id = ?
    UNION ALL
    SELECT p.id, p.ulid, p.parent_id, p.fork_seq, min(c.lo, c.hi), c.depth + 1
      FROM sessions AS p JOIN chain AS c ON p.id = c.parent_id
     WHERE c.depth < {MAX_FORK_DEPTH}
)
"""
_CHAIN_SQL = TIMELINE_CHAIN_SQL + "SELECT id, ulid, lo, hi FROM chain\n"

# Text a person typed into the sqlite3 shell may not be JSON: SQLite wraps such a value
# in {"_invalid_json": ...}, so that every value of a page is valid JSON on its own and
# the page decodes in one json.loads call (see _decode_all).
_DATA_SQL = (
    "CASE WHEN data IS NULL OR json_valid(data) THEN data "
    "ELSE json_object('_invalid_json', data) END"
)
# The columns as text, and cast to BLOB for the invalid-UTF-8 fallback of fetch_all.
_TEXT_COLUMNS = {"kind": "kind", "text": "text", "data": _DATA_SQL}
_BLOB_COLUMNS = {name: f"CAST({sql} AS BLOB)" for name, sql in _TEXT_COLUMNS.items()}


def _text_and_blob_sql(template: str) -> tuple[str, str]:
    """A query reading events, with its text columns as text and as BLOB."""
    return template.format(**_TEXT_COLUMNS), template.format(**_BLOB_COLUMNS)


# A primary-key range: rows come back in seq order with no sort.
_RANGE_SQL, _RANGE_BLOB_SQL = _text_and_blob_sql(
    "SELECT seq, at_ms, {kind}, {text}, {data} FROM events "
    "WHERE session_id = ? AND seq > ? AND seq <= ? ORDER BY seq"
)
# The same range without at_ms and text, for readers that fold ``data`` by kind.
_DATA_RANGE_SQL, _DATA_RANGE_BLOB_SQL = _text_and_blob_sql(
    "SELECT seq, {kind}, {data} FROM events "
    "WHERE session_id = ? AND seq > ? AND seq <= ? ORDER BY seq"
)
# The session's own events; own_events appends its filters.
_OWN_SQL, _OWN_BLOB_SQL = _text_and_blob_sql(
    "SELECT seq, at_ms, {kind}, {text}, {data} FROM events WHERE session_id = ? AND seq > ?"
)

# Events are built without attrs' generated __init__ (six calls through the frozen
# class's guarded setattr); the slots are filled directly.  Event has no validators or
# converters to skip (tests/test_replay_speedups.py checks that, and the equality).
_new = object.__new__
_set_session, _set_seq, _set_at_ms, _set_kind, _set_text, _set_data = (
    Event.__dict__[name].__set__ for name in ("session", "seq", "at_ms", "kind", "text", "data")
)


def new_event(session: str, seq: int, at_ms: int, kind: str, text: str, data: Any) -> Event:
    """``Event(session, seq, at_ms, kind, text, data)``, built in about half the time."""
    event = _new(Event)
    _set_session(event, session)
    _set_seq(event, seq)
    _set_at_ms(event, at_ms)
    _set_kind(event, kind)
    _set_text(event, text)
    _set_data(event, data)
    return event


def _decode_one(raw: str | None) -> Any:
    if raw is None:
        return None
    import json

    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return {"_invalid_json": raw}


def _decode_all(raws: list[str | None]) -> list[Any]:
    """The JSON values of a page, decoded by one json.loads of their array.

    Each value is valid JSON on its own (the SQL sees to it), so joining them with commas
    cannot merge or split values; the length check and the per-value fallback only guard
    against a value SQLite accepts and Python does not.
    """
    if not any(raws):
        return raws
    if len(raws) == 1:
        return [_decode_one(raws[0])]
    import json  # here (once a page): ~1.5 ms of `import zero_session`

    try:
        values = json.loads("[" + ",".join(["null" if r is None else r for r in raws]) + "]")
    except (ValueError, RecursionError):
        values = None
    if not isinstance(values, list) or len(values) != len(raws):
        values = [_decode_one(raw) for raw in raws]
    return values


def _to_events(ulid: str, rows: list[tuple[Any, ...]]) -> list[Event]:
    """Events of one session from ``(seq, at_ms, kind, text, data_json)`` rows.

    Column by column, each pass a ``map`` that runs in C (the columns transposed by
    ``zip``): no Python bytecode per event, ~20 % less than a loop filling each event.
    Raises StorageError for a seq or time that is not an integer (see ``_typed``).
    """
    if not rows:
        return []
    count = len(rows)
    seqs, at_mss, kinds, texts, raws = zip(*rows, strict=True)
    if not {*map(type, seqs), *map(type, at_mss)} <= _INT_ONLY:
        check_event_rows(ulid, rows)
    events = list(map(_new, repeat(Event, count)))
    consume: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend
    consume(map(_set_session, events, repeat(ulid, count)))
    consume(map(_set_seq, events, seqs))
    consume(map(_set_at_ms, events, at_mss))
    consume(map(_set_kind, events, kinds))
    consume(map(_set_text, events, texts))
    consume(map(_set_data, events, _decode_all(list(raws))))
    return events


Owner = tuple[int, str, int]
"""``(id, ulid, fork_seq)`` of the session whose timeline is read."""


def _segments(
    conn: apsw.Connection, owner: Owner, after_seq: int, upto_seq: int
) -> list[tuple[int, str, int, int]]:
    """``(segment id, ulid, start, end]`` of each segment overlapping the seq range, in
    timeline order.

    A range past the fork point holds only the session's own events (every root
    session's whole timeline, every tail): no chain to walk, and no recursive query to
    prepare, which a new connection's first read would otherwise pay for.
    """
    session_id, ulid, fork_seq = owner
    if after_seq >= fork_seq:
        return [(session_id, ulid, after_seq, upto_seq)] if after_seq < upto_seq else []
    chain = fetch_all(conn, _CHAIN_SQL, (session_id,))
    check_chain([segment[0] for segment in chain], ulid)
    for _, segment_ulid, lo, hi in chain:
        if type(lo) is not int or type(hi) is not int:
            column, value = ("fork_seq", lo) if type(lo) is not int else ("last_seq", hi)
            raise wrong_type(segment_ulid, "sessions", column, value)
    segments = sorted(chain, key=lambda segment: segment[2])
    return [
        (segment_id, ulid, max(lo, after_seq), min(hi, upto_seq))
        for segment_id, ulid, lo, hi in segments
        if max(lo, after_seq) < min(hi, upto_seq)
    ]


def timeline_page(
    conn: apsw.Connection, owner: Owner, after_seq: int, upto_seq: int
) -> list[Event]:
    """Timeline events with ``after_seq < seq <= upto_seq``, oldest first.

    One recursive query finds the segments; each segment overlapping the page is then
    one primary-key range read (no join, no sort).
    """
    sql, blob_sql = _RANGE_SQL, _RANGE_BLOB_SQL
    events: list[Event] = []
    for segment_id, ulid, start, end in _segments(conn, owner, after_seq, upto_seq):
        rows = fetch_all(conn, sql, (segment_id, start, end), blob_sql=blob_sql)
        events += _to_events(ulid, rows)
    return events


def timeline_data(
    conn: apsw.Connection, owner: Owner, after_seq: int, upto_seq: int
) -> list[tuple[int, str, Any]]:
    """``(seq, kind, data)`` of the timeline events in the range, oldest first.

    :func:`timeline_page` without ``Event`` objects, times or texts, for a reader that
    folds the data by kind (the Agents adapter): about half the cost per event.
    """
    sql, blob_sql = _DATA_RANGE_SQL, _DATA_RANGE_BLOB_SQL
    out: list[tuple[int, str, Any]] = []
    for segment_id, ulid, start, end in _segments(conn, owner, after_seq, upto_seq):
        rows = fetch_all(conn, sql, (segment_id, start, end), blob_sql=blob_sql)
        seqs, kinds, raws = zip(*rows, strict=True) if rows else ((), (), ())
        if not set(map(type, seqs)) <= {int}:
            raise wrong_type(ulid, "events", "seq", next(s for s in seqs if type(s) is not int))
        out += zip(seqs, kinds, _decode_all(list(raws)), strict=True)
    return out


def own_events(
    conn: apsw.Connection,
    ulid: str,
    session_id: int,
    after_seq: int,
    limit: int | None,
    kinds: Collection[str] | None,
) -> list[Event]:
    """The session's own events after ``after_seq``, oldest first."""
    condition = ""
    params: list[Any] = [session_id, after_seq]
    if kinds is not None:
        condition += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params += list(kinds)
    condition += " ORDER BY seq"
    if limit is not None:
        condition += " LIMIT ?"
        params.append(limit)
    return _to_events(
        ulid, fetch_all(conn, _OWN_SQL + condition, params, blob_sql=_OWN_BLOB_SQL + condition)
    )
