"""Wrap-up summaries: durations, counts per kind, top commands, first and last times."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from children import run_child
from clocks import ManualClock

from zero_session import SessionNotFound, Status, Store, Summary


@pytest.fixture
def sumstore(open_store: Callable[..., Store]) -> Store:
    return open_store(clock=ManualClock(1_000_000, step_ms=10))


def test_summary_of_an_ended_session(sumstore: Store) -> None:
    session = sumstore.start()  # at 1_000_010
    sumstore.append(session, "prompt", "buy 10")  # 1_000_020
    commands = [
        "/risk check now",
        "/risk",
        "  /fork\tat 3",
        "/save pre-cpi",
        "/alpha",
        "/fork",
        "/beta x",
        "/save\nname",
        "/gamma",
        "/delta",
        "/epsilon",
        "/zeta",
        "/eta",
        "",
    ]
    sumstore.append_many(session, [("command", text) for text in commands])  # 1_000_030
    sumstore.append(session, "warn", "slow")  # 1_000_040
    sumstore.end(session)  # 1_000_050

    summary = sumstore.summary(session)

    assert isinstance(summary, Summary)
    assert summary.session == session.ulid
    assert summary.status is Status.ENDED
    assert summary.started_at_ms == 1_000_010
    assert summary.first_event_at_ms == 1_000_020
    assert summary.last_event_at_ms == 1_000_040
    assert summary.ended_at_ms == 1_000_050
    assert summary.duration_ms == 40
    assert summary.n_events == 16
    assert summary.counts == {"command": 14, "prompt": 1, "warn": 1}
    assert summary.top_commands == (
        ("/fork", 2),
        ("/risk", 2),
        ("/save", 2),
        ("/alpha", 1),
        ("/beta", 1),
        ("/delta", 1),
        ("/epsilon", 1),
        ("/eta", 1),
        ("/gamma", 1),
        ("/zeta", 1),
    )


def test_summary_of_a_fork_counts_its_own_events(sumstore: Store) -> None:
    parent = sumstore.start()
    sumstore.append_many(parent, [("command", "/a"), ("command", "/a")])
    fork = sumstore.fork(parent)
    sumstore.append(fork, "command", "/b")
    summary = sumstore.summary(fork)
    assert summary.counts == {"command": 1}
    assert summary.top_commands == (("/b", 1),)
    assert summary.n_events == 1


def test_summary_of_an_empty_live_session(sumstore: Store) -> None:
    session = sumstore.start()
    summary = sumstore.summary(session)
    assert summary.status is Status.LIVE
    assert summary.counts == {}
    assert summary.top_commands == ()
    assert summary.first_event_at_ms is None
    assert summary.last_event_at_ms is None
    assert summary.duration_ms > 0  # live: measured up to now


def test_summary_unknown_session(sumstore: Store) -> None:
    with pytest.raises(SessionNotFound):
        sumstore.summary("01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_summary_of_an_interrupted_session_lasts_until_its_last_event(
    store: Store, subprocess_env: dict[str, str]
) -> None:
    store.start()  # creates the file
    script = (
        "import time\n"
        "from zero_session import Store\n"
        "store = Store.open()\n"
        "s = store.start()\n"
        "time.sleep(0.05)\n"
        "store.append(s, 'command', '/crash soon')\n"
        "print(s.ulid)\n"  # exits without end(): interrupted
    )
    summary = store.summary(run_child(script, subprocess_env))
    assert summary.status is Status.INTERRUPTED
    assert summary.ended_at_ms is None
    assert summary.last_event_at_ms is not None
    assert summary.duration_ms == summary.last_event_at_ms - summary.started_at_ms
    assert summary.duration_ms >= 50
