"""``shell``: the interactive recorder of ``zero_session.tui.shell`` (extra ``shell``)."""

from __future__ import annotations

import click

from ._state import State

__all__ = ["shell_command"]


@click.command("shell")
@click.option("--no-persist", is_flag=True, help="Record into memory only.")
@click.option("--new", is_flag=True, help="Start a new session instead of resuming this folder's.")
@click.pass_obj
def shell_command(state: State, no_persist: bool, new: bool) -> None:
    """Interactive shell that records what you type (resumes this folder's session)."""
    from ..tui.shell import run_shell

    status = run_shell(db=state.path, no_persist=no_persist, new=new)
    if status:
        raise click.exceptions.Exit(status)
