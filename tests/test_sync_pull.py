"""Pull and resume anywhere, against a real PostgreSQL server (tests/pg_server.py).

Two stores A and B on one server: A pushes a fork tree, B pulls, reads, is refused when
it appends to what it pulled, continues in a local fork, pushes that back; faults (the
server killed mid-pull, a frozen link) leave B's file as it was.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apsw
import pytest
from ulidtools import unique_prefix

from zero_session import (
    AmbiguousSession,
    ForeignSession,
    SessionNotFound,
    Store,
    SyncError,
    sync,
)
from zero_session._sync_source import store_id as made_store_id
from zero_session.models import Session


def store_id(store: Store) -> str:
    """The store's id, made on first use as push and pull make it."""
    found = made_store_id(store, create=True)
    assert found is not None
    return found


pytestmark = pytest.mark.postgres


def snapshot(path: Path) -> Any:
    """Everything in a store file's tables, read on a connection of its own."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("sessions", "events", "milestones")
        }
    finally:
        conn.close()


@pytest.fixture
def stores(tmp_path: Path, open_store: Callable[..., Store]) -> Callable[[str], Store]:
    """Stores on files of their own, by name: ``stores("a")``."""
    made: dict[str, Store] = {}

    def get(name: str) -> Store:
        if name not in made:
            made[name] = open_store(tmp_path / f"{name}.db")
        return made[name]

    return get


def _prefix(store: Store, session: Session) -> str:
    """The shortest prefix that names ``session`` among the store's sessions."""
    others = (s.ulid for s in store.list_sessions() if s.ulid != session.ulid)
    return unique_prefix(session.ulid, *others)


def tree(a: Store) -> tuple[Session, Session, Session]:
    """A three-level fork tree: root → child (forked mid-way) → grandchild, labelled."""
    root = a.start(cli_version="1.0", meta={"agent": "a1", "z": [1, 2]})
    a.append_many(root, [("prompt", "buy 10", {"qty": 10, "b": 1, "a": 2}), ("system", "ok")])
    a.append(root, "warn", "after the fork point")
    child = a.fork(root, at_seq=2)
    a.append(child, "prompt", "sell 5", data=[1, "x", None, {"y": 1.5}])
    a.append(child, "system", "nul \x00 in text", data={"k": "nul \x00 in data"})
    grandchild = a.fork(child)
    a.append_many(grandchild, [("alert", "margin"), ("mode_change", "paper")])
    a.label(grandchild, "pre-cpi")
    a.end(root)
    return root, child, a.get(grandchild)


def server_rows(pg_dsn: str, sql: str, *params: Any) -> list[Any]:
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def test_pull_by_ulid_prefix_and_label_replays_exactly(
    stores: Callable[[str], Store], pg_dsn: str
) -> None:
    a = stores("a")
    root, child, grandchild = tree(a)
    sync.push(a, pg_dsn)
    expected = list(a.replay(grandchild.ulid))
    for name, ref in (
        ("by-ulid", grandchild.ulid),
        (
            "by-prefix",
            _prefix(a, grandchild).lower(),
        ),
        ("by-label", "pre-cpi"),
    ):
        b = stores(name)
        got = sync.pull(b, ref, pg_dsn)
        assert got.ulid == grandchild.ulid
        assert list(b.replay(grandchild.ulid)) == expected
        assert got.origin == store_id(a)
        assert got.origin_labels == ("pre-cpi",) and got.labels == ()
        assert b.get(root.ulid).ended_at_ms == a.get(root).ended_at_ms
        assert b.get(child.ulid).origin == store_id(a)


