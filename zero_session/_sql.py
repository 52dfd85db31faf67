"""Row fetching shared by the concern modules.

Text typed into the ``sqlite3`` shell may be invalid UTF-8, which apsw refuses to decode.
Rather than fail a whole listing or replay, such a query is read again with the text
columns cast to BLOB and decoded with U+FFFD replacements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import apsw

__all__ = ["LIMIT_SQL", "Row", "fetch_all"]

# A bound limit, as ``LIMIT ? + 0`` rather than ``LIMIT ?``.  SQLite's planner reads the
# value bound to a bare ``LIMIT ?``, so binding it again marks the statement expired and
# every run prepares it anew (~2-4 µs, more than a small read itself costs).  ``? + 0``
# is the same limit as an expression the planner does not read: the prepared statement
# is reused.  (For statements run once, it makes no difference either way.)
LIMIT_SQL = "LIMIT ? + 0"

Row = tuple[Any, ...]


def _repair(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def fetch_all(
    conn: apsw.Connection,
    sql: str,
    params: Sequence[Any] = (),
    *,
    blob_sql: str | None = None,
) -> list[Row]:
    """Every row of ``sql``; with ``blob_sql`` (the same query, text cast to BLOB),
    invalid UTF-8 reads as U+FFFD instead of raising."""
    try:
        return conn.execute(sql, params).fetchall()
    except UnicodeDecodeError:
        if blob_sql is None:
            raise
        return [tuple(_repair(v) for v in row) for row in conn.execute(blob_sql, params)]
