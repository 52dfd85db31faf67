"""Durations and moments typed on the command line.

A duration is a count and a unit: ``90s``, ``30m``, ``12h``, ``30d``, ``1w``
(``prune --older-than``).  A ``--since`` value is such a duration back from now or a
moment (``2026-11-21``, ``2026-11-21T14:03``, with an offset or ``Z`` for UTC; without
one it is local time)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

__all__ = ["parse_duration", "parse_since"]

_DURATION = r"(\d+)\s*([smhdw])"  # compiled (and cached by re) on first use, not at import
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def _duration_ms(text: str) -> int | None:
    match = re.fullmatch(_DURATION, text.strip().lower())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_duration(text: str) -> timedelta:
    """The length of time ``text`` means; ValueError with a hint when it means nothing."""
    ms = _duration_ms(text)
    if ms is None:
        raise ValueError(f"{text!r} is not a duration (90s, 30m, 12h, 30d, 1w)")
    try:
        return timedelta(milliseconds=ms)
    except OverflowError:
        raise ValueError(f"{text!r} is longer than any date can go back") from None


def parse_since(text: str, *, now_ms: int | None = None) -> int:
    """The epoch ms that ``text`` means; ValueError with a hint when it means nothing."""
    ms = _duration_ms(text)
    if ms is not None:
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        return now - ms
    stripped = text.strip()
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (30m, 2h, 3d, 1w) nor a date (2026-11-21[T14:03])"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)
