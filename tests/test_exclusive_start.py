"""Exclusive start: a live session holds its scope (its cwd, or an explicit key)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from children import run_child

from zero_session import InvalidInput, Recorder, SessionActive, Status, Store


def test_a_live_session_in_the_same_cwd_refuses_an_exclusive_start(
    store: Store, tmp_path: Path
) -> None:
    holder = store.start(cwd=tmp_path)
    with pytest.raises(SessionActive) as caught:
        store.start(cwd=tmp_path, exclusive=True)
    assert caught.value.ulid == holder.ulid
    assert caught.value.scope == str(tmp_path.resolve())
    assert holder.ulid in str(caught.value)
    assert len(store.list_sessions()) == 1  # nothing written by the refused start
    other = tmp_path / "other"
    other.mkdir()
    store.start(cwd=other, exclusive=True)  # another directory is another scope
    store.start(cwd=tmp_path)  # without exclusive, starting is never refused


def test_an_ended_session_frees_the_scope(store: Store, tmp_path: Path) -> None:
    first = store.start(cwd=tmp_path, exclusive=True)
    store.end(first)
    second = store.start(cwd=tmp_path, exclusive=True)
    assert second.status is Status.LIVE


def test_an_explicit_scope_is_its_own_key(store: Store, tmp_path: Path) -> None:
    keyed = store.start(cwd=tmp_path, scope="trading-desk", exclusive=True)
    with pytest.raises(SessionActive) as caught:
        store.start(cwd=tmp_path / "..", scope="trading-desk", exclusive=True)
    assert (caught.value.scope, caught.value.ulid) == ("trading-desk", keyed.ulid)
    # a session with an explicit scope does not hold its cwd, and another key is free
    store.start(cwd=tmp_path, exclusive=True)
    store.start(scope="other-desk", exclusive=True)
    # the scope mark is reserved, and leaves with its session
    with pytest.raises(InvalidInput):
        store.set_milestone(f"session.scope.{keyed.ulid}", "x")
    store.end(keyed)
    store.delete(keyed)
    assert f"session.scope.{keyed.ulid}" not in {m.key for m in store.milestones()}


def test_a_session_whose_process_is_gone_frees_the_scope(
    store: Store, subprocess_env: dict[str, str]
) -> None:
    ulid = run_child(
        "from zero_session import Store\n"
        "s = Store.open().start(scope='desk', exclusive=True)\n"
        "print(s.ulid)\n",
        subprocess_env,
    )
    assert store.get(ulid).status is Status.INTERRUPTED
    assert store.start(scope="desk", exclusive=True).ulid != ulid


_RACER = """
import sys
from zero_session import SessionActive, Store
store = Store.open()
sys.stdin.readline()  # the start signal: both racers are ready
try:
    s = store.start(scope="race", exclusive=True)
except SessionActive as exc:
    print("lost", exc.ulid, flush=True)
else:
    print("won", s.ulid, flush=True)
sys.stdin.readline()  # stay alive (and so live) until the test has both answers
"""


@pytest.mark.parametrize("round_", range(3))
def test_two_processes_racing_exactly_one_wins(
    store: Store, subprocess_env: dict[str, str], round_: int
) -> None:
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER],
            env=subprocess_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        answers = []
        for racer in racers:
            assert racer.stdout is not None
            answers.append(racer.stdout.readline().split())
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write("done\n")
            racer.stdin.flush()
            assert racer.wait(timeout=30) == 0
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()
    assert sorted(verdict for verdict, _ in answers) == ["lost", "won"]
    assert answers[0][1] == answers[1][1]  # the loser names the winner's session
    assert len(store.list_sessions()) == 1


def test_bad_scope_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput):
        store.start(scope="", exclusive=True)
    with pytest.raises(TypeError):
        store.start(scope=3, exclusive=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.start(exclusive="yes")  # type: ignore[arg-type]
    assert store.list_sessions() == []


def test_a_recorder_can_start_exclusively(store: Store, tmp_path: Path) -> None:
    with Recorder(store, cwd=tmp_path, exclusive=True) as first:
        assert first.current is not None
        with pytest.raises(SessionActive) as caught:
            Recorder(store, cwd=tmp_path, exclusive=True)
        assert caught.value.ulid == first.current
    with Recorder(store, cwd=tmp_path, exclusive=True) as second:  # the first has ended
        assert second.current not in (None, first.current)
    with pytest.raises(InvalidInput):
        Recorder(store, exclusive=True, start_in_background=True)
