"""``browse``: the full-screen session browser of ``zero_session.browse`` (extra ``browse``)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import click

from ._state import State, UserError

__all__ = ["browse_command"]

HINT = "browse needs the 'browse' extra: pip install 'zero-session[browse]'"


def browse_available() -> bool:
    """Whether Textual can be imported (without importing it)."""
    try:
        return find_spec("textual") is not None
    except (ImportError, ValueError):
        return False


def pick_with_browser(state: State, needle: str = "") -> str | None:
    """The picker on the store of ``state``: the chosen ulid, None without a choice.
    Raises UserError when there is no terminal."""
    from ..browse import pick_session
    from ..browse._terminal import NoTerminal

    with state.open() as store:
        try:
            return pick_session(store, needle=needle)
        except NoTerminal as exc:
            raise UserError(str(exc)) from exc


@click.command("browse")
@click.argument("needle", required=False, default="")
@click.option("--pick", is_flag=True, help="Enter prints the session's ulid and exits.")
@click.option("--all", "include_archived", is_flag=True, help="Show archived sessions too.")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The database file (same as the global --db).",
)
@click.pass_obj
def browse_command(
    state: State, needle: str, pick: bool, include_archived: bool, db: Path | None
) -> None:
    """Full-screen browser: sessions as a tree, timelines, search, follow, actions.

    NEEDLE starts the list filtered by it (ulid prefix, label, cwd, first prompt).
    With --pick, Enter prints the chosen session's full ulid on stdout (exit 0); leaving
    without a choice exits 1.
    """
    if not browse_available():
        raise UserError(HINT)
    if db is not None:
        state.db = db
    from ..browse import run
    from ..browse._terminal import NoTerminal

    with state.open() as store:
        try:
            chosen, status = run(store, pick=pick, needle=needle, include_archived=include_archived)
        except NoTerminal as exc:
            raise UserError(str(exc)) from exc
    if pick and chosen:
        click.echo(chosen)
    if status:
        raise click.exceptions.Exit(status)
