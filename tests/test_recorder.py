"""Recorder: writes never raise into the UI, recover with the store, switch atomically."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest
from waiting import wait_for

from zero_session import (
    InvalidInput,
    Recorder,
    SessionNotFound,
    Status,
    Store,
    StoreClosed,
    StoreLocked,
)


class FaultVFS(apsw.VFS):
    """The default VFS, except that writes and syncs fail while ``failing`` is set."""

    def __init__(self, name: str) -> None:
        self.failing = False
        self.name = name
        super().__init__(name, base="")

    def xOpen(self, name: Any, flags: list[int]) -> apsw.VFSFile:
        return FaultFile(self, name, flags)


class FaultFile(apsw.VFSFile):
    def __init__(self, vfs: FaultVFS, name: Any, flags: list[int]) -> None:
        self._vfs = vfs
        super().__init__("", name, flags)

    def xWrite(self, data: bytes, offset: int) -> None:
        if self._vfs.failing:
            raise apsw.IOError("injected write failure")
        super().xWrite(data, offset)

    def xSync(self, flags: int) -> None:
        if self._vfs.failing:
            raise apsw.IOError("injected sync failure")
        super().xSync(flags)


@pytest.fixture
def fault_vfs(request: pytest.FixtureRequest) -> Iterator[FaultVFS]:
    vfs = FaultVFS(f"fault-{request.node.name}")
    yield vfs
    vfs.unregister()


def _texts(store: Store, ulid: str) -> list[str]:
    return [e.text for e in store.replay(ulid)]


def test_records_and_close_ends_every_session_it_opened(
    open_store: Callable[..., Store],
) -> None:
    store = open_store()
    earlier = store.start()
    store.end(earlier)
    rec = Recorder(store, cli_version="t1")
    first = rec.current
    assert first is not None
    assert rec.record("prompt", "hello") is True
    child = rec.fork()
    rec.record("prompt", "in the child")
    rec.resume(earlier.ulid)
    assert rec.current == earlier.ulid
    assert rec.sessions == (first, child.ulid, earlier.ulid)
    rec.close()
    rec.close()
    assert rec.closed
    assert _texts(store, child.ulid) == ["hello", "in the child"]
    for ulid in rec.sessions:
        assert store.get(ulid).status is Status.ENDED
    assert rec.warnings == ()


def test_io_errors_never_reach_the_ui_and_recording_recovers(
    open_store: Callable[..., Store], db_path: Path, fault_vfs: FaultVFS
) -> None:
    store = open_store(vfs=fault_vfs.name)
    seen: list[str] = []
    rec = Recorder(store, on_warning=seen.append, retry_interval_s=0)
    ulid = rec.current
    assert ulid is not None
    rec.record("prompt", "before")
    assert rec.flush()
    fault_vfs.failing = True
    for i in range(5):
        assert rec.record("prompt", f"during {i}") is True
    wait_for(lambda: rec.last_error is not None)
    assert rec.pending == 5
    assert len(seen) == 1 and "recording failed" in seen[0]
    fault_vfs.failing = False
    assert rec.record("prompt", "after") is True
    assert rec.flush()
    assert rec.last_error is None and rec.pending == 0
    assert "recording resumed" in seen[-1] and len(seen) == 2
    expected = ["before", *[f"during {i}" for i in range(5)], "after"]
    rec.close()
    with Store.open(db_path) as fresh:  # another connection reads what reached the file
        assert _texts(fresh, ulid) == expected
        assert fresh.get(ulid).status is Status.ENDED


def test_store_failing_at_start_still_records_later(
    open_store: Callable[..., Store], fault_vfs: FaultVFS
) -> None:
    store = open_store(vfs=fault_vfs.name)
    fault_vfs.failing = True
    rec = Recorder(store, retry_interval_s=0)
    assert rec.current is None and rec.last_error is not None
    assert rec.record("prompt", "queued") is True
    fault_vfs.failing = False
    assert rec.record("prompt", "works") is True
    assert rec.flush()
    assert rec.current is not None
    assert _texts(store, rec.current) == ["queued", "works"]
    rec.close()


def test_locked_store_from_a_ui_thread(open_store: Callable[..., Store], db_path: Path) -> None:
    store = open_store(busy_timeout_ms=20)
    rec = Recorder(store, retry_interval_s=0)
    ulid = rec.current
    blocker = apsw.Connection(str(db_path))
    blocker.execute("BEGIN EXCLUSIVE")
    errors: list[BaseException] = []

    def ui() -> None:
        try:
            for i in range(3):
                rec.record("prompt", f"typed {i}")
        except BaseException as exc:  # the test fails if anything reaches here
            errors.append(exc)

    thread = threading.Thread(target=ui)
    thread.start()
    thread.join()
    assert errors == []
    wait_for(lambda: isinstance(rec.last_error, StoreLocked))
    blocker.execute("COMMIT")
    blocker.close()
    assert rec.flush()
    assert ulid is not None
    assert _texts(store, ulid) == ["typed 0", "typed 1", "typed 2"]
    rec.close()


def test_closed_store_is_reported_once(store: Store) -> None:
    seen: list[str] = []
    rec = Recorder(store, on_warning=seen.append)
    store.close()
    for _ in range(3):
        rec.record("prompt", "lost")
    wait_for(lambda: isinstance(rec.last_error, StoreClosed))
    assert not rec.flush(timeout=5)
    assert len(seen) == 1
    rec.close()  # cannot end anything, says so, does not raise
    assert any("could not be saved" in w for w in rec.warnings)


def test_bad_input_is_reported_and_does_not_block_the_backlog(store: Store) -> None:
    def broken_callback(message: str) -> None:
        raise RuntimeError("the UI's callback is broken too")

    rec = Recorder(store, on_warning=broken_callback)
    rec.record("Not A Kind", "x")
    rec.record("prompt", "x", data={1: "not json"})
    rec.record("prompt", "fine")
    assert rec.flush()
    assert rec.last_error is None and rec.pending == 0
    assert rec.current is not None and _texts(store, rec.current) == ["fine"]
    assert len(rec.warnings) == 2


def test_fork_is_atomic_for_recording_threads(store: Store) -> None:
    rec = Recorder(store)
    parent = rec.current
    assert parent is not None
    per_thread, n_threads = 200, 4
    started = threading.Barrier(n_threads + 1)

    def writer(t: int) -> None:
        started.wait()
        for i in range(per_thread):
            rec.record("system", f"{t}:{i}")

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    started.wait()
    child = rec.fork()
    for thread in threads:
        thread.join()
    assert rec.flush()
    texts = _texts(store, child.ulid)
    assert sorted(texts) == sorted(f"{t}:{i}" for t in range(n_threads) for i in range(per_thread))
    # nothing was written to the parent after the fork point
    assert store.get(parent).last_seq == child.fork_seq
    rec.close()


def test_resume_of_unknown_session_keeps_the_target(store: Store) -> None:
    rec = Recorder(store)
    before = rec.current
    with pytest.raises(SessionNotFound):
        rec.resume("no-such-label")
    assert rec.current == before
    rec.close()


def test_no_persist_records_nowhere_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZERO_SESSION_DB", str(tmp_path / "never.db"))
    seen: list[str] = []
    with Recorder.no_persist(on_warning=seen.append) as rec:
        assert not rec.persistent
        assert "not saving" in seen[0] and "not saving" in rec.describe()
        assert rec.record("prompt", "ephemeral") is True
        rec.fork()
        assert rec.store.path == ":memory:"
    assert list(tmp_path.iterdir()) == []
    assert rec.store.__repr__().endswith("closed>")


def test_backlog_limit_counts_what_was_lost(
    open_store: Callable[..., Store], fault_vfs: FaultVFS
) -> None:
    store = open_store(vfs=fault_vfs.name)
    rec = Recorder(store, backlog_limit=2, retry_interval_s=0)
    fault_vfs.failing = True
    kept = [rec.record("prompt", f"{i}") for i in range(4)]
    assert kept == [True, True, False, False]  # the new events are dropped, not the old
    assert rec.dropped == 2
    wait_for(lambda: rec.last_error is not None)
    fault_vfs.failing = False
    assert rec.flush()
    assert rec.current is not None
    assert _texts(store, rec.current) == ["0", "1"]
    assert "except 2 that did not fit" in rec.warnings[-1]
    rec.close()


def test_bad_options_are_refused_before_starting(store: Store) -> None:
    with pytest.raises(InvalidInput):
        Recorder(store, backlog_limit=-1)
    with pytest.raises(InvalidInput):
        Recorder(store, retry_interval_s=-0.5)
    with pytest.raises(TypeError):
        Recorder(store, backlog_limit="10")  # type: ignore[arg-type]
    assert store.list_sessions() == []
