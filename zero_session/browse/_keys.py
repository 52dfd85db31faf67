"""The key line at the bottom of each screen.

A plain one-line Static built from the screen's bindings: Textual's ``Footer`` mounts
one widget per key and restyles them all whenever the focus moves, which costs more
than opening a million-event timeline.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType
from textual.widgets import Static

__all__ = ["KeyLine"]

_KEY_NAMES = {"escape": "esc", "slash": "/", "colon": ":", "enter": "⏎"}


class KeyLine(Static):
    """``key label`` pairs of the shown bindings, in order."""

    DEFAULT_CSS = """
    KeyLine { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, bindings: list[BindingType]) -> None:
        parts = []
        for binding in bindings:
            if isinstance(binding, Binding) and binding.show:
                key = binding.key.split(",")[0]
                parts.append(f"{_KEY_NAMES.get(key, key)} {binding.description}")
        super().__init__(" " + "  ".join(parts), markup=False)
