"""Opening an up-to-date store reads only the file header; the rest waits for first use.

SQLite parses a file's schema on the first statement that needs it.  ``Store.open`` of a
current file does not force that parse: the pragmas that need the schema
(``journal_mode``, ``synchronous``) are set by the first statement the store runs.
These tests hold that deferral to its promises: the connection ends up configured
exactly as an eager open would leave it, a hand-switched journal mode is switched back,
and a broken schema is still a ZeroSessionError (on first use instead of at open).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite3_cli import sqlite3_shell

from zero_session import NotAStore, Store
from zero_session._store_core import Durability


def made_store(path: Path) -> str:
    with Store.open(path) as store:
        session = store.start(cwd="/")
        store.append(session, "prompt", "hello")
        return session.ulid


def connection_pragmas(store: Store) -> tuple[int, int, str]:
    """(synchronous, foreign_keys, journal_mode) of the store's own connection."""
    with store._reading() as conn:
        return (
            int(conn.execute("PRAGMA synchronous").fetchall()[0][0]),
            int(conn.execute("PRAGMA foreign_keys").fetchall()[0][0]),
            str(conn.execute("PRAGMA journal_mode").fetchall()[0][0]),
        )


@pytest.mark.parametrize(("durability", "level"), [("full", 2), ("normal", 1)])
@pytest.mark.parametrize("first_use", ["read", "write"])
def test_first_use_configures_the_connection(
    tmp_path: Path, durability: Durability, level: int, first_use: str
) -> None:
    path = tmp_path / "sessions.db"
    ulid = made_store(path)
    with Store.open(path, durability=durability) as store:
        if first_use == "read":
            assert store.get(ulid).last_seq == 1
        else:
            assert store.append(ulid, "prompt", "again").seq == 2
        assert connection_pragmas(store) == (level, 1, "wal")


def test_a_journal_mode_switched_in_the_shell_is_switched_back(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    ulid = made_store(path)
    assert sqlite3_shell(path, "PRAGMA journal_mode = DELETE;").strip() == "delete"
    with Store.open(path) as store:
        store.append(ulid, "prompt", "in WAL again")
    assert sqlite3_shell(path, "PRAGMA journal_mode;").strip() == "wal"


def test_a_broken_schema_is_not_a_store_on_first_use(tmp_path: Path) -> None:
    """The header is ours and current, the schema text is garbage: opening succeeds
    without reading it (and closing unused writes nothing); the first statement says
    NotAStore, never a bare apsw error, and leaves the file as it was."""
    path = tmp_path / "sessions.db"
    made_store(path)
    sqlite3_shell(
        path,
        "PRAGMA writable_schema = ON; "
        "UPDATE sqlite_schema SET sql = 'CREATE TABLE milestones (' WHERE name = 'milestones';",
    )
    before = path.read_bytes()
    Store.open(path).close()
    with Store.open(path) as store, pytest.raises(NotAStore):
        store.list_sessions()
    with Store.open(path) as store, pytest.raises(NotAStore):
        store.start()
    assert path.read_bytes() == before


def test_opened_and_closed_unused_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    made_store(path)
    before = path.read_bytes()
    for _ in range(3):
        Store.open(path).close()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sessions.db"]
