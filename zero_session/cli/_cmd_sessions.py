"""Commands about sessions: list, show, find, label, unlabel, fork, end, milestones."""

from __future__ import annotations

from collections.abc import Iterator

import click

from .._documents import milestone_doc, session_doc
from ..errors import LabelTaken, SessionNotFound
from ..models import Session, Status
from ..store import Store
from ._output import Cell, Column, Output, compact_json, local_time
from ._state import State, UserError, json_option, parsed_by
from ._when import parse_since

__all__ = ["COMMANDS"]

_PAGE = 200

SESSION_COLUMNS = (
    Column("ULID", min_width=26),
    Column("STARTED", min_width=19),
    Column("STATUS", min_width=11),
    Column("EVENTS", right=True, min_width=6),
    Column("LABELS", max_width=24),
    Column("PARENT"),
    Column("CWD", max_width=40),
)


def _short(ulid: str | None) -> str:
    return "-" if ulid is None else ulid[:10] + "…"


def session_row(session: Session) -> list[Cell]:
    """One row of SESSION_COLUMNS."""
    return [
        session.ulid,
        local_time(session.started_at_ms),
        (str(session.status), str(session.status)),
        f"{session.n_events:,}",
        ", ".join(session.labels) or "-",
        _short(session.parent_ulid),
        session.cwd or "-",
    ]


ORIGIN_COLUMN = Column("ORIGIN", max_width=40)


def origin_cell(session: Session) -> str:
    """Where a pulled session belongs (its origin store and that store's labels), or
    ``-`` for this store's own."""
    if session.origin is None:
        return "-"
    labels = f" ({', '.join(session.origin_labels)})" if session.origin_labels else ""
    return f"{session.origin}{labels}"


def print_sessions(out: Output, sessions: list[Session]) -> None:
    """A listing of sessions as a table or a JSON array; an ORIGIN column when any of
    them was pulled from another store."""
    if out.json:
        out.document([session_doc(s) for s in sessions])
    elif any(s.origin is not None for s in sessions):
        rows = [[*session_row(s), origin_cell(s)] for s in sessions]
        out.table((*SESSION_COLUMNS, ORIGIN_COLUMN), rows)
    elif sessions:
        out.table(SESSION_COLUMNS, [session_row(s) for s in sessions])
    else:
        out.note("no sessions")


def _labelled(store: Store, pattern: str | None) -> set[str] | None:
    """The ulids of sessions with a label matching the glob ``pattern`` (None: no filter)."""
    if pattern is None:
        return None
    from fnmatch import fnmatchcase

    return {ulid for name, ulid in store.labels().items() if fnmatchcase(name, pattern)}


def _candidates(
    store: Store,
    *,
    labelled: set[str] | None,
    include_archived: bool,
    cwd: str | None,
    page: int,
) -> Iterator[Session]:
    """Sessions newest first: the labelled ones directly, or the listing in pages."""
    if labelled is not None and cwd is None:
        found: list[Session] = []
        for ulid in labelled:
            try:
                found.append(store.get(ulid))
            except SessionNotFound:
                continue
        yield from sorted(found, key=lambda s: (s.started_at_ms, s.ulid), reverse=True)
        return
    before: Session | None = None
    while True:
        batch = store.list_sessions(page, before=before, include_archived=include_archived, cwd=cwd)
        yield from batch
        if len(batch) < page:
            return
        before = batch[-1]


@click.command("list")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in Status]),
    help="Only sessions with this status (repeatable).",
)
@click.option("--label", help="Only sessions with this label (glob patterns like 'pre-*' work).")
@click.option(
    "--cwd",
    type=click.Path(file_okay=False),
    help="Only sessions of this folder, or of its nearest parent that has some (like resume).",
)
@click.option(
    "--since",
    callback=parsed_by(parse_since),
    help="Only sessions started since: 2h, 3d, 2026-11-21.",
)
@click.option("--all", "include_archived", is_flag=True, help="Include archived sessions.")
@json_option
@click.pass_obj
def list_command(
    state: State,
    limit: int,
    statuses: tuple[str, ...],
    label: str | None,
    cwd: str | None,
    since: int | None,
    include_archived: bool,
) -> None:
    """The newest sessions first."""
    include_archived = include_archived or Status.ARCHIVED.value in statuses
    filtered = bool(statuses or label or since is not None)
    picked: list[Session] = []
    with state.open() as store:
        labelled = _labelled(store, label)
        for session in _candidates(
            store,
            labelled=labelled,
            include_archived=include_archived,
            cwd=cwd,
            page=_PAGE if filtered else limit,
        ):
            if since is not None and session.started_at_ms < since:
                break
            if session.archived_at_ms is not None and not include_archived:
                continue
            if statuses and session.status not in statuses:
                continue
            if labelled is not None and session.ulid not in labelled:
                continue
            picked.append(session)
            if len(picked) == limit:
                break
    print_sessions(state.out, picked)


def _parents(store: Store, session: Session) -> list[Session]:
    chain = []
    current = session
    while current.parent_ulid is not None:
        current = store.get(current.parent_ulid)
        chain.append(current)
    return chain


