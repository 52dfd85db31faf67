"""The ``zero-session`` command group and its error handling.

Exit status: 0 on success, 1 for a user error (printed as one line on standard error,
never a traceback: an unknown needle, an ambiguous prefix, a bad label, a missing file,
a file that is not a store, a database locked past ``--busy-timeout``, a delete or
prune refused or declined), 2 for a usage error (click's message and usage line), 130
when interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ..errors import ZeroSessionError
from ..store import DEFAULT_BUSY_TIMEOUT_MS
from . import _cmd_events, _cmd_lifecycle, _cmd_search, _cmd_sessions, _cmd_store
from ._cmd_browse import browse_command
from ._cmd_demo import demo_command
from ._cmd_shell import shell_command
from ._cmd_sync import sync_group
from ._state import State, UserError

__all__ = ["cli", "run"]

PROG = "zero-session"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
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
def cli(ctx: click.Context, db: Path | None, json_output: bool, busy_timeout_ms: int) -> None:
    """Inspect and manage zero_session stores: sessions, their events, labels, milestones.

    A NEEDLE names a session: its ulid, one of its labels, or a unique ulid prefix of at
    least 6 characters.  Tables show local time; --json shows epoch ms and ISO-8601 UTC.
    """
    ctx.obj = State(db=db, json_output=json_output, busy_timeout_ms=busy_timeout_ms)


for _command in (
    *_cmd_sessions.COMMANDS,
    *_cmd_events.COMMANDS,
    *_cmd_search.COMMANDS,
    *_cmd_lifecycle.COMMANDS,
    *_cmd_store.COMMANDS,
    demo_command,
    shell_command,
    browse_command,
    sync_group,
):
    cli.add_command(_command)


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
        result = cli.main(args=argv, prog_name=PROG, standalone_mode=False)
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
