"""Rendering: JSON documents, aligned tables, and event lines, coloured on a terminal.

Colour is used only when standard output is a terminal, ``NO_COLOR`` is unset (or
empty) and ``TERM`` is not ``dumb``.  Then rich draws the tables and colours event kinds
and statuses; rich is imported only in that case, because importing it costs more than
the rest of a ``zero-session list``.  Otherwise tables are plain text with columns
aligned by spaces, which is also what scripts and pipes get.

Tables truncate long cells (with ``…``) to keep one row per line; event lines (replay,
tail) never truncate: a multi-line text continues on indented lines.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from itertools import islice
from typing import Any, NamedTuple

from .._documents import json_encoder
from .._visible import visible
from ..models import Event

__all__ = ["Cell", "Column", "Output", "local_time", "size_text"]

# Styles by event kind and by status (rich style strings).
STYLES = {
    "prompt": "bold cyan",
    "system": "dim",
    "command": "magenta",
    "warn": "yellow",
    "alert": "bold red",
    "mode_change": "blue",
    "live": "bold green",
    "interrupted": "yellow",
    "expired": "dim",
    "archived": "dim",
    "muted": "dim",
    "problem": "bold red",
    "ok": "green",
}

# The escape sequences (SGR) of the style words used above, for lines written without
# rich: printing each event through rich's console took ~14x as long as printing it
# plain, and replays print many.  Tables still go through rich.
_SGR_CODES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}
_RESET = "\x1b[0m"
_LINES_PER_WRITE = 500  # JSON lines joined into one write


@cache  # a replay on a terminal asks three times per event, always the same few styles
def _sgr(style: str | None) -> str:
    """The escape sequence that turns ``style`` (a key of STYLES or its words) on."""
    words = STYLES.get(style, style).split() if style else ()
    codes = [_SGR_CODES[word] for word in words if word in _SGR_CODES]
    return f"\x1b[{';'.join(codes)}m" if codes else ""


def _styled(text: str, style: str | None) -> str:
    start = _sgr(style)
    return f"{start}{text}{_RESET}" if start and text else text


_DIM = _sgr("dim")
_KIND_WIDTH = 11


@lru_cache(maxsize=256)  # a replay shows a few kinds many times
def _shown_kind(kind: str, escape: bool, colour: bool) -> str:
    """An event's kind padded to its column, escaped on a terminal, coloured by kind."""
    padded = f"{kind:<{_KIND_WIDTH}}"
    shown = visible(padded) if escape else padded
    return _styled(shown, STYLES.get(kind)) if colour else shown


Cell = str | tuple[str, str]
"""A table cell: its text, or (text, style name from STYLES)."""


class Column(NamedTuple):
    """A table column: header, alignment, the width past which cells are truncated, and
    (on a narrow terminal) the width below which it never shrinks.

    A NamedTuple, not an attrs class: internal, and created by every command's import
    (an attrs class costs ~0.4 ms to create).
    """

    header: str
    right: bool = False
    max_width: int | None = None
    min_width: int | None = None


# The last second formatted, and its text (one tuple, replaced whole).
_last_local_second: list[tuple[int | None, str]] = [(None, "")]


def local_time(at_ms: int | None) -> str:
    """Epoch ms as local wall-clock time for tables (``-`` for None)."""
    if at_ms is None:
        return "-"
    second = at_ms // 1000
    cached = _last_local_second[0]
    if cached[0] != second:  # a replay prints runs of events within one second
        cached = (second, datetime.fromtimestamp(second).strftime("%Y-%m-%d %H:%M:%S"))
        _last_local_second[0] = cached
    return cached[1]


def size_text(n_bytes: int) -> str:
    """A byte count for people: ``512 B``, ``1.5 KiB``, ``3.2 MiB``, ``1.0 GiB``."""
    size = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _truncate(text: str, width: int | None) -> str:
    text = " ".join(text.split("\n"))
    if width is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def _cell(cell: Cell) -> tuple[str, str | None]:
    return (cell, None) if isinstance(cell, str) else cell


def _visible_cell(cell: Cell) -> Cell:
    return visible(cell) if isinstance(cell, str) else (visible(cell[0]), cell[1])


def compact_json(value: Any) -> str:
    """One-line JSON for showing ``data`` beside an event's text."""
    return json_encoder(compact=True)(value)  # one encoder for every event of a replay


