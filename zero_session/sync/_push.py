"""Push: send a store's own sessions, events, labels and milestones to the server.

One push, step by step:

1. Read the store in one short transaction: every session row and every milestone
   (``_sync_source.snapshot``).  The push cursors among them say, per session, which
   seq this file last pushed to this server and a fingerprint of its metadata; a
   session whose last seq and fingerprint match is left alone, so an idle push touches
   the server for nothing but its schema check.
2. One server transaction registers the store and upserts the sessions that are new
   to the server or whose metadata changed (ended, archived, expiry), then reads back
   each one's origin and ``last_seq``.  A ulid the server holds for another store is a
   divergence: recorded, and its events are not sent.  Sessions that only grew skip
   this step.
3. Events, parents' before children's, in seq order, read from the file a page at a time
   (the store's mutex is held only for each page read, never across the network), are
   sent in batches.  Each batch is one server transaction: the sessions' rows are locked
   (``FOR UPDATE``, in ulid order, so two pushers of one store take turns), then the
   rows go by ``COPY`` straight into ``events`` when all of them lie beyond the
   server's ``last_seq``; otherwise (a retry after a lost acknowledgement, a second
   pusher, a copied file) through a temporary table, from which rows already present
   and equal are dropped, rows present and different are recorded as divergences, and
   the rest inserted.  ``last_seq`` moves in the same transaction.  Only after the
   commit does the file's cursor move (one short write transaction), so a push killed
   anywhere is run again and converges: nothing twice, nothing missing.
4. Labels (exactly the file's, per store) and other milestones (added or changed, never
   removed) in one last transaction.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from .. import _sync_source as source
from .._milestones import INTERNAL_PREFIX
from .._sessions import LABEL_PREFIX
from .._store_core import StoreCore
from ._connect import IoGuard, Target
from ._reports import Divergence, PushReport
from ._server_schema import ensure_schema, known_server_version, server_id

__all__ = ["Pusher"]

Progress = Callable[[int, int], object]

PAGE_ROWS = 2_000  # events per local read (one short read transaction each)
BATCH_ROWS = 20_000  # events per server transaction (streamed: a page is held at a time)
_REPLACEMENT = "\ufffd"
_MILESTONES_CURSOR = "milestones"

_EVENT_COLUMNS = "ulid, seq, at_ms, kind, text, data, data_text, text_bytes, data_bytes"
_COPY_EVENTS_SQL = f"COPY zero_session.events ({_EVENT_COLUMNS}) FROM STDIN"
_STAGING_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS zs_incoming (ulid text, seq bigint, at_ms bigint, "
    "kind text, text text, data text, data_text text, text_bytes bytea, data_bytes bytea) "
    "ON COMMIT DELETE ROWS"
)
_COPY_STAGING_SQL = f"COPY zs_incoming ({_EVENT_COLUMNS}) FROM STDIN"
_RECORD_DIVERGENCES_SQL = """
INSERT INTO zero_session.divergences
    (ulid, seq, store_id, reason, at_ms, kind, text, data_text, text_bytes, data_bytes)
SELECT i.ulid, i.seq, %s, 'a different event is already at this seq',
       i.at_ms, i.kind, i.text, i.data_text, i.text_bytes, i.data_bytes
  FROM zs_incoming AS i JOIN zero_session.events AS e ON e.ulid = i.ulid AND e.seq = i.seq
 WHERE (e.at_ms, e.kind, e.text, e.data_text, e.text_bytes, e.data_bytes)
       IS DISTINCT FROM (i.at_ms, i.kind, i.text, i.data_text, i.text_bytes, i.data_bytes)
ON CONFLICT DO NOTHING
RETURNING ulid, seq
"""
_STAGE_ONE_SQL = (
    f"INSERT INTO zs_incoming ({_EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_RECORD_REFUSED_SQL = """
INSERT INTO zero_session.divergences (ulid, seq, store_id, reason) VALUES (%s, %s, %s, %s)
ON CONFLICT DO NOTHING
"""
_DIFFERENT = "a different event is already at this seq"
_MERGE_EVENTS_SQL = f"""
INSERT INTO zero_session.events ({_EVENT_COLUMNS})
SELECT ulid, seq, at_ms, kind, text, zero_session.try_jsonb(data), data_text, text_bytes,
       data_bytes
  FROM zs_incoming ORDER BY ulid, seq
