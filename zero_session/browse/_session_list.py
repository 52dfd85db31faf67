"""The session list: every session newest first, forks as a collapsible tree.

The whole tree is read once with ``Store.session_tree`` (one query for the sessions,
one batched query for their first prompts) and kept in memory: ten thousand sessions
are a few megabytes.  The filter and collapsing only change which of those nodes are
rows; the rows are drawn by ``RowView`` as they come on screen.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style

from .._tree import SessionNode
from ..models import Status
from ._rows import PLAIN, RowView
from ._text import harmless, local_time, matches_filter, short_ulid

__all__ = ["HEADER", "SessionList"]

_STATUS_STYLES = {
    Status.LIVE: Style(color="green", bold=True),
    Status.ENDED: PLAIN,
    Status.INTERRUPTED: Style(color="yellow"),
    Status.EXPIRED: Style(color="magenta"),
    Status.ARCHIVED: Style(dim=True),
}
_ULID = Style(color="cyan")
_DIM = Style(dim=True)
_LABELS = Style(color="blue", bold=True)

HEADER = f"  {'ulid':<14}{'started':<17} {'status':<12}{'events':>9}  labels · cwd · first prompt"


class SessionList(RowView):
    """The rows of the session list; ``nodes`` is the whole tree, ``rows`` what shows."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.nodes: list[SessionNode] = []
        self.rows: list[SessionNode] = []
        self.filter_text = ""
        self.collapsed: set[str] = set()
        self._has_children: set[str] = set()

    def load(self, nodes: list[SessionNode]) -> None:
        """Show a new tree, keeping the filter, the collapsed nodes and the cursor's
        session when it is still there."""
        selected = self.selected
        self.nodes = nodes
        self._has_children = {
            n.session.parent_ulid for n in nodes if n.depth > 0 and n.session.parent_ulid
        }
        self._rebuild(selected.session.ulid if selected else None)

    def set_filter(self, text: str) -> None:
        """Keep only the sessions ``text`` matches (see ``matches_filter``), flat."""
        self.filter_text = text
        selected = self.selected
        self._rebuild(selected.session.ulid if selected else None)

    def toggle_collapsed(self, expand: bool | None = None) -> None:
        """Collapse or expand the forks under the selected session."""
        node = self.selected
        if node is None or node.session.ulid not in self._has_children:
            return
        ulid = node.session.ulid
        collapse = not expand if expand is not None else ulid not in self.collapsed
        if collapse:
            self.collapsed.add(ulid)
        else:
            self.collapsed.discard(ulid)
        self._rebuild(ulid)

    @property
    def selected(self) -> SessionNode | None:
        """The node under the cursor, None when the list is empty."""
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def _rebuild(self, keep: str | None) -> None:
        if self.filter_text.strip():
            needle = self.filter_text
            rows = [
                SessionNode(n.session, 0, n.first_prompt)
                for n in self.nodes
                if matches_filter(n.session, n.first_prompt, needle)
            ]
        else:
            rows = []
            hidden_below: int | None = None  # depth of a collapsed ancestor
            for node in self.nodes:
                if hidden_below is not None:
                    if node.depth > hidden_below:
                        continue
                    hidden_below = None
                rows.append(node)
                if node.session.ulid in self.collapsed:
                    hidden_below = node.depth
        self.rows = rows
        cursor = 0
        if keep is not None:
            cursor = next((i for i, n in enumerate(rows) if n.session.ulid == keep), 0)
        self.cursor = cursor
        self.set_row_count(len(rows))
        self.move_to(cursor)

    def row_segments(self, index: int) -> list[Segment]:
        node = self.rows[index]
        session = node.session
        if session.ulid in self._has_children and not self.filter_text.strip():
            marker = "▸ " if session.ulid in self.collapsed else "▾ "
        else:
            marker = "  "
        indent = "  " * node.depth
        fork = "⑂ " if session.parent_ulid is not None else ""
        segments = [
            Segment(indent + marker, PLAIN),
            Segment(f"{fork}{short_ulid(session.ulid):<14}"[: 14 + len(fork)], _ULID),
            Segment(f"{local_time(session.started_at_ms):<17} ", _DIM),
            Segment(f"{session.status.value:<12}", _STATUS_STYLES.get(session.status, PLAIN)),
            Segment(f"{session.n_events:>9,}  ", PLAIN),
        ]
        if session.labels:
            segments.append(Segment(harmless(", ".join(session.labels), 80) + "  ", _LABELS))
        segments.append(Segment(harmless(session.cwd or "-", 120), _DIM))
        if node.first_prompt:
            segments.append(Segment("  " + harmless(node.first_prompt, 200), PLAIN))
        return segments