def test_pulled_session_is_read_only_and_resume_forks_and_pushes_back(
    stores: Callable[[str], Store], pg_dsn: str, tmp_path: Path
) -> None:
    a, b = stores("a"), stores("b")
    _, _, grandchild = tree(a)
    sync.push(a, pg_dsn)
    sync.pull(b, grandchild.ulid, pg_dsn)
    assert b.check().ok
    # Nothing of B's own yet: nothing pending, and a push sends nothing back as B's.
    assert (sync.status(b, pg_dsn).pending_sessions, sync.status(b, pg_dsn).pending_events) == (
        0,
        0,
    )
    nothing = sync.push(b, pg_dsn)
    assert (nothing.sessions, nothing.events, nothing.diverged) == (0, 0, ())
    before = snapshot(tmp_path / "b.db")
    with pytest.raises(ForeignSession) as refused:
        b.append(grandchild.ulid, "prompt", "mine?")
    assert refused.value.origin == store_id(a)
    with pytest.raises(ForeignSession):
        b.end(grandchild.ulid)
    assert snapshot(tmp_path / "b.db") == before

    resumed = b.resume(grandchild.ulid)
    fork = resumed.session
    assert fork.parent_ulid == grandchild.ulid and fork.fork_seq == grandchild.last_seq
    assert any("belongs to store" in w for w in resumed.warnings)
    b.append_many(fork, [("prompt", "continued on B"), ("system", "done")])
    sync.push(b, pg_dsn)

    # On the server: B's fork hangs under A's session; A's sessions are still A's alone.
    rows = server_rows(
        pg_dsn,
        "SELECT ulid, origin, parent_ulid, fork_seq, last_seq FROM zero_session.sessions "
        "ORDER BY ulid",
    )
    by_ulid = {r[0]: r for r in rows}
    assert by_ulid[fork.ulid][1:] == (
        store_id(b),
        grandchild.ulid,
        grandchild.last_seq,
        grandchild.last_seq + 2,
    )
    assert {r[1] for u, *_ in rows for r in [by_ulid[u]] if u != fork.ulid} == {store_id(a)}
    events = server_rows(
        pg_dsn, "SELECT seq, text FROM zero_session.events WHERE ulid = %s ORDER BY seq", fork.ulid
    )
    assert [seq for seq, _ in events] == [grandchild.last_seq + 1, grandchild.last_seq + 2]

    # And A can pull the continuation: it reads the whole timeline B wrote.
    sync.pull(a, fork.ulid, pg_dsn)
    assert list(a.replay(fork.ulid)) == list(b.replay(fork.ulid))
    assert a.get(fork.ulid).origin == store_id(b)


def test_pull_again_brings_exactly_the_new_events(
    stores: Callable[[str], Store], pg_dsn: str, tmp_path: Path
) -> None:
    a, b = stores("a"), stores("b")
    live = a.start()
    a.append_many(live, [("prompt", f"event {i}") for i in range(5)])
    sync.push(a, pg_dsn)
    sync.pull(b, live.ulid, pg_dsn)
    a.append_many(live, [("system", "six"), ("system", "seven", {"n": 7})])
    a.label(live, "later")
    a.end(live)
    sync.push(a, pg_dsn)
    before = snapshot(tmp_path / "b.db")["events"]
    got = sync.pull(b, live.ulid, pg_dsn)
    after = snapshot(tmp_path / "b.db")["events"]
    assert after[: len(before)] == before
    assert [row[1] for row in after[len(before) :]] == [6, 7]
    assert list(b.replay(live.ulid)) == list(a.replay(live.ulid))
    assert got.origin_labels == ("later",) and got.ended_at_ms == a.get(live).ended_at_ms
    unchanged = snapshot(tmp_path / "b.db")
    sync.pull(b, live.ulid, pg_dsn)  # nothing new: nothing written
    assert snapshot(tmp_path / "b.db") == unchanged


