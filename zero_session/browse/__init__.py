"""``zero-session browse``: a full-screen, keyboard-driven browser of a store (Textual).

Needs the optional extra ``browse`` (``pip install 'zero-session[browse]'``); the
library itself never imports Textual.  What it reads comes from public ``Store``
methods any TUI can use: ``session_tree`` for the list, ``timeline`` /
``timeline_end`` for the rows on screen, ``search_timeline`` for ``/`` and ``n``.

For a program that wants the same "resume which session?" picker::

    from zero_session.browse import pick_session
    ulid = pick_session(store)          # None when the user leaves without a choice

See docs/browse.md for the keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["pick_session", "run"]


def run(
    store: Store, *, pick: bool = False, needle: str = "", include_archived: bool = False
) -> tuple[str | None, int]:
    """Run the browser on the terminal until the user leaves; ``(chosen ulid, status)``.

    The status is 0 after a choice (or when browsing), 1 when a pick was left without
    one.  Redirected standard streams are pointed at the terminal while it runs.
    Raises ``_terminal.NoTerminal`` when there is no terminal to draw on.
    """
    from ._app import BrowseApp
    from ._terminal import on_the_terminal

    app = BrowseApp(store, pick=pick, needle=needle, include_archived=include_archived)
    with on_the_terminal():
        chosen = app.run()
    if pick:  # however the app was left (q, Escape, Ctrl+Q), no choice is status 1
        return chosen, 0 if chosen else 1
    return chosen, app.return_code or 0


def pick_session(store: Store, *, needle: str = "", include_archived: bool = False) -> str | None:
    """Let the user choose a session full-screen; its ulid, or None when they left.

    Call it while your own program does not draw (e.g. before your UI starts, or inside
    prompt_toolkit's ``run_in_terminal`` / Textual's ``App.suspend()``).
    """
    chosen, _ = run(store, pick=True, needle=needle, include_archived=include_archived)
    return chosen
