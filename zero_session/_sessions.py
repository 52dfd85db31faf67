"""SQL and logic for session rows: start, end, fork, resume claims, lookup and listing.

Every function takes an open apsw connection and runs inside whatever transaction the
``Store`` has begun; none of them locks or commits.  Every query reads a session's
labels from its row (``sessions.labels``, kept in step with the ``session.label.*``
milestones by the triggers of migration 6), and every lookup is an index read, so
listing and finding cost the same whatever the number of sessions in the file.  The hot
reads (``get``, ``find``, the listing) build ``Session`` values straight from the
query's tuples; the rest read a :class:`SessionRow` by field name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import apsw

from . import _liveness, _origins
from ._sql import LIMIT_SQL, Row, fetch_all
from ._typed import check_session_row
from .errors import AmbiguousSession, InvalidInput, SessionNotFound
from .ids import ULID_LENGTH, is_ulid, normalise_prefix
from .models import Session, Status

__all__ = [
    "LABEL_PREFIX",
    "MIN_PREFIX",
    "SELECT_SESSION_SQL",
    "SessionRow",
    "canonical_cwd",
    "compute_status",
    "find_plain_row",
    "find_row",
    "insert_session",
    "latest_row",
    "list_rows",
    "plain_row_by_ulid",
    "row_by_ulid",
    "to_session",
]

LABEL_PREFIX = "session.label."
MIN_PREFIX = 6
_MAX_CANDIDATES = 10


class SessionRow(NamedTuple):
    """One session as every session query reads it (:data:`SELECT_SESSION_SQL`).

    Read by name, never by position: a new column is one field here and one entry in
    ``_COLUMN_SQL``, in the same place.
    """

    id: int
    ulid: str
    parent_ulid: str | None
    fork_seq: int
    started_at_ms: int
    ended_at_ms: int | None
    last_seq: int
    last_event_at_ms: int | None
    cli_version: str | None
    engine_base_url: str | None
    cwd: str | None
    meta: str
    writer_host: str | None
    writer_pid: int | None
    writer_token: str | None
    archived_at_ms: int | None
    expires_at_ms: int | None
    labels: str | None
    """The session's labels joined by U+001F, or None."""
    origin_store_id: str | None
    """None for this store's own sessions, else the store a pulled session belongs to."""
    origin_labels: str | None
    """A pulled session's labels in its origin store, as a JSON array, or None."""


# The SQL expression of each SessionRow field, in the same order.  Free text (which the
# sqlite3 shell may have filled with invalid UTF-8) is read again as BLOB by _fetch.
_COLUMN_SQL = {
    "id": "s.id",
    "ulid": "s.ulid",
    # A scalar lookup, not a LEFT JOIN: the join made SQLite's point lookup by ulid ~4x
    # slower (measured: 28 µs against 6 µs on a 10k-session file).  Only for a fork: a
    # root session's NULL is ~0.2 µs less per row than a lookup that finds nothing.
    "parent_ulid": "CASE WHEN s.parent_id IS NOT NULL THEN "
    "(SELECT p.ulid FROM sessions AS p WHERE p.id = s.parent_id) END",
    "fork_seq": "s.fork_seq",
    "started_at_ms": "s.started_at_ms",
    "ended_at_ms": "s.ended_at_ms",
    "last_seq": "s.last_seq",
    "last_event_at_ms": "s.last_event_at_ms",
    "cli_version": "s.cli_version",
    "engine_base_url": "s.engine_base_url",
    "cwd": "s.cwd",
    "meta": "s.meta",
    "writer_host": "s.writer_host",
    "writer_pid": "s.writer_pid",
    "writer_token": "s.writer_token",
    "archived_at_ms": "s.archived_at_ms",
    "expires_at_ms": "s.expires_at_ms",
    # Stored on the row and kept by triggers on milestones (migration 6): the correlated
    # lookup it replaces cost ~0.6 µs a row, a third of a listing's SQLite time.
    "labels": "s.labels",
    "origin_store_id": "s.origin_store_id",
    "origin_labels": "s.origin_labels",
}
_FREE_TEXT = ("cli_version", "engine_base_url", "cwd", "meta", "labels", "origin_labels")
assert tuple(_COLUMN_SQL) == SessionRow._fields
_FROM_SQL = "FROM sessions AS s"
SELECT_SESSION_SQL = f"SELECT {', '.join(_COLUMN_SQL.values())} {_FROM_SQL}"
_SELECT_SESSION_BLOB_SQL = (
    "SELECT "
    + ", ".join(
        f"CAST({sql} AS BLOB)" if name in _FREE_TEXT else sql for name, sql in _COLUMN_SQL.items()
    )
    + f" {_FROM_SQL}"
)


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
    """The status of a session row: live beats everything, then archived, expired, ended.

    ``to_session`` applies the same rule inline (it runs for every listed row).
    """
    if row.ended_at_ms is None and _liveness.is_alive(
        row.writer_host, row.writer_pid, row.writer_token
    ):
        return Status.LIVE
    if row.archived_at_ms is not None:
        return Status.ARCHIVED
    if row.expires_at_ms is not None and row.expires_at_ms <= now_ms:
        return Status.EXPIRED
    if row.ended_at_ms is not None:
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


