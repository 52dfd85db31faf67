"""A settable clock for stores under test (``Store.open(..., clock=...)``)."""

from __future__ import annotations

from datetime import timedelta


class ManualClock:
    """Epoch ms that move only when told to: ``advance``, or ``step_ms`` on every call."""

    def __init__(self, now_ms: int, *, step_ms: int = 0) -> None:
        self.now_ms = now_ms
        self.step_ms = step_ms

    def __call__(self) -> int:
        self.now_ms += self.step_ms
        return self.now_ms

    def advance(self, delta: timedelta) -> None:
        self.now_ms += delta // timedelta(milliseconds=1)