def test_a_label_of_two_stores_is_ambiguous_and_unknown_refs_are_not_found(
    stores: Callable[[str], Store], pg_dsn: str
) -> None:
    a, b, c = stores("a"), stores("b"), stores("c")
    with pytest.raises(SessionNotFound, match="nothing was ever pushed"):
        sync.pull(c, "anything", pg_dsn)  # an empty server: no schema made by a pull
    assert server_rows(pg_dsn, "SELECT to_regnamespace('zero_session')") == [(None,)]
    mine_a, mine_b = a.start(), b.start()
    a.label(mine_a, "shared")
    b.label(mine_b, "shared")
    sync.push(a, pg_dsn)
    sync.push(b, pg_dsn)
    with pytest.raises(AmbiguousSession) as caught:
        sync.pull(c, "shared", pg_dsn)
    text = str(caught.value)
    for session, store in ((mine_a, a), (mine_b, b)):
        assert session.ulid in text and store_id(store) in text
    with pytest.raises(SessionNotFound):
        sync.pull(c, "no-such-label", pg_dsn)
    with pytest.raises(SessionNotFound):
        sync.pull(c, "0" * 26, pg_dsn)
    with pytest.raises(SessionNotFound):
        sync.pull(c, mine_a.ulid[:4], pg_dsn)  # too short for a prefix
    assert c.list_sessions() == []


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _pull_in_thread(
    b: Store, ref: str, dsn: str, **options: Any
) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def work() -> None:
        started = time.monotonic()
        try:
            outcome.append(sync.pull(b, ref, dsn, **options))
        except Exception as exc:  # the test inspects it
            outcome.append(exc)
        outcome.append(time.monotonic() - started)

    thread = threading.Thread(target=work)
    thread.start()
    return thread, outcome


def _pull_is_waiting(pg_server: Any, dbname: str) -> bool:
    rows = pg_server.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
        "AND application_name = 'zero-session sync' AND wait_event_type = 'Lock'",
        (dbname,),
    )
    return bool(rows[0][0])


def test_server_killed_mid_pull_leaves_nothing_then_the_next_pull_completes(
    stores: Callable[[str], Store], pg_server: Any, pg_dsn: str, tmp_path: Path
) -> None:
    a, b = stores("a"), stores("b")
    _, _, grandchild = tree(a)
    sync.push(a, pg_dsn)
    b.start()  # B has a file with something of its own
    before = snapshot(tmp_path / "b.db")
    dbname = pg_dsn.split("dbname=")[1].split()[0]
    import psycopg

    holder = psycopg.connect(pg_dsn)
    holder.execute("LOCK TABLE zero_session.events IN ACCESS EXCLUSIVE MODE")
    thread, outcome = _pull_in_thread(b, grandchild.ulid, pg_dsn)
    try:
        _wait_for(lambda: _pull_is_waiting(pg_server, dbname), "the pull to wait mid-way")
        pg_server.kill()
        thread.join(60)
    finally:
        with contextlib.suppress(psycopg.Error):
            holder.close()
        pg_server.start()
    assert not thread.is_alive()
    assert isinstance(outcome[0], SyncError), outcome
    assert outcome[0].kind == "unreachable"
    assert snapshot(tmp_path / "b.db") == before
    sync.pull(b, grandchild.ulid, pg_dsn)
    assert list(b.replay(grandchild.ulid)) == list(a.replay(grandchild.ulid))


def test_a_frozen_link_mid_pull_ends_in_bounded_time_with_nothing_written(
    stores: Callable[[str], Store], pg_server: Any, pg_dsn: str, tmp_path: Path
) -> None:
    from pg_server import FreezableProxy

    a, b = stores("a"), stores("b")
    _, _, grandchild = tree(a)
    sync.push(a, pg_dsn)
    before = snapshot(tmp_path / "b.db")
    proxy = FreezableProxy(pg_server.port)
    via_proxy = pg_dsn.replace(f"port={pg_server.port}", f"port={proxy.port}")
    dbname = pg_dsn.split("dbname=")[1].split()[0]
    import psycopg

    holder = psycopg.connect(pg_dsn)
    holder.execute("LOCK TABLE zero_session.events IN ACCESS EXCLUSIVE MODE")
    try:
        thread, outcome = _pull_in_thread(b, grandchild.ulid, via_proxy, io_timeout_s=5.0)
        _wait_for(lambda: _pull_is_waiting(pg_server, dbname), "the pull to wait mid-way")
        proxy.freeze()
        holder.rollback()  # the server answers now, into the frozen link
        thread.join(30)
    finally:
        holder.close()
        proxy.close()
    assert not thread.is_alive()
    assert isinstance(outcome[0], SyncError) and outcome[0].kind == "unreachable", outcome
    assert outcome[1] < 15  # the 5 s bound on a server round trip, plus start-up
    assert snapshot(tmp_path / "b.db") == before
    sync.pull(b, grandchild.ulid, pg_dsn)
    assert list(b.replay(grandchild.ulid)) == list(a.replay(grandchild.ulid))


