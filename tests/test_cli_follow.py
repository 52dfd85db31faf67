"""`replay --follow` and `tail -f` against a writer in another process, and `backup` while
another process writes."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest
from clirunner import SCRIPT, cli_env, run

from zero_session import Store

WAIT_S = 20  # a bound on how long a line may take to arrive, never a pause for correctness

# Appends one event per line read from stdin ("kind text"), says "ok" after each, and
# records the session's end on "end".
_WRITER = """
import sys
from zero_session import Store
with Store.open(sys.argv[1]) as store:
    for line in sys.stdin:
        command = line.strip()
        if command == "end":
            store.end(sys.argv[2])
        else:
            kind, text = command.split(" ", 1)
            store.append(sys.argv[2], kind, text)
        print("ok", flush=True)
"""


class Lines:
    """Lines of a pipe, read by a thread, taken with a bounded wait."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def next(self) -> str | None:
        """The next line, or None at end of stream."""
        return self._queue.get(timeout=WAIT_S)


@pytest.fixture
def started(db_path: Path) -> str:
    with Store.open(db_path) as store:
        session = store.start()
        store.append_many(session, [("system", "before 1"), ("system", "before 2")])
        return session.ulid


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        env=env,
    )


def _follow_with_writer(db: Path, ulid: str, cli_args: list[str]) -> list[str]:
    """Run the CLI; append events one by one, each only after the previous one was
    printed; then end the session and expect the CLI to exit by itself."""
    env = cli_env(db)
    follower = _spawn([str(SCRIPT), *cli_args], env)
    writer = _spawn([sys.executable, "-c", _WRITER, str(db), ulid], env)
    assert follower.stdout is not None and writer.stdout is not None
    assert writer.stdin is not None
    printed = Lines(follower.stdout)
    acks = Lines(writer.stdout)
    seen: list[str] = []
    try:
        seen += [printed.next() or "", printed.next() or ""]  # the two existing events
        for i in range(1, 4):
            writer.stdin.write(f"prompt live {i}\n")
            writer.stdin.flush()
            assert acks.next() == "ok\n"
            line = printed.next()
            assert line is not None and f"live {i}" in line, line
            seen.append(line)
        writer.stdin.write("end\n")
        writer.stdin.flush()
        assert acks.next() == "ok\n"
        assert printed.next() is None  # the follower stops once the end is recorded
        assert follower.wait(timeout=WAIT_S) == 0
    finally:
        writer.stdin.close()
        writer.wait(timeout=WAIT_S)
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.stderr is not None and "Traceback" not in follower.stderr.read()
    return seen


def test_replay_follow_streams_another_process_appends(db_path: Path, started: str) -> None:
    lines = _follow_with_writer(db_path, started, ["replay", started, "--follow"])
    assert [line.split()[0] for line in lines] == ["1", "2", "3", "4", "5"]
    assert "before 1" in lines[0] and "live 3" in lines[4]


def test_tail_follow_json_lines(db_path: Path, started: str) -> None:
    lines = _follow_with_writer(db_path, started, ["tail", started, "-n", "2", "-f", "--json"])
    docs = [json.loads(line) for line in lines]
    assert [d["seq"] for d in docs] == [1, 2, 3, 4, 5]
    assert docs[4]["text"] == "live 3" and docs[4]["session"] == started


def test_ctrl_c_stops_following_quietly(db_path: Path, started: str) -> None:
    follower = _spawn([str(SCRIPT), "replay", started, "-f"], cli_env(db_path))
    assert follower.stdout is not None and follower.stderr is not None
    printed = Lines(follower.stdout)
    assert "before 1" in (printed.next() or "") and "before 2" in (printed.next() or "")
    follower.send_signal(signal.SIGINT)
    assert follower.wait(timeout=WAIT_S) == 0
    assert follower.stderr.read() == ""


def test_follow_of_an_ended_session_prints_and_stops(db_path: Path, started: str) -> None:
    with Store.open(db_path) as store:
        store.end(started)
    result = run(db_path, "replay", started, "--follow", "--kind", "system")
    assert result.code == 0
    assert [line.split()[0] for line in result.out.splitlines()] == ["1", "2"]


_BUSY_WRITER = """
import sys
from zero_session import Store
with Store.open(sys.argv[1]) as store:
    session = store.start()
    print(session.ulid, flush=True)
    n = 0
    while not sys.stdin.readline().startswith("stop"):
        store.append_many(session, [("system", f"event {n + i}") for i in range(50)])
        n += 50
        print(n, flush=True)
"""


def test_backup_is_consistent_while_another_process_writes(db_path: Path, tmp_path: Path) -> None:
    env = cli_env(db_path)
    writer = _spawn([sys.executable, "-c", _BUSY_WRITER, str(db_path)], env)
    assert writer.stdin is not None and writer.stdout is not None
    acks = Lines(writer.stdout)
    ulid = (acks.next() or "").strip()
    copies = []
    try:
        for round_ in range(3):
            for _ in range(5):
                writer.stdin.write("more\n")
            writer.stdin.flush()
            dest = tmp_path / f"backup-{round_}.db"
            result = run(db_path, "backup", str(dest))
            assert result.code == 0, result
            copies.append(dest)
    finally:
        writer.stdin.write("stop\n")
        writer.stdin.close()
        writer.wait(timeout=WAIT_S)
    counts = []
    for copy in copies:
        with Store.open(copy, readonly=True) as store:
            assert store.check().ok
            session = store.get(ulid)
            texts = [e.text for e in store.replay(ulid)]
            # A consistent snapshot: whole batches, seqs 1..n, nothing torn.
            assert session.last_seq % 50 == 0
            assert texts == [f"event {i}" for i in range(session.last_seq)]
            counts.append(session.last_seq)
    assert counts == sorted(counts)
