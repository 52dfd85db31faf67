"""Injected I/O faults: fail the N-th read, write or sync, for N = 1, 2, 3, ... until the
operation succeeds (the way SQLite's own test suite does it).

After every injected fault: the call raised StorageError, the file passes
``PRAGMA integrity_check`` and ``store.check()``, nothing of the failed call is visible
(no half-written batch), and the same Store performs the call once the fault stops.
Each attempt starts from a copy of the same prepared file, so attempts are independent.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest
from faultvfs import FaultVFS

from zero_session import NotAStore, ReadOnlyStore, StorageError, Store
from zero_session._schema import load_migrations

MAX_ATTEMPTS = 200


@pytest.fixture(scope="module")
def fault_vfs() -> Iterator[FaultVFS]:
    vfs = FaultVFS("zs-fault")
    yield vfs
    vfs.unregister()


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read by a separate plain connection (no Store caches)."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("sessions", "events", "milestones")
        }
    finally:
        conn.close()


def integrity(path: Path) -> list[tuple[Any, ...]]:
    conn = apsw.Connection(str(path))
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()


def store_view(store: Store, ulid: str) -> tuple[Any, ...]:
    """What the failing Store itself shows: listing, timeline, labels."""
    return (store.list_sessions(None), list(store.replay(ulid)), store.labels())


@pytest.fixture(scope="module")
def base_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A closed store file (WAL checkpointed away) with one open session of 3 events."""
    path = tmp_path_factory.mktemp("faults") / "base.db"
    with Store.open(path) as store:
        session = store.start(cwd="/")
        store.append_many(session, [("prompt", "one"), ("system", "two"), ("warn", "three")])
    return path, session.ulid


BATCH = [("prompt", "a" * 3000), ("system", "b" * 9000), ("warn", "c", {"k": [1, 2]})]


def do_append(store: Store, ulid: str) -> None:
    store.append(ulid, "prompt", "x" * 5000, data={"qty": 10})


def do_append_many(store: Store, ulid: str) -> None:
    store.append_many(ulid, BATCH)


def do_fork(store: Store, ulid: str) -> None:
    store.fork(ulid, at_seq=2)


def do_label(store: Store, ulid: str) -> None:
    store.label(ulid, "pre-cpi")


def do_end(store: Store, ulid: str) -> None:
    store.end(ulid)


# operation -> (call, table it adds rows to, number of rows; 0: a row changes instead)
OPERATIONS: dict[str, tuple[Callable[[Store, str], None], str, int]] = {
    "append": (do_append, "events", 1),
    "append_many": (do_append_many, "events", len(BATCH)),
    "fork": (do_fork, "sessions", 1),
    "label": (do_label, "milestones", 1),
    "end": (do_end, "sessions", 0),
}


def assert_done(op_name: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    """The operation's whole effect is in the file: every row it adds, or its change."""
    _, table, added = OPERATIONS[op_name]
    if added:
        assert set(before[table]) <= set(after[table])
        assert len(after[table]) == len(before[table]) + added
    else:
        assert after[table] != before[table]


def assert_clean_storage_error(exc: BaseException) -> None:
    assert isinstance(exc, StorageError), repr(exc)
    assert not isinstance(exc, NotAStore | ReadOnlyStore), repr(exc)
    assert str(exc)


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "stays-broken"])
@pytest.mark.parametrize("fault", ["write", "sync", "read"])
@pytest.mark.parametrize("op_name", sorted(OPERATIONS))
def test_operation_survives_every_fault(
    op_name: str,
    fault: str,
    persistent: bool,
    fault_vfs: FaultVFS,
    base_file: tuple[Path, str],
    tmp_path: Path,
    durability: str,
) -> None:
    run = OPERATIONS[op_name][0]
    base, ulid = base_file
    work = tmp_path / "work.db"
    plan = fault_vfs.plan
    injected = 0
    for nth in range(1, MAX_ATTEMPTS + 1):
        shutil.copyfile(base, work)
        before = dump(work)
        with Store.open(work) as other:
            view_before = store_view(other, ulid)
        # A fresh Store: its page cache is cold, so the operation has to read.
        store = Store.open(work, vfs=fault_vfs.name, durability=durability)
        try:
            plan.arm(fault, nth, persistent=persistent)
            try:
                run(store, ulid)
            except Exception as exc:
                plan.disarm()
                assert plan.fired, f"{exc!r} raised without an injected fault"
                assert_clean_storage_error(exc)
            else:
                plan.disarm()
                assert_done(op_name, before, dump(work))
                assert integrity(work) == [("ok",)]
                assert store.check().ok
                break
            injected += 1
            assert integrity(work) == [("ok",)]
            assert dump(work) == before, "a failed call left part of its work behind"
            assert store_view(store, ulid) == view_before
            assert store.check().ok
            # Once the fault stops, the same Store does the job.
            run(store, ulid)
            assert_done(op_name, before, dump(work))
            assert integrity(work) == [("ok",)]
        finally:
            plan.disarm()
            store.close()
    else:
        pytest.fail(f"{op_name} still failing after {MAX_ATTEMPTS} injected {fault} faults")
    if fault != "sync" or durability == "full":
        assert injected >= 1, f"no {fault} fault ever reached {op_name}"


