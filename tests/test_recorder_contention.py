"""Recorder under another process: never blocks the UI, loses nothing when its session is
ended or deleted elsewhere, and writes what it queued once the lock is free."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from children import run_child
from lockholder import write_lock_held
from waiting import wait_for

from zero_session import Recorder, SessionNotFound, Status, Store, StoreLocked


def _texts(store: Store, ulid: str) -> list[str]:
    return [e.text for e in store.replay(ulid)]


def test_session_ended_by_another_process_continues_in_a_fork(
    store: Store, subprocess_env: dict[str, str]
) -> None:
    seen: list[str] = []
    rec = Recorder(store, on_warning=seen.append)
    first = rec.current
    assert first is not None
    rec.record("prompt", "before")
    assert rec.flush()
    run_child(f"from zero_session import Store\nStore.open().end({first!r})", subprocess_env)
    rec.record("prompt", "after one")
    rec.record("prompt", "after two")
    assert rec.flush()
    fork = rec.current
    assert fork is not None and fork != first
    assert store.get(fork).parent_ulid == first
    assert _texts(store, fork) == ["before", "after one", "after two"]
    assert store.get(first).status is Status.ENDED
    assert [w for w in seen if "ended by another process" in w] == [seen[-1]]
    assert fork in seen[-1] and first in seen[-1]
    rec.close()
    assert rec.sessions == (first, fork)
    assert store.get(fork).status is Status.ENDED


def test_session_deleted_by_another_process_continues_in_a_new_session(
    store: Store, subprocess_env: dict[str, str]
) -> None:
    seen: list[str] = []
    rec = Recorder(store, on_warning=seen.append)
    first = rec.current
    assert first is not None
    rec.record("prompt", "gone with its session")
    assert rec.flush()
    run_child(
        f"from zero_session import Store\ns = Store.open()\ns.end({first!r})\ns.delete({first!r})",
        subprocess_env,
    )
    rec.record("prompt", "kept")
    assert rec.flush()
    assert rec.current not in (None, first)
    assert _texts(store, rec.current) == ["kept"]  # type: ignore[arg-type]
    with pytest.raises(SessionNotFound):
        store.get(first)
    assert "deleted by another process" in seen[-1]
    rec.close()


def test_record_never_waits_for_a_held_write_lock(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    # a busy timeout far longer than the test: a record() that waited for it would hang
    store = open_store(busy_timeout_ms=600_000)
    rec = Recorder(store, retry_interval_s=0.05)
    ulid = rec.current
    assert ulid is not None
    with write_lock_held(db_path) as holder:
        done = threading.Event()

        def ui() -> None:
            for i in range(200):
                rec.record("prompt", f"typed {i}")
            done.set()

        threading.Thread(target=ui, daemon=True).start()
        assert done.wait(timeout=10), "record() blocked while another process held the lock"
        assert not rec.flush(timeout=0.2)  # still held: nothing can be written
        assert rec.pending == 200
        holder.release()
        assert rec.flush(timeout=30)
    assert _texts(store, ulid) == [f"typed {i}" for i in range(200)]
    rec.close()


def test_overflow_drops_new_events_and_says_so_once(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    store = open_store(busy_timeout_ms=50)
    seen: list[str] = []
    rec = Recorder(store, backlog_limit=3, retry_interval_s=0.05, on_warning=seen.append)
    ulid = rec.current
    assert ulid is not None
    with write_lock_held(db_path) as holder:
        kept = [rec.record("prompt", f"{i}") for i in range(6)]
        assert kept == [True, True, True, False, False, False]
        assert rec.dropped == 3
        assert sum("queue full" in w for w in seen) == 1
        wait_for(lambda: isinstance(rec.last_error, StoreLocked))
        holder.release()
        assert rec.flush()
    assert _texts(store, ulid) == ["0", "1", "2"]
    assert "except 3 that did not fit" in seen[-1]
    rec.record("prompt", "room again")
    assert rec.flush()
    assert _texts(store, ulid)[-1] == "room again"
    rec.close()


def test_close_flushes_what_was_queued(store: Store, db_path: Path) -> None:
    rec = Recorder(store)
    ulid = rec.current
    assert ulid is not None
    for i in range(50):
        rec.record("system", f"{i}")
    rec.close()
    with Store.open(db_path) as fresh:
        assert _texts(fresh, ulid) == [f"{i}" for i in range(50)]
        assert fresh.get(ulid).status is Status.ENDED


def test_start_in_background_returns_while_the_lock_is_held(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    store = open_store(busy_timeout_ms=600_000)
    earlier = store.start()
    store.end(earlier)
    with write_lock_held(db_path) as holder:
        rec = Recorder(store, resume=earlier.ulid, start_in_background=True)
        assert rec.current is None
        assert rec.record("prompt", "typed while locked")
        holder.release()
        assert rec.flush()
    assert rec.current == earlier.ulid
    assert rec.resumed is not None and rec.resumed.previous_status is Status.ENDED
    assert _texts(store, earlier.ulid) == ["typed while locked"]
    rec.close()


def test_background_resume_that_fails_starts_a_new_session(store: Store) -> None:
    seen: list[str] = []
    rec = Recorder(store, resume="no-such-label", start_in_background=True, on_warning=seen.append)
    rec.record("prompt", "not lost")
    assert rec.flush()
    assert rec.current is not None
    assert _texts(store, rec.current) == ["not lost"]
    assert any("could not resume no-such-label" in w for w in seen)
    rec.close()