ON CONFLICT DO NOTHING
"""
_LOCK_SESSIONS_SQL = (
    "SELECT ulid, last_seq FROM zero_session.sessions WHERE ulid = ANY(%s) ORDER BY ulid FOR UPDATE"
)
_MOVE_LAST_SEQ_SQL = """
UPDATE zero_session.sessions AS s
   SET last_seq = u.last_seq, last_event_at_ms = u.last_at, pushed_at = now()
  FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS u(ulid, last_seq, last_at)
 WHERE s.ulid = u.ulid AND s.last_seq < u.last_seq
"""
_REGISTER_STORE_SQL = """
INSERT INTO zero_session.stores (store_id, host) VALUES (%s, %s)
ON CONFLICT (store_id) DO UPDATE SET host = EXCLUDED.host, last_push_at = now()
"""
_UPSERT_SESSIONS_SQL = """
INSERT INTO zero_session.sessions AS s
    (ulid, origin, parent_ulid, fork_seq, started_at_ms, ended_at_ms, last_seq,
     cli_version, engine_base_url, cwd, meta_text, meta, archived_at_ms, expires_at_ms)
SELECT u.ulid, %s, u.parent_ulid, u.fork_seq, u.started_at_ms, u.ended_at_ms, u.fork_seq,
       u.cli_version, u.engine_base_url, u.cwd, u.meta_text,
       zero_session.try_jsonb(u.meta_text), u.archived_at_ms, u.expires_at_ms
  FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[],
              %s::text[], %s::text[], %s::text[], %s::bigint[], %s::bigint[])
       AS u(ulid, parent_ulid, fork_seq, started_at_ms, ended_at_ms, cli_version,
            engine_base_url, cwd, meta_text, archived_at_ms, expires_at_ms)
ON CONFLICT (ulid) DO UPDATE
   SET ended_at_ms = EXCLUDED.ended_at_ms, archived_at_ms = EXCLUDED.archived_at_ms,
       expires_at_ms = EXCLUDED.expires_at_ms, pushed_at = now()
 WHERE s.origin = EXCLUDED.origin
   AND (s.ended_at_ms, s.archived_at_ms, s.expires_at_ms)
       IS DISTINCT FROM (EXCLUDED.ended_at_ms, EXCLUDED.archived_at_ms, EXCLUDED.expires_at_ms)
RETURNING s.ulid
"""
_SERVER_SESSIONS_SQL = (
    "SELECT ulid, origin, last_seq FROM zero_session.sessions WHERE ulid = ANY(%s)"
)
_SCHEMA_STATE_SQL = (
    "SELECT (SELECT coalesce(max(version), 0) FROM zero_session.schema_migrations), "
    "(SELECT server_id FROM zero_session.server_identity)"
)
_RECORD_FOREIGN_SQL = """
INSERT INTO zero_session.divergences (ulid, seq, store_id, reason)
SELECT u, 0, %s, 'the session belongs to another store' FROM unnest(%s::text[]) AS u
ON CONFLICT DO NOTHING
"""


def _clean(value: str | None) -> str | None:
    """Text for a PostgreSQL ``text`` column, which cannot hold NUL."""
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", _REPLACEMENT)


def server_rows(ulid: str, rows: list[source.EventRow]) -> list[tuple[Any, ...]]:
    """The server columns of events: exact text, NUL carried in the ``*_bytes`` columns,
    and the JSON text again for the ``jsonb`` column where it can be one."""
    out = []
    for seq, at_ms, kind, text, data, data_is_json in rows:
        if "\x00" in text or (data is not None and "\x00" in data):
            out.append(_row_with_nul(ulid, seq, at_ms, kind, text, data, data_is_json))
        elif data is None:
            out.append((ulid, seq, at_ms, kind, text, None, None, None, None))
        else:
            as_json = data if data_is_json and "\\u0000" not in data else None
            out.append((ulid, seq, at_ms, kind, text, as_json, data, None, None))
    return out


def _row_with_nul(
    ulid: str,
    seq: int,
    at_ms: int,
    kind: str,
    text: str,
    data: str | None,
    data_is_json: int | None,
) -> tuple[Any, ...]:
    """An event holding NUL: U+FFFD in the text columns, the exact bytes beside them."""
    text_bytes = text.encode("utf-8") if "\x00" in text else None
    as_json, data_bytes = None, None
    if data is not None and "\x00" in data:
        data_bytes = data.encode("utf-8")
    elif data is not None and data_is_json and "\\u0000" not in data:
        as_json = data
    return (ulid, seq, at_ms, kind, _clean(text), as_json, _clean(data), text_bytes, data_bytes)


def fingerprint(session: source.LocalSession) -> str:
    """A short hash of the metadata a push sends beyond events (end, archive, expiry)."""
    facts = f"{session.ended_at_ms}|{session.archived_at_ms}|{session.expires_at_ms}"
    return hashlib.blake2b(facts.encode(), digest_size=6).hexdigest()


def _milestones_fingerprint(milestones: dict[str, tuple[str, int]]) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for key in sorted(milestones):
        if not key.startswith(INTERNAL_PREFIX):
            value, at_ms = milestones[key]
            digest.update(f"{key}\x00{value}\x00{at_ms}\x01".encode("utf-8", "replace"))
    return digest.hexdigest()


class _Sent:
    """What one batch sent: events read from the file, and how many were new."""

    __slots__ = ("inserted", "read")

    def __init__(self) -> None:
        self.read = 0
        self.inserted = 0


class _Pending:
    """A session to push: its row, the seq this file last pushed, its fingerprint, and
    whether the server has its row with this metadata already (no upsert needed)."""

    __slots__ = ("fp", "known", "pushed_seq", "session")

    def __init__(self, session: source.LocalSession, pushed_seq: int, fp: str, known: bool) -> None:
        self.session = session
        self.pushed_seq = pushed_seq
        self.fp = fp
        self.known = known


class _Part:
    """One session's share of a batch: its events after ``after`` up to ``upto``."""

    __slots__ = ("after", "last_at_ms", "last_sent", "pending", "session_id", "ulid", "upto")

    def __init__(self, pending: _Pending, after: int, upto: int) -> None:
        self.pending = pending
        self.ulid = pending.session.ulid
        self.session_id = pending.session.session_id
        self.after = after
        self.upto = upto
        self.last_sent = after
        self.last_at_ms: int | None = None


