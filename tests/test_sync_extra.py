"""The ``postgres`` extra: nothing imports psycopg until sync is used, a clear error
without it, and the server migrations shipped in the wheel beside the file's own."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from clirunner import SCRIPT, cli_env

from zero_session import Store, _schema
from zero_session.sync._server_schema import load_server_migrations

REPO = Path(__file__).resolve().parent.parent


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def test_importing_zero_session_and_sync_does_not_import_psycopg() -> None:
    done = python(
        "import sys, zero_session, zero_session.sync\n"
        "from zero_session import sync\n"
        "assert 'psycopg' not in sys.modules, 'psycopg imported'\n"
        "print(sync.push.__name__)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "push"


@pytest.fixture
def without_psycopg(tmp_path: Path) -> str:
    """A folder that, first on the path, makes ``import psycopg`` fail as if missing."""
    fake = tmp_path / "hide" / "psycopg"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named psycopg')\n")
    return str(tmp_path / "hide")


def test_without_the_extra_sync_says_how_to_install_it(
    without_psycopg: str, tmp_path: Path
) -> None:
    done = python(
        "from zero_session import Store, SyncError, sync\n"
        "store = Store.memory()\n"
        "for call in (lambda: sync.push(store), lambda: sync.status(store), sync.init):\n"
        "    try:\n"
        "        call()\n"
        "    except SyncError as exc:\n"
        "        assert exc.kind == 'missing', exc.kind\n"
        "        print(exc)\n",
        PYTHONPATH=os.pathsep.join([without_psycopg, str(REPO)]),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    assert all("pip install 'zero-session[postgres]'" in line for line in lines)
    db = tmp_path / "s.db"
    Store.open(db).close()
    env = cli_env(db, PYTHONPATH=without_psycopg)
    cli = subprocess.run(
        [str(SCRIPT), "sync", "push"], env=env, capture_output=True, text=True, timeout=60
    )
    assert cli.returncode == 1
    assert cli.stderr.count("\n") == 1 and "zero-session[postgres]" in cli.stderr


def test_server_migrations_stay_out_of_the_file_migrations() -> None:
    file_steps = _schema.load_migrations()
    on_disk = sorted(p.name for p in (REPO / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql"))
    assert [f"{m.version:04d}_{m.name}.sql" for m in file_steps] == on_disk
    server_steps = load_server_migrations()
    assert [m.version for m in server_steps] == list(range(1, len(server_steps) + 1))
    assert all("zero_session." in m.sql for m in server_steps)


@pytest.mark.slow
def test_the_wheel_ships_the_server_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-build-isolation",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("zero_session-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for step in load_server_migrations():
        assert f"zero_session/migrations/postgres/{step.version:04d}_{step.name}.sql" in names
    assert "zero_session/sync/__init__.py" in names


def test_the_snapshot_reads_in_pages(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a push reads of the file comes in short transactions, and all of it."""
    from zero_session import _sync_source as source

    monkeypatch.setattr(source, "SNAPSHOT_PAGE", 3)
    root = store.start()
    ulids = [root.ulid] + [store.fork(root).ulid for _ in range(7)]
    for i in range(8):
        store.set_milestone(f"m{i}", str(i))
    snap = source.snapshot(store)
    assert [s.ulid for s in snap.sessions] == ulids
    assert [s.parent_ulid for s in snap.sessions] == [None] + [root.ulid] * 7
    assert {k: v for k, (v, _) in snap.milestones.items()} == {f"m{i}": str(i) for i in range(8)}
