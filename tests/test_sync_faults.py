"""Faults against a real server: each ends in a SyncError within a bound, never a hang,
and the next push converges exactly."""

from __future__ import annotations

import pickle
import socket
import threading
import time
from typing import Any

import pytest
from pg_server import FreezableProxy, dbname_of, free_port

from zero_session import SchemaTooNew, Store, SyncError, sync

pytestmark = pytest.mark.postgres


def fill(store: Store, n_events: int) -> str:
    session = store.start()
    chunk = [("prompt", f"event {i}", {"i": i}) for i in range(10_000)]
    for start in range(0, n_events, 10_000):
        store.append_many(session.ulid, chunk[: min(10_000, n_events - start)])
    return session.ulid


def server_count(pg_server: Any, dsn: str) -> tuple[int, int, int]:
    """(rows, distinct seqs, max seq) of the server's events."""
    row = pg_server.execute(
        "SELECT count(*), count(DISTINCT seq), coalesce(max(seq), 0) FROM zero_session.events",
        dbname=dbname_of(dsn),
    )[0]
    return int(row[0]), int(row[1]), int(row[2])


def test_unreachable_port_fails_fast(store: Store, pg_server: Any) -> None:
    dsn = pg_server.dsn("postgres", port=free_port())
    started = time.monotonic()
    with pytest.raises(SyncError) as caught:
        sync.push(store, dsn)
    assert caught.value.kind == "unreachable"
    assert time.monotonic() - started < 10
    assert "cannot connect" in str(caught.value)


def test_a_server_that_never_answers_is_bounded_by_the_connect_timeout(
    store: Store, pg_server: Any
) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts the TCP connection, never says a word
    try:
        dsn = pg_server.dsn("postgres", port=silent.getsockname()[1])
        started = time.monotonic()
        with pytest.raises(SyncError) as caught:
            sync.push(store, dsn, connect_timeout_s=2)
        assert caught.value.kind == "unreachable"
        assert time.monotonic() - started < 8
    finally:
        silent.close()


def test_wrong_password_names_user_and_host(store: Store, pg_server: Any) -> None:
    secret = "Wrong-Secret-4242"
    dsn = pg_server.dsn("postgres", password=secret)
    with pytest.raises(SyncError) as caught:
        sync.push(store, dsn)
    error = caught.value
    assert error.kind == "rejected"
    assert "zs_super" in str(error) and "127.0.0.1" in str(error)
    assert secret not in str(error) and secret not in repr(error)
    revived = pickle.loads(pickle.dumps(error))
    assert (type(revived), str(revived), revived.kind) == (SyncError, str(error), "rejected")


def test_server_killed_mid_push_then_converges(store: Store, pg_server: Any, pg_dsn: str) -> None:
    """100k+ events; the server dies (pg_ctl -m immediate) after the first batches."""
    n_events = 120_000
    ulid = fill(store, n_events)
    killed = threading.Event()

    def kill_after_some(done: int, total: int) -> None:
        if done >= 30_000 and not killed.is_set():
            killed.set()
            pg_server.kill()

    started = time.monotonic()
    try:
        with pytest.raises(SyncError) as caught:
            sync.push(store, pg_dsn, progress=kill_after_some)
    finally:
        pg_server.start()
    assert killed.is_set()
    assert caught.value.kind == "unreachable"
    assert time.monotonic() - started < 60
    rows, _, _ = server_count(pg_server, pg_dsn)
    assert 0 < rows < n_events
    report = sync.push(store, pg_dsn)
    assert report.events == n_events - rows
    assert server_count(pg_server, pg_dsn) == (n_events, n_events, n_events)
    assert sync.status(store, pg_dsn).pending_events == 0
    last = pg_server.execute(
        "SELECT text, data_text FROM zero_session.events WHERE ulid = %s AND seq = %s",
        (ulid, n_events),
        dbname=dbname_of(pg_dsn),
    )
    assert last == [(f"event {(n_events - 1) % 10_000}", f'{{"i":{(n_events - 1) % 10_000}}}')]


def test_frozen_link_is_bounded_then_converges(
    store: Store, pg_server: Any, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zero_session.sync import _push

    monkeypatch.setattr(_push, "BATCH_ROWS", 2_000)
    fill(store, 10_000)
    proxy = FreezableProxy(pg_server.port)
    proxied = pg_server.dsn(dbname_of(pg_dsn), port=proxy.port)

    def freeze_after_first_batch(done: int, total: int) -> None:
        if done > 0:
            proxy.freeze()

    started = time.monotonic()
    try:
        with pytest.raises(SyncError) as caught:
            sync.push(store, proxied, progress=freeze_after_first_batch, io_timeout_s=2)
        assert caught.value.kind == "unreachable"
        assert "no answer within 2 s" in str(caught.value)
        assert time.monotonic() - started < 15
    finally:
        proxy.close()  # the frozen link finally dies: the server ends its transaction
    sync.push(store, pg_dsn)
    assert server_count(pg_server, pg_dsn) == (10_000, 10_000, 10_000)


def test_a_newer_server_schema_is_refused(store: Store, pg_server: Any, pg_dsn: str) -> None:
    sync.init(pg_dsn)
    pg_server.execute(
        "INSERT INTO zero_session.schema_migrations (version, name) VALUES (999, 'future')",
        dbname=dbname_of(pg_dsn),
    )
    for call in (lambda: sync.push(store, pg_dsn), lambda: sync.status(store, pg_dsn)):
        with pytest.raises(SchemaTooNew) as caught:
            call()
        assert isinstance(caught.value, SyncError) and caught.value.kind == "schema"
        assert "999" in str(caught.value)
        revived = pickle.loads(pickle.dumps(caught.value))
        assert type(revived) is type(caught.value) and revived.kind == "schema"


def test_two_first_pushes_create_the_schema_once(
    tmp_path: Any, open_store: Any, pg_server: Any, pg_dsn: str
) -> None:
    stores = [open_store(tmp_path / f"{i}.db") for i in range(4)]
    for s in stores:
        s.append(s.start().ulid, "prompt", "hello")
    errors: list[BaseException] = []

    def run(s: Store) -> None:
        try:
            sync.push(s, pg_dsn)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    versions = pg_server.execute(
        "SELECT version FROM zero_session.schema_migrations", dbname=dbname_of(pg_dsn)
    )
    assert len(versions) == len({v for (v,) in versions}) >= 1
    assert server_count(pg_server, pg_dsn)[0] == 4


def test_status_on_a_frozen_link_is_bounded(
    store: Store, pg_server: Any, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    sync.push(store, pg_dsn)  # the schema exists
    proxy = FreezableProxy(pg_server.port)
    connect = psycopg.connect

    def connect_then_freeze(*args: Any, **kwargs: Any) -> Any:
        """Log in while the link works; it freezes before the first query is answered."""
        conn = connect(*args, **kwargs)
        proxy.freeze()
        return conn

    monkeypatch.setattr(psycopg, "connect", connect_then_freeze)
    try:
        started = time.monotonic()
        with pytest.raises(SyncError) as caught:
            sync.status(store, pg_server.dsn(dbname_of(pg_dsn), port=proxy.port), io_timeout_s=2)
        assert caught.value.kind == "unreachable"
        assert time.monotonic() - started < 15
    finally:
        proxy.close()
