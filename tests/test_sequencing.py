"""Invariant 1: a session's seqs are 1..n, gapless and unique, under threads and processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from zero_session import SeqConflict, SessionEnded, Store

THREADS = 8
ROUNDS_PER_THREAD = 40
PROCESSES = 4
ROUNDS_PER_PROCESS = 60


def assert_gapless(store: Store, ulid: str, acknowledged: list[int]) -> None:
    """The session holds exactly seqs 1..n, n == last_seq, and every acked seq."""
    events = list(store.replay(ulid))
    seqs = [e.seq for e in events]
    n = len(seqs)
    assert seqs == list(range(1, n + 1))
    assert store.get(ulid).last_seq == n
    assert len(acknowledged) == len(set(acknowledged)), "a seq was handed out twice"
    assert sorted(acknowledged) == seqs, "acknowledged seqs and stored seqs differ"


def test_eight_threads_share_one_store(store: Store) -> None:
    session = store.start()
    barrier = threading.Barrier(THREADS)
    acknowledged: list[list[int]] = [[] for _ in range(THREADS)]
    texts: dict[int, str] = {}
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            for round_ in range(ROUNDS_PER_THREAD):
                if round_ % 3 == 2:
                    items = [("system", f"t{index}-r{round_}-{k}") for k in range(3)]
                    evs = store.append_many(session.ulid, items)
                    # A batch is contiguous: one transaction reserved its seqs.
                    assert [e.seq for e in evs] == list(range(evs[0].seq, evs[0].seq + 3))
                else:
                    evs = [store.append(session.ulid, "prompt", f"t{index}-r{round_}")]
                for ev in evs:
                    acknowledged[index].append(ev.seq)
                    texts[ev.seq] = ev.text
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    flat = [seq for seqs in acknowledged for seq in seqs]
    assert_gapless(store, session.ulid, flat)
    # Each acknowledged seq holds the text its writer sent, and each thread's seqs rise.
    for ev in store.replay(session.ulid):
        assert ev.text == texts[ev.seq]
    for seqs in acknowledged:
        assert seqs == sorted(seqs)


_PROCESS_WRITER = """
import sys
from zero_session import Store
path, ulid, rounds, worker = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with Store.open(path, busy_timeout_ms=60_000) as store:
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"
    for r in range(rounds):
        if r % 4 == 3:
            items = [("system", f"{worker}-{r}-a"), ("warn", f"{worker}-{r}-b")]
            evs = store.append_many(ulid, items)
        else:
            evs = [store.append(ulid, "prompt", f"{worker}-{r}", data={"w": worker, "r": r})]
        print(" ".join(str(e.seq) for e in evs), flush=True)
"""


@pytest.mark.slow
def test_four_processes_append_to_one_session(
    open_store: Callable[..., Store], db_path: Path, subprocess_env: dict[str, str]
) -> None:
    store = open_store()
    session = store.start()
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _PROCESS_WRITER,
                str(db_path),
                session.ulid,
                str(ROUNDS_PER_PROCESS),
                f"w{i}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=subprocess_env,
        )
        for i in range(PROCESSES)
    ]
    try:
        # Release them together once every one has its store open.
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        outputs = [w.communicate(timeout=120)[0] for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert [w.returncode for w in workers] == [0] * PROCESSES
    acknowledged = [int(seq) for out in outputs for seq in out.split()]
    per_worker = ROUNDS_PER_PROCESS + ROUNDS_PER_PROCESS // 4
    assert len(acknowledged) == PROCESSES * per_worker
    assert_gapless(store, session.ulid, acknowledged)
    # Every acknowledged seq carries the text of the worker that was told it.
    by_seq = {e.seq: e for e in store.replay(session.ulid)}
    for index, out in enumerate(outputs):
        for line in out.splitlines():
            for seq in line.split():
                assert by_seq[int(seq)].text.startswith(f"w{index}-")


def test_expected_seq_conflict_carries_facts_and_writes_nothing(store: Store) -> None:
    session = store.start()
    store.append_many(session, [("system", "a"), ("system", "b")])
    before = store.get(session)
    with pytest.raises(SeqConflict) as caught:
        store.append(session, "prompt", "late", expected_seq=1)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert caught.value.ulid == session.ulid
    with pytest.raises(SeqConflict) as caught_many:
        store.append_many(session, [("prompt", "x"), ("prompt", "y")], expected_seq=5)
    assert (caught_many.value.expected, caught_many.value.actual) == (5, 2)
    after = store.get(session)
    assert after.last_seq == before.last_seq == 2
    assert after.last_event_at_ms == before.last_event_at_ms
    assert [e.text for e in store.replay(session)] == ["a", "b"]
    # The right expectation appends at the next seq.
    assert store.append(session, "prompt", "ok", expected_seq=2).seq == 3
    assert store.append(store.start(), "prompt", "first", expected_seq=0).seq == 1


def test_expected_seq_on_a_fork_counts_the_timeline(store: Store) -> None:
    parent = store.start()
    store.append_many(parent, [("system", str(i)) for i in range(5)])
    child = store.fork(parent, at_seq=3)
    with pytest.raises(SeqConflict) as caught:
        store.append(child, "prompt", "x", expected_seq=0)
    assert caught.value.actual == 3
    assert store.append(child, "prompt", "x", expected_seq=3).seq == 4


def test_ended_session_refuses_appends_and_keeps_its_seqs(store: Store) -> None:
    session = store.start()
    store.append(session, "system", "a")
    store.end(session)
    with pytest.raises(SessionEnded):
        store.append(session, "system", "b")
    with pytest.raises(SessionEnded):
        store.append_many(session, [("system", "b")])
    assert store.get(session).last_seq == 1


_OPTIMISTIC_WRITER = """
import sys
from zero_session import SeqConflict, Store
path, ulid, wanted, worker = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with Store.open(path, busy_timeout_ms=60_000) as store:
    print("ready", flush=True)
    sys.stdin.readline()
    done = conflicts = 0
    while done < wanted:
        last = store.get(ulid).last_seq
        try:
            ev = store.append(ulid, "command", f"{worker}-{done}", expected_seq=last)
        except SeqConflict as exc:
            assert exc.expected == last and exc.actual > last
            conflicts += 1
            continue
        assert ev.seq == last + 1
        print(ev.seq, flush=True)
        done += 1
"""


@pytest.mark.slow
def test_optimistic_appends_from_processes_each_land_once(
    open_store: Callable[..., Store], db_path: Path, subprocess_env: dict[str, str]
) -> None:
    """Writers that read last_seq and append with expected_seq retry on SeqConflict; no
    append is lost or doubled, and every successful one got exactly the seq it expected."""
    store = open_store()
    session = store.start()
    wanted = 25
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _OPTIMISTIC_WRITER,
                str(db_path),
                session.ulid,
                str(wanted),
                f"w{i}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=subprocess_env,
        )
        for i in range(3)
    ]
    try:
        for w in workers:
            assert w.stdout is not None and w.stdout.readline() == "ready\n"
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        outputs = [w.communicate(timeout=120)[0] for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert [w.returncode for w in workers] == [0, 0, 0]
    acknowledged = [int(seq) for out in outputs for seq in out.split()]
    assert len(acknowledged) == 3 * wanted
    assert_gapless(store, session.ulid, acknowledged)
    texts = [e.text for e in store.replay(session.ulid)]
    for i in range(3):
        assert [t for t in texts if t.startswith(f"w{i}-")] == [f"w{i}-{n}" for n in range(wanted)]
