"""Schema: migrations, file identity, refusing foreign files untouched, append-only triggers.

Foreign and hand-edited files are made with the real ``sqlite3`` shell, the tool people
will use on the store.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest

from zero_session import NotAStore, SchemaTooNew, Store
from zero_session._schema import APPLICATION_ID, known_version, load_migrations


def sqlite3(db_path: Path, sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sqlite3", "-bail", str(db_path), sql], capture_output=True, text=True, timeout=30
    )


def folder_state(folder: Path) -> dict[str, str]:
    """Every file in the folder with the SHA-256 of its bytes."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def data_state(folder: Path) -> dict[str, str]:
    """Like :func:`folder_state`, but without the files SQLite itself leaves beside a WAL
    database after a reader or a failed statement: the ``-shm`` index and an empty WAL.

    (The ``sqlite3`` shell exits on an error without closing the database, and a
    read-only connection cannot remove them; neither holds data.)
    """
    return {
        name: digest
        for name, digest in folder_state(folder).items()
        if not name.endswith("-shm")
        and not (name.endswith("-wal") and (folder / name).stat().st_size == 0)
    }


def pragma(db_path: Path, name: str) -> int:
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return int(conn.execute(f"PRAGMA {name}").fetchall()[0][0])
    finally:
        conn.close()


def test_migrations_are_numbered_and_shipped() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "initial"
    assert known_version() == len(migrations)


def test_fresh_file_gets_version_and_application_id(db_path: Path) -> None:
    Store.open(db_path).close()
    assert pragma(db_path, "user_version") == known_version()
    assert pragma(db_path, "application_id") == APPLICATION_ID
    assert sqlite3(db_path, "PRAGMA journal_mode").stdout.strip() == "wal"
    assert (db_path.stat().st_mode & 0o777) == 0o600


def test_reopening_applies_nothing_and_writes_nothing(db_path: Path) -> None:
    with Store.open(db_path) as store:
        session = store.start()
        store.append(session, "system", "x")
    before = folder_state(db_path.parent)
    assert list(before) == ["sessions.db"], "closing checkpoints and removes the WAL"
    for _ in range(3):
        Store.open(db_path).close()
    assert folder_state(db_path.parent) == before
    with Store.open(db_path) as store:
        assert [e.text for e in store.replay(session)] == ["x"]


def test_empty_file_is_initialised(db_path: Path) -> None:
    db_path.write_bytes(b"")
    with Store.open(db_path) as store:
        store.start()
    assert pragma(db_path, "user_version") == known_version()


_OPENER = """
import sys
from zero_session import Store
print("ready", flush=True)
for line in sys.stdin:
    with Store.open(line.strip(), busy_timeout_ms=30_000) as store:
        store.start()
    print("ok", flush=True)
"""


@pytest.mark.slow
def test_processes_opening_a_fresh_file_at_once(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=subprocess_env,
        )
        for _ in range(4)
    ]
    try:
        for p in openers:
            assert p.stdout is not None and p.stdout.readline() == "ready\n"
        for round_ in range(15):
            path = tmp_path / f"fresh-{round_}" / "store.db"
            for p in openers:  # all four get the new path at (nearly) the same moment
                assert p.stdin is not None
                p.stdin.write(f"{path}\n")
                p.stdin.flush()
            for p in openers:
                assert p.stdout is not None and p.stdout.readline() == "ok\n"
            with Store.open(path) as store:
                assert len(store.list_sessions(limit=None)) == 4
            assert pragma(path, "user_version") == known_version()
            assert sqlite3(path, "PRAGMA integrity_check").stdout.strip() == "ok"
        for p in openers:
            assert p.stdin is not None
            p.stdin.close()
            assert p.wait(timeout=30) == 0
    finally:
        for p in openers:
            if p.poll() is None:
                p.kill()
            p.wait()


