"""The first screen: the session list, its filter, and the actions on a session."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, Static

from .._tree import SessionNode
from ._keys import KeyLine
from ._session_actions import SessionActions
from ._session_list import HEADER, SessionList

if TYPE_CHECKING:
    from ._app import BrowseApp

__all__ = ["FIRST_ROOTS", "ListScreen"]

FIRST_ROOTS = 100
"""Roots (with their forks) read for the first screen; the rest follows in a worker."""


class ListScreen(SessionActions, Screen[None]):
    """Every session, newest first, forks under their parent."""

    DEFAULT_CSS = """
    ListScreen #title { background: $primary; color: $text; padding: 0 1; }
    ListScreen #columns { color: $text-muted; text-style: bold; }
    ListScreen #filter { dock: bottom; display: none; }
    ListScreen #filter.shown { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Open"),
        # Priority: handled before the keys typed after it are passed to the list, so
        # "/parser" typed in one burst lands in the field (see check_action).
        Binding("slash", "filter", "Filter", priority=True),
        Binding("left,minus", "collapse", "Collapse", show=False),
        Binding("right,plus", "expand", "Expand", show=False),
        Binding("r", "reload", "Reload", show=False),
        Binding("escape", "back", "Quit", show=False),
        Binding("q", "quit_app", "Quit"),
        *SessionActions.ACTION_BINDINGS,
    ]

    complete = True  # whether the list holds the whole tree

    @property
    def browse(self) -> BrowseApp:
        from ._app import BrowseApp

        assert isinstance(self.app, BrowseApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static("", id="title", markup=False)
        yield Static(HEADER, id="columns", markup=False)
        yield SessionList(id="sessions")
        yield Input(placeholder="filter: ulid prefix, label, cwd, first prompt", id="filter")
        yield KeyLine(self.BINDINGS)

    @property
    def session_list(self) -> SessionList:
        return self.query_one(SessionList)

    def on_mount(self) -> None:
        needle = self.browse.needle
        if needle:
            self.session_list.filter_text = needle
            self.query_one("#filter", Input).value = needle
            self.query_one("#filter", Input).add_class("shown")
        self.reload()
        self.set_focus(self.session_list)

    def reload(self) -> None:
        """Read the tree again (after an action, or on ``r``): the newest roots at once,
        for the first screen, then the whole tree in a worker thread."""
        archived = self.browse.include_archived
        nodes = self.browse.store.session_tree(include_archived=archived, limit=FIRST_ROOTS)
        self.complete = sum(1 for node in nodes if node.depth == 0) < FIRST_ROOTS
        self.session_list.load(nodes)
        self._update_title()
        if not self.complete:  # after the first frame is on the screen
            self.call_after_refresh(self._read_whole_tree, archived)

    @work(thread=True, exclusive=True, group="tree")
    def _read_whole_tree(self, include_archived: bool) -> None:
        nodes = self.browse.store.session_tree(include_archived=include_archived)
        self.app.call_from_thread(self._whole_tree_read, nodes)

    def _whole_tree_read(self, nodes: list[SessionNode]) -> None:
        self.complete = True
        self.session_list.load(nodes)
        self._update_title()

    def _update_title(self) -> None:
        shown, total = len(self.session_list.rows), len(self.session_list.nodes)
        mode = "pick a session" if self.browse.pick else "browse"
        counts = f"{total:,} sessions" if shown == total else f"{shown:,} of {total:,} sessions"
        if not self.complete:
            counts += " (reading the rest…)"
        self.query_one("#title", Static).update(
            f"zero-session {mode} · {self.browse.store_name} · {counts}"
        )

    # -------------------------------------------------------------------- the keys

    def action_choose(self) -> None:
        node = self.session_list.selected
        if node is None:
            return
        if self.browse.pick:
            self.app.exit(node.session.ulid, return_code=0)
        else:
            self.browse.open_timeline(node.session.ulid)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # "/" is text while a field has the focus.
        return not (action == "filter" and isinstance(self.focused, Input))

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.add_class("shown")
        # At once (focus() waits a turn): keys typed right after go to the field.
        self.set_focus(field)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.session_list.set_filter(event.value)
            self._update_title()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value.strip():
                event.input.remove_class("shown")
            self.set_focus(self.session_list)

    def action_back(self) -> None:
        field = self.query_one("#filter", Input)
        if field.has_focus or self.session_list.filter_text:
            field.value = ""
            field.remove_class("shown")
            self.session_list.set_filter("")
            self._update_title()
            self.set_focus(self.session_list)
            return
        self.action_quit_app()

    def action_quit_app(self) -> None:
        self.browse.quit_without_choice()

    def action_collapse(self) -> None:
        self.session_list.toggle_collapsed(expand=False)

    def action_expand(self) -> None:
        self.session_list.toggle_collapsed(expand=True)

    def action_reload(self) -> None:
        self.reload()

    # ---------------------------------------------------- SessionActions' questions

    def action_target(self) -> tuple[str, int] | None:
        node = self.session_list.selected
        return (node.session.ulid, node.session.last_seq) if node else None

    def after_action(self) -> None:
        self.reload()
