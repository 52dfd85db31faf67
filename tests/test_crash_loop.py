"""Crash loop: a writer process is killed with SIGKILL at random moments, 20 times.

Each round a child process starts (or resumes) a session and appends events and batches
as fast as it can, printing one line per acknowledged call.  The parent reads a random
number of acknowledgements and kills the child (no sleeps: the moment is wherever the
child happens to be, often inside a transaction).  After every kill the parent reopens
the file and checks: every acknowledged event is stored, seqs are gapless, the file is
sound, and the killed session reports ``interrupted``.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
from pathlib import Path

import apsw
import pytest
from conftest import PYTHON

from zero_session import Status, Store

ROUNDS = 20

WRITER = r"""
import json, sys
from zero_session import Store

path, resume, tag = sys.argv[1], sys.argv[2], sys.argv[3]
store = Store.open(path)
if resume:
    session = store.resume(resume).session
else:
    session = store.start(cwd="/")
print(json.dumps({"session": session.ulid}), flush=True)
number = 0
while True:
    number += 1
    if number % 3:
        text = f"{tag}:{number}"
        store.append(session, "prompt", text, data={"n": number})
        print(json.dumps({"acked": [text]}), flush=True)
    else:
        texts = [f"{tag}:{number}.{i}" for i in range(4)]
        store.append_many(session, [("system", t) for t in texts])
        print(json.dumps({"acked": texts}), flush=True)
"""


def run_and_kill(
    path: Path, env: dict[str, str], resume: str, tag: str, acks_wanted: int
) -> tuple[str, list[str]]:
    """Start a writer, wait for ``acks_wanted`` acknowledgements, SIGKILL it."""
    child = subprocess.Popen(
        [PYTHON, "-c", WRITER, str(path), resume, tag],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    try:
        first = child.stdout.readline()
        assert first, child.stderr.read() if child.stderr else "writer died"
        session = json.loads(first)["session"]
        acked: list[str] = []
        for _ in range(acks_wanted):
            line = child.stdout.readline()
            assert line, child.stderr.read() if child.stderr else "writer died"
            acked.extend(json.loads(line)["acked"])
        child.send_signal(signal.SIGKILL)
        # Acknowledgements already printed before the kill count too.
        for line in child.stdout:
            acked.extend(json.loads(line)["acked"])
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
        if child.stderr is not None:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return session, acked


@pytest.mark.slow
def test_writer_killed_twenty_times(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    rng = random.Random(1122)
    path = tmp_path / "sessions.db"
    acked: dict[str, list[str]] = {}
    for round_number in range(ROUNDS):
        # Half the rounds resume a session an earlier round left interrupted.
        resume = rng.choice(sorted(acked)) if acked and rng.random() < 0.5 else ""
        session, new = run_and_kill(
            path, subprocess_env, resume, f"r{round_number}", rng.randrange(1, 60)
        )
        acked.setdefault(session, []).extend(new)

        conn = apsw.Connection(str(path))
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()
        with Store.open(path) as store:
            report = store.check()
            assert report.ok, report.problems
            stored_session = store.get(session)
            assert stored_session.status is Status.INTERRUPTED
            for ulid, texts in acked.items():
                stored = [e.text for e in store.events(ulid, limit=None)]
                assert stored[: len(texts)] == texts, f"acknowledged events of {ulid} lost"
                # At most the one call in flight at the kill got in, and whole.
                extra = stored[len(texts) :]
                assert len(extra) in (0, 1, 4)
                texts.extend(extra)
            assert [e.seq for e in store.replay(session)] == list(
                range(1, stored_session.last_seq + 1)
            )
    assert sum(len(v) for v in acked.values()) > ROUNDS


OPENER = r"""
import sys
from pathlib import Path
from zero_session import Store

folder = Path(sys.argv[1])
number = 0
while True:
    with Store.open(folder / f"{number}.db") as store:
        store.start(cwd="/")
    print(number, flush=True)
    number += 1
"""


@pytest.mark.slow
def test_killed_while_creating_files(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """A child creates (and migrates) new files back to back and is killed after a random
    number of them, so the kill lands at a random point of creating the next one: every
    file it left opens afterwards, sound and with the whole schema."""
    rng = random.Random(2026)
    for round_number in range(5):
        folder = tmp_path / f"round-{round_number}"
        folder.mkdir()
        child = subprocess.Popen(
            [PYTHON, "-c", OPENER, str(folder)],
            env=subprocess_env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        for _ in range(rng.randrange(1, 15)):
            assert child.stdout.readline()
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        for path in sorted(folder.glob("*.db")):
            conn = apsw.Connection(str(path))
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            conn.close()
            with Store.open(path) as store:
                assert store.check().ok
                store.append(store.start(cwd="/"), "prompt", "works")
