"""Paths that are not files: a FIFO, a Unix socket or a directory at the database path.

Each is refused at once with ``NotAStore`` naming the path, read-only or not, and nothing
is created beside it.  A FIFO matters most: opening one for reading blocks until a
writer comes, so a read-only open (and ``zero-session list``) would hang forever; those
cases run in a subprocess with a timeout so that a regression fails instead of hanging.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirunner import assert_user_error, run
from conftest import PYTHON

from zero_session import NotAStore, Store


@pytest.fixture(params=["fifo", "socket", "directory"])
def special_path(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "f"
    folder.mkdir()
    path = folder / "s.db"  # short: a Unix socket's path is limited to ~107 bytes
    if request.param == "fifo":
        os.mkfifo(path)
        yield path
    elif request.param == "socket":
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(path))
            yield path
    else:
        path.mkdir()
        yield path


def _left_beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


OPEN_CHILD = r"""
import sys
from zero_session import NotAStore, Store
try:
    Store.open(sys.argv[1], readonly=sys.argv[2] == "ro")
except NotAStore as exc:
    print("NotAStore:", exc)
else:
    print("opened")
"""


@pytest.mark.parametrize("mode", ["rw", "ro"])
def test_open_is_refused_at_once(
    special_path: Path, subprocess_env: dict[str, str], mode: str
) -> None:
    done = subprocess.run(
        [PYTHON, "-c", OPEN_CHILD, str(special_path), mode],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("NotAStore:"), done.stdout
    assert str(special_path) in done.stdout
    assert "not a regular file" in done.stdout
    assert _left_beside(special_path) == ["s.db"]


def test_open_in_process_names_the_kind(special_path: Path) -> None:
    """The same, in this process (read-write only: a read-only FIFO would block here
    if the check were missing), with the kind of file named."""
    with pytest.raises(NotAStore, match=r"is a (FIFO|socket|directory).*, not a regular file"):
        Store.open(special_path)
    assert _left_beside(special_path) == ["s.db"]


@pytest.mark.parametrize("command", [["list"], ["--json", "list"], ["search", "x"]])
def test_cli_on_a_fifo_is_one_line_at_once(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    result = run(fifo, "--db", str(fifo), *command, timeout=30)
    assert_user_error(result, str(fifo), "not a regular file")
    assert _left_beside(fifo) == ["fifo.db"]
