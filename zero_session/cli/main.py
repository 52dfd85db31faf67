"""``zero-session``: a first command line over the default store.

``demo`` records a short session, labels it, forks it, and prints the listing and the
child's replay; ``list`` prints the newest sessions.  User errors print one line and
exit 1; usage errors exit 2 (argparse's convention).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime

from ..errors import ZeroSessionError
from ..models import Event, EventKind, Session
from ..store import Store

__all__ = ["main"]


def _local_time(at_ms: int | None) -> str:
    if at_ms is None:
        return "-"
    return datetime.fromtimestamp(at_ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _session_line(session: Session) -> str:
    labels = ",".join(session.labels) or "-"
    parent = session.parent_ulid or "-"
    return (
        f"{session.ulid}  {_local_time(session.started_at_ms)}  {session.status:<11}  "
        f"{session.n_events:>6}  {labels:<16}  {parent}"
    )


def _event_line(event: Event) -> str:
    return f"{event.seq:>5}  {_local_time(event.at_ms)}  {event.kind:<11}  {event.text}"


def _print_sessions(sessions: Sequence[Session]) -> None:
    print(f"{'ULID':<26}  {'STARTED':<19}  {'STATUS':<11}  {'EVENTS':>6}  {'LABELS':<16}  PARENT")
    for session in sessions:
        print(_session_line(session))


def _demo(store: Store) -> None:
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
    print(f"database: {store.path}")
    print(f"recorded session {session.ulid} (label {label}) and forked {child.ulid} at seq 3\n")
    _print_sessions(store.list_sessions(limit=5))
    print(f"\nreplay of {child.ulid} (seqs 1-3 inherited from its parent):")
    for event in store.replay(child):
        print(_event_line(event))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zero-session", description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="database file (default: $ZERO_SESSION_DB or XDG state)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="record, label, fork and replay a short demo session")
    shell = commands.add_parser("shell", help="interactive shell that records what you type")
    shell.add_argument("--no-persist", action="store_true", help="record into memory only")
    listing = commands.add_parser("list", help="the newest sessions")
    listing.add_argument("-n", type=int, default=20, help="how many (default 20)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "shell":
        from ..tui.shell import run_shell

        return run_shell(db=args.db, no_persist=args.no_persist)
    try:
        with Store.open(args.db) as store:
            if args.command == "demo":
                _demo(store)
            else:
                _print_sessions(store.list_sessions(limit=args.n))
    except ZeroSessionError as exc:
        print(f"zero-session: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
