"""Commands about the whole store: export, import, share, stats, backup, path, doctor."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from .._documents import share_doc, times
from .._transfer import TransferCounts
from .._words import count
from ..errors import ZeroSessionError
from ..store import Store
from ._output import Column, local_time, size_text
from ._state import State, UserError, json_option

__all__ = ["COMMANDS"]


def _counts(counts: TransferCounts) -> dict[str, int]:
    return {"sessions": counts.sessions, "events": counts.events, "milestones": counts.milestones}


def _describe(counts: TransferCounts) -> str:
    return ", ".join(
        count(n, noun)
        for n, noun in (
            (counts.sessions, "session"),
            (counts.events, "event"),
            (counts.milestones, "milestone"),
        )
    )


@contextlib.contextmanager
def _atomic_output(path: Path) -> Iterator[IO[str]]:
    """A text file that appears at ``path`` only once completely written."""
    import tempfile  # only here: it costs a few ms of every command's start-up

    target = path.expanduser()
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent or Path("."), prefix=f".{target.name}.")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


@click.command("export")
@click.argument("needles", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Export the whole store.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output).",
)
@json_option
@click.pass_obj
def export_command(
    state: State, needles: tuple[str, ...], everything: bool, output: Path | None
) -> None:
    """Export sessions (with their ancestors) as JSON Lines, for `import`.

    Give NEEDLEs (ulids, labels, prefixes) or --all.
    """
    if bool(needles) == everything:
        raise click.UsageError("give either session NEEDLEs or --all")
    with state.open() as store:
        sessions = None if everything else [store.find(n) for n in needles]
        if output is None:
            counts = store.export(sys.stdout, sessions=sessions)
            return
        with _atomic_output(output) as handle:
            counts = store.export(handle, sessions=sessions)
    if state.out.json:
        state.out.document({"path": str(output), **_counts(counts)})
    else:
        state.out.line(f"exported {_describe(counts)} to {output}")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@json_option
@click.pass_obj
def import_command(state: State, file: Path) -> None:
    """Import an `export` file (- for standard input); importing twice changes nothing.

    Creates the store if needed.  All or nothing: a bad line leaves the store as it was.
    """
    try:
        handle = sys.stdin if str(file) == "-" else file.open(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror}") from exc
    new_paths = _missing_paths(state.path)
    try:
        with handle, state.open(write=True, create=True) as store:
            counts = store.import_(handle, source=str(file))
    except BaseException:
        _remove_new_store(new_paths)
        raise
    if state.out.json:
        state.out.document(_counts(counts))
    else:
        state.out.line(f"imported {_describe(counts)} from {file}")


def _missing_paths(db: Path) -> list[Path]:
    """The database file and the folders above it that do not exist yet, deepest
    first: what opening a new store there creates."""
    missing: list[Path] = []
    path = db.expanduser().absolute()
    while not path.exists() and not path.is_symlink() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _remove_new_store(created: list[Path]) -> None:
    """After a failed import into a store it created: remove the store (with its
    ``-wal`` and ``-shm``) and the folders made for it, so a failure leaves nothing
    behind.  Folders are removed only when empty, the store only when it holds nothing
    (another process may have started using the new file meanwhile)."""
    if not created:
        return
    db = created[0]
    try:
        with Store.open(db, readonly=True) as store:
            if store.list_sessions(limit=1, include_archived=True) or store.milestones():
                return
    except ZeroSessionError:
        return  # not readable as a store: not ours to judge, keep it
    for path in (db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm"))):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    for folder in created[1:]:
        try:
            folder.rmdir()
        except OSError:
            return


@click.command("share")
@click.argument("needle")
@click.option("-n", "--tail", type=click.IntRange(min=0), help="Only the last N events.")
@json_option
@click.pass_obj
def share_command(state: State, needle: str, tail: int | None) -> None:
    """One JSON document of NEEDLE's metadata and timeline, to paste into a bug report."""
    with state.open() as store:
        document = share_doc(store, store.find(needle), tail=tail)
    state.out.document(document)