# Sessions are built without attrs' generated __init__ (nineteen object.__setattr__
# calls by name): the slots are filled through their descriptors, one call each (a whole
# to_session ~1.2 µs against ~1.6 µs through __init__, Python 3.11, attrs 26).  Session
# has no validators or converters to skip (tests/test_fast_paths.py checks that, and the
# equality with the regular constructor).
_new = object.__new__
# Every field of Session, in order: to_session fills each one.
_SESSION_FIELDS = (
    "ulid",
    "parent_ulid",
    "fork_seq",
    "started_at_ms",
    "ended_at_ms",
    "last_seq",
    "last_event_at_ms",
    "cli_version",
    "engine_base_url",
    "cwd",
    "meta",
    "labels",
    "status",
    "archived_at_ms",
    "expires_at_ms",
    "writer_pid",
    "writer_host",
    "origin",
    "origin_labels",
)
(
    _set_ulid,
    _set_parent_ulid,
    _set_fork_seq,
    _set_started_at_ms,
    _set_ended_at_ms,
    _set_last_seq,
    _set_last_event_at_ms,
    _set_cli_version,
    _set_engine_base_url,
    _set_cwd,
    _set_meta,
    _set_labels,
    _set_status,
    _set_archived_at_ms,
    _set_expires_at_ms,
    _set_writer_pid,
    _set_writer_host,
    _set_origin,
    _set_origin_labels,
) = (Session.__dict__[name].__set__ for name in _SESSION_FIELDS)


_LABEL_SEPARATOR = "\x1f"
# The statuses as plain names: `Status.ENDED` costs ~65 ns a lookup (enum class
# attribute access), and to_session runs for every listed row.
_LIVE, _ARCHIVED, _EXPIRED, _ENDED, _INTERRUPTED = (
    Status.LIVE,
    Status.ARCHIVED,
    Status.EXPIRED,
    Status.ENDED,
    Status.INTERRUPTED,
)