def _pending(sessions: list[source.LocalSession], cursors: dict[str, str]) -> list[_Pending]:
    """The sessions whose last seq or metadata differ from their cursor, in file order
    (parents before children)."""
    pending: list[_Pending] = []
    for session in sessions:
        fp = fingerprint(session)
        mark = cursors.get(session.ulid)
        if mark == f"{session.last_seq} {fp}":
            continue
        pushed = int(mark.split(" ", 1)[0]) if mark else session.fork_seq
        pushed = min(max(pushed, session.fork_seq), session.last_seq)
        # Its row is on the server with this metadata unless the cursor says otherwise.
        known = mark is not None and mark.endswith(f" {fp}")
        pending.append(_Pending(session, pushed, fp, known))
    return pending


def _plan(pending: list[_Pending]) -> list[list[_Part]]:
    """Batches of at most BATCH_ROWS events, parents' sessions before children's."""
    batches: list[list[_Part]] = []
    current: list[_Part] = []
    room = BATCH_ROWS
    for p in pending:
        after = p.pushed_seq
        while after < p.session.last_seq:
            upto = min(p.session.last_seq, after + room)
            current.append(_Part(p, after, upto))
            room -= upto - after
            after = upto
            if room == 0:
                batches.append(current)
                current, room = [], BATCH_ROWS
    if current:
        batches.append(current)
    return batches


