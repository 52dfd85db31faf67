"""Group commit: appends from threads sharing one Store share transactions and fsyncs.

To put several requests into one batch deterministically, the store's clock (which the
leader calls inside the write transaction) is made to wait at a gate: while the first
appending thread holds the connection there, the others queue up; the gate opens once
they are all queued, and the next leader must take them all in one transaction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest
from children import forked_exit_code
from faultvfs import FaultVFS

from zero_session import (
    Event,
    SeqConflict,
    Session,
    SessionEnded,
    SessionNotFound,
    StorageError,
    Store,
    _fork_safety,
)

WAIT_S = 20.0


class GatedClock:
    """A clock that, once armed, stops the first thread that reads it until ``release``."""

    def __init__(self) -> None:
        self.now = 1_780_000_000_000
        self._armed = False
        self._held = threading.Event()
        self._gate = threading.Event()
        self._on_hold: Callable[[], None] | None = None

    def arm(self, on_hold: Callable[[], None] | None = None) -> None:
        self._held.clear()
        self._gate.clear()
        self._on_hold = on_hold
        self._armed = True

    def __call__(self) -> int:
        if self._armed:
            self._armed = False
            if self._on_hold is not None:
                self._on_hold()
            self._held.set()
            assert self._gate.wait(WAIT_S), "the gate was never released"
        self.now += 1
        return self.now

    def wait_held(self) -> None:
        assert self._held.wait(WAIT_S), "no thread reached the clock"

    def release(self) -> None:
        self._gate.set()


def wait_for_queue(store: Store, size: int) -> None:
    """Wait until ``size`` requests are queued behind the leader (a state, not a delay)."""
    deadline = time.monotonic() + WAIT_S
    while len(store._committer._queue) < size:
        assert time.monotonic() < deadline, f"only {len(store._committer._queue)} queued"
        time.sleep(0.001)


class Outcome:
    """What a thread's call returned or raised."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, Outcome]:
    outcome = Outcome()

    def run() -> None:
        try:
            outcome.value = fn()
        except BaseException as exc:
            outcome.error = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.fixture
def clock() -> GatedClock:
    return GatedClock()


@pytest.fixture
def gated_store(open_store: Callable[..., Store], clock: GatedClock) -> Store:
    return open_store(clock=clock)


def run_batch(
    store: Store, clock: GatedClock, calls: list[Callable[[], Any]]
) -> tuple[Outcome, list[Outcome]]:
    """Hold a first append at the gate, queue ``calls`` behind it, then open the gate."""
    session = store.start()
    clock.arm()
    first_thread, first = in_thread(lambda: store.append(session, "system", "holds the gate"))
    clock.wait_held()
    started = [in_thread(call) for call in calls]
    wait_for_queue(store, len(calls))
    clock.release()
    first_thread.join(WAIT_S)
    for thread, _ in started:
        thread.join(WAIT_S)
    assert not first_thread.is_alive()
    assert not any(thread.is_alive() for thread, _ in started)
    return first, [outcome for _, outcome in started]


def test_queued_appends_share_one_commit(gated_store: Store, clock: GatedClock) -> None:
    store = gated_store
    session = store.start()
    commits, requests = store._committer.commits, store._committer.requests
    calls = [
        (lambda i=i: store.append(session, "prompt", f"event {i}", data={"i": i})) for i in range(7)
    ]
    first, outcomes = run_batch(store, clock, calls)
    assert first.error is None
    assert [o.error for o in outcomes] == [None] * 7
    # The gate's own session start, the held append, then ONE commit for the seven.
    assert store._committer.commits - commits == 2
    assert store._committer.requests - requests == 8
    events = [o.value for o in outcomes]
    assert sorted(e.seq for e in events) == list(range(1, 8))
    replayed = list(store.replay(session))
    assert sorted(events, key=lambda e: e.seq) == replayed


