"""``shell``: the interactive recorder of ``zero_session.tui.shell`` (extra ``shell``)."""

from __future__ import annotations

import click

from ._state import State, UserError

__all__ = ["shell_command"]


# `--resume` given without a NEEDLE (click's flag_value): choose it in the browser.
_CHOOSE = "\x00choose"


@click.command("shell")
@click.option("--no-persist", is_flag=True, help="Record into memory only.")
@click.option("--new", is_flag=True, help="Start a new session instead of resuming this folder's.")
@click.option(
    "--resume",
    metavar="[NEEDLE]",
    is_flag=False,
    flag_value=_CHOOSE,
    default=None,
    help="Resume this session (ulid, label, prefix); pulled from the sync server when it "
    "is not here and $ZERO_SESSION_PG names one.  Alone, choose it full-screen (needs the "
    "'browse' extra).",
)
@click.pass_obj
def shell_command(state: State, no_persist: bool, new: bool, resume: str | None) -> None:
    """Interactive shell that records what you type (resumes this folder's session)."""
    from ..tui.shell import run_shell

    if resume is not None and (new or no_persist):
        raise click.UsageError("--resume cannot be combined with --new or --no-persist")
    if resume == _CHOOSE:
        resume = _choose_in_browser(state)
    status = run_shell(db=state.path, no_persist=no_persist, new=new, resume=resume)
    if status:
        raise click.exceptions.Exit(status)


# ------------------------------------------------ the browser's picker (extra 'browse')


def _choose_in_browser(state: State) -> str:
    """The session the user picks in ``zero-session browse --pick``; exit 1 without one."""
    from ._cmd_browse import HINT, browse_available, pick_with_browser

    if not browse_available():
        raise UserError(f"--resume without a NEEDLE chooses in the browser, which {HINT}")
    chosen = pick_with_browser(state)
    if chosen is None:
        raise click.exceptions.Exit(1)
    return chosen
