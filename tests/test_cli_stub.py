"""``zero-session demo`` and ``zero-session list`` through the installed console script.

These check behaviour (exit codes, what is recorded, what the output names), not the
layout, which the full CLI may change.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from zero_session import Status, Store

SCRIPT = Path(sys.executable).parent / "zero-session"


def zero_session(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


@pytest.fixture(autouse=True)
def _script_installed() -> None:
    assert SCRIPT.exists(), f"{SCRIPT} missing: install the package (make .venv/.installed)"


def test_demo_records_labels_forks_and_replays(
    db_path: Path, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    result = zero_session("demo", env=subprocess_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with Store.open(db_path) as store:
        sessions = store.list_sessions(limit=None)
        assert len(sessions) == 2
        child, parent = sessions
        assert child.parent_ulid == parent.ulid
        assert parent.labels and all(s.status is Status.ENDED for s in sessions)
        replay = list(store.replay(child))
        # The child's timeline starts with its parent's events, then its own.
        inherited = [e for e in replay if e.session == parent.ulid]
        assert inherited and [e.seq for e in replay] == list(range(1, len(replay) + 1))
        assert len(inherited) < len(replay)
    out = result.stdout
    assert parent.labels[0] in out
    assert child.ulid in out and parent.ulid in out
    for event in replay:
        assert event.text in out  # the child's replay is printed, inherited part included


def test_list_shows_the_sessions(db_path: Path, subprocess_env: dict[str, str]) -> None:
    assert zero_session("demo", env=subprocess_env).returncode == 0
    assert zero_session("demo", env=subprocess_env).returncode == 0
    result = zero_session("list", env=subprocess_env)
    assert result.returncode == 0, result.stderr
    with Store.open(db_path) as store:
        sessions = store.list_sessions(limit=None)
    assert len(sessions) == 4
    lines = result.stdout
    for session in sessions:
        assert session.ulid in lines
        for label in session.labels:
            assert label in lines
    # Newest first.
    positions = [lines.index(s.ulid) for s in sessions]
    assert positions == sorted(positions)


def test_db_option_overrides_the_environment(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    other = tmp_path / "other.db"
    result = zero_session("--db", str(other), "demo", env=subprocess_env)
    assert result.returncode == 0, result.stderr
    with Store.open(other) as store:
        assert len(store.list_sessions()) == 2
    assert not Path(subprocess_env["ZERO_SESSION_DB"]).exists()


def test_user_error_is_one_line_and_exit_1(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    not_a_store = tmp_path / "notes.txt"
    not_a_store.write_text("just some notes\n" * 100)
    result = zero_session("--db", str(not_a_store), "list", env=subprocess_env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not_a_store.read_text() == "just some notes\n" * 100


def test_usage_error_exits_2(subprocess_env: dict[str, str]) -> None:
    assert zero_session(env=subprocess_env).returncode == 2
    assert zero_session("no-such-command", env=subprocess_env).returncode == 2