def test_errors_stay_with_their_request(
    gated_store: Store, clock: GatedClock, db_path: Path
) -> None:
    store = gated_store
    good = store.start()
    ended = store.start()
    store.end(ended)
    other = store.start()
    missing = "01KSR49200GC56BRPMZH6Y8YJS"

    def partial_then_fail(conn: apsw.Connection) -> None:
        conn.execute("INSERT INTO milestones (key, value, at_ms) VALUES ('half', 'written', 0)")
        raise ValueError("this request fails after writing")

    calls: list[Callable[[], Any]] = [
        lambda: store.append(good, "prompt", "a"),
        lambda: store.append(good, "prompt", "conflict", expected_seq=999),
        lambda: store.append(ended, "prompt", "too late"),
        lambda: store.append(missing, "prompt", "nobody"),
        lambda: store._committer.submit(partial_then_fail),
        lambda: store.append_many(other, [("system", "x"), ("warn", "y")]),
        lambda: store.append(good, "prompt", "b"),
    ]
    commits = store._committer.commits
    _, outcomes = run_batch(store, clock, calls)
    assert store._committer.commits - commits == 2  # the held append, then the batch
    by_kind = [type(o.error) if o.error else None for o in outcomes]
    assert by_kind == [None, SeqConflict, SessionEnded, SessionNotFound, ValueError, None, None]
    assert {o.value.text for o in (outcomes[0], outcomes[6])} == {"a", "b"}
    assert sorted(e.seq for e in store.replay(good)) == [1, 2]
    assert [(e.seq, e.text) for e in store.replay(other)] == [(1, "x"), (2, "y")]
    assert list(store.replay(ended)) == []
    assert store.get_milestone("half") is None
    conflict = outcomes[1].error
    assert isinstance(conflict, SeqConflict)