def test_pull_documents_are_json(stores: Callable[[str], Store], pg_dsn: str) -> None:
    a = stores("a")
    _, _, grandchild = tree(a)
    sync.push(a, pg_dsn)
    listed = sync.list_sessions(pg_dsn, limit=2)
    assert [s.ulid for s in listed] == [grandchild.ulid, a.get(grandchild.parent_ulid or "").ulid]
    only_a = sync.list_sessions(pg_dsn, store=store_id(a), limit=None)
    assert len(only_a) == 3 and all(s.origin == store_id(a) for s in only_a)
    assert json.loads(json.dumps([s.ulid for s in only_a]))


# ------------------------------------------------------------------ CLI and shell


def _cli(db: Path, pg_dsn: str, *args: str, input: str | None = None) -> Any:
    from clirunner import cli_env, run

    return run(db, *args, input=input, env=cli_env(db, ZERO_SESSION_PG=pg_dsn))


def _no_password(pg_server: Any, *results: Any) -> None:
    for result in results:
        assert pg_server.password not in result.out + result.err


def test_cli_sync_pull_and_list(
    stores: Callable[[str], Store], pg_server: Any, pg_dsn: str, tmp_path: Path
) -> None:
    from clirunner import assert_user_error

    a = stores("a")
    _, child, grandchild = tree(a)
    sync.push(a, pg_dsn)
    db = tmp_path / "new" / "b.db"
    db.parent.mkdir()
    pulled = _cli(db, pg_dsn, "sync", "pull", "pre-cpi", "--json")
    assert pulled.code == 0, pulled
    doc = pulled.json()
    assert doc["ulid"] == grandchild.ulid and doc["origin"] == store_id(a)
    assert doc["origin_labels"] == ["pre-cpi"] and doc["last_seq"] == grandchild.last_seq
    again = _cli(
        db,
        pg_dsn,
        "sync",
        "pull",
        _prefix(a, grandchild),
    )
    assert again.code == 0 and f"pulled {grandchild.ulid} (pre-cpi) of store" in again.out
    assert "zero-session shell --resume" in again.err
    with Store.open(db, readonly=True) as b:
        assert list(b.replay(grandchild.ulid)) == list(a.replay(grandchild.ulid))
    shown = _cli(db, pg_dsn, "list")
    assert shown.code == 0 and "ORIGIN" in shown.out and store_id(a) in shown.out

    listed = _cli(db, pg_dsn, "sync", "list", "--json", "--limit", "2")
    assert [d["ulid"] for d in listed.json()] == [grandchild.ulid, child.ulid]
    assert all(d["origin"] == store_id(a) for d in listed.json())
    table = _cli(db, pg_dsn, "sync", "list", "--store", store_id(a).lower())
    assert table.code == 0 and grandchild.ulid in table.out and "pre-cpi" in table.out
    none = _cli(db, pg_dsn, "sync", "list", "--store", "0" * 26, "--json")
    assert none.code == 0 and none.json() == []
    bad_store = _cli(db, pg_dsn, "sync", "list", "--store", "nope")
    assert bad_store.code == 2

    missing = _cli(db, pg_dsn, "sync", "pull", "no-such-session")
    assert_user_error(missing, "no-such-session")
    ambiguous_prefix = _cli(db, pg_dsn, "sync", "pull", "0" * 26)
    assert_user_error(ambiguous_prefix)
    _no_password(pg_server, pulled, again, shown, listed, table, missing, ambiguous_prefix)


def test_cli_sync_pull_when_the_server_is_down_is_one_line(
    stores: Callable[[str], Store], pg_server: Any, tmp_path: Path
) -> None:
    from clirunner import assert_user_error
    from pg_server import free_port

    dsn = pg_server.dsn("postgres").replace(f"port={pg_server.port}", f"port={free_port()}")
    result = _cli(tmp_path / "b.db", dsn, "sync", "pull", "anything")
    assert_user_error(result, "cannot connect")
    _no_password(pg_server, result)


