"""Pictures of the browser (pytest-textual-snapshot): the list and a timeline.

Deterministic: fixed ulids and times (a manual clock), UTC, a fixed terminal size, every
session ended (no status depends on a running process).  After a deliberate change of
the look, refresh them with ``pytest tests/test_browse_snapshots.py --snapshot-update``
and look at the SVGs in ``tests/__snapshots__/``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsing import Sample
from clocks import ManualClock

from zero_session import Store
from zero_session.browse._app import BrowseApp

SIZE = (110, 24)


@pytest.fixture
def fixed_store(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Store, Sample]]:
    numbers = itertools.count(1)
    monkeypatch.setattr(
        "zero_session._api_sessions.new_ulid", lambda: f"01KB{next(numbers):08d}{0:014d}"
    )
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    sample = Sample(db_path, clock=ManualClock(1_767_225_600_000, step_ms=1_000))
    store = Store.open(db_path, readonly=True, clock=ManualClock(1_767_300_000_000))
    yield store, sample
    store.close()
    monkeypatch.undo()
    time.tzset()


def test_the_session_list(snap_compare: Any, fixed_store: tuple[Store, Sample]) -> None:
    store, _ = fixed_store
    assert snap_compare(BrowseApp(store), terminal_size=SIZE)


def test_a_fork_timeline_with_inherited_events(
    snap_compare: Any, fixed_store: tuple[Store, Sample]
) -> None:
    store, _ = fixed_store
    assert snap_compare(BrowseApp(store), press=["down", "down", "enter"], terminal_size=SIZE)
