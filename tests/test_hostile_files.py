"""Hostile and broken files: refused with a clear error, and never touched.

Not SQLite, truncated, a page overwritten with garbage, another application's SQLite
file, a schema from the future, a directory, a missing read-only location; and
read-only opens, including WAL files whose ``-wal``/``-shm`` are absent and whose folder
is not writable (https://www.sqlite.org/wal.html#readonly).  "Untouched" is checked
with a hash of the file before and after, and by looking for side files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite3_cli import sqlite3_shell

from zero_session import (
    NotAStore,
    ReadOnlyStore,
    SchemaTooNew,
    StorageError,
    Store,
)
from zero_session._schema import known_version

NOBODY = 65534


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def side_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


@pytest.fixture
def populated_file(tmp_path: Path) -> Path:
    """A closed store (no -wal, no -shm) of 30 sessions with 5 events each."""
    path = tmp_path / "sessions.db"
    with Store.open(path) as store:
        for _ in range(30):
            session = store.start(cwd="/")
            store.append_many(session, [("prompt", "z" * 2000)] * 5)
    assert side_files(path) == []
    return path


def assert_refused_untouched(
    path: Path, error: type[Exception], match: str | None = None, *, readonly: bool = False
) -> Exception:
    """Opening ``path`` raises ``error``; the file's bytes are unchanged and a writable
    open leaves no side file.  (A read-only open of a WAL file in a writable folder may
    leave empty ``-wal``/``-shm`` files that it is not allowed to delete: SQLite's way of
    reading WAL files without writing them.)"""
    before = digest(path)
    with pytest.raises(error, match=match) as caught:
        Store.open(path, readonly=readonly)
    assert digest(path) == before
    if not readonly:
        assert side_files(path) == []
    return caught.value


@pytest.mark.parametrize("readonly", [False, True])
def test_not_sqlite(tmp_path: Path, readonly: bool) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not a database\n" * 20)
    assert_refused_untouched(path, NotAStore, "not a zero_session database", readonly=readonly)


@pytest.mark.parametrize("keep", ["50 bytes", "1000 bytes", "3 pages", "half"])
def test_truncated(populated_file: Path, keep: str) -> None:
    size = populated_file.stat().st_size
    length = {"50 bytes": 50, "1000 bytes": 1000, "3 pages": 3 * 4096, "half": size // 2}[keep]
    os.truncate(populated_file, length)
    assert_refused_untouched(populated_file, NotAStore)


def overwrite_page(path: Path, page: int) -> None:
    with path.open("r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(bytes(range(256)) * 16)


def root_page(path: Path, name: str) -> int:
    return int(sqlite3_shell(path, f"SELECT rootpage FROM sqlite_schema WHERE name = '{name}';"))


def test_garbage_header_page(populated_file: Path) -> None:
    overwrite_page(populated_file, 1)
    assert_refused_untouched(populated_file, NotAStore)


def test_garbage_in_events_page(populated_file: Path) -> None:
    """Open cannot see a bad page without reading everything; reading it says NotAStore,
    check() reports it, and nothing is written to the file."""
    overwrite_page(populated_file, root_page(populated_file, "events"))
    before = digest(populated_file)
    with Store.open(populated_file) as store:
        sessions = store.list_sessions(None)
        assert len(sessions) == 30
        with pytest.raises(NotAStore, match="corrupt"):
            list(store.replay(sessions[0]))
        report = store.check()
        assert not report.ok
        assert {p.code for p in report.problems} & {"integrity", "unreadable"}
    assert digest(populated_file) == before


def test_another_applications_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    sqlite3_shell(path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
    error = assert_refused_untouched(path, NotAStore, "another application")
    assert "refusing to touch it" in str(error)
    # Still in its own journal mode, still its own data.
    assert sqlite3_shell(path, "PRAGMA journal_mode; SELECT body FROM notes;") == "delete\nmine\n"


def test_another_application_id_on_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3_shell(path, "PRAGMA application_id = 1234;")
    assert_refused_untouched(path, NotAStore, "application_id 0x4d2")


@pytest.mark.parametrize("readonly", [False, True])
def test_schema_from_the_future(populated_file: Path, readonly: bool) -> None:
    newer = known_version() + 1
    sqlite3_shell(populated_file, f"PRAGMA user_version = {newer};")
    error = assert_refused_untouched(populated_file, SchemaTooNew, "upgrade", readonly=readonly)
    assert isinstance(error, SchemaTooNew)
    assert (error.found, error.known) == (newer, known_version())


@pytest.mark.parametrize("readonly", [False, True])
def test_path_is_a_directory(tmp_path: Path, readonly: bool) -> None:
    with pytest.raises(StorageError, match="is a directory"):
        Store.open(tmp_path, readonly=readonly)
    assert list(tmp_path.iterdir()) == []


def test_path_in_a_missing_read_only_location() -> None:
    path = Path("/proc/zero-session-missing/state/sessions.db")
    with pytest.raises(StorageError, match="cannot create"):
        Store.open(path)
    assert not path.parent.exists()


def test_readonly_never_creates_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "sessions.db"
    with pytest.raises(StorageError, match="does not exist"):
        Store.open(path, readonly=True)
    assert not path.parent.exists()


def all_writes(store: Store, ulid: str) -> dict[str, Callable[[], object]]:
    return {
        "start": lambda: store.start(cwd="/"),
        "append": lambda: store.append(ulid, "prompt", "x"),
        "append_many": lambda: store.append_many(ulid, [("prompt", "x")]),
        "fork": lambda: store.fork(ulid),
        "end": lambda: store.end(ulid),
        "resume": lambda: store.resume(ulid),
        "label": lambda: store.label(ulid, "name"),
        "unlabel": lambda: store.unlabel("name"),
        "set_milestone": lambda: store.set_milestone("k", "v"),
        "set_milestone_once": lambda: store.set_milestone_once("k", "v"),
    }


def test_readonly_store_reads_and_refuses_writes(populated_file: Path) -> None:
    before = digest(populated_file)
    with Store.open(populated_file, readonly=True) as store:
        assert store.readonly
        sessions = store.list_sessions(None)
        ulid = sessions[0].ulid
        assert len(list(store.replay(ulid))) == 5
        assert store.check().ok
        for name, write in all_writes(store, ulid).items():
            with pytest.raises(ReadOnlyStore):
                write()
                pytest.fail(f"{name} wrote to a read-only store")
        assert len(list(store.replay(ulid))) == 5
    assert digest(populated_file) == before


# --- read-only files and folders, as an unprivileged user ---------------------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder outside pytest's private (0700) tree, so an unprivileged child can reach
    it; made read-only by the tests, restored for cleanup."""
    folder = Path(tempfile.mkdtemp(prefix="zs-readonly-"))
    folder.chmod(0o755)
    yield folder
    folder.chmod(0o755)
    shutil.rmtree(folder)


