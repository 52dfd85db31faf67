"""The timeline of one session as virtual rows: pages read as they come on screen.

Row ``i`` is the event at seq ``i + 1`` (a timeline's seqs are gapless).  Pages of
:data:`PAGE_ROWS` events are read with ``Store.timeline`` when a row of theirs is drawn
and kept in a small LRU cache (:data:`CACHED_PAGES`), so memory stays flat however far
and often the user jumps, and a jump costs one page read.  Following a session only
asks for the events after the last known seq.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from rich.segment import Segment
from rich.style import Style

from ..models import Event
from ..store import Store
from ._rows import PLAIN, RowView
from ._text import harmless, local_time

__all__ = ["CACHED_PAGES", "PAGE_ROWS", "TimelineView"]

PAGE_ROWS = 128
CACHED_PAGES = 24

_KIND_STYLES = {
    "prompt": Style(color="cyan", bold=True),
    "system": Style(color="white"),
    "command": Style(color="green"),
    "warn": Style(color="yellow"),
    "alert": Style(color="red", bold=True),
    "mode_change": Style(color="magenta"),
}
_OTHER_KIND = Style(color="blue")
_DIM = Style(dim=True)
_INHERITED = Style(dim=True, italic=True)
_MATCH = Style(reverse=True, bold=True)
_CURRENT = Style(underline=True)


class TimelineView(RowView):
    """The events of ``ulid``'s timeline, one row each, read page by page."""

    def __init__(self, store: Store, ulid: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.ulid = ulid
        self.fork_seq = 0
        self.last_seq = 0
        self.match_seq: int | None = None
        self.highlight: re.Pattern[str] | None = None
        self._pages: OrderedDict[int, tuple[Event, ...]] = OrderedDict()

    def open_at_end(self) -> None:
        """Read the last page (and the timeline's length) and put the cursor on the
        last event."""
        window = self.store.timeline_end(self.ulid, PAGE_ROWS)
        self.fork_seq = window.fork_seq
        self._pages.clear()
        self._grow_to(window.last_seq)
        if window.events:
            first = window.events[0].seq
            page = (first - 1) // PAGE_ROWS
            if (first - 1) % PAGE_ROWS == 0:
                self._remember(page, window.events)
        self.cursor = max(0, self.last_seq - 1)
        if self.size.height:
            self.move_to(self.cursor)
        # else: not laid out yet; RowView scrolls to the cursor on its first resize,
        # before the first frame, so only the end of the timeline is ever drawn.

    def _grow_to(self, last_seq: int) -> None:
        # A page that was the last one may have been short: read it again.
        if last_seq != self.last_seq:
            self._pages.pop((self.last_seq - 1) // PAGE_ROWS if self.last_seq else 0, None)
        self.last_seq = last_seq
        self.set_row_count(last_seq)

    def refresh_length(self) -> bool:
        """Read the timeline's current length; True when it grew (follow mode)."""
        window = self.store.timeline(self.ulid, from_seq=self.last_seq + 1, limit=PAGE_ROWS)
        if window.last_seq == self.last_seq:
            return False
        self._grow_to(window.last_seq)
        return True

    def _remember(self, page: int, events: tuple[Event, ...]) -> None:
        self._pages[page] = events
        self._pages.move_to_end(page)
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)

    def event_at(self, seq: int) -> Event | None:
        """The event at ``seq`` (reading its page when not cached), None past the end."""
        if not 1 <= seq <= self.last_seq:
            return None
        page = (seq - 1) // PAGE_ROWS
        events = self._pages.get(page)
        if events is None or (seq - 1) % PAGE_ROWS >= len(events):
            events = self.store.timeline(self.ulid, page * PAGE_ROWS + 1, PAGE_ROWS).events
            self._remember(page, events)
        else:
            self._pages.move_to_end(page)
        offset = (seq - 1) % PAGE_ROWS
        return events[offset] if offset < len(events) else None

    @property
    def selected(self) -> Event | None:
        """The event under the cursor."""
        return self.event_at(self.cursor + 1)

    def search_for(self, needle: str) -> None:
        """Highlight ``needle`` in every row shown, matched as ``search_timeline`` does
        (substring; ASCII letters in either case)."""
        self.highlight = re.compile(re.escape(needle), re.IGNORECASE | re.ASCII)
        self.refresh()

    def row_segments(self, index: int) -> list[Segment]:
        event = self.event_at(index + 1)
        if event is None:
            return [Segment("", PLAIN)]
        inherited = event.seq <= self.fork_seq
        mark = "┆" if inherited else " "
        text_style = _INHERITED if inherited else PLAIN
        if event.seq == self.match_seq:
            text_style = text_style + _CURRENT
        return [
            Segment(f"{event.seq:>9} {mark}{local_time(event.at_ms, seconds=True)} ", _DIM),
            Segment(f"{harmless(event.kind, 12):<12} ", _KIND_STYLES.get(event.kind, _OTHER_KIND)),
            *self._text_segments(harmless(event.text), text_style),
        ]

    def _text_segments(self, text: str, style: Style) -> list[Segment]:
        """The text, with the searched substring (if any) drawn in the match style."""
        if self.highlight is None:
            return [Segment(text, style)]
        segments: list[Segment] = []
        done = 0
        for found in self.highlight.finditer(text):
            if found.start() == found.end():
                continue
            segments.append(Segment(text[done : found.start()], style))
            segments.append(Segment(found.group(), style + _MATCH))
            done = found.end()
        segments.append(Segment(text[done:], style))
        return segments
