"""Privacy: session logs hold prompts and secrets, so what the store creates is private.

A new database file and its ``-wal``/``-shm`` are 0600; every folder the store creates
on the way to it is 0700; a backup copy is 0600.  Whatever the process umask — also 0,
where a plain ``open``/``mkdir`` would create world-writable files.  Each case runs in a
child process, because the umask belongs to the whole process.
"""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import PYTHON

from zero_session import Store

CHILD = r"""
import json, os, stat, sys
from pathlib import Path
os.umask(int(sys.argv[2], 8))
from zero_session import Store

path = Path(sys.argv[1])
store = Store.open(path)
session = store.start(cwd="/")
store.append(session, "prompt", "my password is hunter2")
store.backup(path.with_name("copy.db"))

def mode(p):
    return oct(stat.S_IMODE(os.stat(p).st_mode))

modes = {p.name: mode(p) for p in path.parent.iterdir()}  # -wal and -shm exist now
for folder in path.parents:
    if folder == Path(sys.argv[3]):
        break
    modes[str(folder)] = mode(folder)
store.close()
print(json.dumps(modes))
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o002, 0o022, 0o077])
def test_created_files_and_folders_are_private(
    tmp_path: Path, subprocess_env: dict[str, str], umask: int
) -> None:
    path = tmp_path / "new" / "nested" / "state" / "sessions.db"
    done = subprocess.run(
        [PYTHON, "-c", CHILD, str(path), oct(umask), str(tmp_path)],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    modes = json.loads(done.stdout)
    assert modes == {
        "sessions.db": "0o600",
        "sessions.db-wal": "0o600",
        "sessions.db-shm": "0o600",
        "copy.db": "0o600",
        str(tmp_path / "new" / "nested" / "state"): "0o700",
        str(tmp_path / "new" / "nested"): "0o700",
        str(tmp_path / "new"): "0o700",
    }


def test_existing_folder_and_file_keep_their_permissions(tmp_path: Path) -> None:
    """The store only decides for what it creates; a user's choices stay."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o750)
    path = folder / "sessions.db"
    with Store.open(path) as store:
        store.start(cwd="/")
    assert mode(folder) == 0o750
    assert mode(path) == 0o600
    path.chmod(0o640)
    with Store.open(path) as store:
        store.start(cwd="/")
        assert mode(path.with_name("sessions.db-wal")) == 0o640
    assert mode(path) == 0o640


LINKED_CHILD = r"""
import json, os, stat, sys
os.umask(0o022)
from zero_session import Store

link = sys.argv[1]
store = Store.open(link)
store.append(store.start(cwd="/"), "prompt", "my password is hunter2")
target = os.path.realpath(link)
modes = {
    name: oct(stat.S_IMODE(os.stat(os.path.join(os.path.dirname(target), name)).st_mode))
    for name in sorted(os.listdir(os.path.dirname(target)))
}
folders = {}
folder = os.path.dirname(target)
while folder != sys.argv[2]:
    folders[folder] = oct(stat.S_IMODE(os.stat(folder).st_mode))
    folder = os.path.dirname(folder)
store.close()
print(json.dumps([modes, folders]))
"""


@pytest.mark.parametrize("target_folder", ["", "made/by/store"])
def test_new_file_through_a_dangling_symlink_is_private(
    tmp_path: Path, subprocess_env: dict[str, str], target_folder: str
) -> None:
    """A symlink to a file not yet made (a dotfiles repo does this): the file the store
    creates at its target is as private as one made at a plain path, and so is every
    folder on the way to it."""
    targets = tmp_path / "targets"
    targets.mkdir()
    target = targets / target_folder / "sessions.db"
    link = tmp_path / "sessions.db"
    link.symlink_to(target)
    done = subprocess.run(
        [PYTHON, "-c", LINKED_CHILD, str(link), str(targets)],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    modes, folders = json.loads(done.stdout)
    assert modes == {"sessions.db": "0o600", "sessions.db-wal": "0o600", "sessions.db-shm": "0o600"}
    expected_folders = {}
    folder = target.parent
    while folder != targets:
        expected_folders[str(folder)] = "0o700"
        folder = folder.parent
    assert folders == expected_folders
    assert link.is_symlink()  # the link is followed, never replaced
