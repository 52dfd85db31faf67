"""The search objects are created by the first search, not by opening a store.

A fresh file has none of them (checked with the real ``sqlite3`` binary); the first
search creates them and finds everything recorded before it; a version 2 file loses its
index when migrated and rebuilds it on the next search; delete, prune, check and import
work with and without them; processes racing to the first search all succeed.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from clocks import ManualClock
from sqlite3_cli import sqlite3_shell as shell

from zero_session import InvalidInput, ReadOnlyStore, SessionNotFound, Store
from zero_session._schema import APPLICATION_ID, known_version, load_migrations

# Every name version 2 put in each file, FTS5's shadow tables included.
SEARCH_OBJECTS = [
    "event_search",
    "event_search_config",
    "event_search_data",
    "event_search_idx",
    "event_search_log",
    "event_search_pending",
    "event_search_rows",
    "event_search_rows_by_event",
    "event_search_source",
    "sessions_search_pending_on_reopen",
    "sessions_search_pending_on_start",
]


def search_objects(db_path: Path) -> list[str]:
    """The names of the file's search objects, as the sqlite3 shell sees them."""
    out = shell(
        db_path,
        "SELECT name FROM sqlite_schema WHERE name LIKE '%search%' ORDER BY name;",
    )
    return out.split()


def fts_integrity_ok(db_path: Path) -> None:
    """FTS5's own check that the index holds exactly the tokens of its content."""
    shell(db_path, "INSERT INTO event_search (event_search, rank) VALUES ('integrity-check', 1);")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_767_225_600_000, step_ms=1000)


@pytest.fixture
def cstore(open_store: Callable[..., Store], clock: ManualClock) -> Store:
    return open_store(clock=clock)


def test_a_fresh_store_has_no_search_objects(cstore: Store, db_path: Path) -> None:
    session = cstore.start()
    cstore.append(session, "prompt", "nothing searched yet")
    fork = cstore.fork(session)
    cstore.end(fork)
    cstore.resume(fork.ulid)
    assert cstore.check().ok
    assert search_objects(db_path) == []
    assert "event_search" not in shell(db_path, ".tables")
    assert shell(db_path, "PRAGMA user_version;").strip() == str(known_version())


def test_the_first_search_creates_the_objects_and_finds_older_events(
    cstore: Store, db_path: Path
) -> None:
    ended = cstore.start()
    cstore.append_many(ended, [("prompt", "apricot one"), ("warn", "apricot two")])
    cstore.end(ended)
    live = cstore.start()
    cstore.append(live, "prompt", "apricot three")
    fork = cstore.fork(ended, at_seq=1)
    cstore.append(fork, "prompt", "apricot in the fork")

    hits = cstore.search("apricot")

    assert [(h.session, h.seq) for h in hits] == [
        (fork.ulid, 2),
        (live.ulid, 1),
        (ended.ulid, 2),
        (ended.ulid, 1),
    ]
    assert [h.seq for h in cstore.search("apricot", session=fork)] == [2, 1]
    assert search_objects(db_path) == SEARCH_OBJECTS
    fts_integrity_ok(db_path)
    # Caught up: the ended session left the pending list; the others stay at their end.
    pending = shell(db_path, "SELECT session_id, indexed_seq FROM event_search_pending;")
    assert pending.split() == ["2|1", "3|2"]
    # From now on the triggers list new and reopened sessions, as in version 2.
    later = cstore.start()
    cstore.append(later, "prompt", "apricot later")
    cstore.resume(ended.ulid)
    cstore.append(ended, "prompt", "apricot reopened")
    assert [h.snippet for h in cstore.search("apricot", limit=2)] == [
        "[apricot] reopened",
        "[apricot] later",
    ]
    assert cstore.check().ok


