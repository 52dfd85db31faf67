"""The "Resume anywhere" walkthrough of docs/postgres.md, run command by command against a
real server, with two store files standing for machines A and B (read from the
document's ```bash block, so the document and this test cannot drift)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from clirunner import SCRIPT, cli_env

from zero_session import Store, sync

pytestmark = pytest.mark.postgres

DOC = Path(__file__).resolve().parent.parent / "docs" / "postgres.md"


def walkthrough() -> list[tuple[str, str]]:
    """(machine, command) for each command of the section's bash block."""
    section = DOC.read_text("utf-8").split("## Resume anywhere", 1)[1]
    (block,) = re.findall(r"```bash\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    steps: list[tuple[str, str]] = []
    machine = ""
    for line in block.splitlines():
        if line.startswith("# on machine"):
            machine = line.split()[3].rstrip(":")
        elif line.strip():
            steps.append((machine, line))
    return steps


def test_resume_anywhere_walkthrough(tmp_path: Path, pg_server: Any, pg_dsn: str) -> None:
    files = {"A": tmp_path / "a.db", "B": tmp_path / "b.db"}
    with Store.open(files["A"]) as a:
        root = a.start(cli_version="1.0")
        a.append_many(root, [("prompt", "buy 10", {"qty": 10}), ("system", "filled")])
        session = a.fork(root)
        a.append(session, "alert", "CPI at 8:30")
        a.label(session, "pre-cpi")
        expected = list(a.replay(session))
    outputs: list[tuple[str, subprocess.CompletedProcess[str]]] = []
    ulid = ""
    steps = walkthrough()
    assert [m for m, _ in steps] == ["A", "B", "B", "B", "B", "B", "B", "A"]
    for machine, command in steps:
        env = cli_env(files[machine], ZERO_SESSION_PG=pg_dsn, ULID=ulid)
        env["PATH"] = f"{SCRIPT.parent}:{env.get('PATH', '')}"  # the installed command
        typed = "typed on B\n" if "shell" in command else None
        done = subprocess.run(
            ["bash", "-c", command],
            env=env,
            input=typed,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert pg_server.password not in done.stdout + done.stderr
        outputs.append((command, done))
        if "sync pull" in command:
            found = re.search(r"pulled (\w{26})", done.stdout)
            assert found, done.stdout
            ulid = found.group(1)
    assert ulid == session.ulid
    by_command = {command.split("#")[0].strip(): done for command, done in outputs}
    assert "ORIGIN" in by_command["zero-session list"].stdout
    assert "CPI at 8:30" in by_command['zero-session replay "$ULID"'].stdout
    assert "belongs to store" in by_command["zero-session shell --resume pre-cpi"].stdout
    (fork,) = json.loads(by_command["zero-session sync list --limit 1 --json"].stdout)
    assert fork["parent_ulid"] == session.ulid and fork["fork_seq"] == len(expected)
    with Store.open(files["B"], readonly=True) as b:
        assert list(b.replay(session.ulid)) == expected
        assert b.get(fork["ulid"]).origin is None
        assert "typed on B" in [e.text for e in b.replay(fork["ulid"])]
    # And A reads the continuation B wrote.
    with Store.open(files["A"]) as a:
        sync.pull(a, fork["ulid"], pg_dsn)
        assert "typed on B" in [e.text for e in a.replay(fork["ulid"])]
