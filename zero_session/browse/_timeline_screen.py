"""The second screen: one session's timeline, with jump, search, follow and data."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from ..errors import ZeroSessionError
from ..models import Event
from ._keys import KeyLine
from ._rows import RowView
from ._session_actions import SessionActions
from ._text import harmless, local_time, short_ulid
from ._timeline_view import TimelineView

if TYPE_CHECKING:
    from ._app import BrowseApp

__all__ = ["FOLLOW_POLL_S", "TimelineScreen"]

FOLLOW_POLL_S = 0.05
"""How often a followed timeline asks for its length (one indexed row read)."""


class TimelineScreen(SessionActions, Screen[None]):
    """Every event of one session's timeline, newest at the bottom."""

    DEFAULT_CSS = """
    TimelineScreen #title { background: $primary; color: $text; padding: 0 1; }
    TimelineScreen #detail {
        dock: bottom; height: 12; border-top: solid $accent; display: none; overflow-y: auto;
    }
    TimelineScreen #detail.shown { display: block; }
    TimelineScreen #ask { dock: bottom; display: none; }
    TimelineScreen #ask.shown { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("q", "quit_app", "Quit"),
        # Priority: handled before the keys typed after them reach the view (see
        # check_action), so ":123" typed in one burst lands in the field.
        Binding("colon", "ask('jump')", "Jump to seq", priority=True),
        Binding("slash", "ask('search')", "Search", priority=True),
        Binding("n", "search_step(1)", "Next", show=False),
        Binding("N", "search_step(-1)", "Previous", show=False),
        Binding("f", "follow", "Follow"),
        Binding("d,enter", "detail", "Data"),
        *SessionActions.ACTION_BINDINGS,
    ]

    def __init__(self, ulid: str) -> None:
        super().__init__()
        self.ulid = ulid
        self.following: Timer | None = None
        self.needle = ""
        self.asking = ""
        self.changed = False  # an action changed the store: the list reads it again

    @property
    def browse(self) -> BrowseApp:
        from ._app import BrowseApp

        assert isinstance(self.app, BrowseApp)
        return self.app

    def compose(self) -> ComposeResult:
        # Read before the first layout, so the first frame is the final one.
        view = TimelineView(self.browse.store, self.ulid, id="timeline")
        view.open_at_end()
        yield Static(self._title_text(view.last_seq), id="title", markup=False)
        yield view
        yield Static("", id="detail", markup=False)
        yield Input(id="ask")
        yield KeyLine(self.BINDINGS)

    @property
    def view(self) -> TimelineView:
        return self.query_one(TimelineView)

    def on_mount(self) -> None:
        self.set_focus(self.view)

    def show(self, ulid: str) -> None:
        """Show another session's timeline in this (already mounted) screen: the app
        keeps one timeline screen, so opening a session mounts nothing."""
        self._stop_following()
        self.ulid, self.needle, self.changed = ulid, "", False
        self.query_one("#detail", Static).remove_class("shown")
        self.query_one("#ask", Input).remove_class("shown")
        view = self.view
        view.ulid, view.match_seq, view.highlight = ulid, None, None
        view.open_at_end()
        self._update_title()
        self.set_focus(view)

    def _update_title(self) -> None:
        self.query_one("#title", Static).update(self._title_text(self.view.last_seq))

    def _title_text(self, last_seq: int) -> str:
        session = self.browse.store.get(self.ulid)
        parts = [
            f"{session.ulid}",
            local_time(session.started_at_ms),
            session.status.value,
            f"{last_seq:,} events",
        ]
        if session.fork_seq:
            parent = short_ulid(session.parent_ulid or "")
            parts.append(f"fork of {parent} at {session.fork_seq} (┆ inherited)")
        if session.labels:
            parts.append(", ".join(session.labels))
        if self.following is not None:
            parts.append("following")
        if self.needle:
            parts.append(f"/{self.needle}")
        return harmless(" · ".join(parts))

    # ---------------------------------------------------------------------- keys

    def action_back(self) -> None:
        field = self.query_one("#ask", Input)
        if field.has_class("shown"):
            field.remove_class("shown")
            self.set_focus(self.view)
            return
        self._stop_following()
        self.browse.close_timeline(changed=self.changed)

    def _stop_following(self) -> None:
        if self.following is not None:
            self.following.stop()
            self.following = None

    def action_quit_app(self) -> None:
        self.browse.quit_without_choice()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # ":" and "/" are text while a field has the focus.
        return not (action == "ask" and isinstance(self.focused, Input))

    def action_ask(self, what: str) -> None:
        self.asking = what
        field = self.query_one("#ask", Input)
        field.placeholder = "seq to jump to" if what == "jump" else "search (substring)"
        field.value = "" if what == "jump" else self.needle
        field.add_class("shown")
        # At once (focus() waits a turn): keys typed right after go to the field.
        self.set_focus(field)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        event.input.remove_class("shown")
        self.set_focus(self.view)
        text = event.value.strip()
        if not text:
            return
        if self.asking == "jump":
            if not text.isdigit():
                self.notify(f"not a seq: {text}", severity="error", markup=False)
                return
            self.view.move_to(int(text) - 1)
        else:
            self.needle = text
            self.view.search_for(text)
            self._update_title()
            self.search(1)

    def action_search_step(self, direction: int) -> None:
        if self.needle:
            self.search(direction)
        else:
            self.action_ask("search")

    @work(thread=True, exclusive=True, group="search")
    def search(self, direction: int) -> None:
        """Find the next (1) or previous (-1) match from the cursor, wrapping around."""
        store, needle, seq = self.browse.store, self.needle, self.view.cursor + 1
        try:
            if direction > 0:
                found = store.search_timeline(self.ulid, needle, after_seq=seq)
                wrapped = not found
                if wrapped:
                    found = store.search_timeline(self.ulid, needle, after_seq=0)
            else:
                found = store.search_timeline(self.ulid, needle, before_seq=seq)
                wrapped = not found
                if wrapped:
                    found = store.search_timeline(self.ulid, needle, before_seq=2**62)
        except ZeroSessionError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        self.app.call_from_thread(self._show_match, found[0] if found else None, wrapped)

    def _show_match(self, event: Event | None, wrapped: bool) -> None:
        if event is None:
            self.notify(f"no match for {self.needle!r}", severity="warning", markup=False)
            return
        if event.seq > self.view.last_seq:
            self.view.refresh_length()
        self.view.match_seq = event.seq
        self.view.move_to(event.seq - 1)
        if wrapped:
            self.notify("search wrapped around", timeout=2)

    def action_follow(self) -> None:
        if self.following is not None:
            self.following.stop()
            self.following = None
        else:
            self.following = self.set_interval(FOLLOW_POLL_S, self._poll)
            self._poll()
        self._update_title()

    def _poll(self) -> None:
        try:
            grew = self.view.refresh_length()
        except ZeroSessionError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        if grew:
            self.view.move_to(self.view.last_seq - 1)
            self._update_title()

    def action_detail(self) -> None:
        detail = self.query_one("#detail", Static)
        detail.toggle_class("shown")
        self._show_detail()

    def on_row_view_cursor_moved(self, message: RowView.CursorMoved) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        detail = self.query_one("#detail", Static)
        if not detail.has_class("shown"):
            return
        event = self.view.selected
        if event is None:
            detail.update("")
            return
        owner = "" if event.session == self.ulid else f" · inherited from {event.session}"
        data = (
            json.dumps(event.data, indent=2, ensure_ascii=False)
            if event.data is not None
            else "null"
        )
        lines = [
            f"seq {event.seq} · {event.at_iso} · {event.kind}{owner}",
            "",
            *(harmless(line) for line in event.text.splitlines()[:200]),
            "",
            "data:",
            *(harmless(line) for line in data.splitlines()[:400]),
        ]
        detail.update("\n".join(lines))

    # ---------------------------------------------------- SessionActions' questions

    def action_target(self) -> tuple[str, int] | None:
        return (self.ulid, self.view.cursor + 1 if self.view.last_seq else 0)

    def after_action(self) -> None:
        self.changed = True
        self._update_title()

    def after_deleted(self) -> None:
        self._stop_following()
        self.browse.close_timeline(changed=True)
