"""Full-text search: results, order, snippets, scoping, lazy indexing across processes."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest
from children import run_child
from clocks import ManualClock

from zero_session import InvalidInput, SearchHit, SessionNotFound, Store, _search


@pytest.fixture
def sstore(open_store: Callable[..., Store]) -> Store:
    return open_store(clock=ManualClock(1_767_225_600_000, step_ms=1000))


def pending_rows(db_path: Path) -> list[tuple[int, int]]:
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return [tuple(r) for r in conn.execute("SELECT * FROM event_search_pending ORDER BY 1")]
    finally:
        conn.close()


def test_search_returns_hits_newest_first_with_snippets(sstore: Store) -> None:
    a = sstore.start()
    b = sstore.start()
    first = sstore.append(a, "prompt", "buy 10 ACME before the margin call")
    sstore.append(b, "system", "nothing to see")
    second = sstore.append(b, "alert", "margin at 80%")
    third = sstore.append(a, "warn", "Margin call!")

    hits = sstore.search("margin")

    assert [(h.session, h.seq) for h in hits] == [
        (a.ulid, third.seq),
        (b.ulid, second.seq),
        (a.ulid, first.seq),
    ]
    assert hits[0] == SearchHit(a.ulid, 2, third.at_ms, "warn", "[Margin] call!")
    assert hits[1].snippet == "[margin] at 80%"
    assert hits[2].kind == "prompt"
    assert hits[2].at_iso.endswith("Z")
    assert [h.seq for h in sstore.search("margin", limit=2)] == [third.seq, second.seq]
    assert sstore.search("margin call", marks=("<b>", "</b>"))[0].snippet == (
        "<b>Margin</b> <b>call</b>!"
    )
    assert sstore.search("absent") == []


def test_newest_first_holds_across_searches(sstore: Store) -> None:
    old = sstore.start()
    sstore.append(old, "prompt", "needle one")
    new = sstore.start()
    sstore.append(new, "prompt", "needle two")
    assert [h.session for h in sstore.search("needle")] == [new.ulid, old.ulid]
    sstore.append(old, "prompt", "needle three")  # an older session, a newer event
    assert [h.snippet for h in sstore.search("needle")] == [
        "[needle] three",
        "[needle] two",
        "[needle] one",
    ]


def test_search_within_a_session_timeline(sstore: Store) -> None:
    parent = sstore.start()
    sstore.append(parent, "prompt", "shared apple")
    fork = sstore.fork(parent)
    sstore.append(parent, "prompt", "parent apple after the fork")
    sstore.append(fork, "prompt", "fork apple")
    sibling = sstore.fork(parent, at_seq=1)
    sstore.append(sibling, "prompt", "sibling apple")

    in_fork = sstore.search("apple", session=fork)
    assert [(h.session, h.snippet) for h in in_fork] == [
        (fork.ulid, "fork [apple]"),
        (parent.ulid, "shared [apple]"),
    ]
    assert len(sstore.search("apple", session=parent)) == 2
    assert len(sstore.search("apple")) == 4
    with pytest.raises(SessionNotFound):
        sstore.search("apple", session="01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_bad_queries_are_invalid_input(sstore: Store) -> None:
    sstore.append(sstore.start(), "command", "/fork now")
    for query in ('"unterminated', "AND", "nosuchcolumn:word", "a NEAR(", "/fork"):
        with pytest.raises(InvalidInput):
            sstore.search(query)
    for query in ("", "   "):
        with pytest.raises(InvalidInput):
            sstore.search(query)
    with pytest.raises(TypeError):
        sstore.search(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        sstore.search("x", limit=0)
    assert [h.snippet for h in sstore.search("/fork", literal=True)] == ["/[fork] now"]
    assert len(sstore.search('"fork now"')) == 1


def test_search_finds_text_appended_by_another_process(
    sstore: Store, subprocess_env: dict[str, str], db_path: Path
) -> None:
    mine = sstore.start()
    sstore.append(mine, "prompt", "local kumquat")
    assert len(sstore.search("kumquat")) == 1  # the index is now caught up
    script = (
        "from zero_session import Store\n"
        "store = Store.open()\n"
        "s = store.start()\n"
        "store.append(s, 'prompt', 'remote kumquat from a child process')\n"
        "store.end(s)\n"
        "print(s.ulid)\n"
    )
    remote = run_child(script, subprocess_env)
    hits = sstore.search("kumquat")
    assert [h.session for h in hits] == [remote, mine.ulid]
    assert hits[0].snippet == "remote [kumquat] from a child process"
    # The ended remote session was fully indexed and left the pending list.
    assert [row[0] for row in pending_rows(db_path)] == [1]


def test_reopened_session_is_indexed_again(sstore: Store, db_path: Path) -> None:
    session = sstore.start()
    sstore.append(session, "prompt", "before the end")
    sstore.end(session)
    sstore.label(session, "again")
    assert len(sstore.search("end")) == 1
    assert pending_rows(db_path) == []
    sstore.resume("again")
    sstore.append(session, "prompt", "after the end")
    assert [h.seq for h in sstore.search("end")] == [2, 1]


def test_catch_up_in_bounded_steps(
    sstore: Store, monkeypatch: pytest.MonkeyPatch, db_path: Path
) -> None:
    monkeypatch.setattr(_search, "CATCH_UP_EVENTS", 4)
    sessions = [sstore.start() for _ in range(3)]
    for session in sessions:
        sstore.append_many(session, [("prompt", f"pear {i}") for i in range(5)])
    assert len(sstore.search("pear", limit=100)) == 15
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        rows = conn.execute("SELECT count(*), count(DISTINCT session_id) FROM event_search_rows")
        assert rows.fetchall() == [(15, 3)]
    finally:
        conn.close()


def test_forks_index_only_their_own_events(sstore: Store, db_path: Path) -> None:
    parent = sstore.start()
    sstore.append_many(parent, [("prompt", "plum one"), ("prompt", "plum two")])
    fork = sstore.fork(parent)
    sstore.append(fork, "prompt", "plum three")
    assert len(sstore.search("plum")) == 3
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        assert conn.execute("SELECT count(*) FROM event_search_rows").fetchall() == [(3,)]
    finally:
        conn.close()


def test_readonly_store_searches_what_is_indexed(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    writer = open_store()
    session = writer.start()
    writer.append(session, "prompt", "indexed fig")
    writer.search("fig")
    writer.append(session, "prompt", "unindexed fig")
    reader = open_store(readonly=True)
    assert [h.snippet for h in reader.search("fig")] == ["indexed [fig]"]
    assert len(writer.search("fig")) == 2


def test_invalid_utf8_typed_in_the_shell_reads_with_replacements(
    sstore: Store, db_path: Path
) -> None:
    session = sstore.start()
    sstore.append(session, "prompt", "ok")
    shell = (
        "UPDATE sessions SET last_seq = 2 WHERE id = 1;"
        "INSERT INTO events (session_id, seq, at_ms, kind, text) "
        "VALUES (1, 2, 0, 'prompt', CAST(X'67756176612080FF' AS TEXT));"
    )
    subprocess.run(["sqlite3", str(db_path), shell], check=True, timeout=30)
    hits = sstore.search("guava")
    assert len(hits) == 1
    assert hits[0].snippet.startswith("[guava] ")
    assert "\ufffd" in hits[0].snippet


def test_the_sqlite3_shell_reads_the_search_index(sstore: Store, db_path: Path) -> None:
    session = sstore.start()
    sstore.append(session, "alert", "durian season")
    sstore.search("durian")
    query = (
        "SELECT l.ulid, l.seq, l.kind, snippet(event_search, 0, '[', ']', '...', 8) "
        "FROM event_search JOIN event_search_log AS l ON l.search_id = event_search.rowid "
        "WHERE event_search MATCH 'durian' ORDER BY event_search.rowid DESC;"
    )
    out = subprocess.run(
        ["sqlite3", str(db_path), query], check=True, capture_output=True, text=True, timeout=30
    )
    assert out.stdout.strip() == f"{session.ulid}|1|alert|[durian] season"


def test_async_store_searches_summarises_and_deletes(db_path: Path) -> None:
    from zero_session import AsyncStore

    async def main() -> None:
        async with await AsyncStore.open(db_path) as astore:
            s = await astore.start()
            await astore.append(s, "command", "/quince now")
            hits = await astore.search("quince")
            assert [h.snippet for h in hits] == ["/[quince] now"]
            assert (await astore.summary(s)).top_commands == (("/quince", 1),)
            assert (await astore.delete(s)).n_events == 1

    asyncio.run(main())


def test_upgrading_a_version_1_file_indexes_its_history(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    from zero_session._schema import APPLICATION_ID, load_migrations

    conn = apsw.Connection(str(db_path))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(load_migrations()[0].sql)
    conn.execute(f"PRAGMA user_version = 1; PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(
        "INSERT INTO sessions (ulid, started_at_ms, ended_at_ms, last_seq) "
        "VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', 1000, 5000, 2);"
        "INSERT INTO events VALUES (1, 1, 2000, 'prompt', 'an old walnut', NULL);"
        "INSERT INTO events VALUES (1, 2, 3000, 'warn', 'older than search', NULL);"
    )
    conn.close()
    store = open_store()
    assert [(h.session, h.seq) for h in store.search("walnut")] == [
        ("01ARZ3NDEKTSV4RRFFQ69G5FAV", 1)
    ]
    assert pending_rows(db_path) == []  # ended and fully indexed


def test_the_migrations_apply_in_the_sqlite3_shell(tmp_path: Path) -> None:
    """Debian 12's sqlite3 (3.40) runs every migration and the search objects' DDL (run
    by the first search): nothing newer is used."""
    from zero_session._schema import load_migrations

    target = tmp_path / "shell.db"
    for migration in [*load_migrations(), _search.SEARCH_SCHEMA_SQL]:
        sql = migration if isinstance(migration, str) else migration.sql
        subprocess.run(
            ["sqlite3", "-bail", str(target)],
            input=sql,
            text=True,
            check=True,
            timeout=30,
        )
    out = subprocess.run(
        ["sqlite3", str(target), "SELECT count(*) FROM event_search_log; PRAGMA integrity_check;"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.stdout.split() == ["0", "ok"]


def test_search_in_a_fork_of_a_fork_below_its_parents_fork_point(sstore: Store) -> None:
    grandparent = sstore.start()
    sstore.append_many(grandparent, [("prompt", f"kiwi {i}") for i in range(1, 5)])
    parent = sstore.fork(grandparent, at_seq=3)
    child = sstore.fork(parent, at_seq=1)  # below the parent's own fork point
    sstore.append(child, "prompt", "kiwi child")
    found = [(h.session, h.seq) for h in sstore.search("kiwi", session=child)]
    assert found == [(child.ulid, 2), (grandparent.ulid, 1)]
    assert [e.seq for e in sstore.replay(child)] == [1, 2]


def test_check_reports_search_rows_without_an_event(sstore: Store, db_path: Path) -> None:
    session = sstore.start()
    sstore.append(session, "prompt", "lime")
    sstore.search("lime")
    assert sstore.check().ok
    conn = apsw.Connection(str(db_path))
    conn.execute("INSERT INTO event_search_rows (session_id, seq) VALUES (1, 99)")
    conn.close()
    problems = sstore.check().problems
    assert [(p.code, p.session) for p in problems] == [("search_orphan", session.ulid)]


def test_session_search_skips_other_sessions_indexed_in_between(sstore: Store) -> None:
    a = sstore.start()
    b = sstore.start()
    sstore.append(a, "prompt", "lychee 1")
    sstore.search("lychee")
    sstore.append(b, "prompt", "lychee 2")
    sstore.search("lychee")
    sstore.append(a, "prompt", "lychee 3")
    assert [h.snippet for h in sstore.search("lychee", session=a)] == [
        "[lychee] 3",
        "[lychee] 1",
    ]
    assert [h.session for h in sstore.search("lychee", session=b)] == [b.ulid]
    assert sstore.search("lychee", session=sstore.start()) == []
    with pytest.raises(InvalidInput):
        sstore.search('"open', session=sstore.start())


def test_search_plans_let_fts5_order_and_drive(sstore: Store, db_path: Path) -> None:
    sstore.append(sstore.start(), "prompt", "olive")
    sstore.search("olive")
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        hits_plan = [
            str(row[-1])
            for row in conn.execute(
                "EXPLAIN QUERY PLAN " + _search._HITS_SQL, ("[", "]", 16, "olive", 20)
            )
        ]
        scoped_plan = [
            str(row[-1])
            for row in conn.execute(
                "EXPLAIN QUERY PLAN " + _search._TIMELINE_HITS_SQL,
                (1, "[", "]", 16, "olive", 0, 10, 20),
            )
        ]
    finally:
        conn.close()
    # Newest first comes from FTS5's own rowid order, never from sorting every match.
    assert not any("TEMP B-TREE" in step for step in hits_plan + scoped_plan)
    scans = [step for step in scoped_plan if step.startswith("SCAN")]
    assert scans[-1].startswith("SCAN event_search VIRTUAL TABLE")  # FTS5 drives the join
