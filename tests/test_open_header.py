"""Opening reads the file header without a read transaction; a reader's close keeps an
empty WAL.

``Store.open`` of an up-to-date file answers "ours and current?" from the file's first
100 bytes (read through the connection's own file handle), so an unused store creates no
``-wal``/``-shm``.  A store that only read closes without SQLite's checkpoint-on-close
when its ``-wal`` is empty, leaving the two files for the next open instead of deleting
and re-creating them; a store that wrote closes as before.  These tests hold both to the
guarantees of the slow way: a newer schema waiting in the WAL is still refused, and
reading the header never costs another connection of the process its locks.
"""

from __future__ import annotations

import apsw
import pytest
from sqlite3_cli import sqlite3_shell

from zero_session import SchemaTooNew, Store
from zero_session._schema import known_version


def made_store(path: str) -> str:
    with Store.open(path) as store:
        session = store.start(cwd="/")
        store.append(session, "prompt", "hello")
        return session.ulid


def side_files(path: str) -> dict[str, int]:
    """The ``-wal``/``-shm`` files beside ``path``, with their sizes."""
    import os

    return {
        suffix: os.stat(path + suffix).st_size
        for suffix in ("-wal", "-shm")
        if os.path.exists(path + suffix)
    }


def test_a_reader_leaves_an_empty_wal_and_a_writer_folds_it_away(tmp_path: object) -> None:
    path = f"{tmp_path}/sessions.db"
    ulid = made_store(path)
    assert side_files(path) == {}
    with open(path, "rb") as file:
        before = file.read()

    with Store.open(path) as store:
        assert store.tail(ulid, 1)[0].text == "hello"
    sizes = side_files(path)
    assert sizes.keys() == {"-wal", "-shm"}
    assert sizes["-wal"] == 0  # nothing to fold back: the main file holds every commit
    with open(path, "rb") as file:
        assert file.read() == before

    with Store.open(path) as store:  # the next reader uses them as they are
        assert store.get(ulid).last_seq == 1
        store.append(ulid, "prompt", "again")
    assert side_files(path) == {}  # a store that wrote checkpoints and removes them
    assert sqlite3_shell(path, "SELECT count(*) FROM events;").strip() == "2"


@pytest.mark.parametrize("readonly", [False, True])
def test_a_newer_schema_waiting_in_the_wal_is_refused(tmp_path: object, readonly: bool) -> None:
    """The main file's header says "current"; the WAL holds a newer version, committed by
    a connection still open (so not yet folded back).  The header alone would be wrong:
    the open must read through the WAL and refuse."""
    path = f"{tmp_path}/sessions.db"
    made_store(path)
    newer = apsw.Connection(path)
    try:
        newer.execute("PRAGMA wal_autocheckpoint = 0")
        newer.execute(f"PRAGMA user_version = {known_version() + 1}")
        assert side_files(path)["-wal"] > 0
        with pytest.raises(SchemaTooNew):
            Store.open(path, readonly=readonly)
    finally:
        newer.close()


def test_reading_the_header_keeps_the_locks_of_another_store(tmp_path: object) -> None:
    """POSIX locks belong to the process: closing *any* descriptor of the file drops
    them all.  A store that has read holds a shared lock on the file for as long as it
    is open; another store opened and closed meanwhile in the same process must not
    cost it that lock, or the next process to close would think itself the last one
    and delete the ``-wal``/``-shm`` the first store still uses."""
    path = f"{tmp_path}/sessions.db"
    ulid = made_store(path)
    with Store.open(path) as reading:
        assert reading.get(ulid).last_seq == 1
        for _ in range(3):
            Store.open(path).close()
        assert sqlite3_shell(path, "SELECT count(*) FROM events;").strip() == "1"
        assert side_files(path).keys() == {"-wal", "-shm"}, "the shell took the file over"
        reading.append(ulid, "prompt", "still mine")
    assert sqlite3_shell(path, "SELECT count(*) FROM events;").strip() == "2"
    assert side_files(path) == {}


def test_a_store_that_created_the_file_leaves_no_wal(tmp_path: object) -> None:
    """Creating a store migrates it and folds the WAL back (truncating it to nothing):
    an empty ``-wal`` then, but this store wrote, so its close removes it as before."""
    path = f"{tmp_path}/sessions.db"
    with Store.open(path) as store:
        assert store.list_sessions() == []
    assert side_files(path) == {}


@pytest.mark.parametrize("readonly", [False, True])
def test_opening_a_current_file_creates_no_side_files(tmp_path: object, readonly: bool) -> None:
    """The header is read without a read transaction: while the store is open and
    unused, neither ``-wal`` nor ``-shm`` exists; the first read creates them."""
    path = f"{tmp_path}/sessions.db"
    ulid = made_store(path)
    with Store.open(path, readonly=readonly) as store:
        assert side_files(path) == {}
        assert store.get(ulid).last_seq == 1
        assert side_files(path).keys() == {"-wal", "-shm"}
