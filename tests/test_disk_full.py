"""Disk full: a clear DiskFull, nothing half-written, and the store works once space returns.

Two ways to run out of room: SQLite's own ``PRAGMA max_page_count`` (reported by SQLite
as SQLITE_FULL), and a real file size limit (``RLIMIT_FSIZE``) in a child process, where
the kernel refuses the write with EFBIG exactly as a full disk refuses it with ENOSPC.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import apsw
import pytest
from conftest import PYTHON

from zero_session import DiskFull, Store


@contextmanager
def connections_to(path: Path) -> Iterator[list[apsw.Connection]]:
    """Collect the apsw connections opened on ``path`` while the block runs.

    ``apsw.connection_hooks`` is apsw's public hook for configuring new connections; the
    test uses it to set ``max_page_count`` on the Store's own connection.
    """
    found: list[apsw.Connection] = []
    target = os.path.realpath(path)

    def hook(conn: apsw.Connection) -> None:
        if os.path.realpath(conn.filename) == target:
            found.append(conn)

    apsw.connection_hooks.append(hook)
    try:
        yield found
    finally:
        apsw.connection_hooks.remove(hook)


def set_max_pages(conn: apsw.Connection, pages: int) -> None:
    conn.execute(f"PRAGMA max_page_count = {pages}").fetchall()


def integrity(path: Path) -> list[tuple[object, ...]]:
    conn = apsw.Connection(str(path))
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()


def test_max_page_count(open_store: Callable[..., Store], db_path: Path) -> None:
    with connections_to(db_path) as conns:
        store = open_store()
    (conn,) = conns
    session = store.start(cwd="/")
    page_count = conn.execute("PRAGMA page_count").fetchall()[0][0]
    set_max_pages(conn, page_count + 6)
    acked: list[str] = []
    with pytest.raises(DiskFull, match="full") as caught:
        for number in range(1000):
            text = f"{number}:" + "x" * 3000
            store.append(session, "prompt", text)
            acked.append(text)
    assert acked, "the cap left no room at all; the test proves nothing"
    assert "nothing was written" in str(caught.value)
    # While full: a batch is refused whole, reads work, the file is sound.
    with pytest.raises(DiskFull):
        store.append_many(session, [("prompt", "y" * 3000)] * 4)
    assert [e.text for e in store.replay(session)] == acked
    assert store.check().ok
    assert integrity(db_path) == [("ok",)]
    # Space returns: the same store writes again.
    set_max_pages(conn, 1_000_000)
    store.append_many(session, [("prompt", "after")] * 4)
    assert [e.text for e in store.replay(session)] == [*acked, *["after"] * 4]
    assert store.check().ok


CHILD = r"""
import json, resource, signal, sys
from zero_session import Store, StorageError

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
path, fresh, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
unlimited = resource.RLIM_INFINITY

def report(**fields):
    print(json.dumps(fields), flush=True)

store = Store.open(path)
session = store.start(cwd="/")
report(session=session.ulid)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, unlimited))
acked = []
try:
    for number in range(100_000):
        text = f"{number}:" + "x" * 4000
        store.append(session, "prompt", text)
        acked.append(text)
except StorageError as exc:
    report(acked=acked, error=type(exc).__name__, message=str(exc))
try:
    store.append_many(session, [("prompt", "batch")] * 5)
    report(batch="written")
except StorageError as exc:
    report(batch=type(exc).__name__)
report(replay_ok=[e.text for e in store.replay(session)] == acked)
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, unlimited))  # not even one page
try:
    Store.open(fresh)
    report(fresh="opened")
except StorageError as exc:
    report(fresh=type(exc).__name__, fresh_message=str(exc))
resource.setrlimit(resource.RLIMIT_FSIZE, (unlimited, unlimited))
store.append(session, "prompt", "after")
report(after=True, check_ok=store.check().ok)
store.close()
"""


def test_file_size_limit_in_child(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    path = tmp_path / "sessions.db"
    fresh = tmp_path / "fresh" / "sessions.db"
    done = subprocess.run(
        # A new file's WAL holds its migrations (~200 kB) before the first append.
        [PYTHON, "-c", CHILD, str(path), str(fresh), str(600_000)],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    facts = {key: value for line in lines for key, value in line.items()}
    assert facts["error"] == "DiskFull", facts["message"]
    assert "File too large" in facts["message"]
    assert facts["acked"]
    assert facts["batch"] == "DiskFull"
    assert facts["replay_ok"] is True
    assert facts["fresh"] == "DiskFull", facts.get("fresh_message")
    assert facts["after"] is True and facts["check_ok"] is True
    assert integrity(path) == [("ok",)]
    with Store.open(path) as store:
        texts = [e.text for e in store.replay(facts["session"])]
        assert texts == [*facts["acked"], "after"]
        assert store.check().ok
    # The fresh file the child could not set up opens (and migrates) now.
    with Store.open(fresh) as store:
        assert store.check().ok