def test_newer_schema_is_refused_untouched(db_path: Path) -> None:
    Store.open(db_path).close()
    newer = known_version() + 7
    assert sqlite3(db_path, f"PRAGMA user_version = {newer}").returncode == 0
    before = folder_state(db_path.parent)
    assert list(before) == ["sessions.db"]
    with pytest.raises(SchemaTooNew) as caught:
        Store.open(db_path)
    assert (caught.value.found, caught.value.known) == (newer, known_version())
    assert str(db_path) in str(caught.value)
    assert folder_state(db_path.parent) == before
    with pytest.raises(SchemaTooNew):
        Store.open(db_path, readonly=True)
    assert data_state(db_path.parent) == before


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'x')",
        "PRAGMA application_id = 42",
        "PRAGMA user_version = 1",
        f"PRAGMA application_id = {APPLICATION_ID + 1}; CREATE TABLE sessions (x)",
    ],
    ids=["tables", "app-id", "user-version", "lookalike"],
)
def test_another_applications_file_is_refused_untouched(db_path: Path, sql: str) -> None:
    result = sqlite3(db_path, sql)
    assert result.returncode == 0, result.stderr
    before = folder_state(db_path.parent)
    with pytest.raises(NotAStore, match="another application"):
        Store.open(db_path)
    assert folder_state(db_path.parent) == before


@pytest.mark.parametrize(
    "content",
    [
        b"hello, this is a text file, not a database\n" * 50,
        b"SQLite format 3\x00" + b"\xff" * 4000,
        bytes(range(256)) * 16,
    ],
    ids=["text", "bad-header", "binary"],
)
def test_not_a_database_is_refused_untouched(db_path: Path, content: bytes) -> None:
    db_path.write_bytes(content)
    before = folder_state(db_path.parent)
    with pytest.raises(NotAStore):
        Store.open(db_path)
    with pytest.raises(NotAStore):
        Store.open(db_path, readonly=True)
    assert folder_state(db_path.parent) == before


@pytest.fixture
def filled(open_store: Callable[..., Store], db_path: Path) -> str:
    store = open_store()
    session = store.start()
    store.append_many(session, [("prompt", "one"), ("system", "two")])
    store.close()
    return session.ulid


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE events SET text = 'forged' WHERE seq = 1", "append-only"),
        ("UPDATE events SET seq = 9 WHERE seq = 2", "append-only"),
        ("DELETE FROM events WHERE seq = 2", "append-only"),
        ("DELETE FROM events", "append-only"),
        ("DELETE FROM sessions", "zero_session API"),
        ("UPDATE sessions SET last_seq = 0", "never goes back"),
        ("UPDATE sessions SET ulid = '01ARZ3NDEKTSV4RRFFQ69G5FAV'", "fixed"),
        ("UPDATE sessions SET fork_seq = 1", "fixed"),
        (
            "INSERT INTO events (session_id, seq, at_ms, kind, text) "
            "SELECT id, 3, 0, 'prompt', 'sneaked in' FROM sessions",
            "reserved range",
        ),
        ("DROP TRIGGER nonexistent; DELETE FROM events", "no such trigger"),
    ],
)
def test_shell_cannot_rewrite_history(db_path: Path, filled: str, sql: str, message: str) -> None:
    before = folder_state(db_path.parent)
    result = sqlite3(db_path, sql)
    assert result.returncode != 0
    assert message in result.stderr
    assert data_state(db_path.parent) == before
    with Store.open(db_path) as store:
        assert [(e.seq, e.text) for e in store.replay(filled)] == [(1, "one"), (2, "two")]


def test_shell_can_still_read_and_the_store_can_still_write(db_path: Path, filled: str) -> None:
    result = sqlite3(db_path, "SELECT count(*) FROM events; PRAGMA integrity_check")
    assert result.stdout.split() == ["2", "ok"]
    with Store.open(db_path) as store:
        assert store.append(filled, "system", "three").seq == 3
