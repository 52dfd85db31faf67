"""The ``zero-session`` command group and its error handling.

Exit status: 0 on success, 1 for a user error (printed as one line on standard error,
never a traceback: an unknown needle, an ambiguous prefix, a bad label, a missing file,
a file that is not a store, a database locked past ``--busy-timeout``, a delete or
prune refused or declined), 2 for a usage error (click's message and usage line), 130
when interrupted.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from importlib import import_module

import click

from ..errors import ZeroSessionError
from ..store import DEFAULT_BUSY_TIMEOUT_MS
from ._state import State, UserError

__all__ = ["cli", "run"]

PROG = "zero-session"

# Each command by name, as "module:attribute" under zero_session.cli, imported only when
# that command runs (or help lists them all): a `zero-session list` then loads only the
# session commands, not search, export/import, the lifecycle commands or the browser.
LAZY_COMMANDS = {
    "list": "_cmd_sessions:list_command",
    "show": "_cmd_sessions:show_command",
    "find": "_cmd_sessions:find_command",
    "label": "_cmd_sessions:label_command",
    "unlabel": "_cmd_sessions:unlabel_command",
    "fork": "_cmd_sessions:fork_command",
    "end": "_cmd_sessions:end_command",
    "milestones": "_cmd_sessions:milestones_command",
    "replay": "_cmd_events:replay_command",
    "tail": "_cmd_events:tail_command",
    "search": "_cmd_search:search_command",
    "archive": "_cmd_lifecycle:archive_command",
    "unarchive": "_cmd_lifecycle:unarchive_command",
    "delete": "_cmd_lifecycle:delete_command",
    "prune": "_cmd_lifecycle:prune_command",
    "vacuum": "_cmd_lifecycle:vacuum_command",
    "export": "_cmd_store:export_command",
    "import": "_cmd_store:import_command",
    "share": "_cmd_store:share_command",
    "stats": "_cmd_store:stats_command",
    "backup": "_cmd_store:backup_command",
    "path": "_cmd_store:path_command",
    "doctor": "_cmd_store:doctor_command",
    "demo": "_cmd_demo:demo_command",
    "shell": "_cmd_shell:shell_command",
    "browse": "_cmd_browse:browse_command",
    "sync": "_cmd_sync:sync_group",
}


def _db_after_the_command(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.find_object(State).db = value  # type: ignore[union-attr]


def _accept_db_after(command: click.Command) -> click.Command:
    """``zero-session list --db x.db`` as well as ``zero-session --db x.db list``."""
    if any("--db" in getattr(param, "opts", ()) for param in command.params):
        return command  # it has its own
    command.params.append(
        click.Option(
            ["--db"],
            type=click.Path(dir_okay=False),  # a str: pathlib costs ~3 ms to import
            expose_value=False,
            callback=_db_after_the_command,
            help="The database file (also accepted before the command).",
        )
    )
    return command


class _LazyGroup(click.Group):
    """A command group that imports a command's module when the command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            module, attribute = LAZY_COMMANDS[cmd_name].split(":")
            command = getattr(import_module(f"{__package__}.{module}"), attribute)
            self.add_command(_accept_db_after(command), cmd_name)
        return command


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),  # a str: pathlib costs ~3 ms to import
    help="The database file (default: $ZERO_SESSION_DB, else the XDG state folder).",
)
@click.option(
    "--json", "json_output", is_flag=True, help="Print JSON (also accepted after a command)."
)
@click.option(
    "--busy-timeout",
    "busy_timeout_ms",
    type=click.IntRange(min=0),
    default=DEFAULT_BUSY_TIMEOUT_MS,
    show_default=True,
    help="Milliseconds to wait for a database another process holds locked.",
)
@click.version_option(package_name="zero-session", prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context, db: str | None, json_output: bool, busy_timeout_ms: int) -> None:
    """Inspect and manage zero_session stores: sessions, their events, labels, milestones.

    A NEEDLE names a session: its ulid, one of its labels, or a unique ulid prefix of at
    least 6 characters.  Tables show local time; --json shows epoch ms and ISO-8601 UTC.
    """
    ctx.obj = State(db=db, json_output=json_output, busy_timeout_ms=busy_timeout_ms)
    if not gc.isenabled():
        # main() imported with the collector off (see main.py), and the command's module
        # is loaded now.  Freezing first keeps the collector from walking everything
        # imported so far at its next pass, and in every full pass of a long command
        # (browse, shell, follow).
        gc.freeze()
        gc.enable()


def _fail(message: str) -> int:
    line = " ".join(message.split())
    if sys.stderr.isatty():  # the message may quote what was typed or stored
        from .._visible import visible

        line = visible(line)
    sys.stderr.write(f"{PROG}: {line}\n")
    return 1


def _quiet_stdout() -> None:
    """After a closed pipe (``| head``), send what is left of stdout nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    try:
        # make_context + invoke rather than cli.main: main turns a closed pipe into
        # exit 1, where `zero-session replay X | head -1` is a success.
        args = list(argv) if argv is not None else sys.argv[1:]
        with cli.make_context(PROG, args) as ctx:
            result = cli.invoke(ctx)
        sys.stdout.flush()
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:  # usage errors (exit 2) and click's own
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        return 130
    except (ZeroSessionError, UserError) as exc:
        return _fail(str(exc))
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    return result if isinstance(result, int) else 0
