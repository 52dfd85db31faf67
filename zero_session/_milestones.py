"""SQL and validation for milestones and the labels stored among them.

A milestone is a key → text fact with the time it was last set.  A label is the
milestone ``session.label.<name>`` whose value is a session ulid, so one name points at
one session and a session may carry several names.  Those keys are reserved: they are
written only through ``label``/``unlabel``, which check that the ulid exists.
"""

from __future__ import annotations

from typing import Any

import apsw

from ._scopes import SCOPE_PREFIX
from ._sessions import LABEL_PREFIX
from ._sql import fetch_all
from .errors import InvalidInput
from .models import Milestone

__all__ = [
    "check_key",
    "check_label",
    "delete_key",
    "get_value",
    "list_milestones",
    "set_value",
    "set_value_once",
]

MAX_LABEL = 64
MAX_KEY = 512
# Keys the library keeps for itself: the store's identity (``zero_session.store_id``)
# and the sync cursors (``zero_session.sync.*``), written only by ``zero_session.sync``.
INTERNAL_PREFIX = "zero_session."


def check_label(name: object) -> str:
    """The label if it is 1-64 printable characters without whitespace; else InvalidInput."""
    if not isinstance(name, str):
        raise TypeError(f"label must be a str, not {type(name).__name__}")
    if not 1 <= len(name) <= MAX_LABEL:
        raise InvalidInput(f"label must be 1-{MAX_LABEL} characters, got {len(name)}")
    if not name.isprintable() or any(ch.isspace() for ch in name):
        raise InvalidInput(f"label {name!r} must be printable characters without whitespace")
    if any("\ud800" <= ch <= "\udfff" for ch in name):
        raise InvalidInput(f"label {name!r} is not valid Unicode")
    return name


def check_key(key: object, *, allow_reserved: bool = False) -> str:
    """A milestone key: 1-512 characters; ``session.label.*`` only through labels,
    ``session.scope.*`` only through ``start(scope=...)``, and ``zero_session.*`` (the
    store's identity, the sync cursors) never through the API."""
    if not isinstance(key, str):
        raise TypeError(f"milestone key must be a str, not {type(key).__name__}")
    if not 1 <= len(key) <= MAX_KEY:
        raise InvalidInput(f"milestone key must be 1-{MAX_KEY} characters, got {len(key)}")
    if not allow_reserved and key.startswith(LABEL_PREFIX):
        raise InvalidInput(
            f"milestone key {key!r} is reserved for labels; use Store.label()/unlabel()"
        )
    if not allow_reserved and key.startswith(SCOPE_PREFIX):
        raise InvalidInput(
            f"milestone key {key!r} is reserved for session scopes; use Store.start(scope=...)"
        )
    if not allow_reserved and key.startswith(INTERNAL_PREFIX):
        raise InvalidInput(
            f"milestone key {key!r} is reserved for zero_session itself (store identity, sync)"
        )
    return key


def check_value(value: object, max_bytes: int) -> str:
    """A milestone value: a str no larger than the store's per-event cap."""
    if not isinstance(value, str):
        raise TypeError(f"milestone value must be a str, not {type(value).__name__}")
    if len(value) * 4 > max_bytes and len(value.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InvalidInput(f"milestone value is larger than the cap of {max_bytes:,} bytes")
    return value


def set_value(conn: apsw.Connection, key: str, value: str, at_ms: int) -> None:
    """Insert or overwrite ``key``."""
    conn.execute(
        "INSERT INTO milestones (key, value, at_ms) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, at_ms = excluded.at_ms",
        (key, value, at_ms),
    )


def set_value_once(conn: apsw.Connection, key: str, value: str, at_ms: int) -> bool:
    """Insert ``key`` unless it exists; whether this call wrote it."""
    conn.execute(
        "INSERT INTO milestones (key, value, at_ms) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (key, value, at_ms),
    )
    return bool(conn.changes())


def get_value(conn: apsw.Connection, key: str) -> str | None:
    """The value of ``key``, or None."""
    rows = _fetch(conn, "SELECT key, value, at_ms FROM milestones WHERE key = ?", (key,))
    return rows[0].value if rows else None


def delete_key(conn: apsw.Connection, key: str) -> bool:
    """Remove ``key``; whether it existed."""
    conn.execute("DELETE FROM milestones WHERE key = ?", (key,))
    return bool(conn.changes())


def _upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix``.

    SQLite compares text as UTF-8 bytes, which is code point order.  None when no such
    string exists (the prefix is all U+10FFFF); the surrogates, which UTF-8 cannot hold,
    are skipped.
    """
    stem = prefix.rstrip("\U0010ffff")
    if not stem:
        return None
    following = ord(stem[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000
    return stem[:-1] + chr(following)


def list_milestones(conn: apsw.Connection, prefix: str) -> list[Milestone]:
    """Milestones whose key starts with ``prefix``, in key order, read along the key."""
    upper = _upper_bound(prefix) if prefix else None
    if not prefix:
        return _fetch(conn, "SELECT key, value, at_ms FROM milestones ORDER BY key", ())
    if upper is None:
        return _fetch(
            conn, "SELECT key, value, at_ms FROM milestones WHERE key >= ? ORDER BY key", (prefix,)
        )
    return _fetch(
        conn,
        "SELECT key, value, at_ms FROM milestones WHERE key >= ? AND key < ? ORDER BY key",
        (prefix, upper),
    )


def _fetch(conn: apsw.Connection, sql: str, params: tuple[Any, ...]) -> list[Milestone]:
    blob_sql = sql.replace("key, value", "CAST(key AS BLOB), CAST(value AS BLOB)", 1)
    rows = fetch_all(conn, sql, params, blob_sql=blob_sql)
    return [Milestone(key, value, at_ms) for key, value, at_ms in rows]
