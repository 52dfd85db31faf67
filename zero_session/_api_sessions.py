"""Store methods for sessions: start, end, lookup, listing, fork and resume.

The SQL lives in ``_sessions``; these methods validate arguments, hold the mutex
through ``StoreCore``'s transactions and turn rows into ``Session`` values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _events, _filters, _origins, _scopes, _sessions
from ._liveness import current_writer
from ._store_core import (
    MAX_TIME_MS,
    NOT_ARCHIVED_SQL,
    SessionRef,
    StoreCore,
    check_int,
    check_optional_text,
)
from .errors import InvalidInput, SessionActive, SessionBusy, SessionNotFound
from .ids import new_ulid
from .models import Resumed, Session, Status

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = ["SessionMethods", "encode_meta"]


def encode_meta(meta: object, max_bytes: int) -> str:
    """``meta`` as JSON object text; TypeError unless it is a mapping."""
    if meta is None:
        return "{}"
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a dict, not {type(meta).__name__}")
    return _events.encode_data(dict(meta), max_bytes=max_bytes) or "{}"


class SessionMethods(StoreCore):
    """Starting, ending, finding, listing, forking and resuming sessions."""

    def start(
        self,
        *,
        cli_version: str | None = None,
        engine_base_url: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        meta: Mapping[str, Any] | None = None,
        ttl: timedelta | None = None,
        exclusive: bool = False,
        scope: str | None = None,
    ) -> Session:
        """Start a new session written by this process.

        ``cwd`` (default: the current directory) is stored with symlinks resolved;
        ``meta`` must be a JSON object; ``ttl`` makes it expire that long after its
        start.  The session holds a *scope* while it is live: ``scope`` when given, else
        its ``cwd``.  With ``exclusive=True`` the start is refused with SessionActive
        (naming the live session) when a live session already holds that scope; an
        ended session, or one whose process is gone, frees it.  The check and the start
        are one transaction, so of racing processes exactly one wins.
        Raises InvalidInput, ReadOnlyStore, SessionActive.
        """
        check_optional_text(cli_version, "cli_version")
        check_optional_text(engine_base_url, "engine_base_url")
        if not isinstance(exclusive, bool):
            raise TypeError(f"exclusive must be a bool, not {type(exclusive).__name__}")
        scope = _scopes.check_scope(scope)
        meta_json = encode_meta(meta, self._max_event_bytes)
        directory = _sessions.canonical_cwd(cwd)
        ttl_ms = None
        if ttl is not None:
            from datetime import timedelta  # here: ~1.5 ms of `import zero_session`

            if not isinstance(ttl, timedelta):
                raise TypeError(f"ttl must be a timedelta or None, not {type(ttl).__name__}")
            if ttl <= timedelta(0):
                raise InvalidInput(f"ttl must be a positive timedelta, got {ttl!r}")
            ttl_ms = ttl // timedelta(milliseconds=1)
            if ttl_ms > MAX_TIME_MS:
                raise InvalidInput(f"ttl {ttl!r} puts the expiry past the year 9999")
        ulid = new_ulid()
        with self._writing() as conn:
            now = self._now()
            if exclusive:
                holder = _scopes.live_holder(conn, scope=scope, cwd=directory, now_ms=now)
                if holder is not None:
                    raise SessionActive(
                        scope or directory, holder.ulid, holder.writer_pid, holder.writer_host
                    )
            expires = now + ttl_ms if ttl_ms is not None else None
            if expires is not None and expires > MAX_TIME_MS:
                raise InvalidInput(f"ttl {ttl!r} puts the expiry past the year 9999")
            _sessions.insert_session(
                conn,
                ulid=ulid,
                parent_id=None,
                fork_seq=0,
                started_at_ms=now,
                cli_version=cli_version,
                engine_base_url=engine_base_url,
                cwd=directory,
                meta_json=meta_json,
                expires_at_ms=expires,
            )
            if scope is not None:
                _scopes.record_scope(conn, ulid, scope, now)
            row = _sessions.require_row(conn, ulid)
        return _sessions.to_session(row, now)

    def end(self, session: SessionRef) -> Session:
        """Record the session's end; idempotent, the first end time is kept.

        Raises SessionNotFound.
        """
        ulid = self._ulid_of(session)
        with self._writing() as conn:
            now = self._now()
            if not _sessions.end_session(conn, ulid, now):
                raise SessionNotFound(ulid)
            row = _sessions.require_row(conn, ulid)
        return _sessions.to_session(row, now)

    def get(self, session: SessionRef) -> Session:
        """The session with this exact ulid.  Raises SessionNotFound, InvalidInput."""
        ulid = self._ulid_of(session)
        with self._reading() as conn:
            row = _sessions.plain_row_by_ulid(conn, ulid)
        if row is None:
            raise SessionNotFound(ulid)
        return _sessions.to_session(row, self._now())

    def find(self, needle: str) -> Session:
        """Resolve an exact ulid, else a label, else a unique ulid prefix (≥ 6 chars).

        Raises SessionNotFound, AmbiguousSession (with ``candidates``).
        """
        with self._reading() as conn:
            row = _sessions.find_plain_row(conn, needle)
        return _sessions.to_session(row, self._now())

    def list_sessions(
        self,
        limit: int | None = 20,
        *,
        before: SessionRef | None = None,
        include_archived: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> list[Session]:
        """Sessions newest first (ties: later-created first), with counts and labels.

        ``before`` continues a listing after the given session.  Archived sessions are
        left out unless ``include_archived``.  ``cwd`` keeps the sessions of the nearest
        directory (``cwd`` or its closest ancestor) that has a matching session, like
        :meth:`latest`; ``meta`` keeps sessions whose meta has these top-level values.
        Raises SessionNotFound for ``before``, InvalidInput for a bad meta filter.
        """
        if limit is not None:
            check_int(limit, "limit", minimum=1)
        conditions, params = _filters.meta_conditions(meta)
        directory = _sessions.canonical_cwd(cwd) if cwd is not None else None
        with self._reading() as conn:
            if directory is not None:
                probe = conditions if include_archived else [*conditions, NOT_ARCHIVED_SQL]
                found = _filters.nearest_directory(conn, directory, probe, params)
                if found is None:
                    return []
                conditions, params = ["s.cwd = ?", *conditions], [found, *params]
            cursor = None
            if before is not None:
                row = _sessions.require_row(conn, self._ulid_of(before))
                cursor = (row.started_at_ms, row.id)
            rows = _sessions.list_rows(
                conn,
                limit=limit,
                before=cursor,
                include_archived=include_archived,
                conditions=conditions,
                condition_params=params,
            )
        now = self._now()
        return [_sessions.to_session(row, now) for row in rows]

    def latest(self, cwd: str | os.PathLike[str] | None = None) -> Session | None:
        """The newest session started in ``cwd`` or its nearest ancestor that has one.

        ``cwd`` defaults to the current directory; symlinks are resolved.
        """
        directory = _sessions.canonical_cwd(cwd)
        with self._reading() as conn:
            row = _sessions.latest_row(conn, directory)
        return _sessions.to_session(row, self._now()) if row is not None else None

    def fork(self, session: SessionRef, at_seq: int | None = None) -> Session:
        """A child session that starts with the parent's first ``at_seq`` events.

        O(1): nothing is copied.  ``at_seq`` defaults to the parent's last seq and must
        be in ``0..parent.last_seq``.  The child inherits cli_version, engine_base_url,
        cwd and meta, and is written by this process.  Raises SessionNotFound,
        InvalidInput.
        """
        ulid = self._ulid_of(session)
        if at_seq is not None:
            check_int(at_seq, "at_seq")
        child = new_ulid()
        with self._writing() as conn:
            parent = _sessions.require_row(conn, ulid)
            parent_last = parent.last_seq
            fork_seq = parent_last if at_seq is None else at_seq
            if fork_seq > parent_last:
                raise InvalidInput(
                    f"at_seq {fork_seq} is past the end of session {ulid} (last seq {parent_last})"
                )
            now = self._now()
            _sessions.insert_session(
                conn,
                ulid=child,
                parent_id=parent.id,
                fork_seq=fork_seq,
                started_at_ms=now,
                cli_version=parent.cli_version,
                engine_base_url=parent.engine_base_url,
                cwd=parent.cwd,
                meta_json=parent.meta,
                expires_at_ms=None,
            )
            row = _sessions.require_row(conn, child)
        return _sessions.to_session(row, now)

    def resume(
        self,
        needle: str,
        *,
        cli_version: str | None = None,
        engine_base_url: str | None = None,
        force: bool = False,
        tail: int = 20,
    ) -> Resumed:
        """Reopen a session (found like :meth:`find`) for writing by this process.

        Clears its end, records this process as its writer and, when given, the current
        ``cli_version`` and ``engine_base_url`` (warning when they differ from the
        recorded ones).  A session pulled from another store is continued in a new local
        fork at its last seq instead (``Resumed.session`` is the fork, ``warnings`` say
        so).  Raises SessionBusy when another live process writes it, unless ``force``;
        SessionNotFound, AmbiguousSession.
        """
        check_optional_text(cli_version, "cli_version")
        check_optional_text(engine_base_url, "engine_base_url")
        check_int(tail, "tail")
        me = current_writer()
        with self._writing() as conn:
            row = _sessions.find_row(conn, needle)
            now = self._now()
            previous = _sessions.compute_status(row, now)
            warnings: list[str] = []
            if row.origin_store_id is not None:  # pulled: continue it in a local fork
                row, note = _origins.fork_to_continue(conn, row, now)
                warnings.append(note)
            writer_host, writer_pid = row.writer_host, row.writer_pid
            foreign = (writer_host, writer_pid) != (me.host, me.pid)
            if previous is Status.LIVE and foreign:
                if not force:
                    raise SessionBusy(row.ulid, writer_pid, writer_host)
                warnings.append(f"took the session over from live process {writer_pid}")
            if row.ended_at_ms is None and writer_host not in (None, me.host):
                warnings.append(
                    f"last written on host {writer_host}; cannot tell whether it still runs"
                )
            updates: dict[str, Any] = {}
            for name, recorded, current in (
                ("cli_version", row.cli_version, cli_version),
                ("engine_base_url", row.engine_base_url, engine_base_url),
            ):
                if current is None:
                    continue
                if recorded is not None and recorded != current:
                    warnings.append(f"recorded with {name} {recorded}, now {current}")
                updates[name] = current
            _sessions.claim_for_writing(conn, row.id, updates)
            last_seq = row.last_seq
            tail_events = _events.timeline_page(
                conn, (row.id, row.ulid, row.fork_seq), max(0, last_seq - tail), last_seq
            )
            fresh = _sessions.require_row(conn, row.ulid)
        return Resumed(
            session=_sessions.to_session(fresh, now),
            previous_status=previous,
            n_events=last_seq,
            tail=tuple(tail_events),
            warnings=tuple(warnings),
        )
