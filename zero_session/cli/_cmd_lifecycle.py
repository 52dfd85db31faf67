"""Commands that tidy a store: archive, unarchive, delete, prune, vacuum.

``delete`` and ``prune`` remove sessions for good, events included (the only way
events ever leave).  Unless given ``--yes`` they list what would go and ask, both on
standard error so that standard output holds only the result.  When standard input is
not a terminal there is nobody to ask: they refuse (exit 1) before even opening the
store, whatever it holds, so a script learns that it must say ``--yes`` on its first
run, not on the first day there is something to remove.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from .._documents import session_doc
from ..errors import HasForks, SessionBusy, SessionNotFound
from ..models import Session, Status
from ..store import Store
from ._cmd_sessions import SESSION_COLUMNS, session_row
from ._output import Cell, Output, local_time, size_text
from ._state import State, UserError, json_option, parsed_by
from ._when import parse_duration

if TYPE_CHECKING:
    from .._lifecycle import PruneReport

__all__ = ["COMMANDS"]

_PREVIEW = 20
"""Sessions listed before the question; the rest are only counted."""


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _has_forks(ulid: str, children: Iterable[str]) -> UserError:
    forks = list(children)
    return UserError(
        f"session {ulid} has {_count(len(forks), 'fork')} ({', '.join(forks)}): "
        f"pass --cascade to delete {'it' if len(forks) == 1 else 'them'} too"
    )


def _busy(ulid: str, pid: int | None, host: str | None) -> UserError:
    return UserError(
        f"session {ulid} is live (process {pid} on {host} is writing it): "
        "delete it once that program has ended"
    )


def _must_ask(yes: bool, command: str) -> bool:
    """Whether to ask before removing; UserError when asking is needed but impossible."""
    if yes:
        return False
    if not sys.stdin.isatty():
        raise UserError(
            f"{command} removes sessions for good and standard input is not a terminal "
            "to ask on: pass --yes to go ahead"
        )
    return True


def _ask(out: Output, sessions: Sequence[Session], question: str) -> None:
    """List what would go and ask, on standard error; UserError when the answer is no."""
    for session in sessions[:_PREVIEW]:
        labels = f"  ({', '.join(session.labels)})" if session.labels else ""
        out.note(
            f"  {session.ulid}  {local_time(session.started_at_ms)}  {session.status}  "
            f"{_count(session.n_events, 'event')}{labels}"
        )
    if len(sessions) > _PREVIEW:
        out.note(f"  … and {len(sessions) - _PREVIEW:,} more")
    try:
        agreed = click.confirm(question, default=False, err=True)
    except click.exceptions.Abort:  # Ctrl-D (or Ctrl-C) at the question: a "no"
        click.echo(err=True)
        agreed = False
    if not agreed:
        raise UserError("nothing was removed")


def _subtree(store: Store, root: Session) -> list[Session]:
    """``root`` and every fork below it, forks before their parents (as delete goes).

    One indexed forks-of lookup (``Store.forks``) per session of the subtree.
    """
    tree = [root]
    for session in tree:  # grows while it is read: breadth first
        tree.extend(store.forks(session))
    return tree[::-1]


def _sessions_by_ulid(store: Store, ulids: Iterable[str]) -> dict[str, Session]:
    """The sessions still there, by ulid (another process may remove some meanwhile)."""
    found = {}
    for ulid in ulids:
        try:
            found[ulid] = store.get(ulid)
        except SessionNotFound:
            continue
    return found


def _print_removal(
    out: Output, report: PruneReport, known: Mapping[str, Session], *, verb: str
) -> None:
    """What went (or would go): the sessions as they were just before, then the totals.

    A session removed without having been seen before (it qualified for a prune only
    after the plan was read) is shown by its ulid alone.
    """
    if out.json:
        out.document(
            {
                "dry_run": report.dry_run,
                "n_sessions": report.n_sessions,
                "n_events": report.n_events,
                "event_bytes": report.event_bytes,
                "bytes_reclaimed": report.bytes_reclaimed,
                "sessions": [
                    session_doc(known[u]) if u in known else {"ulid": u} for u in report.sessions
                ],
            }
        )
        return
    if not report.sessions:
        out.line("no session qualifies; nothing was changed")
        return
    unseen: list[Cell] = ["-"] * (len(SESSION_COLUMNS) - 1)
    out.table(
        SESSION_COLUMNS,
        [session_row(known[u]) if u in known else [u, *unseen] for u in report.sessions],
    )
    totals = (
        f"{verb} {_count(report.n_sessions, 'session')} and "
        f"{_count(report.n_events, 'event')} ({size_text(report.event_bytes)} of text and data)"
    )
    if report.dry_run:
        totals += "; nothing was changed (dry run)"
    elif report.bytes_reclaimed:
        totals += f"; the file shrank by {size_text(report.bytes_reclaimed)}"
    out.line(totals)


def _print_session(out: Output, session: Session, text: str) -> None:
    if out.json:
        out.document(session_doc(session))
    else:
        out.line(text)


@click.command("archive")
@click.argument("needle")
@json_option
@click.pass_obj
def archive_command(state: State, needle: str) -> None:
    """Hide NEEDLE from `list` and from "latest here"; nothing is deleted.

    It still resolves by ulid, prefix and label, and `list --all` shows it.  Archiving
    twice keeps the first time.
    """
    with state.open(write=True) as store:
        session = store.archive(store.find(needle))
    _print_session(
        state.out, session, f"archived {session.ulid} at {local_time(session.archived_at_ms)}"
    )


@click.command("unarchive")
@click.argument("needle")
@json_option
@click.pass_obj
def unarchive_command(state: State, needle: str) -> None:
    """Show the archived session NEEDLE in `list` again."""
    with state.open(write=True) as store:
        session = store.unarchive(store.find(needle))
    _print_session(state.out, session, f"unarchived {session.ulid}")


_YES_HELP = "Do not ask first (required when standard input is not a terminal)."


@click.command("delete")
@click.argument("needle")
@click.option("--cascade", is_flag=True, help="Also delete its forks, and theirs.")
@click.option("-y", "--yes", is_flag=True, help=_YES_HELP)
@json_option
@click.pass_obj
def delete_command(state: State, needle: str, cascade: bool, yes: bool) -> None:
    """Delete NEEDLE for good: its events, the labels naming it, with --cascade its forks.

    Refuses a session that has forks (unless --cascade) and a live one (its program
    still runs).  Lists what would go and asks first, unless --yes.
    """
    ask = _must_ask(yes, "delete")
    with state.open(write=True) as store:
        root = store.find(needle)
        doomed = _subtree(store, root)
        forks = [s.ulid for s in doomed if s.parent_ulid == root.ulid]
        if forks and not cascade:
            raise _has_forks(root.ulid, forks)
        for session in doomed:
            if session.status == Status.LIVE:
                raise _busy(session.ulid, session.writer_pid, session.writer_host)
        if ask:
            events = _count(sum(s.n_events for s in doomed), "event")
            _ask(state.out, doomed, f"Delete {_count(len(doomed), 'session')} and {events}?")
        try:
            report = store.delete(root, cascade=cascade)
        except HasForks as exc:  # forked since it was read
            raise _has_forks(exc.ulid, exc.children) from None
        except SessionBusy as exc:  # resumed since it was read
            raise _busy(exc.ulid, exc.pid, exc.host) from None
    _print_removal(state.out, report, {s.ulid: s for s in doomed}, verb="deleted")


@click.command("prune")
@click.option(
    "--older-than",
    metavar="DURATION",
    callback=parsed_by(parse_duration),
    help="Sessions inactive for longer than this (90m, 12h, 30d, 1w) go; "
    "activity is a session's latest start, event or end.",
)
@click.option(
    "--expired/--no-expired",
    default=True,
    show_default=True,
    help="Sessions whose TTL has passed go too.",
)
@click.option("--include-labeled", is_flag=True, help="Labelled sessions may go (kept otherwise).")
@click.option("--include-archived", is_flag=True, help="Archived sessions may go (kept otherwise).")
@click.option("--dry-run", is_flag=True, help="List what would go; change nothing.")
@click.option("-y", "--yes", is_flag=True, help=_YES_HELP)
@json_option
@click.pass_obj
def prune_command(
    state: State,
    older_than: timedelta | None,
    expired: bool,
    include_labeled: bool,
    include_archived: bool,
    dry_run: bool,
    yes: bool,
) -> None:
    """Delete old and expired sessions for good; list them and the totals.

    Never removes a live session, nor an ancestor of a session that stays, nor (unless
    told) a labelled or archived one.  Lists what would go and asks first, unless --yes
    or --dry-run.
    """
    if older_than is None and not expired:
        raise click.UsageError("nothing to prune by: give --older-than or leave out --no-expired")
    ask = not dry_run and _must_ask(yes, "prune")
    with state.open(write=not dry_run) as store:

        def prune(*, plan_only: bool, only: Sequence[str] | None = None) -> PruneReport:
            return store.prune(
                older_than=older_than,
                expired=expired,
                keep_labeled=not include_labeled,
                keep_archived=not include_archived,
                dry_run=plan_only,
                only=only,
            )

        report = prune(plan_only=True)
        known = _sessions_by_ulid(store, report.sessions)
        if not dry_run:
            if ask and report.sessions:
                doomed = [known[u] for u in report.sessions if u in known]
                events = _count(report.n_events, "event")
                _ask(state.out, doomed, f"Delete {_count(len(doomed), 'session')} and {events}?")
            # Exactly what was shown (and agreed to), never a session that became
            # eligible since; any of them that no longer qualifies stays.
            report = prune(plan_only=False, only=report.sessions)
    _print_removal(state.out, report, known, verb="would prune" if dry_run else "pruned")


@click.command("vacuum")
@json_option
@click.pass_obj
def vacuum_command(state: State) -> None:
    """Rebuild the file compactly and give its free pages back to the file system.

    Needed once for a file from before zero_session reclaimed space itself (since then
    delete and prune shrink the file as they go).  Slow on a big file, which is
    rewritten whole, and it waits for other writers.
    """
    with state.open(write=True) as store:
        reclaimed = store.vacuum()
    if state.out.json:
        state.out.document({"path": str(state.path), "bytes_reclaimed": reclaimed})
    else:
        state.out.line(f"vacuumed {state.path}: {size_text(reclaimed)} given back")


COMMANDS = (
    archive_command,
    unarchive_command,
    delete_command,
    prune_command,
    vacuum_command,
)
