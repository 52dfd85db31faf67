"""``sync init|push|status|watch``: the store and a PostgreSQL server (``zero_session.sync``).

Where the server is: ``--dsn`` (a connection string without a password), ``--dsn-file``
(a file only its owner may read, mode 0600), else ``$ZERO_SESSION_PG``, else libpq's own
means (``PGSERVICE``, ``PG*`` variables, ``~/.pgpass`` for the password).  A password
on the command line is refused (exit 2): any user of the machine can read it in ``ps``.
Nothing printed, in text or ``--json``, ever contains a password.
"""

from __future__ import annotations

import signal
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import sync
from ..errors import SyncError
from ._state import State, UserError, json_option

__all__ = ["COMMANDS"]

F = TypeVar("F", bound=Callable[..., Any])

_PASSWORD_HINT = (
    "put the password in ~/.pgpass, or the whole connection string in $ZERO_SESSION_PG or "
    "in a file given with --dsn-file (mode 0600)"
)


def _check_dsn(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(value)
    except ImportError:
        return value  # the push itself says how to install the extra
    except Exception:
        raise click.BadParameter("malformed connection string (not shown)") from None
    if params.get("password"):
        raise click.BadParameter(
            f"a password on the command line is visible to every user in `ps`; {_PASSWORD_HINT}"
        )
    return value


def _read_dsn_file(path: Path) -> str:
    """The connection string in ``path``, refused unless only its owner may read it."""
    try:
        info = path.stat()
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise UserError(
                f"{path}: mode {stat.S_IMODE(info.st_mode):04o} lets others read the "
                f"password; chmod 600 {path}"
            )
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror}") from None


def dsn_options(command: F) -> F:
    """``--dsn`` (no password allowed) and ``--dsn-file``."""
    command = click.option(
        "--dsn-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A file holding the connection string (mode 0600).",
    )(command)
    return click.option(
        "--dsn",
        callback=_check_dsn,
        help="libpq connection string without a password (default: $ZERO_SESSION_PG).",
    )(command)


def _dsn(dsn: str | None, dsn_file: Path | None) -> str | None:
    if dsn is not None and dsn_file is not None:
        raise click.UsageError("give --dsn or --dsn-file, not both")
    return _read_dsn_file(dsn_file) if dsn_file is not None else dsn


@click.group("sync")
def sync_group() -> None:
    """Push this store to a PostgreSQL server and see how far behind it is.

    The server merges many stores, append-only; see docs/postgres.md.
    """


@sync_group.command("init")
@click.option("--print-sql", is_flag=True, help="Print the SQL for an owner and a writer role.")
@click.option("--owner", default="zero_session_owner", show_default=True)
@click.option("--writer", default="zero_session_writer", show_default=True)
@dsn_options
@json_option
@click.pass_obj
def init_command(
    state: State,
    print_sql: bool,
    owner: str,
    writer: str,
    dsn: str | None,
    dsn_file: Path | None,
) -> None:
    """Create or upgrade the server schema (run it as the schema's owner)."""
    if print_sql:
        try:
            from ..sync._roles import roles_sql
        except ImportError:
            raise SyncError(
                f"sync needs the 'postgres' extra: {sync.INSTALL_HINT}", "missing"
            ) from None
        try:
            click.echo(roles_sql(owner, writer), nl=False)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        return
    version = sync.init(_dsn(dsn, dsn_file))
    if state.out.json:
        state.out.document({"server_schema_version": version})
    else:
        state.out.line(f"server schema at version {version}")


class _TerminalProgress:
    """``pushing 12,000 / 120,000 events`` rewritten in place on a terminal's stderr."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total < 10_000 and not self.shown:
            return  # short pushes need no bar
        percent = 100 * done // total if total else 100
        sys.stderr.write(f"\rpushing {done:,} / {total:,} events ({percent}%)")
        sys.stderr.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _report_line(report: sync.PushReport) -> str:
    return (
        f"pushed {report.events:,} events, {report.sessions:,} sessions, "
        f"{report.milestones:,} labels and milestones to {report.server} "
        f"in {report.seconds:.2f} s"
    )


def _divergence_lines(diverged: tuple[sync.Divergence, ...]) -> list[str]:
    return [f"diverged: session {d.ulid} seq {d.seq}: {d.reason}" for d in diverged]


@sync_group.command("push")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something diverged.")
@dsn_options
@json_option
@click.pass_obj
def push_command(state: State, quiet: bool, dsn: str | None, dsn_file: Path | None) -> None:
    """Send the server everything of this store it lacks (safe to run again)."""
    target = _dsn(dsn, dsn_file)
    out = state.out
    progress = _TerminalProgress() if not (quiet or out.json) and sys.stderr.isatty() else None
    with state.open(write=True) as store:
        try:
            report = sync.push(store, target, progress=progress)
        finally:
            if progress is not None:
                progress.finish()
    if out.json:
        out.document(report.as_json())
        return
    if not quiet:
        out.line(_report_line(report))
    for line in _divergence_lines(report.diverged):
        out.line(line)


@sync_group.command("status")
@dsn_options
@json_option
@click.pass_obj
def status_command(state: State, dsn: str | None, dsn_file: Path | None) -> None:
    """How far the server is behind this store, asked of the server (never writes)."""
    target = _dsn(dsn, dsn_file)
    with state.open() as store:
        result = sync.status(store, target)
    out = state.out
    if out.json:
        out.document(result.as_json())
        return
    out.fields(
        [
            ("server", result.server),
            ("server schema", str(result.server_schema_version or "not created yet")),
            ("store id", result.store_id or "none yet (never pushed)"),
            ("pending sessions", f"{result.pending_sessions:,}"),
            ("pending events", f"{result.pending_events:,}"),
            ("diverged", f"{len(result.diverged):,}"),
        ]
    )
    for line in _divergence_lines(result.diverged):
        out.line(line)


@sync_group.command("watch")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between pushes when nothing changed (and between retries).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and divergences.")
@dsn_options
@click.pass_obj
def watch_command(
    state: State, interval: float, quiet: bool, dsn: str | None, dsn_file: Path | None
) -> None:
    """Push whenever this store changes, at least every --interval seconds; Ctrl-C
    finishes the batch and exits 0."""
    target = _dsn(dsn, dsn_file)
    stop = threading.Event()
    out = state.out

    def on_push(report: sync.PushReport) -> None:
        if not quiet:
            out.line(_report_line(report))
        for line in _divergence_lines(report.diverged):
            out.line(line)
        sys.stdout.flush()

    def on_error(error: SyncError) -> None:
        sys.stderr.write(f"zero-session: {error} (retrying)\n")

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with state.open(write=True) as store:
            sync.watch(
                store, target, interval=interval, stop=stop, on_push=on_push, on_error=on_error
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not quiet:
        out.note("watch stopped")


# sync pull and sync list live in their own module, which uses the options above.
from ._cmd_sync_pull import list_command, pull_command  # noqa: E402

sync_group.add_command(pull_command)
sync_group.add_command(list_command)

COMMANDS = (sync_group,)  # registered in _app as sync_group
