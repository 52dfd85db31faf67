"""Huge and degenerate arguments are refused up front with InvalidInput naming them,
never a bare OverflowError later nor a StorageError blaming the database."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from clirunner import run

from zero_session import InvalidInput, Recorder, Store
from zero_session._store_core import MAX_TIME_MS


def test_meta_filter_with_a_huge_integer(store: Store) -> None:
    store.start(cwd="/", meta={"k": 1})
    with pytest.raises(InvalidInput, match=r"'k'.*64-bit"):
        store.list_sessions(meta={"k": 2**70})
    with pytest.raises(InvalidInput, match="'k'"):
        store.list_sessions(meta={"k": math.nan})
    assert len(store.list_sessions(meta={"k": 1})) == 1


def test_meta_filter_with_too_many_keys(store: Store) -> None:
    with pytest.raises(InvalidInput, match="40,000 keys"):
        store.list_sessions(meta={f"k{i}": i for i in range(40_000)})


def test_events_with_too_many_kinds(store: Store) -> None:
    session = store.start(cwd="/")
    with pytest.raises(InvalidInput, match="40,000 kinds"):
        store.events(session, kinds={f"k{i}" for i in range(40_000)})
    assert store.events(session, kinds={f"k{i}" for i in range(1_000)}) == []


@pytest.mark.parametrize("now", [2**70, -1, MAX_TIME_MS + 1])
def test_a_clock_out_of_range(open_store: Callable[..., Store], now: int) -> None:
    store = open_store(clock=lambda: now)
    with pytest.raises(InvalidInput, match="clock returned"):
        store.start(cwd="/")
    assert open_store().list_sessions() == []


@pytest.mark.parametrize("interval", [2**70, math.inf, math.nan, 0, -1, 86_401])
def test_poll_intervals_out_of_range(store: Store, interval: float) -> None:
    session = store.start(cwd="/")
    with pytest.raises(InvalidInput, match="poll_interval_s"):
        store.follow(session, poll_interval_s=interval)
    with pytest.raises(InvalidInput, match="poll_interval_s"):
        store.watch(poll_interval_s=interval)
    with pytest.raises(InvalidInput, match="refresh_s"):
        store.watch(refresh_s=interval)


def test_a_ttl_past_the_year_9999(store: Store, db_path: Path) -> None:
    with pytest.raises(InvalidInput, match="ttl"):
        store.start(cwd="/", ttl=timedelta(days=10**8))
    with pytest.raises(InvalidInput, match="ttl"):
        store.start(cwd="/", ttl=timedelta(days=2_925_000))  # fits alone, not from now
    assert store.list_sessions() == []
    longest = store.start(cwd="/", ttl=timedelta(days=365 * 7000))
    store.close()
    shown = run(db_path, "show", longest.ulid, "--json")
    assert shown.code == 0, shown.err
    assert shown.json()["expires_at_ms"] == longest.expires_at_ms


def test_recorder_backlog_limit_zero(store: Store) -> None:
    with pytest.raises(InvalidInput, match="backlog_limit"):
        Recorder(store, backlog_limit=0)