def test_bad_input_on_the_first_search_creates_nothing(cstore: Store, db_path: Path) -> None:
    cstore.append(cstore.start(), "prompt", "a /fork here")
    with pytest.raises(InvalidInput):
        cstore.search("/fork")
    with pytest.raises(InvalidInput):
        cstore.search('"unterminated')
    with pytest.raises(SessionNotFound):
        cstore.search("fork", session="01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert search_objects(db_path) == []
    assert [h.snippet for h in cstore.search("/fork", literal=True)] == ["a /[fork] here"]


def test_a_readonly_store_without_the_objects_refuses_to_search(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    writer = open_store()
    writer.append(writer.start(), "prompt", "a fig")
    reader = open_store(readonly=True)
    with pytest.raises(ReadOnlyStore, match="no search index yet"):
        reader.search("fig")
    with pytest.raises(ReadOnlyStore):
        reader.search('"bad query')
    assert search_objects(db_path) == []
    assert reader.check().ok
    writer.search("fig")
    assert [h.snippet for h in reader.search("fig")] == ["a [fig]"]


def test_a_memory_store_searches_too() -> None:
    with Store.memory() as store:
        store.append(store.start(), "prompt", "in memory")
        assert [h.snippet for h in store.search("memory")] == ["in [memory]"]


def _version_2_file(db_path: Path) -> None:
    """A file as version 2 left it, made in the sqlite3 shell: three sessions (one ended,
    one interrupted, a fork) and an index holding every event."""
    first, second = (m.sql for m in load_migrations()[:2])
    shell(
        db_path,
        "PRAGMA journal_mode = WAL;"
        + first
        + second
        + f"PRAGMA user_version = 2; PRAGMA application_id = {APPLICATION_ID};"
        "INSERT INTO sessions (ulid, started_at_ms, ended_at_ms, last_seq) "
        "VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', 1000, 9000, 2);"
        "INSERT INTO sessions (ulid, started_at_ms, last_seq) "
        "VALUES ('01BX5ZZKBKACTAV9WEVGEMMVRZ', 1500, 1);"
        "INSERT INTO sessions (ulid, parent_id, fork_seq, started_at_ms, last_seq) "
        "VALUES ('01BX5ZZKBKACTAV9WEVGEMMVS0', 1, 1, 4000, 2);"
        "INSERT INTO events VALUES (1, 1, 2000, 'prompt', 'walnut from the start', NULL);"
        "INSERT INTO events VALUES (2, 1, 2500, 'prompt', 'walnut interrupted', NULL);"
        "INSERT INTO events VALUES (1, 2, 3000, 'warn', 'walnut before the end', NULL);"
        "INSERT INTO events VALUES (3, 2, 5000, 'prompt', 'walnut in the fork', NULL);"
        # What version 2's catch-up leaves: every event indexed, ended sessions unlisted.
        "INSERT INTO event_search_rows (session_id, seq) "
        "SELECT session_id, seq FROM events ORDER BY at_ms;"
        "INSERT INTO event_search (event_search) VALUES ('rebuild');"
        "DELETE FROM event_search_pending WHERE session_id = 1;"
        "UPDATE event_search_pending SET indexed_seq = "
        "(SELECT last_seq FROM sessions WHERE id = session_id);",
    )


def test_a_version_2_file_loses_its_index_and_the_next_search_rebuilds_it(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    _version_2_file(db_path)
    assert search_objects(db_path) == SEARCH_OBJECTS
    indexed = "SELECT count(*) FROM event_search WHERE event_search MATCH 'walnut';"
    assert shell(db_path, indexed).strip() == "4"

    store = open_store()

    assert shell(db_path, "PRAGMA user_version;").strip() == str(known_version())
    assert search_objects(db_path) == []
    assert shell(db_path, "PRAGMA integrity_check;").strip() == "ok"
    assert store.check().ok
    hits = store.search("walnut")
    assert [(h.session, h.seq) for h in hits] == [  # newest first, by event time
        ("01BX5ZZKBKACTAV9WEVGEMMVS0", 2),
        ("01ARZ3NDEKTSV4RRFFQ69G5FAV", 2),
        ("01BX5ZZKBKACTAV9WEVGEMMVRZ", 1),
        ("01ARZ3NDEKTSV4RRFFQ69G5FAV", 1),
    ]
    assert [h.seq for h in store.search("walnut", session="01BX5ZZKBKACTAV9WEVGEMMVS0")] == [
        2,
        1,
    ]
    assert search_objects(db_path) == SEARCH_OBJECTS
    assert shell(db_path, indexed).strip() == "4"
    fts_integrity_ok(db_path)
    assert store.check().ok


# ------------------------------------------------------ with and without the index


@pytest.fixture(params=[False, True], ids=["no-index", "indexed"])
def indexed(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _maybe_index(store: Store, indexed: bool) -> None:
    if indexed:
        store.search("anything")


def test_delete_with_and_without_the_index(cstore: Store, db_path: Path, indexed: bool) -> None:
    doomed = cstore.start()
    cstore.append_many(doomed, [("prompt", "mango doomed"), ("prompt", "mango gone")])
    kept = cstore.start()
    cstore.append(kept, "prompt", "mango kept")
    _maybe_index(cstore, indexed)
    assert (search_objects(db_path) != []) is indexed

    assert cstore.delete(doomed).n_events == 2

    assert (search_objects(db_path) != []) is indexed  # delete never creates them
    assert cstore.check().ok
    assert [h.session for h in cstore.search("mango")] == [kept.ulid]
    fts_integrity_ok(db_path)
    assert cstore.check().ok


def test_prune_with_and_without_the_index(
    cstore: Store, clock: ManualClock, db_path: Path, indexed: bool
) -> None:
    old = cstore.start()
    cstore.append(old, "prompt", "papaya old")
    cstore.end(old)
    fork = cstore.fork(old)
    cstore.append(fork, "prompt", "papaya fork")
    cstore.end(fork)
    _maybe_index(cstore, indexed)
    clock.advance(timedelta(days=3))
    recent = cstore.start()
    cstore.append(recent, "prompt", "papaya recent")

    report = cstore.prune(older_than=timedelta(days=1))

    assert set(report.sessions) == {old.ulid, fork.ulid}
    assert (search_objects(db_path) != []) is indexed
    assert cstore.check().ok
    assert [h.session for h in cstore.search("papaya")] == [recent.ulid]
    fts_integrity_ok(db_path)
    leftovers = shell(
        db_path,
        "SELECT count(*) FROM event_search_rows WHERE session_id NOT IN "
        "(SELECT id FROM sessions);"
        "SELECT count(*) FROM event_search_pending WHERE session_id NOT IN "
        "(SELECT id FROM sessions);",
    )
    assert leftovers.split() == ["0", "0"]


def test_check_with_and_without_the_index(cstore: Store, db_path: Path, indexed: bool) -> None:
    session = cstore.start()
    cstore.append(session, "prompt", "lime")
    _maybe_index(cstore, indexed)
    report = cstore.check()
    assert report.ok, report.problems
    if indexed:  # the search check still runs when the index exists
        shell(db_path, "INSERT INTO event_search_rows (session_id, seq) VALUES (1, 99);")
        assert [p.code for p in cstore.check().problems] == ["search_orphan"]


def _export(store: Store) -> list[str]:
    out = io.StringIO()
    store.export(out)
    return out.getvalue().splitlines()


def test_import_with_and_without_the_index(
    open_store: Callable[..., Store], tmp_path: Path, db_path: Path, indexed: bool
) -> None:
    source = open_store(tmp_path / "source.db")
    session = source.start()
    source.append(session, "prompt", "quince first")
    source.end(session)
    first = _export(source)
    source.resume(session.ulid)
    source.append(session, "prompt", "quince second")
    source.end(session)
    second = _export(source)

    target = open_store()
    local = target.start()
    target.append(local, "prompt", "quince local")
    _maybe_index(target, indexed)
    target.import_(first)
    if indexed:  # the imported ended session is indexed, then leaves the pending list
        assert [h.snippet for h in target.search("first")] == ["quince [first]"]
    # The same session again, with an event more: it must be indexed too.
    assert target.import_(second).events == 1

    assert (search_objects(db_path) != []) is indexed
    # (Newest first means "in the order indexed", which differs between the two cases.)
    assert sorted(h.snippet for h in target.search("quince")) == [
        "[quince] first",
        "[quince] local",
        "[quince] second",
    ]
    fts_integrity_ok(db_path)
    assert target.check().ok


# ------------------------------------------------------------ first search race

_SEARCHER = """
import sys
from zero_session import Store
with Store.open(sys.argv[1], busy_timeout_ms=30_000) as store:
    print("ready", flush=True)
    sys.stdin.readline()
    hits = store.search("pomelo", limit=100)
    print(len(hits), flush=True)
"""


@pytest.mark.slow
def test_processes_racing_to_the_first_search_all_succeed(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    for round_ in range(4):
        path = tmp_path / f"race-{round_}.db"
        with Store.open(path) as store:
            for i in range(5):
                session = store.start()
                store.append_many(session, [("prompt", f"pomelo {i} {j}") for j in range(20)])
                if i % 2:
                    store.end(session)
        searchers = [
            subprocess.Popen(
                [sys.executable, "-c", _SEARCHER, str(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=subprocess_env,
            )
            for _ in range(3)
        ]
        try:
            for p in searchers:  # every one has opened the store without the index
                assert p.stdout is not None and p.stdout.readline() == "ready\n"
            for p in searchers:
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            for p in searchers:
                out, err = p.communicate(timeout=60)
                assert p.returncode == 0, err
                assert out.strip() == "100"
        finally:
            for p in searchers:
                if p.poll() is None:
                    p.kill()
                p.wait()
        assert search_objects(path) == SEARCH_OBJECTS
        assert shell(path, "SELECT count(*) FROM event_search_rows;").strip() == "100"
        pending = shell(path, "SELECT session_id, indexed_seq FROM event_search_pending;")
        assert pending.split() == ["1|20", "3|20", "5|20"]
        fts_integrity_ok(path)
