"""The first screen: the session list, its filter, and the actions on a session."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ._session_actions import SessionActions
from ._session_list import HEADER, SessionList

if TYPE_CHECKING:
    from ._app import BrowseApp

__all__ = ["ListScreen"]


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
        Binding("slash", "filter", "Filter"),
        Binding("left,minus", "collapse", "Collapse", show=False),
        Binding("right,plus", "expand", "Expand", show=False),
        Binding("r", "reload", "Reload", show=False),
        Binding("escape", "back", "Quit", show=False),
        Binding("q", "quit_app", "Quit"),
        *SessionActions.ACTION_BINDINGS,
    ]

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
        yield Footer()

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
        self.session_list.focus()

    def reload(self) -> None:
        """Read the tree again (after an action, or on ``r``)."""
        nodes = self.browse.store.session_tree(include_archived=self.browse.include_archived)
        self.session_list.load(nodes)
        self._update_title()

    def _update_title(self) -> None:
        shown, total = len(self.session_list.rows), len(self.session_list.nodes)
        mode = "pick a session" if self.browse.pick else "browse"
        counts = f"{total:,} sessions" if shown == total else f"{shown:,} of {total:,} sessions"
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

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.add_class("shown")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.session_list.set_filter(event.value)
            self._update_title()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value.strip():
                event.input.remove_class("shown")
            self.session_list.focus()

    def action_back(self) -> None:
        field = self.query_one("#filter", Input)
        if field.has_focus or self.session_list.filter_text:
            field.value = ""
            field.remove_class("shown")
            self.session_list.set_filter("")
            self._update_title()
            self.session_list.focus()
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
