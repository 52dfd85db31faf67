"""Event text holding terminal escape sequences is shown escaped on a terminal (CLI and
shell) and unchanged through a pipe or with --json."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import pexpect
import pytest
from clirunner import SCRIPT, cli_env, run

from zero_session import Store
from zero_session._visible import visible

TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
CLIPBOARD = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
OVERWRITE = "safe\rEVIL"
C1_CSI = "\x9b31m"
BIDI = "\u202eevil"
HOSTILE = f"title {TITLE} clear {CLEAR} clip {CLIPBOARD} {OVERWRITE} {C1_CSI} {BIDI}"
RAW_PIECES = (TITLE, CLEAR, "\x1b]52;", "\r", "\x9b", "\u202e")


def test_visible_escapes_controls_and_keeps_lines() -> None:
    assert visible("plain text, ünïcode ✓\n\tindented") == "plain text, ünïcode ✓\n\tindented"
    assert visible(TITLE) == "\\x1b]0;pwned\\x07"
    assert visible(OVERWRITE) == "safe\\rEVIL"
    assert visible(C1_CSI + "\x7f\x00") == "\\x9b31m\\x7f\\x00"
    assert visible(BIDI) == "\\u202eevil"


@pytest.fixture
def hostile(db_path: Path) -> str:
    with Store.open(db_path) as store:
        session = store.start(meta={"note": TITLE})
        store.append(session, "prompt", HOSTILE, data={"x": C1_CSI})
        store.label(session, "hostile")
        store.end(session)
        return session.ulid


def _on_terminal(db: Path, *args: str) -> str:
    """Run the script with a pseudo-terminal as standard output; what it printed."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(SCRIPT), *args],
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=subprocess.PIPE,
            env=cli_env(db, TERM="xterm-256color"),
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.parametrize("command", ["replay", "show", "tail", "list"])
def test_cli_on_a_terminal_shows_escapes(db_path: Path, hostile: str, command: str) -> None:
    args = [command] if command == "list" else [command, hostile]
    shown = _on_terminal(db_path, *args)
    for raw in RAW_PIECES:
        assert raw not in shown, (command, raw)
    if command != "list":  # shown, escaped (show has meta as JSON, escaped by JSON)
        assert "\\x1b]0;pwned" in shown or "\\u001b]0;pwned" in shown


def test_cli_pipe_and_json_keep_the_text(db_path: Path, hostile: str) -> None:
    piped = run(db_path, "replay", hostile)
    assert piped.code == 0
    # (text=True reads the \r as a newline; everything else arrives as recorded)
    assert HOSTILE.replace("\r", "\n") in piped.out
    on_terminal = _on_terminal(db_path, "replay", hostile, "--json")
    assert json.loads(on_terminal)[0]["text"] == HOSTILE


def test_shell_shows_escapes(
    subprocess_env: dict[str, str], tmp_path: Path, db_path: Path, hostile: str
) -> None:
    env = dict(subprocess_env, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(
        str(SCRIPT), ["shell", "--new"], env=env, cwd=str(tmp_path), encoding="utf-8", timeout=20
    )
    seen = []
    for command in (f"/replay {hostile}", f"/share {hostile}"):
        child.expect("zs>")
        child.sendline(command)
        child.expect(r"\\u202eevil")
        seen.append(child.before)
    child.expect("zs>")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    for text in seen:
        for raw in RAW_PIECES[:3]:
            assert raw not in text


def test_follow_on_a_terminal_shows_escapes(db_path: Path, hostile: str) -> None:
    child = pexpect.spawn(
        str(SCRIPT),
        ["replay", hostile, "--follow"],
        env=cli_env(db_path, TERM="xterm-256color"),
        encoding="utf-8",
        timeout=20,
    )
    child.expect(r"\\u202eevil")
    shown = child.before
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    for raw in RAW_PIECES[:3]:
        assert raw not in shown
    assert "\\x1b]0;pwned\\x07" in shown
