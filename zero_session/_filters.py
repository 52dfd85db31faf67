"""Listing filters: sessions of a directory (or its nearest ancestor) and meta matches.

``list_sessions(cwd=path)`` lists the sessions of the nearest directory, ``path`` itself
or its closest ancestor, that has a session passing the other filters: exactly that
directory, not its subdirectories, the same rule as ``latest(cwd=path)``.  Finding it
costs one index probe of ``sessions_by_cwd`` per ancestor; the listing then reads that
directory's sessions along the same index, newest first.

``meta={"agent": "a1"}`` keeps sessions whose JSON ``meta`` has that value at that top
level key (scalar values only).  The JSON path is written into the SQL as a quoted
literal rather than a bound parameter so that an expression index on
``json_extract(meta, '$."agent"')`` could serve it; keys are checked before quoting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import apsw

from ._sql import fetch_all
from .errors import InvalidInput

__all__ = ["meta_conditions", "nearest_directory"]

_MAX_META_KEY = 128
# Each key adds conditions to the query, whose expression depth SQLite caps at 1,000.
MAX_META_FILTER_KEYS = 64
_INT64 = range(-(2**63), 2**63)


def _path_literal(key: object) -> str:
    """The SQL literal of the JSON path ``$."key"``; InvalidInput for unusable keys."""
    if not isinstance(key, str):
        raise TypeError(f"meta filter keys must be str, not {type(key).__name__}")
    if not 1 <= len(key) <= _MAX_META_KEY:
        raise InvalidInput(f"meta filter key must be 1-{_MAX_META_KEY} characters, got {key!r}")
    if '"' in key or "\\" in key or not key.isprintable():
        raise InvalidInput(f"meta filter key {key!r} may not contain quotes or backslashes")
    path = f'$."{key}"'
    return "'" + path.replace("'", "''") + "'"


def meta_conditions(meta: Mapping[str, Any] | None) -> tuple[list[str], list[Any]]:
    """SQL conditions (on alias ``s``) and their parameters for a meta filter.

    Values may be str, int (64-bit), float, bool or None (which matches a JSON ``null``,
    not a missing key); at most :data:`MAX_META_FILTER_KEYS` keys.  Raises InvalidInput
    for other values, TypeError for a non-mapping.
    """
    if meta is None:
        return [], []
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a dict, not {type(meta).__name__}")
    if len(meta) > MAX_META_FILTER_KEYS:
        raise InvalidInput(f"meta filter has {len(meta):,} keys; the cap is {MAX_META_FILTER_KEYS}")
    conditions: list[str] = []
    params: list[Any] = []
    for key, value in meta.items():
        path = _path_literal(key)
        if value is None or isinstance(value, bool):
            json_type = "null" if value is None else ("true" if value else "false")
            conditions.append(f"json_type(s.meta, {path}) = ?")
            params.append(json_type)
        elif isinstance(value, int) and value not in _INT64:
            raise InvalidInput(f"meta filter {key!r}: {value} does not fit in 64 bits")
        elif isinstance(value, str | int | float):
            # The type check keeps 'true' from matching 1, and '{"a":1}' an object.
            types = "'text'" if isinstance(value, str) else "'integer', 'real'"
            conditions.append(
                f"json_extract(s.meta, {path}) = ? AND json_type(s.meta, {path}) IN ({types})"
            )
            params.append(value)
        else:
            raise InvalidInput(
                f"meta filter {key!r}: only str, int, float, bool or None values match, "
                f"not {type(value).__name__}"
            )
    return conditions, params


def nearest_directory(
    conn: apsw.Connection, cwd: str, conditions: Sequence[str], params: Sequence[Any]
) -> str | None:
    """``cwd`` or its nearest ancestor with a session passing ``conditions``, or None."""
    where = "".join(f" AND {condition}" for condition in conditions)
    sql = f"SELECT 1 FROM sessions AS s WHERE s.cwd = ?{where} LIMIT 1"
    path = cwd
    while True:
        if fetch_all(conn, sql, (path, *params)):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
