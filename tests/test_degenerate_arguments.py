"""Huge and degenerate arguments are refused up front with InvalidInput naming them.

Each of these once got through: as a bare OverflowError (a 2**70 meta filter value or
clock reading), accepted and failing later (a poll interval of 2**70 seconds, a TTL
whose expiry is past the year 9999, which then broke ``zero-session show --json``), as
silence (a recorder with no room for a single event), or as StorageError blaming the
database for a bad argument (40,000 kinds or meta keys).  Each runs through Store and
AsyncStore alike; nothing is written by a refused call.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from zero_session import AsyncStore, InvalidInput, Recorder, Store
from zero_session._api_events import MAX_KINDS_FILTER
from zero_session._filters import MAX_META_FILTER_KEYS
from zero_session._follow import MAX_INTERVAL_S
from zero_session._store_core import MAX_TIME_MS

HUGE = 2**70


def call(store: Store, flavour: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """``store.method(*args, **kwargs)``, or the same through an AsyncStore."""
    if flavour == "sync":
        return getattr(store, method)(*args, **kwargs)

    async def run() -> Any:
        astore = AsyncStore(store)
        try:
            result = getattr(astore, method)(*args, **kwargs)
            if hasattr(result, "__anext__"):
                return await result.__anext__()
            return await result
        finally:
            astore._executor.shutdown(wait=True)

    return asyncio.run(run())


CASES: dict[str, tuple[str, Callable[[str], tuple[tuple[Any, ...], dict[str, Any]]], str]] = {
    # name: (method, arguments given the session ulid, what the message names)
    "meta filter value 2**70": ("list_sessions", lambda s: ((), {"meta": {"k": HUGE}}), "'k'"),
    "meta filter value -2**70": ("list_sessions", lambda s: ((), {"meta": {"k": -HUGE}}), "'k'"),
    "meta filter of 40,000 keys": (
        "list_sessions",
        lambda s: ((), {"meta": {f"k{i}": 1 for i in range(40_000)}}),
        "meta filter",
    ),
    "40,000 kinds": (
        "events",
        lambda s: ((s,), {"kinds": {f"k{i}" for i in range(40_000)}}),
        "kinds",
    ),
    "ttl of 10**8 days": ("start", lambda s: ((), {"ttl": timedelta(days=10**8)}), "ttl"),
    "ttl of timedelta.max": ("start", lambda s: ((), {"ttl": timedelta.max}), "ttl"),
    "follow polling every 2**70 s": (
        "follow",
        lambda s: ((s,), {"poll_interval_s": HUGE}),
        "poll_interval_s",
    ),
    "follow polling every inf s": (
        "follow",
        lambda s: ((s,), {"poll_interval_s": float("inf")}),
        "poll_interval_s",
    ),
    "watch polling every 2**70 s": ("watch", lambda s: ((), {"poll_interval_s": HUGE}), "poll"),
    "watch refreshing every 2**70 s": ("watch", lambda s: ((), {"refresh_s": HUGE}), "refresh_s"),
}


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_up_front_naming_the_argument(store: Store, case: str, flavour: str) -> None:
    session = store.start(cwd="/")
    store.append(session, "prompt", "kept")
    before = store.list_sessions(limit=None)
    method, arguments, named = CASES[case]
    args, kwargs = arguments(session.ulid)
    with pytest.raises(InvalidInput, match=named.replace("*", r"\*")):
        call(store, flavour, method, *args, **kwargs)
    assert store.list_sessions(limit=None) == before


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_limits_themselves_work(store: Store, flavour: str) -> None:
    """At the caps, the same calls work."""
    session = store.start(cwd="/", meta={"k": 2**63 - 1})
    store.append(session, "prompt", "x")
    assert call(store, flavour, "list_sessions", meta={"k": 2**63 - 1}) == [store.get(session)]
    meta = {f"k{i}": i for i in range(MAX_META_FILTER_KEYS)}
    assert call(store, flavour, "list_sessions", meta=meta) == []
    kinds = {f"k{i}" for i in range(MAX_KINDS_FILTER - 1)} | {"prompt"}
    assert [e.text for e in call(store, flavour, "events", session, kinds=kinds)] == ["x"]
    follower = store.follow(session, poll_interval_s=MAX_INTERVAL_S)
    follower.close()
    ends = call(store, flavour, "start", ttl=timedelta(days=365 * 100))
    assert ends.expires_at_ms is not None and ends.expires_at_ms <= MAX_TIME_MS


@pytest.mark.parametrize("reading", [2**70, -(2**70), MAX_TIME_MS + 1])
def test_clock_out_of_range_is_invalid_input(tmp_path: Path, reading: int) -> None:
    with (
        Store.open(tmp_path / "s.db", clock=lambda: reading) as store,
        pytest.raises(InvalidInput, match="clock"),
    ):
        store.start(cwd="/")
    with Store.open(tmp_path / "s.db") as store:
        assert store.list_sessions() == []


def test_clock_at_the_edge_of_year_9999_works(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db", clock=lambda: MAX_TIME_MS) as store:
        session = store.start(cwd="/")
        assert store.append(session, "prompt", "late").at_ms == MAX_TIME_MS
        with pytest.raises(InvalidInput, match="ttl"):
            store.start(ttl=timedelta(milliseconds=1))


@pytest.mark.parametrize(
    "options",
    [
        {"backlog_limit": 0},
        {"retry_interval_s": 2**70},
        {"retry_interval_s": float("inf")},
    ],
)
def test_recorder_without_room_or_with_endless_retry_is_refused(
    store: Store, options: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput, match=next(iter(options))):
        Recorder(store, **options)
    assert store.list_sessions() == []


def test_recorder_with_room_for_one_event_records(store: Store) -> None:
    with Recorder(store, backlog_limit=1) as rec:
        rec.record("prompt", "one")
        rec.flush()
        assert [e.text for e in store.replay(rec.current)] == ["one"]


def test_export_of_more_sessions_than_sqlite_has_parameters(store: Store) -> None:
    """More sessions named at once than SQLite allows parameters (32,766) still export."""
    header = json.dumps({"type": "zero-session-export", "format": 1})
    ulids = [f"01JCCCCCCCCCCCCCCCC{i:07d}" for i in range(32_800)]
    sessions = (
        json.dumps(
            {
                "type": "session",
                "ulid": ulid,
                "parent": None,
                "fork_seq": 0,
                "started_at_ms": 1,
                "last_seq": 0,
                "ended_at_ms": 2,
            }
        )
        for ulid in ulids
    )
    store.import_([header, *sessions])
    out = io.StringIO()
    assert store.export(out, sessions=ulids).sessions == 32_800
