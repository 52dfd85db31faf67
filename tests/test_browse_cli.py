"""`zero-session browse` as a user runs it: in a real pseudo-terminal (pexpect), with
stdout redirected for --pick, in tmux, and without the 'browse' extra."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest
from browsing import Sample

from zero_session.cli._cmd_browse import HINT


def _script() -> str:
    script = Path(sys.executable).parent / "zero-session"
    assert script.exists(), "the package is installed with its console script"
    return str(script)


@pytest.fixture
def sample(db_path: Path) -> Sample:
    return Sample(db_path)


@pytest.fixture
def term_env(subprocess_env: dict[str, str]) -> dict[str, str]:
    return dict(subprocess_env, TERM="xterm-256color", TZ="UTC")


def _without_textual(
    sample: Sample, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``zero-session --db SAMPLE ARGS`` in a process where Textual cannot be imported."""
    code = (
        "import sys; sys.modules['textual'] = None\n"
        "from zero_session.cli.main import main\n"
        f"sys.exit(main(['--db', {str(sample.path)!r}, *{list(args)!r}]))\n"
    )
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_without_the_extra_browse_names_it_and_exits_1(
    sample: Sample, subprocess_env: dict[str, str]
) -> None:
    done = _without_textual(sample, subprocess_env, "browse")
    assert done.returncode == 1
    assert done.stderr.strip() == f"zero-session: {HINT}"
    assert done.stdout == ""


def _pick(env: dict[str, str], shell_line: str, keys: str, tmp_path: Path) -> int:
    child = pexpect.spawn(
        "bash", ["-c", shell_line], env=env, cwd=str(tmp_path), encoding="utf-8",
        timeout=20, dimensions=(30, 120),
    )  # fmt: skip
    child.expect("pick a session")
    child.expect("build the parser")  # the rows are drawn
    child.send(keys)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None
    return child.exitstatus


