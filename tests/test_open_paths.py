"""Odd things at the database path: each is a clear NotAStore at once, nothing created;
a new store reached through a symlink is as private as any other new store."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirunner import assert_user_error, run

from zero_session import NotAStore, Store

OPEN_SCRIPT = """
import sys
from zero_session import Store, NotAStore
try:
    Store.open(sys.argv[1], readonly=sys.argv[2] == "ro")
except NotAStore as exc:
    print("NotAStore", exc)
else:
    print("opened")
"""


@pytest.fixture(params=["fifo", "socket", "directory"])
def odd_path(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sessions.db"
    if request.param == "fifo":
        os.mkfifo(path)
        yield path
    elif request.param == "socket":
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(str(path))
            yield path
    else:
        path.mkdir()
        yield path


@pytest.mark.parametrize("mode", ["rw", "ro"])
def test_a_non_file_at_the_path_is_not_a_store(odd_path: Path, mode: str) -> None:
    before = sorted(os.listdir(odd_path.parent))
    # In a child: on a FIFO, an open that blocks would hang the test; it fails instead.
    done = subprocess.run(
        [sys.executable, "-c", OPEN_SCRIPT, str(odd_path), mode],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    assert done.stdout.startswith("NotAStore "), done.stdout + done.stderr
    assert "not a database file" in done.stdout
    assert sorted(os.listdir(odd_path.parent)) == before
    with pytest.raises(NotAStore):
        Store.open(odd_path, readonly=mode == "ro")


def test_cli_on_a_fifo_is_one_line_and_exit_1(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert_user_error(run(fifo, "--db", str(fifo), "list", timeout=20), "named pipe")


def test_a_new_store_through_a_dangling_symlink_is_private(tmp_path: Path) -> None:
    target = tmp_path / "real" / "sessions.db"
    link = tmp_path / "link.db"
    link.symlink_to(target)
    old_umask = os.umask(0o022)
    try:
        with Store.open(link) as store:
            store.append(store.start(cwd="/"), "prompt", "hello")
    finally:
        os.umask(old_umask)
    assert link.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    direct = tmp_path / "direct.db"
    Store.open(direct).close()
    assert stat.S_IMODE(direct.stat().st_mode) == stat.S_IMODE(target.stat().st_mode)
