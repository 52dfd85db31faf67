"""The browser application: the session list first, a timeline on top of it."""

from __future__ import annotations

import os

from textual.app import App

from ..store import Store
from ._list_screen import ListScreen
from ._timeline_screen import TimelineScreen

__all__ = ["BrowseApp"]

_TIMELINE = "timeline"


class BrowseApp(App[str | None]):
    """``zero-session browse``: sessions, their timelines, and actions on them.

    ``pick=True`` makes it a chooser: Enter on a session exits with its ulid (return
    code 0); leaving without a choice exits with None (return code 1).  The store is
    usually read-only (actions then open the file for writing for the one step).
    """

    TITLE = "zero-session browse"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        store: Store,
        *,
        pick: bool = False,
        needle: str = "",
        include_archived: bool = False,
    ) -> None:
        super().__init__()
        self.store = store
        self.pick = pick
        self.needle = needle
        self.include_archived = include_archived
        self.store_name = os.path.basename(store.path)

    def on_mount(self) -> None:
        self.push_screen(ListScreen())

    def open_timeline(self, ulid: str) -> None:
        """Show the timeline of ``ulid`` over the list.

        One timeline screen is made on the first open and installed, so it survives
        going back to the list: later opens reuse it (nothing mounted, no CSS applied).
        """
        if self.is_screen_installed(_TIMELINE):
            screen = self.get_screen(_TIMELINE)
            assert isinstance(screen, TimelineScreen)
            screen.show(ulid)
        else:
            self.install_screen(TimelineScreen(ulid), _TIMELINE)
        self.push_screen(_TIMELINE)

    def close_timeline(self, *, changed: bool = False) -> None:
        """Back to the list; read again when an action ``changed`` the store."""
        self.pop_screen()
        screen = self.screen
        if changed and isinstance(screen, ListScreen):
            screen.reload()

    def quit_without_choice(self) -> None:
        """Leave: exit status 0 when browsing, 1 when a choice was expected."""
        self.exit(None, return_code=1 if self.pick else 0)
