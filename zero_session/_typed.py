"""Integer columns read back as integers, or a clear error.

Since schema version 4 the database refuses text and reals in its integer columns, but a
file written before (or edited with the guards dropped) may still hold them.  Such a
value must never reach a caller as ``Event.at_ms == 'abc'`` or ``Event.seq == 2.5``, nor
break a computation later as a bare ``TypeError``: every row is checked as it is read,
and a wrong type raises :class:`~zero_session.errors.StorageError` naming the session,
the column and the value.  ``Store.check()`` lists every such row.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any

from .errors import StorageError

__all__ = ["SESSION_INT_COLUMNS", "check_event_rows", "check_session_row", "wrong_type"]

# The integer columns of a session row (_sessions.SessionRow), and whether NULL is allowed.
SESSION_INT_COLUMNS: tuple[tuple[str, bool], ...] = (
    ("fork_seq", False),
    ("started_at_ms", False),
    ("ended_at_ms", True),
    ("last_seq", False),
    ("last_event_at_ms", True),
    ("writer_pid", True),
    ("archived_at_ms", True),
    ("expires_at_ms", True),
)
_REQUIRED = attrgetter(*(name for name, nullable in SESSION_INT_COLUMNS if not nullable))
_NULLABLE = attrgetter(*(name for name, nullable in SESSION_INT_COLUMNS if nullable))
_INT = frozenset({int})
_INT_OR_NONE = frozenset({int, type(None)})

_SEQ_AND_TIME = itemgetter(0, 1)


def wrong_type(ulid: object, table: str, column: str, value: object) -> StorageError:
    """The error for a wrongly typed value read from ``table.column``."""
    return StorageError(
        f"session {ulid}: {table}.{column} holds {value!r} ({type(value).__name__}), "
        "not an integer; the file was edited outside zero_session (Store.check() lists "
        "every such row)"
    )


def check_session_row(row: Any) -> None:
    """Raise StorageError unless every integer column of a session row (a SessionRow) is
    an int: two passes in C, then a search only when one fails."""
    if set(map(type, _REQUIRED(row))) <= _INT and set(map(type, _NULLABLE(row))) <= _INT_OR_NONE:
        return
    for column, nullable in SESSION_INT_COLUMNS:
        value = getattr(row, column)
        if type(value) is not int and not (nullable and value is None):
            raise wrong_type(row.ulid, "sessions", column, value)


def check_event_rows(ulid: str, rows: Sequence[Sequence[Any]]) -> None:
    """Raise StorageError unless ``seq`` and ``at_ms`` (the first two columns of every
    row) are ints: one pass in C over the page, then a search only when it fails."""
    if set(map(type, chain.from_iterable(map(_SEQ_AND_TIME, rows)))) <= _INT:
        return
    for row in rows:
        for column, value in zip(("seq", "at_ms"), row[:2], strict=True):
            if type(value) is not int:
                raise wrong_type(ulid, "events", column, value)
