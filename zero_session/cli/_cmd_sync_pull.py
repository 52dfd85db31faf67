"""``sync pull`` and ``sync list``: sessions recorded by other stores, found on the server
and brought into this one (``zero_session.sync.pull``).

A pulled session belongs to its origin store: it can be read, labelled and archived
here, and continued only in a local fork (``zero-session shell --resume REF``), which
``sync push`` sends back as this store's own session, hanging under the original.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import sync
from .._documents import session_doc, times
from ..ids import is_ulid
from ._cmd_sync import _dsn, dsn_options
from ._output import Cell, Column, local_time
from ._state import State, json_option

__all__ = ["list_command", "pull_command"]

_SERVER_COLUMNS = (
    Column("ULID", min_width=26),
    Column("STARTED", min_width=19),
    Column("STATE", min_width=8),
    Column("EVENTS", right=True, min_width=6),
    Column("LABELS", max_width=24),
    Column("PARENT"),
    Column("ORIGIN", min_width=26),
)


@click.command("pull")
@click.argument("ref")
@dsn_options
@json_option
@click.pass_obj
def pull_command(state: State, ref: str, dsn: str | None, dsn_file: Path | None) -> None:
    """Bring session REF from the server into this store, with the forks it comes from.

    REF is a ulid, a label on the server, or a unique ulid prefix (6+ characters).  The
    store file is created if it does not exist.  Pulling again brings only what is new.
    """
    target = _dsn(dsn, dsn_file)
    with state.open(write=True, create=True) as store:
        session = sync.pull(store, ref, target)
    out = state.out
    if out.json:
        out.document(session_doc(session))
        return
    labels = f" ({', '.join(session.origin_labels)})" if session.origin_labels else ""
    out.line(
        f"pulled {session.ulid}{labels} of store {session.origin}: "
        f"{session.last_seq:,} events in its timeline"
    )
    out.note(f"continue it here in a new fork: zero-session shell --resume {session.ulid}")


def _store_id(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not is_ulid(value.strip().upper()):
        raise click.BadParameter(f"{value!r} is not a store id (a 26-character ulid)")
    return value.strip().upper() if value is not None else None


def _state(archived_at_ms: int | None, ended_at_ms: int | None) -> str:
    if archived_at_ms is not None:
        return "archived"
    return "ended" if ended_at_ms is not None else "open"


def _server_doc(session: sync.ServerSession) -> dict[str, Any]:
    return {
        "ulid": session.ulid,
        "origin": session.origin,
        "state": _state(session.archived_at_ms, session.ended_at_ms),
        **times("started_at", session.started_at_ms),
        **times("ended_at", session.ended_at_ms),
        **times("last_event_at", session.last_event_at_ms),
        "n_events": session.n_events,
        "last_seq": session.last_seq,
        "parent_ulid": session.parent_ulid,
        "fork_seq": session.fork_seq,
        "labels": list(session.labels),
        "cli_version": session.cli_version,
        "cwd": session.cwd,
        **times("archived_at", session.archived_at_ms),
    }


def _server_row(session: sync.ServerSession) -> list[Cell]:
    return [
        session.ulid,
        local_time(session.started_at_ms),
        _state(session.archived_at_ms, session.ended_at_ms),
        f"{session.n_events:,}",
        ", ".join(session.labels) or "-",
        "-" if session.parent_ulid is None else session.parent_ulid[:10] + "…",
        session.origin,
    ]


@click.command("list")
@click.option("--store", "origin", callback=_store_id, help="Only sessions of this store id.")
@click.option(
    "-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many."
)
@dsn_options
@json_option
@click.pass_obj
def list_command(
    state: State, origin: str | None, limit: int, dsn: str | None, dsn_file: Path | None
) -> None:
    """The server's sessions, newest first, with the store each belongs to."""
    sessions = sync.list_sessions(_dsn(dsn, dsn_file), store=origin, limit=limit)
    out = state.out
    if out.json:
        out.document([_server_doc(s) for s in sessions])
    elif sessions:
        out.table(_SERVER_COLUMNS, [_server_row(s) for s in sessions])
    else:
        out.note("no sessions on the server" + (f" from store {origin}" if origin else ""))