@click.command("show")
@click.argument("needle")
@json_option
@click.pass_obj
def show_command(state: State, needle: str) -> None:
    """Everything about one session: metadata, status, parent chain, events per kind.

    NEEDLE is a ulid, a label, or a unique ulid prefix (6+ characters).
    """
    with state.open() as store:
        session = store.find(needle)
        parents = _parents(store, session)
        kinds = store.kind_counts(session)
    out = state.out
    if out.json:
        doc = session_doc(session)
        doc["parents"] = [
            {"ulid": p.ulid, "fork_seq": child.fork_seq, "labels": list(p.labels)}
            for p, child in zip(parents, [session, *parents], strict=False)
        ]
        doc["kinds"] = kinds
        out.document(doc)
        return
    pairs: list[tuple[str, Cell]] = [
        ("ulid", session.ulid),
        ("status", (str(session.status), str(session.status))),
        ("labels", ", ".join(session.labels) or "-"),
        *([("origin", f"store {origin_cell(session)}")] if session.origin else []),
        ("started", local_time(session.started_at_ms)),
        ("ended", local_time(session.ended_at_ms)),
        ("last event", local_time(session.last_event_at_ms)),
        ("events", f"{session.n_events:,} own, {session.fork_seq:,} inherited"),
    ]
    child = session
    for parent in parents:
        labels = f" ({', '.join(parent.labels)})" if parent.labels else ""
        pairs.append(("forked from", f"{parent.ulid}{labels} at seq {child.fork_seq:,}"))
        child = parent
    pairs += [
        ("cwd", session.cwd or "-"),
        ("cli version", session.cli_version or "-"),
        ("engine", session.engine_base_url or "-"),
        ("writer", f"pid {session.writer_pid} on {session.writer_host}"),
        ("expires", local_time(session.expires_at_ms)),
        ("archived", local_time(session.archived_at_ms)),
        ("meta", compact_json(session.meta) if session.meta else "-"),
        ("kinds", ", ".join(f"{k} {n:,}" for k, n in kinds.items()) or "-"),
    ]
    out.fields(pairs)


@click.command("find")
@click.argument("needle")
@json_option
@click.pass_obj
def find_command(state: State, needle: str) -> None:
    """Resolve NEEDLE (ulid, label, or unique ulid prefix) to its session."""
    with state.open() as store:
        session = store.find(needle)
    if state.out.json:
        state.out.document(session_doc(session))
    else:
        state.out.table(SESSION_COLUMNS, [session_row(session)])


@click.command("label")
@click.argument("needle")
@click.argument("name")
@click.option("--move", is_flag=True, help="Move NAME here if another session has it.")
@json_option
@click.pass_obj
def label_command(state: State, needle: str, name: str, move: bool) -> None:
    """Give the session NEEDLE the label NAME (refused if another session has it,
    unless --move)."""
    with state.open(write=True) as store:
        session = store.find(needle)
        try:
            store.label(session, name, move=move)
        except LabelTaken as exc:
            raise UserError(
                f"label {name!r} already names session {exc.ulid}; use --move to move it"
            ) from exc
    if state.out.json:
        state.out.document({"label": name, "ulid": session.ulid})
    else:
        state.out.line(f"labelled {session.ulid} as {name}")


@click.command("unlabel")
@click.argument("name")
@json_option
@click.pass_obj
def unlabel_command(state: State, name: str) -> None:
    """Remove the label NAME."""
    with state.open(write=True) as store:
        if not store.unlabel(name):
            raise UserError(f"no label {name!r}")
    if state.out.json:
        state.out.document({"label": name, "removed": True})
    else:
        state.out.line(f"removed label {name}")


@click.command("fork")
@click.argument("needle")
@click.option(
    "--at", "at_seq", type=click.IntRange(min=0), help="Fork after this seq (default: the last)."
)
@json_option
@click.pass_obj
def fork_command(state: State, needle: str, at_seq: int | None) -> None:
    """Start a child of NEEDLE that keeps its first SEQ events (nothing is copied)."""
    with state.open(write=True) as store:
        parent = store.find(needle)
        if at_seq is not None and at_seq > parent.last_seq:
            raise UserError(
                f"--at {at_seq} is past the end of session {parent.ulid} "
                f"(its last seq is {parent.last_seq:,})"
            )
        child = store.fork(parent, at_seq=at_seq)
        # The CLI never writes into the fork: end it, so that it reads as "ended" rather
        # than "interrupted" once this process is gone.  A program resumes it to write.
        child = store.end(child)
    if state.out.json:
        state.out.document(session_doc(child))
    else:
        state.out.line(f"forked {parent.ulid} at seq {child.fork_seq:,}: {child.ulid}")


@click.command("end")
@click.argument("needle")
@json_option
@click.pass_obj
def end_command(state: State, needle: str) -> None:
    """Record the end of NEEDLE (idempotent: the first end time is kept)."""
    with state.open(write=True) as store:
        session = store.end(store.find(needle))
    if state.out.json:
        state.out.document(session_doc(session))
    else:
        state.out.line(f"ended {session.ulid} at {local_time(session.ended_at_ms)}")


@click.command("milestones")
@click.argument("prefix", default="")
@json_option
@click.pass_obj
def milestones_command(state: State, prefix: str) -> None:
    """Milestones (labels included) whose key starts with PREFIX, in key order."""
    with state.open() as store:
        found = store.milestones(prefix)
    out = state.out
    if out.json:
        out.document([milestone_doc(m) for m in found])
    elif found:
        out.table(
            (Column("KEY", max_width=48), Column("VALUE", max_width=60), Column("SET AT")),
            [[m.key, m.value, local_time(m.at_ms)] for m in found],
        )
    else:
        out.note("no milestones")


COMMANDS = (
    list_command,
    show_command,
    find_command,
    label_command,
    unlabel_command,
    fork_command,
    end_command,
    milestones_command,
)
