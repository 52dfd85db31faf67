"""Wrap-up summaries: what a session did, cheap enough to print when a TUI exits.

A summary reads the session's row, its first and last events (two primary-key probes)
and one pass over its own events grouped by kind; the top commands come from the same
kind of pass over its ``command`` events only.  Inherited events of a fork are not
counted: they belong to (and are summarised with) its ancestors.
"""

from __future__ import annotations

import apsw
import attrs

from . import _sessions
from ._sql import fetch_all
from .models import EventKind, Status

__all__ = ["Summary", "summarise"]

TOP_COMMANDS = 10
_WHITESPACE_SQL = "' ' || char(9) || char(10) || char(13)"
# The command name: the text up to its first whitespace (tabs and newlines count).
_NAME_SQL = "CASE WHEN instr(w, ' ') > 0 THEN substr(w, 1, instr(w, ' ') - 1) ELSE w END"
_TOP_COMMANDS_SQL = f"""
SELECT {_NAME_SQL} AS name, count(*) AS n
  FROM (SELECT replace(replace(replace(ltrim(substr(text, 1, 512), {_WHITESPACE_SQL}),
                char(9), ' '), char(10), ' '), char(13), ' ') AS w
          FROM events WHERE session_id = ? AND kind = ?)
 WHERE w != ''
 GROUP BY name
 ORDER BY n DESC, name
 LIMIT ?
"""
# The same, for text typed into the sqlite3 shell as invalid UTF-8 (read with U+FFFD).
_TOP_COMMANDS_BLOB_SQL = _TOP_COMMANDS_SQL.replace(
    f"SELECT {_NAME_SQL} AS", f"SELECT CAST({_NAME_SQL} AS BLOB) AS"
)
_COUNTS_SQL = "SELECT kind, count(*) FROM events WHERE session_id = ? GROUP BY kind ORDER BY kind"


@attrs.frozen(slots=True)
class Summary:
    """A session's wrap-up: how long it ran and what it recorded (its own events).

    ``duration_ms`` runs from the start to the recorded end; for a live session to now,
    for an interrupted one to its last event.  ``counts`` maps each kind to its number
    of events; ``top_commands`` holds the ten most used commands (``command`` events,
    arguments stripped) as (name, count), most used first, ties in alphabetical order.
    """

    session: str
    status: Status
    started_at_ms: int
    ended_at_ms: int | None
    first_event_at_ms: int | None
    last_event_at_ms: int | None
    duration_ms: int
    n_events: int
    counts: dict[str, int]
    top_commands: tuple[tuple[str, int], ...]


def summarise(conn: apsw.Connection, ulid: str, now_ms: int) -> Summary:
    """The summary of the session ``ulid``.  Raises SessionNotFound."""
    session = _sessions.to_session(_sessions.require_row(conn, ulid), now_ms)
    session_id = int(fetch_all(conn, "SELECT id FROM sessions WHERE ulid = ?", (ulid,))[0][0])
    counts: dict[str, int] = dict(
        fetch_all(
            conn,
            _COUNTS_SQL,
            (session_id,),
            blob_sql=_COUNTS_SQL.replace("SELECT kind", "SELECT CAST(kind AS BLOB)", 1),
        )
    )
    first = fetch_all(
        conn, "SELECT at_ms FROM events WHERE session_id = ? ORDER BY seq LIMIT 1", (session_id,)
    )
    last = fetch_all(
        conn,
        "SELECT at_ms FROM events WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
        (session_id,),
    )
    top = fetch_all(
        conn,
        _TOP_COMMANDS_SQL,
        (session_id, EventKind.COMMAND.value, TOP_COMMANDS),
        blob_sql=_TOP_COMMANDS_BLOB_SQL,
    )
    first_at = first[0][0] if first else None
    last_at = last[0][0] if last else None
    if session.ended_at_ms is not None:
        end = session.ended_at_ms
    elif session.status is Status.LIVE:
        end = now_ms
    else:
        end = last_at if last_at is not None else session.started_at_ms
    return Summary(
        session=ulid,
        status=session.status,
        started_at_ms=session.started_at_ms,
        ended_at_ms=session.ended_at_ms,
        first_event_at_ms=first_at,
        last_event_at_ms=last_at,
        duration_ms=max(0, end - session.started_at_ms),
        n_events=session.n_events,
        counts=counts,
        top_commands=tuple((str(name), int(n)) for name, n in top),
    )