def to_session(row: Row, now_ms: int) -> Session:
    """A ``Session`` value from one row in :class:`SessionRow`'s order (a SessionRow or
    the plain tuple a query returns); StorageError for an integer column that holds
    something else (see ``_typed``)."""
    # One unpacking in SessionRow's order (the assert under _COLUMN_SQL keeps it in
    # step) instead of nineteen attribute reads.
    (
        _,
        ulid,
        parent_ulid,
        fork_seq,
        started_at_ms,
        ended_at_ms,
        last_seq,
        last_event_at_ms,
        cli_version,
        engine_base_url,
        cwd,
        meta,
        writer_host,
        writer_pid,
        writer_token,
        archived_at_ms,
        expires_at_ms,
        labels,
        origin_store_id,
        origin_labels,
    ) = row
    # The integer columns, checked inline (~0.1 µs; _typed names the culprit).
    if not (
        type(fork_seq) is type(started_at_ms) is type(last_seq) is int
        and (ended_at_ms is None or type(ended_at_ms) is int)
        and (last_event_at_ms is None or type(last_event_at_ms) is int)
        and (writer_pid is None or type(writer_pid) is int)
        and (archived_at_ms is None or type(archived_at_ms) is int)
        and (expires_at_ms is None or type(expires_at_ms) is int)
    ):
        check_session_row(SessionRow._make(row))
    if ended_at_ms is None and _liveness.is_alive(writer_host, writer_pid, writer_token):
        status = _LIVE
    elif archived_at_ms is not None:
        status = _ARCHIVED
    elif expires_at_ms is not None and expires_at_ms <= now_ms:
        status = _EXPIRED
    elif ended_at_ms is not None:
        status = _ENDED
    else:
        status = _INTERRUPTED
    session = _new(Session)
    _set_ulid(session, ulid)
    _set_parent_ulid(session, parent_ulid)
    _set_fork_seq(session, fork_seq)
    _set_started_at_ms(session, started_at_ms)
    _set_ended_at_ms(session, ended_at_ms)
    _set_last_seq(session, last_seq)
    _set_last_event_at_ms(session, last_event_at_ms)
    _set_cli_version(session, cli_version)
    _set_engine_base_url(session, engine_base_url)
    _set_cwd(session, cwd)
    _set_meta(session, {} if meta == "{}" else _decode_meta(meta))
    _set_labels(session, _split_labels(labels) if labels else ())
    _set_status(session, status)
    _set_archived_at_ms(session, archived_at_ms)
    _set_expires_at_ms(session, expires_at_ms)
    _set_writer_pid(session, writer_pid)
    _set_writer_host(session, writer_host)
    _set_origin(session, origin_store_id)
    _set_origin_labels(session, _origins.decode_labels(origin_labels) if origin_labels else ())
    return session


def _split_labels(joined: str) -> tuple[str, ...]:
    """The labels column (names joined by U+001F) as a sorted tuple."""
    if _LABEL_SEPARATOR not in joined:
        return (joined,)
    return tuple(sorted(joined.split(_LABEL_SEPARATOR)))


# Each query's BLOB twin, made once (the queries are a handful of constants and listing
# shapes): replacing the column list in a ~1 KB string on every read cost ~1 µs.
_BLOB_TWIN_SQL: dict[str, str] = {}


