"""``Store.check()``: SQLite's own integrity checks plus the store's invariants.

SQLite can tell whether the b-trees are sound (``PRAGMA integrity_check``) and whether
every foreign key has its row (``PRAGMA foreign_key_check``), but not whether the data
keeps the promises of the design: a session's own events are exactly the seqs
``fork_seq + 1 .. last_seq`` (gapless, nothing before the fork point, ``last_seq``
matching), a fork's parent exists and the fork point lies inside the parent's timeline,
no session is its own ancestor, and every label names an existing session and is listed
on that session's row.  Someone editing the file with the ``sqlite3`` shell (or a bug)
could break any of these.

Every check runs inside one read transaction, so the report describes one consistent
snapshot even while other processes write.  A check that fails to run (a corrupt page
under it) is reported as a problem of its own instead of raising, so one broken table
does not hide the state of the others.  Nothing is ever written.
See https://www.sqlite.org/pragma.html#pragma_integrity_check.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import apsw
import attrs

from . import _search
from ._sessions import LABEL_PREFIX
from ._typed import SESSION_INT_COLUMNS

__all__ = ["CheckReport", "Problem", "run_check"]

# Report at most this many problems per check; a badly damaged file could otherwise
# produce millions of lines.
MAX_PER_CHECK = 100


@attrs.frozen(slots=True)
class Problem:
    """One thing found wrong: a short ``code``, the session it concerns (ulid, or None
    when it concerns the file as a whole) and a human ``message``.

    Codes: ``integrity`` (SQLite's integrity_check), ``foreign_key``, ``seq_gap``,
    ``seq_start`` (own events do not start right after the fork point), ``last_seq``
    (the recorded last seq differs from the events stored), ``fork_parent`` (parent
    missing), ``fork_seq`` (fork point past the parent's last seq), ``fork_cycle``,
    ``label`` (a label names a missing session), ``label_column`` (a session row's
    stored labels differ from its label milestones), ``purge_leftover`` (an unfinished
    delete left the append-only triggers disarmed for a session), ``search_orphan``
    (the search index maps an event that does not exist), ``unreadable`` (a check could
    not run).
    """

    code: str
    session: str | None
    message: str

    def __str__(self) -> str:
        where = f" {self.session}" if self.session else ""
        return f"{self.code}{where}: {self.message}"


@attrs.frozen(slots=True)
class CheckReport:
    """The result of :meth:`Store.check`: ``ok`` when ``problems`` is empty."""

    problems: tuple[Problem, ...] = ()
    ok: bool = attrs.field(init=False)

    @ok.default
    def _no_problems(self) -> bool:
        return not self.problems


def _integrity(conn: apsw.Connection) -> Iterator[Problem]:
    for (line,) in conn.execute(f"PRAGMA integrity_check({MAX_PER_CHECK})"):
        if line != "ok":
            yield Problem("integrity", None, str(line))


def _foreign_keys(conn: apsw.Connection) -> Iterator[Problem]:
    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
        row = f"row {rowid}" if rowid is not None else "a row"
        yield Problem("foreign_key", None, f"{table}: {row} refers to a missing {parent} row")


# Rows holding a wrong type are reported by _types and left out here.
_SEQ_SUMMARY_SQL = """
SELECT s.ulid, s.fork_seq, s.last_seq, count(e.seq), min(e.seq), max(e.seq)
  FROM sessions AS s
  LEFT JOIN events AS e ON e.session_id = s.id AND typeof(e.seq) = 'integer'
 WHERE typeof(s.fork_seq) = 'integer' AND typeof(s.last_seq) = 'integer'
 GROUP BY s.id
"""


def _sequences(conn: apsw.Connection) -> Iterator[Problem]:
    for ulid, fork_seq, last_seq, count, low, high in conn.execute(_SEQ_SUMMARY_SQL):
        own = last_seq - fork_seq
        if count and high - low + 1 != count:
            missing = high - low + 1 - count
            yield Problem("seq_gap", ulid, f"{missing} seq(s) missing between {low} and {high}")
        if count and low != fork_seq + 1:
            yield Problem(
                "seq_start", ulid, f"own events start at seq {low}, expected {fork_seq + 1}"
            )
        stored_last = high if count else fork_seq
        if stored_last != last_seq or count != own:
            yield Problem(
                "last_seq",
                ulid,
                f"last_seq is {last_seq} ({own} own events after fork seq {fork_seq}), "
                f"but {count} events are stored, the last at seq {stored_last}",
            )


_FORKS_SQL = """
SELECT c.ulid, c.parent_id, c.fork_seq, p.ulid, p.last_seq
  FROM sessions AS c LEFT JOIN sessions AS p ON p.id = c.parent_id
 WHERE c.parent_id IS NOT NULL
   AND typeof(c.fork_seq) = 'integer' AND typeof(p.last_seq) IN ('integer', 'null')
"""


def _forks(conn: apsw.Connection) -> Iterator[Problem]:
    for ulid, parent_id, fork_seq, parent_ulid, parent_last in conn.execute(_FORKS_SQL):
        if parent_ulid is None:
            yield Problem("fork_parent", ulid, f"parent session id {parent_id} does not exist")
        elif fork_seq > parent_last:
            yield Problem(
                "fork_seq",
                ulid,
                f"forked at seq {fork_seq}, past the end of parent {parent_ulid} "
                f"(last seq {parent_last})",
            )


def _cycles(conn: apsw.Connection) -> Iterator[Problem]:
    parents = dict(conn.execute("SELECT id, parent_id FROM sessions WHERE parent_id IS NOT NULL"))
    ulids: dict[int, str] | None = None
    settled: set[int] = set()
    for start in parents:
        path: list[int] = []
        on_path: set[int] = set()
        node: int | None = start
        while node is not None and node not in settled and node not in on_path:
            path.append(node)
            on_path.add(node)
            node = parents.get(node)
        if node is not None and node in on_path:
            if ulids is None:
                ulids = dict(conn.execute("SELECT id, ulid FROM sessions"))
            yield Problem("fork_cycle", ulids.get(node), "the session is its own ancestor")
        settled.update(path)


def _fork_order(conn: apsw.Connection) -> Iterator[Problem]:
    # Since schema version 4 a parent exists before its fork (a smaller id); an older or
    # edited file may break that, which is how a fork chain can loop.
    rows = conn.execute(
        "SELECT c.ulid, p.ulid FROM sessions AS c JOIN sessions AS p ON p.id = c.parent_id "
        "WHERE c.parent_id >= c.id"
    )
    for ulid, parent_ulid in rows:
        yield Problem("fork_order", ulid, f"its parent {parent_ulid} was recorded after it")


# Integer columns, and whether NULL is allowed in them.
_INTEGER_COLUMNS = {
    "sessions": (*SESSION_INT_COLUMNS, ("parent_id", True)),
    "events": (("seq", False), ("at_ms", False)),
}


def _types(conn: apsw.Connection) -> Iterator[Problem]:
    """Text, reals or blobs in integer columns: refused by the schema since version 4,
    possible in an older file or one edited with the guards dropped."""
    for table, columns in _INTEGER_COLUMNS.items():
        for column, nullable in columns:
            allowed = "('integer', 'null')" if nullable else "('integer')"
            if table == "sessions":
                sql = (
                    f"SELECT CAST(ulid AS BLOB), NULL, quote({column}) FROM sessions "
                    f"WHERE typeof({column}) NOT IN {allowed}"
                )
            else:
                sql = (
                    f"SELECT CAST(s.ulid AS BLOB), quote(e.seq), quote(e.{column}) "
                    "FROM events AS e LEFT JOIN sessions AS s ON s.id = e.session_id "
                    f"WHERE typeof(e.{column}) NOT IN {allowed}"
                )
            for ulid, seq, value in conn.execute(sql):
                where = f" of the event at seq {seq}" if seq is not None else ""
                session = bytes(ulid).decode("utf-8", "replace") if ulid is not None else None
                yield Problem(
                    "wrong_type", session, f"{table}.{column}{where} holds {value}, not an integer"
                )


def _labels(conn: apsw.Connection) -> Iterator[Problem]:
    # Keys typed into the sqlite3 shell may be invalid UTF-8: read them as bytes.
    rows = conn.execute(
        "SELECT CAST(m.key AS BLOB), CAST(m.value AS BLOB) FROM milestones AS m "
        "WHERE m.key >= ? AND m.key < ? "
        "AND NOT EXISTS (SELECT 1 FROM sessions AS s WHERE s.ulid = m.value)",
        (LABEL_PREFIX, LABEL_PREFIX[:-1] + "/"),
    )
    for key, value in rows:
        name = bytes(key).decode("utf-8", "replace")[len(LABEL_PREFIX) :]
        target = bytes(value).decode("utf-8", "replace")
        yield Problem("label", target, f"label {name!r} names a session that does not exist")


# Each session whose stored labels column differs from its label milestones (as bytes:
# both may have been typed into the sqlite3 shell).
_LABEL_COLUMN_SQL = """
SELECT CAST(s.ulid AS BLOB), CAST(s.labels AS BLOB), CAST(m.names AS BLOB)
  FROM sessions AS s
  LEFT JOIN (
      SELECT value, group_concat(substr(key, 15), char(31)) AS names FROM milestones
       WHERE key >= 'session.label.' AND key < 'session.label/' GROUP BY value
  ) AS m ON m.value = s.ulid
 WHERE s.labels IS NOT m.names
"""


def _label_columns(conn: apsw.Connection) -> Iterator[Problem]:
    """``sessions.labels`` (migration 6, kept by triggers) against the milestones, which
    are the truth: a difference means the triggers were dropped or the column written
    by hand.  The order of the names does not matter."""
    for raw_ulid, stored, named in conn.execute(_LABEL_COLUMN_SQL):
        shown = sorted(bytes(stored).decode("utf-8", "replace").split("\x1f")) if stored else []
        truth = sorted(bytes(named).decode("utf-8", "replace").split("\x1f")) if named else []
        if shown != truth:
            yield Problem(
                "label_column",
                bytes(raw_ulid).decode("utf-8", "replace"),
                f"the session row lists labels {shown}, its label milestones name {truth}",
            )


def _purge_leftovers(conn: apsw.Connection) -> Iterator[Problem]:
    rows = conn.execute(
        "SELECT p.session_id, s.ulid FROM purging_sessions AS p "
        "LEFT JOIN sessions AS s ON s.id = p.session_id"
    )
    for session_id, ulid in rows:
        yield Problem(
            "purge_leftover",
            ulid,
            f"session id {session_id} is marked as being deleted, which disarms the "
            "append-only triggers for it",
        )


def _search_orphans(conn: apsw.Connection) -> Iterator[Problem]:
    if not _search.has_index(conn):  # created by the first search
        return
    rows = conn.execute(
        "SELECT s.ulid, r.session_id, count(*) FROM event_search_rows AS r "
        "LEFT JOIN sessions AS s ON s.id = r.session_id "
        "WHERE NOT EXISTS (SELECT 1 FROM events AS e "
        "WHERE e.session_id = r.session_id AND e.seq = r.seq) GROUP BY r.session_id"
    )
    for ulid, session_id, n in rows:
        yield Problem(
            "search_orphan",
            ulid,
            f"the search index maps {n} event(s) of session id {session_id} that do not exist",
        )


_CHECKS: tuple[Callable[[apsw.Connection], Iterator[Problem]], ...] = (
    _integrity,
    _foreign_keys,
    _sequences,
    _forks,
    _fork_order,
    _cycles,
    _types,
    _labels,
    _label_columns,
    _purge_leftovers,
    _search_orphans,
)


def run_check(conn: apsw.Connection) -> CheckReport:
    """Run every check in one read transaction and collect the problems found.

    Never raises for damage it finds: a check that cannot run (CorruptError, a missing
    table) becomes an ``unreadable`` problem.  At most :data:`MAX_PER_CHECK` problems
    are reported per check.
    """
    problems: list[Problem] = []
    conn.execute("BEGIN")
    try:
        for check in _CHECKS:
            name = check.__name__.lstrip("_")
            try:
                problems.extend(itertools.islice(check(conn), MAX_PER_CHECK))
            except apsw.BusyError:
                raise
            except (apsw.Error, UnicodeError) as exc:
                problems.append(Problem("unreadable", None, f"{name} check failed: {exc}"))
    finally:
        if not conn.getautocommit():
            conn.execute("ROLLBACK")
    return CheckReport(tuple(problems))