def run_unprivileged(probe: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``probe`` in a forked child that cannot bypass file permissions.

    As root the child switches to ``nobody`` (root ignores permission bits); otherwise
    the permissions alone bind it.  Returns what the probe returned (as JSON).
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_end)
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            result = probe()
        except BaseException as exc:
            result = {"crash": f"{type(exc).__name__}: {exc}"}
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 65536):
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    outcome: dict[str, Any] = json.loads(data)
    assert "crash" not in outcome, outcome["crash"]
    return outcome


def probe_open(path: Path, *, readonly: bool) -> Callable[[], dict[str, Any]]:
    def probe() -> dict[str, Any]:
        outcome: dict[str, Any] = {}
        try:
            store = Store.open(path, readonly=readonly)
        except Exception as exc:
            return {"open": type(exc).__name__, "message": str(exc)}
        with store:
            outcome["open"] = "ok"
            outcome["texts"] = {
                s.ulid: [e.text for e in store.replay(s)] for s in store.list_sessions(None)
            }
            outcome["check"] = store.check().ok
            refused = []
            for name, write in all_writes(store, next(iter(outcome["texts"]))).items():
                try:
                    write()
                except ReadOnlyStore:
                    refused.append(name)
            outcome["refused"] = refused
        return outcome

    return probe


def make_read_only(folder: Path) -> None:
    for item in folder.iterdir():
        item.chmod(0o444)
    folder.chmod(0o555)


def test_readonly_wal_file_in_read_only_folder_without_wal(shared_dir: Path) -> None:
    path = shared_dir / "sessions.db"
    with Store.open(path) as store:
        session = store.start(cwd="/")
        store.append_many(session, [("prompt", "one"), ("prompt", "two")])
    make_read_only(shared_dir)
    before = digest(path)
    outcome = run_unprivileged(probe_open(path, readonly=True))
    assert outcome["open"] == "ok", outcome
    assert outcome["texts"] == {session.ulid: ["one", "two"]}
    assert outcome["check"] is True
    assert len(outcome["refused"]) == len(all_writes(store, session.ulid))
    assert digest(path) == before
    assert side_files(path) == []


def test_readonly_wal_file_while_its_writer_runs(shared_dir: Path) -> None:
    """-wal and -shm exist (a writer holds the file open): the reader sees the commits
    that live only in the -wal so far."""
    path = shared_dir / "sessions.db"
    with Store.open(path) as writer:
        session = writer.start(cwd="/")
        writer.append_many(session, [("prompt", "one"), ("prompt", "two")])
        assert sorted(side_files(path)) == ["sessions.db-shm", "sessions.db-wal"]
        make_read_only(shared_dir)
        try:
            outcome = run_unprivileged(probe_open(path, readonly=True))
        finally:
            shared_dir.chmod(0o755)
            for item in shared_dir.iterdir():
                item.chmod(0o644)
    assert outcome["open"] == "ok", outcome
    assert outcome["texts"] == {session.ulid: ["one", "two"]}
    assert len(outcome["refused"]) == len(all_writes(writer, session.ulid))


def test_writable_open_of_read_only_file_says_use_readonly(shared_dir: Path) -> None:
    path = shared_dir / "sessions.db"
    with Store.open(path) as store:
        store.start(cwd="/")
    make_read_only(shared_dir)
    before = digest(path)
    outcome = run_unprivileged(probe_open(path, readonly=False))
    assert outcome["open"] == "ReadOnlyStore", outcome
    assert "readonly=True" in outcome["message"]
    assert digest(path) == before


def test_read_only_file_in_writable_folder_says_use_readonly_on_write(shared_dir: Path) -> None:
    """The file is read-only but its folder is not: SQLite opens it read-only, so open
    and reads work, and the first write is refused naming the file and the way out."""
    path = shared_dir / "sessions.db"
    with Store.open(path) as store:
        session = store.start(cwd="/")
        store.append(session, "prompt", "one")
    path.chmod(0o444)
    shared_dir.chmod(0o777)  # the unprivileged child may make -wal and -shm here
    before = digest(path)

    def probe() -> dict[str, Any]:
        with Store.open(path) as opened:
            texts = [e.text for e in opened.replay(session.ulid)]
            try:
                opened.append(session.ulid, "prompt", "two")
            except ReadOnlyStore as exc:
                return {"texts": texts, "refused": str(exc)}
        return {"texts": texts, "refused": None}

    outcome = run_unprivileged(probe)
    assert outcome["texts"] == ["one"]
    assert outcome["refused"] is not None
    assert str(path) in outcome["refused"] and "readonly=True" in outcome["refused"]
    assert digest(path) == before