def _fetch_plain(conn: apsw.Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    """Rows of ``sql`` in :class:`SessionRow`'s order, as plain tuples (see :func:`_fetch`)."""
    blob_sql = _BLOB_TWIN_SQL.get(sql)
    if blob_sql is None:
        if SELECT_SESSION_SQL not in sql:
            return _fetch_plain(conn, SELECT_SESSION_SQL + sql, params)
        blob_sql = sql.replace(SELECT_SESSION_SQL, _SELECT_SESSION_BLOB_SQL, 1)
        if len(_BLOB_TWIN_SQL) < 256:
            _BLOB_TWIN_SQL[sql] = blob_sql
    return fetch_all(conn, sql, params, blob_sql=blob_sql)


def _fetch(conn: apsw.Connection, sql: str, params: Sequence[Any]) -> list[SessionRow]:
    """Session rows of ``sql``: a query that contains :data:`SELECT_SESSION_SQL` (a CTE
    may come before it, a JOIN after it), or only the tail (WHERE, ORDER BY) to put after
    it.  Free text that is not valid UTF-8 is read again as BLOB and repaired."""
    return list(map(SessionRow._make, _fetch_plain(conn, sql, params)))


_BY_ULID_SQL = SELECT_SESSION_SQL + " WHERE s.ulid = ?"


_BY_ULID_BLOB_SQL = _BY_ULID_SQL.replace(SELECT_SESSION_SQL, _SELECT_SESSION_BLOB_SQL, 1)


def plain_row_by_ulid(conn: apsw.Connection, ulid: str) -> Row | None:
    """The row of the session with this exact ulid as a plain tuple in
    :class:`SessionRow`'s order (for :func:`to_session`), or None."""
    rows = fetch_all(conn, _BY_ULID_SQL, (ulid,), blob_sql=_BY_ULID_BLOB_SQL)
    return rows[0] if rows else None


def row_by_ulid(conn: apsw.Connection, ulid: str) -> SessionRow | None:
    """The row of the session with this exact ulid, or None."""
    row = plain_row_by_ulid(conn, ulid)
    return SessionRow._make(row) if row is not None else None


def require_row(conn: apsw.Connection, ulid: str) -> SessionRow:
    """The row of the session with this exact ulid; SessionNotFound otherwise."""
    row = row_by_ulid(conn, ulid)
    if row is None:
        raise SessionNotFound(ulid)
    return row


def find_row(conn: apsw.Connection, needle: str) -> SessionRow:
    """:func:`find_plain_row` as a :class:`SessionRow`."""
    return SessionRow._make(find_plain_row(conn, needle))


def find_plain_row(conn: apsw.Connection, needle: str) -> Row:
    """Resolve ``needle``: an exact ulid, then a label, then a unique ulid prefix; the
    row as a plain tuple in :class:`SessionRow`'s order.

    Prefixes must be at least six characters; they are case-insensitive and read
    Crockford's aliases (I and L as 1, O as 0).  Every step is an index lookup, and a
    prefix is one statement (the label's target, else the prefix's first two sessions).
    Raises SessionNotFound, AmbiguousSession, InvalidInput (empty), TypeError.
    """
    if not isinstance(needle, str):
        raise TypeError(f"needle must be a str, not {type(needle).__name__}")
    stripped = needle.strip()
    if not stripped:
        raise InvalidInput("needle is empty; give a ulid, a label or a ulid prefix")
    prefix = normalise_prefix(stripped)
    if prefix is not None and len(prefix) == ULID_LENGTH and is_ulid(prefix):
        row = plain_row_by_ulid(conn, prefix)
        if row is not None:
            return row
    if prefix is None or len(prefix) < MIN_PREFIX:
        rows = _fetch_plain(conn, _BY_LABEL_SQL, (LABEL_PREFIX + stripped,))
        if rows:
            return rows[0]
        detail = f"a prefix needs at least {MIN_PREFIX} characters" if prefix else ""
        raise SessionNotFound(needle, detail)
    upper = prefix + "Z" * (ULID_LENGTH - len(prefix))
    found = fetch_all(
        conn, _FIND_SQL, (LABEL_PREFIX + stripped, prefix, upper), blob_sql=_FIND_BLOB_SQL
    )
    if not found:  # no such prefix, or a label that names a missing session
        found = fetch_all(conn, _BY_PREFIX_SQL, (prefix, upper), blob_sql=_BY_PREFIX_BLOB_SQL)
        if not found:
            raise SessionNotFound(needle)
    if len(found) == 1:  # the label's target, or the one session of the prefix
        return found[0]
    matches = [ulid for (ulid,) in fetch_all(conn, _PREFIX_ULIDS_SQL, (prefix, upper))]
    more = len(matches) > _MAX_CANDIDATES
    raise AmbiguousSession(needle, matches[:_MAX_CANDIDATES], more=more)


_BY_LABEL_SQL = SELECT_SESSION_SQL + " WHERE s.ulid = (SELECT value FROM milestones WHERE key = ?)"
# find's label step and its prefix step in one range read: a label (which beats a
# prefix) narrows the range to its target's ulid, else the range is the prefix's, of
# which two rows tell whether it is unique.  (A UNION of the two steps cost ~0.5 µs more.)
_BY_PREFIX_SQL = SELECT_SESSION_SQL + " WHERE s.ulid >= ? AND s.ulid <= ? ORDER BY s.ulid LIMIT 2"
_BY_PREFIX_BLOB_SQL = _BY_PREFIX_SQL.replace(SELECT_SESSION_SQL, _SELECT_SESSION_BLOB_SQL, 1)
_LABEL_TARGET_SQL = "(SELECT value FROM milestones WHERE key = ?1)"
_FIND_SQL = (
    f"{SELECT_SESSION_SQL} WHERE s.ulid >= coalesce({_LABEL_TARGET_SQL}, ?2) "
    f"AND s.ulid <= coalesce({_LABEL_TARGET_SQL}, ?3) ORDER BY s.ulid LIMIT 2"
)
_FIND_BLOB_SQL = _FIND_SQL.replace(SELECT_SESSION_SQL, _SELECT_SESSION_BLOB_SQL, 1)
# An ambiguous prefix's candidates (one more than are named, to say there are more).
_PREFIX_ULIDS_SQL = (
    "SELECT ulid FROM sessions WHERE ulid >= ? AND ulid <= ? "
    f"ORDER BY ulid LIMIT {_MAX_CANDIDATES + 1}"
)


def list_rows(
    conn: apsw.Connection,
    *,
    limit: int | None,
    before: tuple[int, int] | None,
    include_archived: bool,
    conditions: Sequence[str] = (),
    condition_params: Sequence[Any] = (),
) -> list[Row]:
    """Sessions newest first (ties: later-created first), read along the listing index,
    as plain rows in :class:`SessionRow`'s order (for :func:`to_session`).

    ``conditions`` are extra SQL filters on alias ``s`` with their ``condition_params``.
    """
    if limit is not None and before is None and not include_archived and not conditions:
        # The listing every program shows first: its statement made once.
        return fetch_all(conn, _NEWEST_LIMIT_SQL, (limit,), blob_sql=_NEWEST_LIMIT_BLOB_SQL)
    where: list[str] = list(conditions)
    params: list[Any] = list(condition_params)
    if before is not None:
        where.append("(s.started_at_ms < ? OR (s.started_at_ms = ? AND s.id < ?))")
        params += [before[0], before[0], before[1]]
    if not include_archived:
        where.append("s.archived_at_ms IS NULL")
    sql = SELECT_SESSION_SQL
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY s.started_at_ms DESC, s.id DESC"
    if limit is not None:
        sql += f" {LIMIT_SQL}"
        params.append(limit)
    return _fetch_plain(conn, sql, params)


_NEWEST_SQL = (
    SELECT_SESSION_SQL + " WHERE s.archived_at_ms IS NULL ORDER BY s.started_at_ms DESC, s.id DESC"
)
_NEWEST_LIMIT_SQL = f"{_NEWEST_SQL} {LIMIT_SQL}"
_NEWEST_LIMIT_BLOB_SQL = _NEWEST_LIMIT_SQL.replace(SELECT_SESSION_SQL, _SELECT_SESSION_BLOB_SQL, 1)


def latest_row(conn: apsw.Connection, cwd: str) -> SessionRow | None:
    """The newest unarchived session of ``cwd`` or of its nearest ancestor that has one."""
    path = cwd
    while True:
        rows = _fetch(
            conn,
            SELECT_SESSION_SQL + " WHERE s.cwd = ? AND s.archived_at_ms IS NULL "
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
    """Record the end (keeping an earlier end time); False when no such session.

    Raises ForeignSession for a session pulled from another store.
    """
    try:
        conn.execute(
            "UPDATE sessions SET ended_at_ms = coalesce(ended_at_ms, ?) WHERE ulid = ?",
            (now_ms, ulid),
        )
    except apsw.ConstraintError:
        _origins.refuse_foreign(conn, ulid)  # the file refuses to end a pulled session
        raise
    return bool(conn.changes())
