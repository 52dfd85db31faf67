"""Text from the store made safe to show on a terminal.

Event text, labels and meta come from whoever recorded them.  Written raw to a terminal,
``\\x1b]0;…\\x07`` retitles the window, ``\\x1b[2J`` clears the screen, OSC 52 writes the
clipboard, a carriage return overwrites what a line said, and bidi overrides reorder
it.  ``visible`` shows every such character as a Python-style escape (``\\x1b``,
``\\r``, ``\\u202e``) instead; newline and tab stay as they are.  Programs call it only
when writing to a terminal: pipes and ``--json`` get the text unchanged.

The common case (nothing to escape) is one precompiled regex search; the rare case one
``re.sub`` over the matches.  No per-character Python loop.
"""

from __future__ import annotations

import re

__all__ = ["visible"]

# C0 controls except tab and newline, DEL, C1 controls, and the bidi embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069).
_UNSAFE_CLASS = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
# Compiled by the first call (~0.5 ms): the command line imports this module for every
# command, but only output to a terminal is escaped.
_unsafe: re.Pattern[str] | None = None


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x0D:
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every terminal control character shown as an escape (see module)."""
    global _unsafe
    unsafe = _unsafe
    if unsafe is None:
        unsafe = _unsafe = re.compile(_UNSAFE_CLASS)
    if unsafe.search(text) is None:
        return text
    return unsafe.sub(_escape, text)
