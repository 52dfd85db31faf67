"""``--since`` values: a duration back from now (``90s``, ``30m``, ``2h``, ``3d``, ``1w``) or
a moment (``2026-11-21``, ``2026-11-21T14:03``, with an offset or ``Z`` for UTC; without
one it is local time)."""

from __future__ import annotations

import re
import time
from datetime import datetime

__all__ = ["parse_since"]

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_since(text: str, *, now_ms: int | None = None) -> int:
    """The epoch ms that ``text`` means; ValueError with a hint when it means nothing."""
    stripped = text.strip()
    match = _DURATION.fullmatch(stripped.lower())
    if match:
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        return now - int(match.group(1)) * _UNIT_MS[match.group(2)]
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (30m, 2h, 3d, 1w) nor a date (2026-11-21[T14:03])"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)