class Pusher:
    """Pushes one store to one server over one connection (kept by ``watch``)."""

    def __init__(
        self,
        store: StoreCore,
        conn: psycopg.Connection[Any],
        target: Target,
        *,
        io_timeout_s: float,
    ) -> None:
        self._store = store
        self._conn = conn
        self._target = target
        self._guard = IoGuard(conn, io_timeout_s)
        self._server_id: str | None = None
        self._registered = False

    def close(self) -> None:
        """Stop the I/O guard's thread (the connection is the caller's)."""
        self._guard.close()

    def _prepare_schema(self) -> str:
        """The server's id, after creating or migrating its schema if needed; one round
        trip when the schema is current."""
        try:
            version, identity = self._conn.execute(_SCHEMA_STATE_SQL).fetchone() or (0, None)
        except psycopg.errors.UndefinedTable:
            version, identity = 0, None
        if version != known_server_version() or identity is None:
            ensure_schema(self._conn, self._target)
            return server_id(self._conn)
        return str(identity)

    def _server(self, doing: str) -> Any:
        """Run a server step under the I/O guard, its errors as SyncError."""
        return _ServerStep(self, doing)

    def push(
        self, *, progress: Progress | None = None, stop: threading.Event | None = None
    ) -> PushReport:
        """One push of everything pending; see the module docstring."""
        started = time.monotonic()
        store = self._store
        sid = source.store_id(store, create=True)
        assert sid is not None
        if self._server_id is None:
            with self._server("cannot prepare the schema on"):
                self._server_id = self._prepare_schema()
        server = self._server_id
        snap = source.snapshot(store)
        cursors = source.cursors(snap.milestones, server)
        pending = _pending(snap.sessions, cursors)
        # Sessions deleted locally stay on the server; only their cursors go.
        local = {session.ulid for session in snap.sessions}
        source.drop_cursors(
            store, server, [n for n in cursors if n != _MILESTONES_CURSOR and n not in local]
        )
        milestones_fp = _milestones_fingerprint(snap.milestones)
        counts = {"events": 0, "milestones": 0}
        touched: set[str] = set()
        diverged: list[Divergence] = []
        complete = True
        if any(not p.known for p in pending):
            touched |= self._upsert_sessions(sid, pending, diverged)
        if pending:
            complete = self._push_events(
                sid, server, pending, counts, touched, diverged, progress, stop
            )
        if complete and cursors.get(_MILESTONES_CURSOR) != milestones_fp:
            counts["milestones"] = self._push_milestones(sid, snap.milestones)
            source.advance_cursors(store, server, {_MILESTONES_CURSOR: milestones_fp})
        return PushReport(
            events=counts["events"],
            sessions=len(touched),
            milestones=counts["milestones"],
            diverged=tuple(diverged),
            seconds=time.monotonic() - started,
            store_id=sid,
            server=self._target.name,
            complete=complete,
        )

    # ------------------------------------------------------------------ sessions

    def _upsert_sessions(
        self, sid: str, pending: list[_Pending], diverged: list[Divergence]
    ) -> set[str]:
        """Register the store, upsert the pending sessions; drop (and record) the ones
        another store owns.  The ulids created or changed."""
        rows = [p.session for p in pending if not p.known]
        columns = [
            [s.ulid for s in rows],
            [s.parent_ulid for s in rows],
            [s.fork_seq for s in rows],
            [s.started_at_ms for s in rows],
            [s.ended_at_ms for s in rows],
            [_clean(s.cli_version) for s in rows],
            [_clean(s.engine_base_url) for s in rows],
            [_clean(s.cwd) for s in rows],
            [_clean(s.meta) for s in rows],
            [s.archived_at_ms for s in rows],
            [s.expires_at_ms for s in rows],
        ]
        conn = self._conn
        with self._server("cannot push sessions to"), conn.transaction():
            if not self._registered:
                conn.execute(_REGISTER_STORE_SQL, (sid, _clean(socket.gethostname())))
            changed = {r[0] for r in conn.execute(_UPSERT_SESSIONS_SQL, (sid, *columns))}
            owners = {
                r[0]: (r[1], int(r[2])) for r in conn.execute(_SERVER_SESSIONS_SQL, (columns[0],))
            }
            foreign = [u for u, (origin, _) in owners.items() if origin != sid]
            if foreign:
                conn.execute(_RECORD_FOREIGN_SQL, (sid, foreign))
        for ulid in foreign:
            diverged.append(Divergence(ulid, 0, "the session belongs to another store"))
        pending[:] = [p for p in pending if p.session.ulid not in foreign]
        for p in pending:
            if p.session.ulid in owners:
                # A server restored from an older backup holds less than this file
                # pushed: send again from where the server stands.
                server_last = owners[p.session.ulid][1]
                p.pushed_seq = max(p.session.fork_seq, min(p.pushed_seq, server_last))
        # Sessions with nothing left to send are done: their cursor moves now.
        done = {
            p.session.ulid: f"{p.session.last_seq} {p.fp}"
            for p in pending
            if p.pushed_seq >= p.session.last_seq
        }
        self._registered = True
        source.advance_cursors(self._store, self._server_id or "", done)
        return changed - set(foreign)

    # -------------------------------------------------------------------- events

    def _push_events(
        self,
        sid: str,
        server: str,
        pending: list[_Pending],
        counts: dict[str, int],
        touched: set[str],
        diverged: list[Divergence],
        progress: Progress | None,
        stop: threading.Event | None,
    ) -> bool:
        """Send every pending event in batches; False if ``stop`` ended it early."""
        total = sum(p.session.last_seq - p.pushed_seq for p in pending)
        done_events = 0
        if progress is not None and total:
            progress(0, total)
        for batch in _plan(pending):
            if stop is not None and stop.is_set():
                return False
            sent = self._send_batch(sid, batch, diverged)
            counts["events"] += sent.inserted
            marks = {}
            for part in batch:
                p = part.pending
                if part.last_sent > p.pushed_seq:
                    touched.add(p.session.ulid)
                    p.pushed_seq = part.last_sent
                complete = p.pushed_seq >= p.session.last_seq
                marks[p.session.ulid] = f"{p.pushed_seq} {p.fp if complete else 'partial'}"
            source.advance_cursors(self._store, server, marks)
            done_events += sent.read
            if progress is not None:
                progress(done_events, total)
        return True

    def _send_batch(self, sid: str, batch: list[_Part], diverged: list[Divergence]) -> _Sent:
        """One server transaction for ``batch``, the events streamed from the file into
        ``COPY`` page by page (the server parses one page while the next is read)."""
        conn = self._conn
        ulids = sorted({part.pending.session.ulid for part in batch})
        with self._server("cannot push events to"), conn.transaction():
            server_last = dict(conn.execute(_LOCK_SESSIONS_SQL, (ulids,)).fetchall())
            for part in batch:
                behind = server_last.get(part.ulid, part.after)
                if behind < part.after:  # a server restored from an older backup
                    part.after = part.last_sent = max(behind, part.pending.session.fork_seq)
            sent: _Sent | None = None
            if all(part.after >= server_last.get(part.ulid, 0) for part in batch):
                try:
                    with conn.transaction():
                        sent = self._stream(batch, _COPY_EVENTS_SQL)
                        sent.inserted = sent.read
                except (psycopg.errors.IntegrityError, psycopg.errors.DataError):
                    sent = None  # rows already there, or data jsonb refuses: merge
            if sent is None:
                try:
                    with conn.transaction():
                        found: list[Divergence] = []
                        sent = self._merge(sid, batch, found)
                    diverged += found
                except (psycopg.errors.IntegrityError, psycopg.errors.DataError):
                    # The server refuses some row (a constraint of its own): find it.
                    sent = self._merge_one_by_one(sid, batch, diverged)
            moved = [part for part in batch if part.last_sent > part.after]
            conn.execute(
                _MOVE_LAST_SEQ_SQL,
                (
                    [part.ulid for part in moved],
                    [part.last_sent for part in moved],
                    [part.last_at_ms for part in moved],
                ),
            )
        return sent

    def _stream(self, batch: list[_Part], sql: str) -> _Sent:
        """COPY the batch's events, read from the file a page at a time."""
        sent = _Sent()
        cursor = self._conn.cursor()
        with cursor.copy(sql) as copy:
            for part in batch:
                part.last_sent, after = part.after, part.after
                while after < part.upto:
                    limit = min(PAGE_ROWS, part.upto - after)
                    rows = source.event_rows(self._store, part.session_id, after, limit)
                    if not rows:
                        break  # the session was deleted locally meanwhile
                    for row in server_rows(part.ulid, rows):
                        copy.write_row(row)
                    after = rows[-1][0]
                    part.last_sent, part.last_at_ms = after, rows[-1][1]
                    sent.read += len(rows)
        return sent

    def _merge(self, sid: str, batch: list[_Part], diverged: list[Divergence]) -> _Sent:
        """The careful path: stage the rows, record those that differ from the server's,
        insert those it lacks."""
        conn = self._conn
        conn.execute(_STAGING_SQL)
        sent = self._stream(batch, _COPY_STAGING_SQL)
        for ulid, seq in conn.execute(_RECORD_DIVERGENCES_SQL, (sid,)).fetchall():
            diverged.append(Divergence(ulid, int(seq), _DIFFERENT))
        sent.inserted = max(0, conn.execute(_MERGE_EVENTS_SQL).rowcount)
        conn.execute("TRUNCATE zs_incoming")
        return sent

    def _merge_one_by_one(self, sid: str, batch: list[_Part], diverged: list[Divergence]) -> _Sent:
        """The last resort, when the server refuses some row of a batch: each event in
        its own savepoint.  A refused event is recorded as a divergence (its reason the
        server's message) and skipped, so it never stops the rest of the push."""
        conn = self._conn
        conn.execute(_STAGING_SQL)
        sent = _Sent()
        for part in batch:
            part.last_sent, after = part.after, part.after
            while after < part.upto:
                limit = min(PAGE_ROWS, part.upto - after)
                rows = source.event_rows(self._store, part.session_id, after, limit)
                if not rows:
                    break
                for row in server_rows(part.ulid, rows):
                    try:
                        with conn.transaction():
                            conn.execute(_STAGE_ONE_SQL, row)
                            found = conn.execute(_RECORD_DIVERGENCES_SQL, (sid,)).fetchall()
                            sent.inserted += max(0, conn.execute(_MERGE_EVENTS_SQL).rowcount)
                            conn.execute("TRUNCATE zs_incoming")
                        diverged += [Divergence(u, int(q), _DIFFERENT) for u, q in found]
                    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
                        reason = f"the server refused it: {exc.diag.message_primary or exc}"
                        conn.execute(_RECORD_REFUSED_SQL, (row[0], row[1], sid, reason))
                        diverged.append(Divergence(row[0], row[1], reason))
                after = rows[-1][0]
                part.last_sent, part.last_at_ms = after, rows[-1][1]
                sent.read += len(rows)
        return sent

    # ---------------------------------------------------------------- milestones

    def _push_milestones(self, sid: str, milestones: dict[str, tuple[str, int]]) -> int:
        """Labels made exactly the file's, other milestones added or updated; how many
        rows were written or removed."""
        labels = source.labels_of(milestones)
        others = {
            k: v
            for k, v in milestones.items()
            if not k.startswith(INTERNAL_PREFIX) and not k.startswith(LABEL_PREFIX)
        }
        conn = self._conn
        with self._server("cannot push labels and milestones to"), conn.transaction():
            conn.execute(_REGISTER_STORE_SQL, (sid, _clean(socket.gethostname())))
            self._registered = True
            on_server = {
                r[0]: (r[1], int(r[2]))
                for r in conn.execute(
                    "SELECT name, ulid, at_ms FROM zero_session.labels WHERE store_id = %s",
                    (sid,),
                )
            }
            gone = [name for name in on_server if name not in labels]
            changed = [(n, u, at) for n, (u, at) in labels.items() if on_server.get(n) != (u, at)]
            if gone:
                conn.execute(
                    "DELETE FROM zero_session.labels WHERE store_id = %s AND name = ANY(%s)",
                    (sid, gone),
                )
            if changed:
                conn.cursor().executemany(
                    "INSERT INTO zero_session.labels (store_id, name, ulid, at_ms) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (store_id, name) DO UPDATE "
                    "SET ulid = EXCLUDED.ulid, at_ms = EXCLUDED.at_ms",
                    [(sid, n, u, at) for n, u, at in changed],
                )
            server_milestones = {
                r[0]: (r[1], int(r[2]))
                for r in conn.execute(
                    "SELECT key, value, at_ms FROM zero_session.milestones WHERE store_id = %s",
                    (sid,),
                )
            }
            written = [
                (sid, _clean(k), _clean(v), at)
                for k, (v, at) in others.items()
                if server_milestones.get(_clean(k) or "") != (_clean(v), at)
            ]
            if written:
                conn.cursor().executemany(
                    "INSERT INTO zero_session.milestones (store_id, key, value, at_ms) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (store_id, key) DO UPDATE "
                    "SET value = EXCLUDED.value, at_ms = EXCLUDED.at_ms",
                    written,
                )
        return len(gone) + len(changed) + len(written)


class _ServerStep:
    """``with pusher._server(doing):`` the I/O guard around a server step, psycopg's
    errors (and a cut link) raised as SyncError without the original chained."""

    def __init__(self, pusher: Pusher, doing: str) -> None:
        self._pusher = pusher
        self._doing = doing
        self._guarded = pusher._guard()

    def __enter__(self) -> None:
        self._guarded.__enter__()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._guarded.__exit__(exc_type, exc, tb)
        if isinstance(exc, psycopg.Error | OSError):
            pusher = self._pusher
            error = pusher._target.error(exc, self._doing)
            if pusher._guard.fired:
                error = type(error)(
                    f"{self._doing} {pusher._target.name}: no answer within "
                    f"{pusher._guard.timeout_s:g} s (link lost or server frozen)",
                    "unreachable",
                )
            raise error from None