def test_many_threads_gapless_and_all_returned_events_stored(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    store = open_store()
    shared = store.start()
    own = [store.start() for _ in range(4)]
    returned: list[list[Event]] = [[] for _ in range(8)]

    def writer(index: int) -> None:
        target = shared if index < 4 else own[index - 4]
        for n in range(40):
            if n % 10 == 9:
                returned[index] += store.append_many(
                    target, [("system", f"t{index} b{n} {k}") for k in range(3)]
                )
            else:
                returned[index].append(
                    store.append(target, "prompt", f"t{index} n{n}", data={"t": index, "n": n})
                )

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store._committer.requests >= store._committer.commits
    store.close()

    reopened = Store.open(db_path)
    try:
        for session in [shared, *own]:
            timeline = list(reopened.replay(session))
            assert [e.seq for e in timeline] == list(range(1, len(timeline) + 1))
        stored = {(e.session, e.seq): e for s in [shared, *own] for e in reopened.replay(s)}
        acknowledged = [e for events in returned for e in events]
        assert len(stored) == len(acknowledged) == 8 * (36 + 4 * 3)
        for event in acknowledged:
            assert stored[(event.session, event.seq)] == event
    finally:
        reopened.close()


def test_a_failed_commit_fails_every_request_of_its_batch(
    tmp_path: Path, clock: GatedClock
) -> None:
    vfs = FaultVFS("zs-group-commit-fault")
    try:
        path = tmp_path / "faulty.db"
        store = Store.open(path, clock=clock, vfs=vfs.name)
        try:
            session = store.start()
            # The second gate holds the batch's first request inside its transaction,
            # where the fault is armed: that batch's commit (its fsync) fails.
            clock.arm()
            first_thread, first = in_thread(lambda: store.append(session, "system", "alone"))
            clock.wait_held()
            calls = [(lambda i=i: store.append(session, "prompt", f"lost {i}")) for i in range(4)]
            started = [in_thread(call) for call in calls]
            wait_for_queue(store, 4)
            clock.arm(on_hold=lambda: vfs.plan.arm("sync", 1, persistent=True))
            clock.release()
            first_thread.join(WAIT_S)
            clock.wait_held()
            clock.release()
            for thread, _ in started:
                thread.join(WAIT_S)
            vfs.plan.disarm()
            assert first.error is None
            assert vfs.plan.fired >= 1
            for _, outcome in started:
                assert isinstance(outcome.error, StorageError), outcome.error
            after = store.append(session, "prompt", "after the fault")
            assert after.seq == 2
        finally:
            store.close()
        reopened = Store.open(path)
        try:
            assert [e.text for e in reopened.replay(session)] == ["alone", "after the fault"]
        finally:
            reopened.close()
    finally:
        vfs.unregister()


WRITER = textwrap.dedent(
    """
    import sys, threading
    from zero_session import Store
    store = Store.open(sys.argv[1], durability=sys.argv[2])
    sessions = [store.start() for _ in range(2)]
    printing = threading.Lock()

    def writer(index):
        session = sessions[index % 2]
        n = 0
        while True:
            event = store.append(session, "prompt", f"w{index} n{n}")
            with printing:
                print(event.session, event.seq, event.text, flush=True)
            n += 1

    for i in range(4):
        threading.Thread(target=writer, args=(i,), daemon=True).start()
    threading.Event().wait()
    """
)


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_event(
    db_path: Path, durability: str, subprocess_env: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path), durability],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env,
    )
    acknowledged: list[tuple[str, int, str]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            ulid, seq, text = line.rstrip("\n").split(" ", 2)
            acknowledged.append((ulid, int(seq), text))
            if len(acknowledged) >= 300:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(acknowledged) >= 300
    store = Store.open(db_path)
    try:
        stored = {
            (e.session, e.seq): e.text
            for ulid in {a[0] for a in acknowledged}
            for e in store.replay(ulid)
        }
        for ulid, seq, text in acknowledged:
            assert stored.get((ulid, seq)) == text
        for ulid in {a[0] for a in acknowledged}:
            seqs = sorted(seq for (u, seq) in stored if u == ulid)
            assert seqs == list(range(1, len(seqs) + 1))
    finally:
        store.close()


@pytest.fixture
def closed_store(open_store: Callable[..., Store]) -> Iterator[Store]:
    store = open_store()
    yield store


def test_closed_store_fails_the_request_cleanly(closed_store: Store) -> None:
    session = closed_store.start()
    closed_store.close()
    with pytest.raises(Exception) as info:
        closed_store.append(session, "prompt", "after close")
    assert type(info.value).__name__ == "StoreClosed"
    assert closed_store._committer._leading is False


def child_append(store: Store, session: Session) -> int:
    """In a forked child: 0 when the append raises StoreUsedAfterFork, else 2."""
    try:
        store.append(session, "prompt", "from the child")
    except Exception as exc:
        return 0 if type(exc).__name__ == "StoreUsedAfterFork" else 2
    return 2


def test_child_after_fork_fails_fast_even_mid_batch(
    gated_store: Store, clock: GatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fork taken while a leader holds the connection copies the queue mid-use; the
    child's append must raise StoreUsedAfterFork, not wait for a leader that is not there."""
    # A fork waits for the store's mutex (see _fork_safety), here held until after the
    # fork: shorten that wait so the fork happens mid-batch, as when the wait runs out.
    monkeypatch.setattr(_fork_safety, "FORK_WAIT_S", 0.05)
    store = gated_store
    session = store.start()
    clock.arm()
    leader, outcome = in_thread(lambda: store.append(session, "system", "held"))
    clock.wait_held()
    try:
        assert forked_exit_code(lambda: child_append(store, session), timeout_s=WAIT_S) == 0
    finally:
        clock.release()
        leader.join(WAIT_S)
    assert outcome.error is None


def test_child_after_fork_fails_fast_before_any_append(db_path: Path) -> None:
    """Forked while another thread holds the store's mutex, before the store ever
    appended (its append queue is made by the first append): the child's append raises
    StoreUsedAfterFork instead of waiting on the copied mutex."""
    store = Store.open(db_path)
    session = store.start()
    assert store._group_commit is None
    try:
        with store._lock:  # what a reading thread holds at the moment of the fork
            code = forked_exit_code(lambda: child_append(store, session), timeout_s=WAIT_S)
        assert code == 0
    finally:
        store.close()
