"""SQL and logic for session rows: start, end, fork, resume claims, lookup and listing.

Every function takes an open apsw connection and runs inside whatever transaction the
``Store`` has begun; none of them locks or commits.  Listings read the labels of each
session in the same query (a correlated lookup on ``milestones_by_value``), so listing
costs the same whatever the number of sessions in the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import apsw

from . import _liveness
from ._sql import Row, fetch_all
from ._typed import check_session_row
from .errors import AmbiguousSession, InvalidInput, SessionNotFound
from .ids import is_ulid, normalise_prefix
from .models import Session, Status

__all__ = [
    "LABEL_PREFIX",
    "MIN_PREFIX",
    "SessionRow",
    "canonical_cwd",
    "compute_status",
    "find_row",
    "insert_session",
    "latest_row",
    "list_rows",
    "row_by_ulid",
    "to_session",
]

LABEL_PREFIX = "session.label."
MIN_PREFIX = 6
_MAX_CANDIDATES = 10

SessionRow = Row

# Column order shared by every session query; ``to_session`` reads it.
_COLUMNS = """
    s.id, s.ulid, p.ulid, s.fork_seq, s.started_at_ms, s.ended_at_ms, s.last_seq,
    s.last_event_at_ms, s.cli_version, s.engine_base_url, s.cwd, s.meta,
    s.writer_host, s.writer_pid, s.writer_token, s.archived_at_ms, s.expires_at_ms,
    (SELECT group_concat(substr(m.key, 15), char(31))
       FROM milestones AS m
      WHERE m.value = s.ulid
        AND m.key >= 'session.label.' AND m.key < 'session.label/') AS labels
