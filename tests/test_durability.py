"""Invariant 3: once append returns, the event survives the writer being killed (kill -9)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest

from zero_session import Status, Store

_WRITER = """
import sys
from zero_session import Store
path, durability = sys.argv[1], sys.argv[2]
store = Store.open(path, durability=durability)
session = store.start(cli_version="crash-test")
print(session.ulid, flush=True)
n = 0
while True:
    n += 1
    if n % 5 == 0:
        evs = store.append_many(session, [("system", f"batch {n} a"), ("system", f"batch {n} b")])
    else:
        evs = [store.append(session, "prompt", f"event {n}", data={"n": n})]
    for ev in evs:
        print(ev.seq, ev.text, flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("acks_before_kill", [1, 97, 400])
def test_kill_9_loses_no_acknowledged_event(
    acks_before_kill: int,
    open_store: Callable[..., Store],
    db_path: Path,
    subprocess_env: dict[str, str],
    durability: str,
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db_path), durability],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env,
    )
    assert writer.stdout is not None
    try:
        ulid = writer.stdout.readline().strip()
        acknowledged: dict[int, str] = {}
        while len(acknowledged) < acks_before_kill:
            line = writer.stdout.readline()
            assert line, "the writer stopped before it was killed"
            seq, text = line.rstrip("\n").split(" ", 1)
            acknowledged[int(seq)] = text
        writer.send_signal(signal.SIGKILL)
        # Acks printed between our last read and the kill count too.
        rest = writer.stdout.read()
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
    for line in rest.split("\n")[:-1]:  # a last line cut short by the kill is not an ack
        seq, text = line.split(" ", 1)
        acknowledged[int(seq)] = text
    assert writer.returncode == -signal.SIGKILL

    # The file itself is sound, checked by a plain connection before the store touches it.
    raw = apsw.Connection(str(db_path))
    assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    raw.close()

    store = open_store()
    events = list(store.replay(ulid))
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    stored = {e.seq: e.text for e in events}
    missing = sorted(set(acknowledged) - set(stored))
    assert missing == [], f"acknowledged events lost: {missing[:10]}"
    assert all(stored[seq] == text for seq, text in acknowledged.items())
    session = store.get(ulid)
    assert session.last_seq == len(seqs)
    # The writer is dead and never recorded an end.
    assert session.status is Status.INTERRUPTED
    assert session.ended_at_ms is None
    # The session can be resumed and continues gaplessly.
    resumed = store.resume(ulid)
    assert resumed.previous_status is Status.INTERRUPTED
    assert resumed.n_events == len(seqs)
    assert store.append(ulid, "system", "after the crash").seq == len(seqs) + 1