def test_pick_prints_the_ulid_on_redirected_stdout(
    sample: Sample, term_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "chosen.txt"
    line = f"exec {_script()} --db {shlex.quote(str(sample.path))} browse --pick > {out}"
    assert _pick(term_env, line, "\x1b[B\r", tmp_path) == 0  # down, Enter: main
    assert out.read_text() == sample.main + "\n"


def test_pick_through_a_pipe_and_stderr_to_a_file(
    sample: Sample, term_env: dict[str, str], tmp_path: Path
) -> None:
    out, err = tmp_path / "chosen.txt", tmp_path / "err.txt"
    line = (
        f"{_script()} --db {shlex.quote(str(sample.path))} browse --pick 2> {err} | cat > {out}"
        "; exit ${PIPESTATUS[0]}"
    )
    assert _pick(term_env, line, "\r", tmp_path) == 0
    assert out.read_text() == sample.other + "\n"
    assert err.read_text() == ""


def test_pick_left_without_a_choice_exits_1(
    sample: Sample, term_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "chosen.txt"
    line = f"exec {_script()} --db {shlex.quote(str(sample.path))} browse --pick > {out}"
    assert _pick(term_env, line, "q", tmp_path) == 1
    assert out.read_text() == ""


# -------------------------------------------------------------------------- tmux


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``tmux(*args)`` on a private server of this test (its own socket)."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (.ci/run installs it)")
    socket = f"zs-browse-{uuid.uuid4().hex[:8]}"

    def run(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    yield run
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def _wait_pane(tmux: Callable[..., str], text: str, timeout_s: float = 15) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        pane = tmux("capture-pane", "-p", "-t", "browse")
        if text in pane:
            return pane
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not on the pane before the deadline:\n{pane}")
        time.sleep(0.05)


def test_browse_in_tmux_filters_opens_goes_back_and_quits(
    sample: Sample, term_env: dict[str, str], tmux: Callable[..., str], tmp_path: Path
) -> None:
    status = tmp_path / "status"
    command = (
        f"{_script()} --db {shlex.quote(str(sample.path))} browse; echo $? > {status}; sleep 60"
    )
    env_args = [a for k in ("PYTHONPATH", "TZ") for a in ("-e", f"{k}={term_env[k]}")]
    tmux(
        "new-session",
        "-d",
        "-s",
        "browse",
        "-x",
        "120",
        "-y",
        "30",
        "-c",
        str(tmp_path),
        *env_args,
        command,
    )
    _wait_pane(tmux, "3 sessions")
    tmux("send-keys", "-t", "browse", "/", "parser", "Enter")
    pane = _wait_pane(tmux, "1 of 3 sessions")
    assert "/work/project" in pane and "/home/me" not in pane
    tmux("send-keys", "-t", "browse", "Enter")
    _wait_pane(tmux, "40 events")
    _wait_pane(tmux, "margin call")  # opened at its end
    tmux("send-keys", "-t", "browse", "Escape")
    _wait_pane(tmux, "1 of 3 sessions")
    tmux("send-keys", "-t", "browse", "q")
    deadline = time.monotonic() + 15
    while not (status.exists() and status.read_text().strip()):
        assert time.monotonic() < deadline, "browse did not quit"
        time.sleep(0.05)
    assert status.read_text().strip() == "0"
    assert os.path.getsize(sample.path) > 0


# ----------------------------------------------------- shell --resume with the picker


def test_shell_resume_without_a_needle_chooses_in_the_browser(
    sample: Sample, term_env: dict[str, str], tmp_path: Path
) -> None:
    from zero_session import Store

    env = dict(term_env, PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(
        _script(), ["--db", str(sample.path), "shell", "--resume"], env=env,
        cwd=str(tmp_path), encoding="utf-8", timeout=20, dimensions=(30, 120),
    )  # fmt: skip
    child.expect("pick a session")
    child.expect("build the parser")
    child.send("\x1b[B\r")  # down, Enter: main
    child.expect("resuming: ")
    child.expect("zs>")
    child.sendline("typed after picking")
    child.expect("echo: typed after picking")
    child.expect("zs>")
    child.sendeof()
    child.expect(f"ended sessions? {sample.main}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    with Store.open(sample.path, readonly=True) as store:
        texts = [e.text for e in store.tail(sample.main, 3)]
    assert "typed after picking" in texts  # recorded in the chosen session


def test_shell_resume_left_without_a_choice_exits_1(
    sample: Sample, term_env: dict[str, str], tmp_path: Path
) -> None:
    child = pexpect.spawn(
        _script(), ["--db", str(sample.path), "shell", "--resume"], env=term_env,
        cwd=str(tmp_path), encoding="utf-8", timeout=20, dimensions=(30, 120),
    )  # fmt: skip
    child.expect("build the parser")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


def test_shell_resume_without_the_extra_asks_for_a_needle(
    sample: Sample, subprocess_env: dict[str, str]
) -> None:
    done = _without_textual(sample, subprocess_env, "shell", "--resume")
    assert done.returncode == 1
    assert "NEEDLE" in done.stderr and "zero-session[browse]" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_library_and_the_cli_never_import_textual(
    sample: Sample, subprocess_env: dict[str, str]
) -> None:
    code = (
        "import sys\n"
        "from zero_session import Store\n"
        "import zero_session.browse, zero_session.cli._app\n"
        f"with Store.open({str(sample.path)!r}, readonly=True) as store:\n"
        f"    store.session_tree(); store.timeline({sample.main!r}, 5, 10)\n"
        f"    store.search_timeline({sample.main!r}, 'step'); store.forks({sample.main!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_a_terminal_browse_says_so_and_exits_1(
    sample: Sample, subprocess_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [_script(), "--db", str(sample.path), "browse", "--pick"],
        env=subprocess_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("zero-session: the browser needs a terminal")
    assert done.stdout == "" and "Traceback" not in done.stderr
