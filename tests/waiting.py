"""Waiting on a condition with a deadline, for what a background thread or process does."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def wait_for(condition: Callable[[], object], timeout_s: float = 10) -> None:
    """Return once ``condition()`` is true; fail the test at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the condition was not met in time")
        time.sleep(0.002)  # polling a condition, not waiting out a race
