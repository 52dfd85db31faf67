"""Text shown by the browser: event text made harmless, times, short ulids, filters.

Nothing here imports Textual, so these rules are tested on their own.  Event text comes
from anyone who could append to the store; it is drawn as characters, never sent to the
terminal as control sequences: every C0/C1 control character, DEL, and the Unicode
bidirectional overrides are shown as visible ``\\xNN`` / ``\\uNNNN`` escapes, and a line
break as ``↵`` (rows are one line each).
"""

from __future__ import annotations

import time

from ..models import Session

__all__ = ["harmless", "local_time", "matches_filter", "short_ulid"]

_ESCAPES: dict[int, str] = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES[ord("\n")] = "↵"
_ESCAPES[ord("\t")] = " "
for _code in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029):
    _ESCAPES[_code] = f"\\u{_code:04x}"

SHORT_ULID = 12
"""Characters of a ulid shown in the list: the 10 of its time and 2 of its randomness."""


def harmless(text: str, limit: int = 1_000) -> str:
    """``text`` cut to ``limit`` characters, control characters shown as escapes."""
    return text[:limit].translate(_ESCAPES)


def short_ulid(ulid: str) -> str:
    """The first :data:`SHORT_ULID` characters of a ulid."""
    return ulid[:SHORT_ULID]


def local_time(at_ms: int | None, *, seconds: bool = False) -> str:
    """Epoch ms as local wall-clock time (``YYYY-MM-DD HH:MM``), ``-`` for None."""
    if at_ms is None:
        return "-"
    layout = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return time.strftime(layout, time.localtime(at_ms / 1000))


def matches_filter(session: Session, first_prompt: str | None, needle: str) -> bool:
    """Whether the list filter ``needle`` keeps this session.

    Kept when the ulid starts with the needle (case-insensitive), or when one of its
    labels, its cwd or its first prompt contains it (case-insensitive).
    """
    folded = needle.strip().casefold()
    if not folded:
        return True
    if session.ulid.casefold().startswith(folded):
        return True
    places = (*session.labels, session.cwd or "", first_prompt or "")
    return any(folded in place.casefold() for place in places)
