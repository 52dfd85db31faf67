"""A list of one-line rows drawn with Textual's Line API: only the visible rows exist.

``RowView`` knows how many rows there are and which one has the cursor; a subclass says
what row ``i`` looks like (:meth:`RowView.row_segments`).  Textual asks for the lines on
screen only, so a view of a million rows costs what its 40 visible rows cost.  Every
segment carries an explicit style: Textual's monochrome filter (``NO_COLOR``) cannot
draw a segment without one.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click, Resize
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["PLAIN", "RowView"]

PLAIN = Style()
_CURSOR = Style(reverse=True)


class RowView(ScrollView, can_focus=True):
    """Rows ``0..row_count-1`` with a cursor; subclasses draw one row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "PgUp", show=False),
        Binding("pagedown,space", "page(1)", "PgDn", show=False),
        Binding("home,g", "first", "Top", show=False),
        Binding("end,G", "last", "End", show=False),
    ]

    DEFAULT_CSS = """
    RowView { overflow-x: hidden; }
    """

    class CursorMoved(Message):
        """The cursor moved to ``index``."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.row_count = 0
        self.cursor = 0

    # ------------------------------------------------------------------ for subclasses

    def row_segments(self, index: int) -> list[Segment]:
        """The segments of row ``index`` (each with a style)."""
        raise NotImplementedError

    # ----------------------------------------------------------------------- the rows

    def set_row_count(self, count: int) -> None:
        """Change how many rows there are, keeping the cursor on a row."""
        self.row_count = count
        self.virtual_size = Size(self.size.width, count)
        self.cursor = max(0, min(self.cursor, count - 1))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = round(self.scroll_y) + y
        if index >= self.row_count:
            return Strip.blank(width, PLAIN)
        segments = self.row_segments(index)
        if index == self.cursor:
            segments = [Segment(text, (style or PLAIN) + _CURSOR) for text, style, _ in segments]
        # One Strip per row (a row is drawn on every frame that shows it): padded to the
        # width here rather than by crop_extend, which builds two more.
        length = sum(cell_len(text) for text, _, _ in segments)
        if length < width:
            pad_style = _CURSOR if index == self.cursor else PLAIN
            return Strip([*segments, Segment(" " * (width - length), pad_style)], width)
        return Strip(segments, length).crop(0, width)

    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def move_to(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped) and scroll so that it shows."""
        index = max(0, min(index, self.row_count - 1))
        self.cursor = index
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + self.page_rows:
            self.scroll_to(y=index - self.page_rows + 1, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.CursorMoved(index))

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * self.page_rows)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.row_count - 1)

    def on_resize(self, event: Resize) -> None:
        # Keep the cursor's row on screen when the terminal (or the view) changes size.
        if self.size.height and self.row_count:
            self.move_to(self.cursor)

    def on_click(self, event: Click) -> None:
        self.move_to(round(self.scroll_y) + event.y)
