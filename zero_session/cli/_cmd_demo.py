"""``demo``: record, label, fork and replay a short session, to show what the store does."""

from __future__ import annotations

import click

from .._documents import session_doc
from ..models import EventKind
from ._cmd_events import print_events
from ._cmd_sessions import print_sessions
from ._state import State, json_option

__all__ = ["demo_command"]


@click.command("demo")
@json_option
@click.pass_obj
def demo_command(state: State) -> None:
    """Record a short demo session, label it, fork it, and show the listing and replay."""
    with state.open(write=True, create=True) as store:
        session = store.start(cli_version="demo", meta={"source": "zero-session demo"})
        store.append(session, EventKind.SYSTEM, "demo session started")
        store.append(session, EventKind.PROMPT, "buy 10 ACME", data={"qty": 10, "symbol": "ACME"})
        store.append_many(
            session,
            [
                (EventKind.COMMAND, "/risk check"),
                (EventKind.WARN, "spread is wide"),
                (EventKind.ALERT, "margin at 80%"),
            ],
        )
        label = f"demo-{session.ulid[-6:].lower()}"
        store.label(session, label)
        child = store.fork(session, at_seq=3)
        store.append(child, EventKind.MODE_CHANGE, "switched to paper trading")
        store.append(child, EventKind.PROMPT, "sell 5 ACME", data={"qty": 5, "symbol": "ACME"})
        store.end(child)
        store.end(session)
        listing = store.list_sessions(limit=5)
        replay = list(store.replay(child))
        parent, fork = store.get(session), store.get(child)
    out = state.out
    if out.json:
        out.document({"session": session_doc(parent), "fork": session_doc(fork)})
        return
    out.line(f"database: {state.path}")
    out.line(f"recorded session {session.ulid} (label {label}) and forked {child.ulid} at seq 3")
    out.line()
    print_sessions(out, listing)
    out.line()
    out.line(f"replay of {child.ulid} (seqs 1-3 inherited from its parent):")
    print_events(out, replay, stream=False)