"""
_FROM = "FROM sessions AS s LEFT JOIN sessions AS p ON p.id = s.parent_id"
SELECT_SESSION = f"SELECT {_COLUMNS} {_FROM}"


def canonical_cwd(path: str | os.PathLike[str] | None) -> str:
    """An absolute path with symlinks resolved, so the same folder always compares equal.

    A folder name that is not valid UTF-8 is kept with U+FFFD in place of the bad bytes
    (SQLite text must be UTF-8), the same way for ``start`` and ``latest``.
    """
    if path is None:
        path = os.getcwd()
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"cwd must be a path, not {type(path).__name__}")
    try:
        raw = os.fsencode(os.path.realpath(os.fspath(path)))
    except ValueError as exc:  # a NUL, or a lone surrogate: no file name holds those
        raise InvalidInput(f"cwd {path!r} is not a possible path ({exc})") from exc
    return raw.decode("utf-8", "replace")


def compute_status(row: SessionRow, now_ms: int) -> Status:
    """The status of a session row: live beats everything, then archived, expired, ended."""
    ended_at_ms, archived_at_ms, expires_at_ms = row[5], row[15], row[16]
    if ended_at_ms is None and _liveness.is_alive(row[12], row[13], row[14]):
        return Status.LIVE
    if archived_at_ms is not None:
        return Status.ARCHIVED
    if expires_at_ms is not None and expires_at_ms <= now_ms:
        return Status.EXPIRED
    if ended_at_ms is not None:
        return Status.ENDED
    return Status.INTERRUPTED


def _decode_meta(raw: Any) -> dict[str, Any]:
    if not raw or raw == "{}":  # most sessions: no json call (nor import)
        return {}
    import json  # here: ~1.5 ms of `import zero_session`

    try:
        meta = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def to_session(row: SessionRow, now_ms: int) -> Session:
    """A ``Session`` value from a row selected with ``SELECT_SESSION``; StorageError for
    an integer column that holds something else (see ``_typed``)."""
    check_session_row(row)
    labels = tuple(sorted(row[17].split("\x1f"))) if row[17] else ()
    return Session(
        ulid=row[1],
        parent_ulid=row[2],
        fork_seq=row[3],
        started_at_ms=row[4],
        ended_at_ms=row[5],
        last_seq=row[6],
        last_event_at_ms=row[7],
        cli_version=row[8],
        engine_base_url=row[9],
        cwd=row[10],
        meta=_decode_meta(row[11]),
        labels=labels,
        status=compute_status(row, now_ms),
        archived_at_ms=row[15],
        expires_at_ms=row[16],
        writer_pid=row[13],
        writer_host=row[12],
    )


_BLOB_TEXT = (
    "CAST(s.cli_version AS BLOB), CAST(s.engine_base_url AS BLOB), "
    "CAST(s.cwd AS BLOB), CAST(s.meta AS BLOB)"
)


_LABELS = "group_concat(substr(m.key, 15), char(31))"


def _fetch(conn: apsw.Connection, sql: str, params: Sequence[Any]) -> list[SessionRow]:
    blob_sql = sql.replace(
        "s.cli_version, s.engine_base_url, s.cwd, s.meta", _BLOB_TEXT, 1
    ).replace(_LABELS, f"CAST({_LABELS} AS BLOB)", 1)
    return fetch_all(conn, sql, params, blob_sql=blob_sql)


def row_by_ulid(conn: apsw.Connection, ulid: str) -> SessionRow | None:
    """The row of the session with this exact ulid, or None."""
    rows = _fetch(conn, f"{SELECT_SESSION} WHERE s.ulid = ?", (ulid,))
    return rows[0] if rows else None


def require_row(conn: apsw.Connection, ulid: str) -> SessionRow:
    """The row of the session with this exact ulid; SessionNotFound otherwise."""
    row = row_by_ulid(conn, ulid)
    if row is None:
        raise SessionNotFound(ulid)
    return row


def find_row(conn: apsw.Connection, needle: str) -> SessionRow:
    """Resolve ``needle``: an exact ulid, then a label, then a unique ulid prefix.

    Prefixes must be at least six characters; they are case-insensitive and read
    Crockford's aliases (I and L as 1, O as 0).  Every step is an index lookup.
    """
    if not isinstance(needle, str):
        raise TypeError(f"needle must be a str, not {type(needle).__name__}")
    stripped = needle.strip()
    if not stripped:
        raise InvalidInput("needle is empty; give a ulid, a label or a ulid prefix")
    prefix = normalise_prefix(stripped)
    if prefix is not None and is_ulid(prefix):
        row = row_by_ulid(conn, prefix)
        if row is not None:
            return row
    label_target = fetch_all(
        conn, "SELECT value FROM milestones WHERE key = ?", (LABEL_PREFIX + stripped,)
    )
    if label_target:
        row = row_by_ulid(conn, label_target[0][0])
        if row is not None:
            return row
    if prefix is None or len(prefix) < MIN_PREFIX:
        detail = f"a prefix needs at least {MIN_PREFIX} characters" if prefix else ""
        raise SessionNotFound(needle, detail)
    upper = prefix + "Z" * (26 - len(prefix))
    matches = fetch_all(
        conn,
        "SELECT ulid FROM sessions WHERE ulid >= ? AND ulid <= ? ORDER BY ulid LIMIT ?",
        (prefix, upper, _MAX_CANDIDATES + 1),
    )
    if not matches:
        raise SessionNotFound(needle)
    if len(matches) > 1:
        more = len(matches) > _MAX_CANDIDATES
        raise AmbiguousSession(needle, [m[0] for m in matches[:_MAX_CANDIDATES]], more=more)
    return require_row(conn, matches[0][0])


def list_rows(
    conn: apsw.Connection,
    *,
    limit: int | None,
    before: tuple[int, int] | None,
    include_archived: bool,
    conditions: Sequence[str] = (),
    condition_params: Sequence[Any] = (),
) -> list[SessionRow]:
    """Sessions newest first (ties: later-created first), read along the listing index.

    ``conditions`` are extra SQL filters on alias ``s`` with their ``condition_params``.
    """
    where: list[str] = list(conditions)
    params: list[Any] = list(condition_params)
    if before is not None:
        where.append("(s.started_at_ms < ? OR (s.started_at_ms = ? AND s.id < ?))")
        params += [before[0], before[0], before[1]]
    if not include_archived:
        where.append("s.archived_at_ms IS NULL")
    sql = SELECT_SESSION
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY s.started_at_ms DESC, s.id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return _fetch(conn, sql, params)


def latest_row(conn: apsw.Connection, cwd: str) -> SessionRow | None:
    """The newest unarchived session of ``cwd`` or of its nearest ancestor that has one."""
    path = cwd
    while True:
        rows = _fetch(
            conn,
            f"{SELECT_SESSION} WHERE s.cwd = ? AND s.archived_at_ms IS NULL "
            "ORDER BY s.started_at_ms DESC, s.id DESC LIMIT 1",
            (path,),
        )
        if rows:
            return rows[0]
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def insert_session(
    conn: apsw.Connection,
    *,
    ulid: str,
    parent_id: int | None,
    fork_seq: int,
    started_at_ms: int,
    cli_version: str | None,
    engine_base_url: str | None,
    cwd: str | None,
    meta_json: str,
    expires_at_ms: int | None,
) -> None:
    """Insert a new session row owned by this process."""
    writer = _liveness.current_writer()
    conn.execute(
        "INSERT INTO sessions (ulid, parent_id, fork_seq, started_at_ms, last_seq, "
        "cli_version, engine_base_url, cwd, meta, writer_host, writer_pid, writer_token, "
        "expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ulid,
            parent_id,
            fork_seq,
            started_at_ms,
            fork_seq,
            cli_version,
            engine_base_url,
            cwd,
            meta_json,
            writer.host,
            writer.pid,
            writer.token,
            expires_at_ms,
        ),
    )


def claim_for_writing(conn: apsw.Connection, session_id: int, updates: dict[str, Any]) -> None:
    """Make this process the session's writer and reopen it (clears ``ended_at_ms``)."""
    writer = _liveness.current_writer()
    columns = {
        "ended_at_ms": None,
        "writer_host": writer.host,
        "writer_pid": writer.pid,
        "writer_token": writer.token,
        **updates,
    }
    assignments = ", ".join(f"{name} = ?" for name in columns)
    conn.execute(f"UPDATE sessions SET {assignments} WHERE id = ?", (*columns.values(), session_id))


def end_session(conn: apsw.Connection, ulid: str, now_ms: int) -> bool:
    """Record the end (keeping an earlier end time); False when no such session."""
    conn.execute(
        "UPDATE sessions SET ended_at_ms = coalesce(ended_at_ms, ?) WHERE ulid = ?",
        (now_ms, ulid),
    )
    return bool(conn.changes())
