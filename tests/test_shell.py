"""`zero-session shell` driven in a real pseudo-terminal (pexpect), and through a pipe."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from zero_session import Status, Store

ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
PROMPT = "zs>"


def _command() -> list[str]:
    script = Path(sys.executable).parent / "zero-session"
    if script.exists():
        return [str(script), "shell"]
    return [sys.executable, "-m", "zero_session.cli.main", "shell"]


@pytest.fixture
def shell_env(subprocess_env: dict[str, str]) -> dict[str, str]:
    env = dict(subprocess_env, TERM="xterm-256color")
    # pexpect's terminal does not answer prompt_toolkit's cursor-position request
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"
    return env


def _spawn(env: dict[str, str], cwd: Path) -> pexpect.spawn:
    command = _command()
    child = pexpect.spawn(
        command[0],
        command[1:],
        env=env,
        cwd=str(cwd),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )
    return child


def _type(child: pexpect.spawn, line: str, expect: str) -> str:
    child.expect(PROMPT)
    child.sendline(line)
    child.expect(expect)
    return str(child.match.group(1)) if child.match.lastindex else ""


def test_type_save_fork_list_quit_and_resume(
    shell_env: dict[str, str], tmp_path: Path, db_path: Path
) -> None:
    child = _spawn(shell_env, tmp_path)
    child.expect(f"new session ({ULID})")
    first = child.match.group(1)
    _type(child, "buy 10 ACME", "echo: buy 10 ACME")
    _type(child, "/save first", f"saved session {first} as 'first'")
    forked = _type(child, "/fork", f"now writing session ({ULID})")
    _type(child, "after the fork", "echo: after the fork")
    _type(child, "/sessions", re.escape(f"* {forked}"))
    child.expect(f"  {first}  .*first")
    child.expect(PROMPT)
    child.sendeof()
    child.expect(f"ended sessions {first}, {forked}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    again = _spawn(shell_env, tmp_path)
    again.expect(r"resuming: \d{4}-\d\d-\d\d \d\d:\d\d UTC · ended · 7 prior events")
    again.expect(r"\d\d:\d\d:\d\d  prompt       buy 10 ACME")
    again.expect("echo: after the fork")
    again.expect(f"continuing session {forked}")
    _type(again, "/replay first", "replay of " + first)
    again.expect(PROMPT)
    again.sendeof()
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 0

    with Store.open(db_path) as store:
        kinds = [(e.kind, e.text) for e in store.replay(forked)]
        assert kinds[:3] == [
            ("prompt", "buy 10 ACME"),
            ("system", "echo: buy 10 ACME"),
            ("command", "/save first"),
        ]
        assert ("prompt", "after the fork") in kinds
        assert store.get(forked).status is Status.ENDED
        assert store.get(first).status is Status.ENDED
        assert store.get(forked).parent_ulid == first
    history = db_path.parent / "shell_history"
    assert "buy 10 ACME" in history.read_text()
    assert history.stat().st_mode & 0o777 == 0o600


def test_follow_shows_another_shells_lines_until_ctrl_c(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    writer = _spawn(shell_env, tmp_path)
    writer.expect(f"new session ({ULID})")
    written = writer.match.group(1)
    writer.expect(PROMPT)
    # the writer's session is live, so a second shell here starts its own
    reader = _spawn(shell_env, tmp_path)
    reader.expect(f"new session ({ULID})")
    assert reader.match.group(1) != written
    _type(reader, f"/follow {written[:10]}", f"following {written}")
    writer.sendline("hello from the other shell")
    reader.expect(r"\d+  \S+ \S+  prompt       hello from the other shell")
    reader.expect("system       echo: hello from the other shell")
    reader.sendintr()
    reader.expect("stopped following")
    _type(reader, "still here", "echo: still here")
    for child in (reader, writer):
        child.expect(PROMPT)
        child.sendeof()
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


def test_killed_shell_is_interrupted_on_next_start(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    child = _spawn(shell_env, tmp_path)
    child.expect(f"new session ({ULID})")
    session = child.match.group(1)
    _type(child, "typed before the crash", "echo: typed before the crash")
    child.kill(signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus == signal.SIGKILL

    again = _spawn(shell_env, tmp_path)
    again.expect(r"resuming: .* · interrupted · 2 prior events")
    again.expect("echo: typed before the crash")
    again.expect(f"continuing session {session}")
    again.expect(PROMPT)
    again.sendeof()
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 0


def test_piped_input_works_without_a_terminal(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    result = subprocess.run(
        _command(),
        input="hello\n/nope\n/help\n",
        env=subprocess_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("new session ")
    assert "echo: hello" in lines
    assert "unknown command '/nope'. Try /help." in lines
    assert any(line.startswith("/sessions [n]") for line in lines)
    assert lines[-1].startswith("ended session ")
    assert "\x1b" not in result.stdout and PROMPT not in result.stdout


def test_no_persist_shell_saves_nothing(
    subprocess_env: dict[str, str], tmp_path: Path, db_path: Path
) -> None:
    result = subprocess.run(
        [*_command(), "--no-persist"],
        input="hello\n",
        env=subprocess_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "not saving" in result.stdout
    assert not db_path.exists()
