"""Concurrency under load, across real processes.

4 writer processes x 2 threads (one Store per process, shared by its threads) append to
one shared session with ``expected_seq`` (retrying on SeqConflict) and to a session of
their own, while a reader process lists and replays.  Nothing may fail: within the busy
timeout no "database is locked" escapes; past it (a lock held by another process) the
error is StoreLocked; and a reader never fails while another process holds a long write
transaction.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import PYTHON

from zero_session import SeqConflict, Store, StoreLocked

WRITERS = 4
THREADS = 2
ROUNDS = 40

WRITER = r"""
import json, sys, threading
from zero_session import SeqConflict, Store

path, shared, name, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = Store.open(path, busy_timeout_ms=30_000)
results = {}

def work(thread):
    own = store.start(cwd="/").ulid
    acked_shared, acked_own, conflicts, errors = [], [], 0, []
    for number in range(rounds):
        text = f"{name}.{thread}:{number}"
        try:
            while True:
                last = store.get(shared).last_seq
                try:
                    event = store.append(shared, "prompt", text, expected_seq=last)
                    break
                except SeqConflict as exc:
                    assert exc.expected == last and exc.actual > last
                    conflicts += 1
            acked_shared.append([event.seq, text])
            batch = store.append_many(own, [("system", text), ("warn", text)])
            acked_own.extend([e.seq, e.text] for e in batch)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    results[thread] = {"own": own, "shared": acked_shared, "own_events": acked_own,
                       "conflicts": conflicts, "errors": errors}

threads = [threading.Thread(target=work, args=(t,)) for t in range(int(sys.argv[5]))]
for t in threads:
    t.start()
for t in threads:
    t.join()
store.close()
print(json.dumps(results))
"""

READER = r"""
import json, os, sys
from zero_session import Store

path, shared, stop = sys.argv[1], sys.argv[2], sys.argv[3]
store = Store.open(path, busy_timeout_ms=30_000)
passes, errors, last_seen = 0, [], 0
while not os.path.exists(stop) or passes < 3:
    try:
        sessions = store.list_sessions(None)
        assert any(s.ulid == shared for s in sessions)
        seqs = [e.seq for e in store.replay(shared)]
        assert seqs == list(range(1, len(seqs) + 1)), "gap in a replay"
        assert len(seqs) >= last_seen, "the shared session went backwards"
        last_seen = len(seqs)
        for s in sessions[:5]:
            own = [e.seq for e in store.replay(s.ulid)]
            assert own == list(range(1, len(own) + 1))
        passes += 1
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        break
store.close()
print(json.dumps({"passes": passes, "errors": errors, "last_seen": last_seen}))
"""


@pytest.mark.slow
def test_writers_and_reader_under_load(
    tmp_path: Path, subprocess_env: dict[str, str], store: Store
) -> None:
    shared = store.start(cwd="/").ulid
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [PYTHON, "-c", READER, store.path, shared, str(stop)],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    writers = [
        subprocess.Popen(
            [PYTHON, "-c", WRITER, store.path, shared, f"p{n}", str(ROUNDS), str(THREADS)],
            env=subprocess_env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    outputs = [w.communicate(timeout=120)[0] for w in writers]
    stop.touch()
    reader_out = json.loads(reader.communicate(timeout=60)[0])
    assert all(w.returncode == 0 for w in writers)
    results = [r for out in outputs for r in json.loads(out).values()]
    assert len(results) == WRITERS * THREADS

    assert [e for r in results for e in r["errors"]] == []
    assert reader_out["errors"] == []
    assert reader_out["passes"] >= 3

    # The shared session: every acknowledged append is stored at the seq it was given,
    # and the seqs are exactly 1..n.
    acked = sorted((seq, text) for r in results for seq, text in r["shared"])
    assert len(acked) == WRITERS * THREADS * ROUNDS
    stored = [(e.seq, e.text) for e in store.replay(shared)]
    assert stored == acked
    # With eight writers racing on one session, some expected_seq checks must lose.
    assert sum(r["conflicts"] for r in results) > 0
    for r in results:
        own = [[e.seq, e.text] for e in store.replay(r["own"])]
        assert own == r["own_events"]
        assert len(own) == 2 * ROUNDS
    assert store.check().ok


HOLDER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO milestones (key, value, at_ms) VALUES ('holder', 'uncommitted', 0)")
print("locked", flush=True)
sys.stdin.readline()      # hold the write lock until the test says so
conn.execute("ROLLBACK")
print("released", flush=True)
"""


def test_lock_held_past_busy_timeout_is_store_locked(
    open_store: Callable[..., Store], db_path: Path, subprocess_env: dict[str, str]
) -> None:
    writer = open_store(busy_timeout_ms=150)
    session = writer.start(cwd="/")
    writer.append(session, "prompt", "before")
    reader = open_store(busy_timeout_ms=150)
    readonly = open_store(readonly=True, busy_timeout_ms=150)
    holder = subprocess.Popen(
        [PYTHON, "-c", HOLDER, str(db_path)],
        env=subprocess_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == "locked\n"
        started = time.monotonic()
        with pytest.raises(StoreLocked, match="locked"):
            writer.append(session, "prompt", "blocked")
        assert time.monotonic() - started < 10  # loose: the timeout is 0.15 s
        with pytest.raises(StoreLocked):
            writer.label(session, "blocked")
        # Opening a store meanwhile needs no write lock (the schema is up to date).
        late = open_store(busy_timeout_ms=150)
        late_readonly = open_store(readonly=True, busy_timeout_ms=150)
        # Readers do not wait for the writer and never see its uncommitted row.
        for store in (writer, reader, readonly, late, late_readonly):
            assert [e.text for e in store.replay(session)] == ["before"]
            assert store.get_milestone("holder") is None
            assert len(store.list_sessions()) == 1
            assert store.check().ok
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline() == "released\n"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    # The same store writes once the lock is gone; nothing of the refused calls exists.
    writer.append(session, "prompt", "after")
    assert [e.text for e in writer.replay(session)] == ["before", "after"]
    assert writer.get(session).labels == ()


def test_expected_seq_conflict_between_processes(
    store: Store, subprocess_env: dict[str, str]
) -> None:
    session = store.start(cwd="/")
    store.append(session, "prompt", "one")
    other = subprocess.run(
        [
            PYTHON,
            "-c",
            "import sys; from zero_session import Store; "
            "s = Store.open(sys.argv[1]); s.append(sys.argv[2], 'prompt', 'two', "
            "expected_seq=1); s.close()",
            store.path,
            session.ulid,
        ],
        env=subprocess_env,
        capture_output=True,
        text=True,
    )
    assert other.returncode == 0, other.stderr
    with pytest.raises(SeqConflict) as caught:
        store.append(session, "prompt", "stale", expected_seq=1)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    store.append(session, "prompt", "three", expected_seq=caught.value.actual)
    assert [e.text for e in store.replay(session)] == ["one", "two", "three"]
