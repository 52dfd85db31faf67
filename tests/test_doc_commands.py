"""Every command example in the README and docs/ (the ``sh`` blocks) is run, so the
documentation cannot show a command that fails."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from clirunner import SCRIPT, cli_env

from zero_session import Store

REPO = Path(__file__).resolve().parent.parent
RUN_ELSEWHERE = {
    # its walkthrough needs a PostgreSQL server: test_sync_doc.py and
    # test_sync_pull_doc.py run it against a real one
    "postgres.md",
}
DOCS = [
    doc
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    if doc.name not in RUN_ELSEWHERE
]


def _examples() -> list[tuple[str, str]]:
    """(file name, command line) for each line of every ``sh`` block, comments removed."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", doc.read_text("utf-8"), re.S):
            for line in block.splitlines():
                command = re.sub(r"\s+#.*$", "", line).strip()
                if command and not command.startswith("#"):
                    found.append((doc.name, command))
    return found


EXAMPLES = _examples()


def test_the_docs_have_command_examples() -> None:
    assert any("zero-session" in command for _, command in EXAMPLES)
    for name in RUN_ELSEWHERE:  # an exception that outlived its document would hide one
        assert (REPO / "docs" / name).exists()


@pytest.fixture
def documented_store(db_path: Path) -> Path:
    """A store holding what the examples name: a session labelled ``pre-cpi``."""
    with Store.open(db_path) as store:
        session = store.start()
        store.append(session, "prompt", "buy 10")
        store.label(session, "pre-cpi")
        store.end(session)
    return db_path


@pytest.mark.parametrize(("doc", "command"), EXAMPLES, ids=[c for _, c in EXAMPLES])
def test_documented_command_runs(documented_store: Path, doc: str, command: str) -> None:
    words = shlex.split(command)
    if words[:2] == ["pip", "install"]:
        return  # installing is what the test environment already did
    if words[0] == "make":
        planned = subprocess.run(
            ["make", "-n", *words[1:]], cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert planned.returncode == 0, (doc, command, planned.stderr)
        return
    assert "zero-session" in command, f"{doc}: no rule to run the example {command!r}"
    if "zero-session browse" in command:
        # full screen, driven by keys: test_browse_cli.py runs it in a terminal; here
        # every option the example shows must exist
        helped = subprocess.run(
            [str(SCRIPT), "browse", "--help"], capture_output=True, text=True, timeout=60
        )
        assert helped.returncode == 0, helped.stderr
        for option in re.findall(r"--[a-z-]+", command.split("&&")[0]):
            assert option in helped.stdout, (doc, command, option)
        return
    env = cli_env(documented_store)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    child = subprocess.Popen(
        ["bash", "-c", command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    if "--follow" in words:  # runs until stopped: it must print the timeline first
        assert child.stdout.readline().strip(), (doc, command)
        child.terminate()
        child.wait(timeout=30)
        return
    out, err = child.communicate(".quit\n", timeout=60)  # an interactive one: leave it
    assert child.returncode == 0, (doc, command, out, err)
    assert err == "", (doc, command, err)