def test_shell_resume_pulls_and_slash_pull(
    stores: Callable[[str], Store], pg_server: Any, pg_dsn: str, tmp_path: Path
) -> None:
    a = stores("a")
    _, _, grandchild = tree(a)
    other = a.start()
    a.append(other, "prompt", "another one")
    sync.push(a, pg_dsn)
    db = tmp_path / "b.db"
    shell = _cli(
        db, pg_dsn, "shell", "--resume", "pre-cpi", input=f"typed on B\n/pull {other.ulid}\n"
    )
    assert shell.code == 0, shell
    assert "belongs to store" in shell.out
    assert f"pulled {other.ulid}" in shell.out
    _no_password(pg_server, shell)
    with Store.open(db, readonly=True) as b:
        forks = [s for s in b.list_sessions(None) if s.parent_ulid == grandchild.ulid]
        assert len(forks) == 1 and forks[0].origin is None
        timeline = list(b.replay(forks[0].ulid))
        assert timeline[: grandchild.last_seq] == list(a.replay(grandchild.ulid))
        assert timeline[grandchild.last_seq].text == "typed on B"
        assert b.get(other.ulid).origin == store_id(a)
        assert b.get(grandchild.ulid).last_seq == grandchild.last_seq  # never written


def test_shell_in_a_terminal_resumes_a_session_from_the_server(
    stores: Callable[[str], Store], pg_server: Any, pg_dsn: str, tmp_path: Path
) -> None:
    import pexpect
    from clirunner import SCRIPT, cli_env

    a = stores("a")
    _, _, grandchild = tree(a)
    other = a.start()
    sync.push(a, pg_dsn)
    db = tmp_path / "b.db"
    env = cli_env(db, ZERO_SESSION_PG=pg_dsn, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(
        str(SCRIPT),
        [
            "shell",
            "--resume",
            _prefix(a, grandchild),
        ],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    seen = io.StringIO()
    child.logfile_read = seen
    try:
        child.expect("belongs to store")
        child.expect("zs>")
        child.sendline(f"/pull {other.ulid}")
        child.expect(f"pulled {other.ulid}")
        child.expect("zs>")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "pulled" in seen.getvalue() and pg_server.password not in seen.getvalue()
    with Store.open(db, readonly=True) as b:
        assert b.get(other.ulid).origin == store_id(a)
        forks = [s for s in b.list_sessions(None) if s.parent_ulid == grandchild.ulid]
        assert len(forks) == 1 and forks[0].ended_at_ms is not None


def test_the_least_privilege_writer_role_pulls(
    stores: Callable[[str], Store], pg_server: Any
) -> None:
    from test_sync_security import set_up_roles

    _, _, writer_dsn = set_up_roles(pg_server)
    a, b = stores("a"), stores("b")
    _, _, grandchild = tree(a)
    sync.push(a, writer_dsn)
    sync.pull(b, "pre-cpi", writer_dsn)
    assert list(b.replay(grandchild.ulid)) == list(a.replay(grandchild.ulid))
    fork = b.resume(grandchild.ulid).session
    b.append(fork, "prompt", "from B")
    assert sync.push(b, writer_dsn).events == 1


PULL_CHILD = """
import sys
from zero_session import Store, sync
with Store.open(sys.argv[1]) as store:
    print(sync.pull(store, sys.argv[2], sys.argv[3]).last_seq)
"""


def test_two_processes_pulling_one_session_into_one_file_both_succeed(
    stores: Callable[[str], Store], pg_dsn: str, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    import subprocess
    import sys

    a = stores("a")
    big = a.start()
    for start in range(0, 20_000, 2_000):
        a.append_many(big, [("system", f"event {i}") for i in range(start, start + 2_000)])
    child = a.fork(big)
    a.append(child, "prompt", "last")
    sync.push(a, pg_dsn)
    target = tmp_path / "b.db"
    Store.open(target).close()
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", PULL_CHILD, str(target), child.ulid, pg_dsn],
            env=subprocess_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert out.split() == ["20001"]
    with Store.open(target, readonly=True) as b:
        assert list(b.replay(child.ulid)) == list(a.replay(child.ulid))
        assert b.check().ok
