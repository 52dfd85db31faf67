"""`zero-session shell` driven in a real pseudo-terminal (pexpect), and through a pipe."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import termios
from pathlib import Path

import pexpect
import pytest
from clirunner import cli_env, run
from lockholder import write_lock_held
from waiting import wait_for

from zero_session import Status, Store

ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
PROMPT = "zs>"


def _command() -> list[str]:
    script = Path(sys.executable).parent / "zero-session"
    if script.exists():
        return [str(script), "shell"]
    return [sys.executable, "-m", "zero_session.cli.main", "shell"]


def _piped(
    env: dict[str, str], cwd: Path, typed: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """The shell run with ``typed`` piped to it (no terminal), as a finished process."""
    return subprocess.run(
        [*_command(), *args],
        input=typed,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


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
    result = _piped(subprocess_env, tmp_path, "hello\n/nope\n/help\n")
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
    result = _piped(subprocess_env, tmp_path, "hello\n", "--no-persist")
    assert result.returncode == 0, result.stderr
    assert "not saving" in result.stdout
    assert not db_path.exists()


def _command_running(child: pexpect.spawn) -> bool:
    """Whether the shell runs a command: the terminal is neither the line editor's raw
    mode (no ISIG) nor cooked (ICANON), but the mode that keeps typed-ahead keys."""
    flags = termios.tcgetattr(child.child_fd)[3]
    return bool(flags & termios.ISIG) and not flags & termios.ICANON


def _quit(child: pexpect.spawn) -> None:
    child.expect(PROMPT)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def _texts(db_path: Path, ulid: str) -> list[str]:
    with Store.open(db_path, readonly=True) as store:
        return [e.text for e in store.replay(ulid)]


def test_starts_while_another_process_holds_the_write_lock_and_catches_up(
    shell_env: dict[str, str], tmp_path: Path, db_path: Path
) -> None:
    with Store.open(db_path) as store:
        earlier = store.start(cwd=tmp_path)
        store.append(earlier, "prompt", "from before")
        store.end(earlier)
    with write_lock_held(db_path) as holder:
        child = _spawn(shell_env, tmp_path)
        child.expect(r"resuming: .* · ended · 1 prior event\b")
        child.expect("the store is busy")
        _type(child, "typed while locked", "echo: typed while locked")
        holder.release()
    wait_for(lambda: "typed while locked" in _texts(db_path, earlier.ulid), timeout_s=30)
    _type(child, "/replay", "replay of " + earlier.ulid)
    child.expect("echo: typed while locked")
    _quit(child)
    with Store.open(db_path, readonly=True) as store:
        assert store.get(earlier).status is Status.ENDED


def test_ctrl_c_cancels_a_running_command_and_the_shell_goes_on(
    shell_env: dict[str, str], tmp_path: Path, db_path: Path
) -> None:
    with Store.open(db_path) as store:
        big = store.start()
        for start in range(0, 200_000, 20_000):
            store.append_many(big, [("system", f"event {i}") for i in range(start, start + 20_000)])
        store.end(big)
    child = _spawn(shell_env, tmp_path)
    child.expect(f"new session ({ULID})")
    child.expect(PROMPT)
    child.sendline(f"/share {big.ulid} --file {tmp_path / 'big.json'}")
    wait_for(lambda: _command_running(child))
    child.sendintr()
    child.expect("cancelled")
    assert list(tmp_path.glob("big.json*")) == []  # no half-written file left behind
    _type(child, "still here", "echo: still here")
    child.expect(PROMPT)
    child.send("half a line")
    child.expect("half a line")
    child.sendintr()  # at the prompt: clears the line, the shell stays
    _type(child, "and here", "echo: (.*and here)")
    assert child.match.group(1) == "and here"
    _quit(child)


def test_typed_ahead_input_and_ctrl_d_are_kept_while_a_command_runs(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    child = _spawn(shell_env, tmp_path)
    child.expect(f"new session ({ULID})")
    _type(child, "/follow", "following")
    child.send("typed ahead\r")  # while /follow runs, before the Ctrl-C that stops it
    child.sendintr()
    child.expect("stopped following")
    child.expect("echo: typed ahead")
    _type(child, "/follow", "following")
    child.sendeof()  # a Ctrl-D typed while the command runs: kept for the next prompt
    child.sendintr()
    child.expect("stopped following")
    child.expect("ended session")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_flush_and_end_the_session(
    shell_env: dict[str, str], tmp_path: Path, db_path: Path, signum: int
) -> None:
    child = _spawn(shell_env, tmp_path)
    child.expect(f"new session ({ULID})")
    session = child.match.group(1)
    _type(child, "last words", "echo: last words")
    child.expect(PROMPT)
    child.kill(signum)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 128 + signum
    with Store.open(db_path, readonly=True) as store:
        assert store.get(session).status is Status.ENDED
        assert [e.text for e in store.replay(session)] == ["last words", "echo: last words"]


def test_new_starts_a_fresh_session_instead_of_resuming(
    subprocess_env: dict[str, str], tmp_path: Path, db_path: Path
) -> None:
    with Store.open(db_path) as store:
        left = store.start(cwd=tmp_path)
        store.end(left)
    result = _piped(subprocess_env, tmp_path, "hello\n", "--new")
    assert result.returncode == 0, result.stderr
    assert "resuming" not in result.stdout and left.ulid not in result.stdout
    assert result.stdout.splitlines()[1].startswith("new session ")


def test_make_run_starts_a_fresh_session_not_the_one_make_demo_left(db_path: Path) -> None:
    repo = Path(__file__).resolve().parent.parent
    planned = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    command = shlex.split(planned.stdout.strip().splitlines()[-1])
    assert command[-2:] == ["shell", "--new"]
    demo = run(db_path, "demo", cwd=repo)
    assert demo.code == 0, demo.err
    shell = subprocess.run(
        command,
        cwd=repo,
        input="hello\n",
        env=cli_env(db_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shell.returncode == 0, shell.stderr
    assert "resuming" not in shell.stdout
    assert shell.stdout.splitlines()[1].startswith("new session ")
