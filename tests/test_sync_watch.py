"""Watch and concurrency against a real server: two watchers of one file, a watcher that
outlives a server crash, appends that never wait for the network."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from clirunner import SCRIPT, cli_env
from pg_server import FreezableProxy, dbname_of

from zero_session import Store, SyncError, sync

pytestmark = pytest.mark.postgres


def wait_for(condition: Any, timeout_s: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout_s} s")
        time.sleep(0.05)


def server_events(pg_server: Any, dsn: str) -> list[tuple[Any, ...]]:
    db = dbname_of(dsn)
    if not pg_server.execute("SELECT to_regclass('zero_session.events') IS NOT NULL", dbname=db)[0][
        0
    ]:
        return []
    return pg_server.execute(
        "SELECT ulid, seq, text FROM zero_session.events ORDER BY ulid, seq", dbname=db
    )


def local_events(store: Store) -> list[tuple[Any, ...]]:
    return sorted(
        (s.ulid, e.seq, e.text)
        for s in store.list_sessions(limit=None)
        for e in store.events(s.ulid, limit=None)
    )


def test_two_watchers_of_one_store(tmp_path: Path, pg_server: Any, pg_dsn: str) -> None:
    db_file = tmp_path / "s.db"
    env = cli_env(db_file, ZERO_SESSION_PG=pg_dsn)
    with Store.open(db_file) as store:
        ulids = [store.start().ulid for _ in range(3)]
        watchers = [
            subprocess.Popen(
                [str(SCRIPT), "sync", "watch", "--interval", "0.05", "--quiet"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            for round_ in range(20):
                for ulid in ulids:
                    store.append_many(ulid, [("prompt", f"r{round_} {i}") for i in range(25)])
                time.sleep(0.01)  # spread the writes over several watch ticks
            child = store.fork(ulids[0])
            store.append_many(child.ulid, [("prompt", "child")] * 10)
            expected = local_events(store)
            wait_for(lambda: server_events(pg_server, pg_dsn) == expected, what="convergence")
        finally:
            for w in watchers:
                w.send_signal(signal.SIGINT)
            outputs = [w.communicate(timeout=30) for w in watchers]
        assert [w.returncode for w in watchers] == [0, 0], outputs
        assert all("diverged" not in out + err for out, err in outputs)
        assert sync.status(store, pg_dsn).diverged == ()
        assert len(expected) == 3 * 20 * 25 + 10


def test_watch_outlives_a_server_crash(store: Store, pg_server: Any, pg_dsn: str) -> None:
    ulid = store.start().ulid
    stop = threading.Event()
    errors: list[SyncError] = []
    watcher = threading.Thread(
        target=sync.watch,
        args=(store, pg_dsn),
        kwargs={"interval": 0.05, "stop": stop, "on_error": errors.append, "io_timeout_s": 5},
    )
    watcher.start()
    try:
        store.append(ulid, "prompt", "before")
        wait_for(lambda: len(server_events(pg_server, pg_dsn)) == 1, what="first push")
        pg_server.kill()
        try:
            store.append(ulid, "prompt", "while down")  # appends never wait for the server
            wait_for(lambda: errors, what="an error reported")
        finally:
            pg_server.start()
        store.append(ulid, "prompt", "after")
        wait_for(lambda: len(server_events(pg_server, pg_dsn)) == 3, what="catch-up")
    finally:
        stop.set()
        watcher.join(30)
    assert not watcher.is_alive()
    assert all(e.kind == "unreachable" for e in errors)
    assert [t for _, _, t in server_events(pg_server, pg_dsn)] == ["before", "while down", "after"]


def test_appends_never_wait_for_the_network(store: Store, pg_server: Any, pg_dsn: str) -> None:
    """While a push is stuck on a frozen link, appends on the same Store go on: the
    store's mutex is never held across network I/O."""
    from zero_session.sync import _push

    ulid = store.start().ulid
    store.append_many(ulid, [("prompt", f"e{i}") for i in range(6_000)])
    proxy = FreezableProxy(pg_server.port)
    frozen = threading.Event()

    def freeze(done: int, total: int) -> None:
        if done:
            proxy.freeze()
            frozen.set()

    failures: list[BaseException] = []

    def push() -> None:
        try:
            sync.push(
                store,
                pg_server.dsn(dbname_of(pg_dsn), port=proxy.port),
                progress=freeze,
                io_timeout_s=20,
            )
        except SyncError as exc:
            failures.append(exc)

    original = _push.BATCH_ROWS
    _push.BATCH_ROWS = 2_000
    pusher = threading.Thread(target=push)
    pusher.start()
    try:
        wait_for(frozen.is_set, what="the link frozen mid-push")
        started = time.monotonic()
        for i in range(20):
            store.append(ulid, "prompt", f"during {i}")
        assert time.monotonic() - started < 10  # not the 20 s the push is stuck for
        assert pusher.is_alive()  # the push is still waiting on the frozen link
    finally:
        _push.BATCH_ROWS = original
        proxy.close()
        pusher.join(60)
    assert failures and failures[0].kind == "unreachable"  # type: ignore[attr-defined]
    sync.push(store, pg_dsn)
    assert len(server_events(pg_server, pg_dsn)) == 6_020
