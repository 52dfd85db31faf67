"""Range reads of one session's own events, as rows or ``Event`` values.

Every read is a primary-key range of the ``events`` table (``session_id``, ``seq``), so
rows come back in seq order with no sort.  ``data`` is decoded a page at a time by one
``json.loads``; text a person typed into the ``sqlite3`` shell that is not JSON or not
valid UTF-8 is read in a form that never fails the page (see the SQL below and
``_sql.fetch_all``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import apsw

from ._event_values import build_events
from ._sql import LIMIT_SQL, fetch_all
from ._typed import check_event_rows
from .models import Event

__all__ = [
    "DATA_RANGE_BLOB_SQL",
    "DATA_RANGE_SQL",
    "RANGE_BLOB_SQL",
    "RANGE_SQL",
    "decode_all",
    "own_events",
    "to_events",
]


_INT_ONLY = frozenset({int})


# Text a person typed into the sqlite3 shell may not be JSON: SQLite wraps such a value
# in {"_invalid_json": ...}, so that every value of a page is valid JSON on its own and
# the page decodes in one json.loads call (see decode_all).
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
RANGE_SQL, RANGE_BLOB_SQL = _text_and_blob_sql(
    "SELECT seq, at_ms, {kind}, {text}, {data} FROM events "
    "WHERE session_id = ? AND seq > ? AND seq <= ? ORDER BY seq"
)


# The same range without at_ms and text, for readers that fold ``data`` by kind.
DATA_RANGE_SQL, DATA_RANGE_BLOB_SQL = _text_and_blob_sql(
    "SELECT seq, {kind}, {data} FROM events "
    "WHERE session_id = ? AND seq > ? AND seq <= ? ORDER BY seq"
)


# The session's own events; own_events appends its filters.
_OWN_SQL, _OWN_BLOB_SQL = _text_and_blob_sql(
    "SELECT seq, at_ms, {kind}, {text}, {data} FROM events WHERE session_id = ? AND seq > ?"
)


def _decode_one(raw: str | None) -> Any:
    if raw is None:
        return None
    import json

    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return {"_invalid_json": raw}


def decode_all(raws: list[str | None]) -> list[Any]:
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


def to_events(ulid: str, rows: list[tuple[Any, ...]]) -> list[Event]:
    """Events of one session from ``(seq, at_ms, kind, text, data_json)`` rows.

    The columns are transposed by ``zip`` and filled by :func:`build_events`, in C.
    Raises StorageError for a seq or time that is not an integer (see ``_typed``).
    """
    if not rows:
        return []
    count = len(rows)
    seqs, at_mss, kinds, texts, raws = zip(*rows, strict=True)
    if not {*map(type, seqs), *map(type, at_mss)} <= _INT_ONLY:
        check_event_rows(ulid, rows)
    return build_events(ulid, seqs, at_mss, kinds, texts, decode_all(list(raws)), count)


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
        condition += f" {LIMIT_SQL}"
        params.append(limit)
    return to_events(
        ulid, fetch_all(conn, _OWN_SQL + condition, params, blob_sql=_OWN_BLOB_SQL + condition)
    )