@click.command("stats")
@click.option("--top", type=click.IntRange(min=0), default=5, show_default=True)
@json_option
@click.pass_obj
def stats_command(state: State, top: int) -> None:
    """Sessions, events, file size, events per kind and the busiest sessions."""
    with state.open() as store:
        stats = store.stats(top=top)
        labels = {ulid: store.get(ulid).labels for ulid, _ in stats.busiest}
    out = state.out
    if out.json:
        out.document(
            {
                "path": str(state.path),
                "sessions": stats.sessions,
                "events": stats.events,
                "milestones": stats.milestones,
                "labels": stats.labels,
                "file_bytes": stats.file_bytes,
                "wal_bytes": stats.wal_bytes,
                **times("first_started_at", stats.first_started_at_ms),
                **times("last_started_at", stats.last_started_at_ms),
                "by_kind": dict(stats.by_kind),
                "busiest": [
                    {"ulid": ulid, "n_events": n, "labels": list(labels[ulid])}
                    for ulid, n in stats.busiest
                ],
            }
        )
        return
    out.fields(
        [
            ("database", str(state.path)),
            (
                "size",
                f"{size_text(stats.file_bytes)} + {size_text(stats.wal_bytes)} write-ahead log",
            ),
            ("sessions", f"{stats.sessions:,}"),
            ("events", f"{stats.events:,}"),
            ("milestones", f"{stats.milestones:,} ({stats.labels:,} labels)"),
            ("first start", local_time(stats.first_started_at_ms)),
            ("last start", local_time(stats.last_started_at_ms)),
        ]
    )
    if stats.by_kind:
        out.line()
        total = sum(n for _, n in stats.by_kind) or 1
        out.table(
            (Column("KIND"), Column("EVENTS", right=True), Column("SHARE", right=True)),
            [[(k, k), f"{n:,}", f"{100 * n / total:.1f}%"] for k, n in stats.by_kind],
        )
    if stats.busiest:
        out.line()
        out.table(
            (Column("BUSIEST SESSION"), Column("EVENTS", right=True), Column("LABELS")),
            [[u, f"{n:,}", ", ".join(labels[u]) or "-"] for u, n in stats.busiest],
        )


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def backup_command(state: State, dest: Path) -> None:
    """Copy the store to the new file DEST, consistently, even while others write."""
    with state.open() as store:
        size = store.backup(dest)
    if state.out.json:
        state.out.document({"path": str(dest), "bytes": size})
    else:
        state.out.line(f"backed up {state.path} to {dest} ({size_text(size)})")


@click.command("path")
@json_option
@click.pass_obj
def path_command(state: State) -> None:
    """Print the database file's path (--db, else $ZERO_SESSION_DB, else the default)."""
    path = state.path
    if state.out.json:
        state.out.document({"path": str(path), "exists": path.exists()})
    else:
        state.out.line(str(path))


@click.command("doctor")
@json_option
@click.pass_obj
def doctor_command(state: State) -> None:
    """Check the file: SQLite integrity plus the store's invariants; exit 1 on problems."""
    with state.open() as store:
        report = store.check()
    out = state.out
    if out.json:
        doc: dict[str, Any] = {
            "path": str(state.path),
            "ok": report.ok,
            "problems": [
                {"code": p.code, "session": p.session, "message": p.message}
                for p in report.problems
            ],
        }
        out.document(doc)
    elif report.ok:
        out.line(f"{state.path}: ok", "ok")
    else:
        for problem in report.problems:
            out.line(str(problem), "problem")
    if not report.ok:
        raise UserError(f"{count(len(report.problems), 'problem')} found in {state.path}")


COMMANDS = (
    export_command,
    import_command,
    share_command,
    stats_command,
    backup_command,
    path_command,
    doctor_command,
)
