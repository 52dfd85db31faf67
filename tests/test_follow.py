"""store.follow and store.watch: live updates from this and other processes."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import PYTHON
from zero_session import InvalidInput, SessionNotFound, Store

WRITER = """
import sys, time
from zero_session import Store
store = Store.open(sys.argv[1])
ulid = sys.argv[2]
for i in range(int(sys.argv[3])):
    ev = store.append(ulid, "system", f"from child {i}")
    # one line per append, so the parent can see when each was acknowledged
    print(ev.seq, time.monotonic(), flush=True)
store.close()
"""


def _collect(follower: object, n: int, out: list[object]) -> threading.Thread:
    def run() -> None:
        for ev in follower:  # type: ignore[attr-defined]
            out.append((ev, time.monotonic()))
            if len(out) == n:
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_follow_yields_only_new_events_by_default(store: Store) -> None:
    s = store.start()
    store.append(s, "prompt", "old")
    with store.follow(s) as follower:
        assert follower.poll() == []
        store.append(s, "prompt", "new")
        got = next(follower)
    assert (got.seq, got.text) == (2, "new")


def test_follow_from_zero_replays_fork_timeline_then_new(store: Store) -> None:
    parent = store.start()
    store.append_many(parent, [("prompt", "a"), ("prompt", "b")])
    child = store.fork(parent, at_seq=1)
    store.append(parent, "prompt", "not in the child")
    follower = store.follow(child, after_seq=0)
    store.append(child, "system", "c")
    texts = [next(follower).text for _ in range(2)]
    assert texts == ["a", "c"]
    follower.close()


def test_consumer_may_append_while_following(store: Store) -> None:
    s = store.start()
    follower = store.follow(s)
    store.append(s, "prompt", "ping 0")
    seen = []
    for ev in follower:
        seen.append(ev.text)
        if len(seen) == 5:
            break
        store.append(s, "prompt", f"ping {len(seen)}")
    assert seen == [f"ping {i}" for i in range(5)]


def test_close_from_another_thread_ends_a_waiting_iteration(store: Store) -> None:
    s = store.start()
    follower = store.follow(s, poll_interval_s=0.05)
    out: list[object] = []
    thread = _collect(follower, 1, out)
    time.sleep(0.2)  # let it block in its wait; closing a not-yet-started one is also fine
    assert thread.is_alive()
    started = time.monotonic()
    follower.close()
    thread.join(2)
    assert not thread.is_alive()
    assert time.monotonic() - started < 1.0
    assert out == []
    # the idle follower never held the store: writes went through meanwhile
    assert store.append(s, "prompt", "after").seq == 1


def test_stop_event_ends_iteration(store: Store) -> None:
    s = store.start()
    stop = threading.Event()
    follower = store.follow(s, stop=stop)
    stop.set()
    assert list(follower) == []
    assert follower.closed


def test_follow_sees_events_from_another_process(store: Store, db_path: Path) -> None:
    s = store.start()
    n = 20
    follower = store.follow(s, poll_interval_s=0.01)
    out: list[object] = []
    thread = _collect(follower, n, out)
    proc = subprocess.run(
        [PYTHON, "-c", WRITER, str(db_path), s.ulid, str(n)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    thread.join(10)
    follower.close()
    assert [ev.seq for ev, _ in out] == list(range(1, n + 1))  # type: ignore[attr-defined]
    assert [ev.text for ev, _ in out] == [f"from child {i}" for i in range(n)]  # type: ignore[attr-defined]
    acked = [float(line.split()[1]) for line in proc.stdout.splitlines()]
    delays = [seen - ack for (_, seen), ack in zip(out, acked, strict=True)]  # type: ignore[misc]
    # loose bound only; benchmarks/bench_follow.py measures the real latency
    assert max(delays) < 2.0


def test_watch_lists_now_then_after_another_process_starts_a_session(
    store: Store, db_path: Path
) -> None:
    first = store.start()
    with store.watch(limit=5, poll_interval_s=0.01) as watcher:
        assert [s.ulid for s in next(watcher)] == [first.ulid]
        assert watcher.poll() == []
        code = (
            "import sys; from zero_session import Store; "
            "s = Store.open(sys.argv[1]); print(s.start().ulid); s.close()"
        )
        proc = subprocess.run(
            [PYTHON, "-c", code, str(db_path)], capture_output=True, text=True, check=True
        )
        listing = next(watcher)
    assert [s.ulid for s in listing] == [proc.stdout.strip(), first.ulid]


def test_bad_arguments(store: Store) -> None:
    s = store.start()
    with pytest.raises(SessionNotFound):
        store.follow("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    with pytest.raises(InvalidInput):
        store.follow(s, poll_interval_s=0)
    with pytest.raises(InvalidInput):
        store.follow(s, after_seq=-1)
    with pytest.raises(InvalidInput):
        store.watch(limit=0)


def test_an_idle_follower_does_not_spin(store: Store) -> None:
    """Very loose: a busy loop would burn ~1 s of CPU in this second; we allow 0.2 s.

    benchmarks/bench_follow.py measures the real figure (well under 2 % of a core).
    """
    s = store.start()
    follower = store.follow(s)
    used: list[float] = []

    def idle() -> None:
        start = time.thread_time()
        for _ in follower:
            pass
        used.append(time.thread_time() - start)

    thread = threading.Thread(target=idle)
    thread.start()
    time.sleep(1.0)  # the idle second being measured
    follower.close()
    thread.join(2)
    assert used and used[0] < 0.2