class Output:
    """Where a command's results go: standard output, as JSON or for people."""

    def __init__(self, *, json_output: bool) -> None:
        self.json = json_output
        stream = sys.stdout
        self.colour = (
            stream.isatty()
            and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM", "") != "dumb"
        )
        # On a terminal, text from the store is shown with its control characters
        # escaped (see zero_session._visible); pipes and --json get it unchanged.
        self.escape = stream.isatty()
        self._console: Any = None

    # ------------------------------------------------------------------ JSON

    def document(self, doc: Any) -> None:
        """Print one JSON document (indented)."""
        import json

        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")

    def array_lines(self, lines: Iterable[str]) -> None:
        """Print one JSON array whose elements are ``lines`` (each one JSON text on one
        line), written a page of lines at a time as they come: a replay of many events
        is never held whole."""
        lines = iter(lines)
        write = sys.stdout.write
        first = next(lines, None)
        if first is None:
            write("[]\n")
            return
        write("[\n" + first)
        while page := list(islice(lines, _LINES_PER_WRITE)):
            write(",\n" + ",\n".join(page))
        write("\n]\n")

    def json_line(self, doc: Any) -> None:
        """Print one JSON object on one line and flush (streams such as ``--follow``)."""
        import json

        sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    # ------------------------------------------------------------------ text

    @property
    def console(self) -> Any:
        """rich's Console, created (and rich imported) on first use, colour mode only."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, markup=False, emoji=False)
        return self._console

    def line(self, text: str = "", style: str | None = None) -> None:
        """Print one line of text, styled when colour is on."""
        if self.escape:
            text = visible(text)
        if self.colour and style:
            sys.stdout.write(_styled(text, style) + "\n")
        else:
            sys.stdout.write(text + "\n")

    def note(self, text: str) -> None:
        """A remark for people on standard error (never part of the data)."""
        sys.stderr.write((visible(text) if sys.stderr.isatty() else text) + "\n")

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> None:
        """Print rows under column headers, aligned; long cells are truncated."""
        if self.escape:
            rows = [[_visible_cell(cell) for cell in row] for row in rows]
        if self.colour:
            self._rich_table(columns, rows)
            return
        texts = [
            [
                _truncate(_cell(cell)[0], col.max_width)
                for col, cell in zip(columns, row, strict=True)
            ]
            for row in rows
        ]
        widths = [len(col.header) for col in columns]
        for row_texts in texts:
            widths = [max(w, len(t)) for w, t in zip(widths, row_texts, strict=True)]
        lines = [[col.header for col in columns], *texts]
        for row_texts in lines:
            padded = [
                t.rjust(w) if col.right else t.ljust(w)
                for col, t, w in zip(columns, row_texts, widths, strict=True)
            ]
            sys.stdout.write("  ".join(padded).rstrip() + "\n")

    def _rich_table(self, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for col in columns:
            table.add_column(
                col.header,
                justify="right" if col.right else "left",
                no_wrap=True,
                overflow="ellipsis",
                max_width=col.max_width,
                min_width=col.min_width,
            )
        for row in rows:
            cells = []
            for cell in row:
                text, style = _cell(cell)
                cells.append(Text(" ".join(text.split("\n")), style=STYLES.get(style or "", "")))
            table.add_row(*cells)
        self.console.print(table)

    def fields(self, pairs: Sequence[tuple[str, Cell]]) -> None:
        """Print ``name  value`` lines with the values aligned (one record)."""
        width = max((len(name) for name, _ in pairs), default=0)
        for name, cell in pairs:
            text, style = _cell(_visible_cell(cell) if self.escape else cell)
            if self.colour:
                from rich.text import Text

                line = Text()
                line.append(f"{name:<{width}}  ", style="bold")
                line.append(text, style=STYLES.get(style or "", ""))
                self.console.print(line, soft_wrap=True)
            else:
                sys.stdout.write(f"{name:<{width}}  {text}\n")

    def event(self, event: Event, *, flush: bool = False) -> None:
        """One event as ``seq  time  kind  text  data``; the text is never truncated."""
        head = f"{event.seq:>6}  {local_time(event.at_ms)}  "
        kind = _shown_kind(event.kind, self.escape, self.colour)
        indent = "\n" + " " * (len(head) + max(len(event.kind), _KIND_WIDTH) + 2)
        text = visible(event.text) if self.escape else event.text
        body = text.replace("\n", indent)
        data = ""
        if event.data is not None:
            data = f"  {compact_json(event.data)}"
            if self.escape:
                data = visible(data)
            if self.colour:
                data = f"{_DIM}{data}{_RESET}"
        if self.colour:
            head = f"{_DIM}{head}{_RESET}"
        sys.stdout.write(f"{head}{kind}  {body}{data}\n")
        if flush:
            sys.stdout.flush()