def schema_of(conn: apsw.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()


def expected_schemas() -> list[list[tuple[Any, ...]]]:
    """The schema after 0, 1, ..., n migrations, built in memory without faults."""
    conn = apsw.Connection(":memory:")
    schemas = [schema_of(conn)]
    for migration in load_migrations():
        conn.execute(migration.sql)
        schemas.append(schema_of(conn))
    conn.close()
    return schemas


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "stays-broken"])
@pytest.mark.parametrize("fault", ["write", "sync", "read"])
def test_migration_survives_every_fault(
    fault: str, persistent: bool, fault_vfs: FaultVFS, tmp_path: Path
) -> None:
    schemas = expected_schemas()
    plan = fault_vfs.plan
    injected = 0
    for nth in range(1, MAX_ATTEMPTS + 1):
        path = tmp_path / f"fresh-{nth}.db"
        plan.arm(fault, nth, persistent=persistent)
        try:
            Store.open(path, vfs=fault_vfs.name).close()
        except Exception as exc:
            plan.disarm()
            assert plan.fired, f"{exc!r} raised without an injected fault"
            assert_clean_storage_error(exc)
        else:
            plan.disarm()
            break
        injected += 1
        # Whatever the fault interrupted, the file holds exactly the schema of some
        # number of whole migrations, and opening it again finishes the job.
        conn = apsw.Connection(str(path))
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            version = conn.execute("PRAGMA user_version").fetchall()[0][0]
            assert schema_of(conn) == schemas[version]
        finally:
            conn.close()
        with Store.open(path, vfs=fault_vfs.name) as store:
            assert store.check().ok
            store.append(store.start(cwd="/"), "prompt", "works")
    else:
        pytest.fail(f"opening still failing after {MAX_ATTEMPTS} injected {fault} faults")
    assert injected >= 1


def test_close_with_failing_checkpoint(fault_vfs: FaultVFS, db_path: Path) -> None:
    """A failed final checkpoint is a StorageError; the committed events stay in the WAL."""
    store = Store.open(db_path, vfs=fault_vfs.name)
    session = store.start(cwd="/")
    store.append_many(session, [("prompt", "kept"), ("system", "also kept")])
    fault_vfs.plan.arm("write", 1, persistent=True)
    try:
        with pytest.raises(StorageError, match="I/O error"):
            store.close()
    finally:
        fault_vfs.plan.disarm()
    assert fault_vfs.plan.fired
    assert db_path.with_name(db_path.name + "-wal").stat().st_size > 0
    with Store.open(db_path) as reopened:
        assert [e.text for e in reopened.replay(session.ulid)] == ["kept", "also kept"]
        assert reopened.check().ok


def append_from_threads(
    store: Store, ulid: str, threads: int, appends: int
) -> tuple[list[str], list[BaseException]]:
    """``threads`` threads released together, each appending ``appends`` events; returns
    the acknowledged texts and the exceptions raised."""
    acked: list[str] = []
    failed: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(name: str) -> None:
        start.wait()
        for number in range(appends):
            text = f"{name}:{number}"
            try:
                store.append(ulid, "prompt", text)
                acked.append(text)
            except Exception as exc:
                failed.append(exc)

    pool = [threading.Thread(target=writer, args=(f"t{i}",)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return acked, failed


@pytest.mark.parametrize("fault", ["write", "sync"])
def test_faults_under_group_commit(
    fault: str, fault_vfs: FaultVFS, base_file: tuple[Path, str], tmp_path: Path
) -> None:
    """Threads appending at once share transactions (group commit).  A fault fails the
    whole batch it hits: each thread gets StorageError or its event, and the file holds
    exactly the acknowledged events, gapless."""
    base, ulid = base_file
    work = tmp_path / "work.db"
    threads, appends = 4, 3
    total_failed = 0
    for nth in range(1, 7):
        shutil.copyfile(base, work)
        store = Store.open(work, vfs=fault_vfs.name)
        fault_vfs.plan.arm(fault, nth)
        try:
            acked, failed = append_from_threads(store, ulid, threads, appends)
        finally:
            fault_vfs.plan.disarm()
        try:
            for exc in failed:
                assert_clean_storage_error(exc)
            assert len(acked) + len(failed) == threads * appends
            assert bool(failed) == bool(fault_vfs.plan.fired)
            own = [e.text for e in store.replay(ulid)][3:]
            assert sorted(own) == sorted(acked)
            assert integrity(work) == [("ok",)]
            assert store.check().ok
            store.append(ulid, "prompt", "after")
        finally:
            store.close()
        total_failed += len(failed)
    assert total_failed > 0
