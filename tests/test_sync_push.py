"""Push to a real PostgreSQL server: exact, idempotent, incremental; status; divergence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pg_server import dbname_of

from zero_session import InvalidInput, Store, sync
from zero_session import _sync_source as source

pytestmark = pytest.mark.postgres

TRICKY_TEXT = ["plain", "nul\x00inside", "", "émoji 🎉", "line\nbreak\ttab", "back\\slash"]
TRICKY_DATA: list[Any] = [
    None,
    {"z": 1, "a": [1, 2, {"n": None}]},  # key order kept exactly
    {"nul": "a\x00b"},  # \u0000: jsonb refuses it
    "just a string",
    3.25,
    [True, False],
]


def local_rows(store: Store, ulid: str) -> list[tuple[Any, ...]]:
    """The session's own events as the file holds them (exact JSON text of data)."""
    session = store.get(ulid)
    with store._reading() as conn:
        session_id = conn.execute("SELECT id FROM sessions WHERE ulid = ?", (ulid,)).fetchall()
    rows = source.event_rows(store, session_id[0][0], session.fork_seq, 10**9)
    return [tuple(r[:5]) for r in rows]


def server_rows(pg_server: Any, dsn: str, ulid: str) -> list[tuple[Any, ...]]:
    """The session's events on the server, rebuilt exactly (NUL from the *_bytes columns)."""
    rows = pg_server.execute(
        "SELECT seq, at_ms, kind, text, data_text, text_bytes, data_bytes "
        "FROM zero_session.events WHERE ulid = %s ORDER BY seq",
        (ulid,),
        dbname=dbname_of(dsn),
    )
    return [
        (
            seq,
            at_ms,
            kind,
            bytes(text_bytes).decode() if text_bytes is not None else text,
            bytes(data_bytes).decode() if data_bytes is not None else data,
        )
        for seq, at_ms, kind, text, data, text_bytes, data_bytes in rows
    ]


def fork_tree(store: Store) -> list[str]:
    """A root, a child forked mid-way, a grandchild: every event shape above in each."""
    root = store.start(cli_version="1.0", meta={"agent": "a1", "nul": "x\x00y"})
    for i, text in enumerate(TRICKY_TEXT):
        store.append(root.ulid, "prompt", text, data=TRICKY_DATA[i % len(TRICKY_DATA)])
    child = store.fork(root.ulid, at_seq=3)
    store.append_many(child.ulid, [("system", f"c{i}", {"i": i}) for i in range(50)])
    grandchild = store.fork(child.ulid)
    store.append(grandchild.ulid, "alert", "gc\x00", data={"deep": True})
    store.label(grandchild.ulid, "deepest")
    store.set_milestone("deploy", "v2")
    return [root.ulid, child.ulid, grandchild.ulid]


def test_push_is_exact_and_idempotent(store: Store, pg_server: Any, pg_dsn: str) -> None:
    ulids = fork_tree(store)
    report = sync.push(store, pg_dsn)
    assert report.events == 6 + 50 + 1
    assert report.sessions == 3
    assert report.milestones == 2  # the label and the milestone
    assert report.diverged == ()
    for ulid in ulids:
        assert server_rows(pg_server, pg_dsn, ulid) == local_rows(store, ulid)
    db = dbname_of(pg_dsn)
    sessions = pg_server.execute(
        "SELECT ulid, parent_ulid, fork_seq, last_seq, meta_text, origin "
        "FROM zero_session.sessions ORDER BY started_at_ms",
        dbname=db,
    )
    sid = source.store_id(store, create=False)
    assert [(u, p, f, last) for u, p, f, last, _, _ in sessions] == [
        (ulids[0], None, 0, 6),
        (ulids[1], ulids[0], 3, 53),
        (ulids[2], ulids[1], 53, 54),
    ]
    assert json.loads(sessions[0][4]) == {"agent": "a1", "nul": "x\x00y"}
    assert {row[5] for row in sessions} == {sid}
    # jsonb beside the exact text, where jsonb can hold it
    jsonb = pg_server.execute(
        "SELECT seq, data FROM zero_session.events WHERE ulid = %s ORDER BY seq",
        (ulids[0],),
        dbname=db,
    )
    assert jsonb[1][1] == {"z": 1, "a": [1, 2, {"n": None}]}
    assert jsonb[2][1] is None  # \u0000: kept only as text
    assert pg_server.execute("SELECT store_id, name, ulid FROM zero_session.labels", dbname=db) == [
        (sid, "deepest", ulids[2])
    ]

    again = sync.push(store, pg_dsn)
    assert (again.events, again.sessions, again.milestones, again.diverged) == (0, 0, 0, ())
    count = pg_server.execute("SELECT count(*) FROM zero_session.events", dbname=db)
    assert count == [(57,)]


def test_incremental_push_and_metadata(store: Store, pg_server: Any, pg_dsn: str) -> None:
    root, child, grandchild = fork_tree(store)
    sync.push(store, pg_dsn)
    store.append_many(child, [("system", "later")] * 3)
    store.end(root)
    store.archive(grandchild)
    store.unlabel("deepest")
    store.label(root, "top")
    report = sync.push(store, pg_dsn)
    assert (report.events, report.sessions, report.milestones) == (3, 3, 2)
    assert server_rows(pg_server, pg_dsn, child) == local_rows(store, child)
    db = dbname_of(pg_dsn)
    states = dict(pg_server.execute("SELECT ulid, state FROM zero_session.session_list", dbname=db))
    assert states == {root: "ended", child: "open", grandchild: "archived"}
    assert pg_server.execute("SELECT name, ulid FROM zero_session.labels", dbname=db) == [
        ("top", root)
    ]


def test_status_before_and_after(store: Store, pg_server: Any, pg_dsn: str) -> None:
    fork_tree(store)
    before = sync.status(store, pg_dsn)
    assert (before.pending_events, before.pending_sessions) == (57, 3)
    assert before.store_id is None  # never pushed: status did not write the file
    assert before.server_schema_version == 0
    assert source.store_id(store, create=False) is None
    sync.push(store, pg_dsn)
    after = sync.status(store, pg_dsn)
    assert (after.pending_events, after.pending_sessions, after.diverged) == (0, 0, ())
    assert after.server_schema_version >= 1
    ulid = store.list_sessions(limit=1)[0].ulid
    store.append(ulid, "prompt", "one more")
    later = sync.status(store, pg_dsn)
    assert (later.pending_events, later.pending_sessions) == (1, 1)


def test_status_on_a_readonly_store(db_path: Path, store: Store, pg_dsn: str) -> None:
    fork_tree(store)
    sync.push(store, pg_dsn)
    store.append(store.list_sessions(limit=1)[0].ulid, "prompt", "unpushed")
    store.close()
    with Store.open(db_path, readonly=True) as readonly:
        result = sync.status(readonly, pg_dsn)
    assert (result.pending_events, result.pending_sessions) == (1, 1)


def test_status_asks_the_server_after_a_lost_acknowledgement(
    store: Store, pg_server: Any, pg_dsn: str
) -> None:
    """Events the server committed count as pushed even when the file's cursor never
    moved (the acknowledgement was lost); pushing again sends nothing twice."""
    ulids = fork_tree(store)
    sync.push(store, pg_dsn)
    with store._writing() as conn:  # forget the cursors, as if every ack had been lost
        conn.execute("DELETE FROM milestones WHERE key LIKE 'zero\\_session.sync.%' ESCAPE '\\'")
    assert sync.status(store, pg_dsn).pending_events == 0
    report = sync.push(store, pg_dsn)
    assert (report.events, report.diverged) == (0, ())
    for ulid in ulids:
        assert server_rows(pg_server, pg_dsn, ulid) == local_rows(store, ulid)


def test_divergence_is_recorded_never_overwritten(
    store: Store, pg_server: Any, pg_dsn: str
) -> None:
    root = store.start()
    store.append_many(root.ulid, [("prompt", f"p{i}") for i in range(5)])
    sync.push(store, pg_dsn)
    db = dbname_of(pg_dsn)
    # someone writes seq 6 on the server before this store pushes its own seq 6
    pg_server.execute(
        "INSERT INTO zero_session.events (ulid, seq, at_ms, kind, text) "
        "VALUES (%s, 6, 1, 'system', 'tampered')",
        (root.ulid,),
        dbname=db,
    )
    store.append_many(root.ulid, [("prompt", "mine 6"), ("prompt", "mine 7")])
    report = sync.push(store, pg_dsn)
    assert [(d.ulid, d.seq) for d in report.diverged] == [(root.ulid, 6)]
    assert report.events == 1  # seq 7; seq 6 stays the server's
    texts = pg_server.execute(
        "SELECT seq, text FROM zero_session.events WHERE ulid = %s AND seq >= 6 ORDER BY seq",
        (root.ulid,),
        dbname=db,
    )
    assert texts == [(6, "tampered"), (7, "mine 7")]
    kept = pg_server.execute("SELECT text FROM zero_session.divergences", dbname=db)
    assert kept == [("mine 6",)]
    status = sync.status(store, pg_dsn)
    assert [(d.ulid, d.seq) for d in status.diverged] == [(root.ulid, 6)]
    assert sync.push(store, pg_dsn).diverged == ()  # reported once, kept on the server


def test_two_copies_of_one_file_diverge(
    tmp_path: Path, store: Store, pg_server: Any, pg_dsn: str
) -> None:
    """A copied file is the same store; when both copies write, push says so."""
    root = store.start()
    store.append(root.ulid, "prompt", "shared")
    sync.push(store, pg_dsn)
    store.close()
    copy_path = tmp_path / "copy.db"
    shutil.copy(store.path, copy_path)
    with Store.open(store.path) as first, Store.open(copy_path) as second:
        assert source.store_id(first, create=False) == source.store_id(second, create=False)
        first.append(root.ulid, "prompt", "from the first")
        second.append(root.ulid, "prompt", "from the copy")
        assert sync.push(first, pg_dsn).diverged == ()
        report = sync.push(second, pg_dsn)
    assert [(d.ulid, d.seq) for d in report.diverged] == [(root.ulid, 2)]
    texts = pg_server.execute(
        "SELECT text FROM zero_session.events WHERE seq = 2", dbname=dbname_of(pg_dsn)
    )
    assert texts == [("from the first",)]


def test_store_id_is_made_once_and_reserved(store: Store, pg_dsn: str) -> None:
    first = sync.push(store, pg_dsn).store_id
    assert sync.push(store, pg_dsn).store_id == first
    assert store.get_milestone("zero_session.store_id") == first
    for key in ("zero_session.store_id", "zero_session.sync.x"):
        with pytest.raises(InvalidInput, match="reserved"):
            store.set_milestone(key, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
        with pytest.raises(InvalidInput, match="reserved"):
            store.set_milestone_once(key, "x")
    assert store.get_milestone("zero_session.store_id") == first


def test_two_stores_on_one_server(
    tmp_path: Path, open_store: Any, pg_server: Any, pg_dsn: str
) -> None:
    first, second = open_store(tmp_path / "a.db"), open_store(tmp_path / "b.db")
    for store in (first, second):
        s = store.start()
        store.append_many(s.ulid, [("prompt", "x")] * 10)
        store.label(s.ulid, "same-name")
    import threading

    reports: list[Any] = []
    threads = [
        threading.Thread(target=lambda s=s: reports.append(sync.push(s, pg_dsn)))
        for s in (first, second)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.events for r in reports) == [10, 10]
    db = dbname_of(pg_dsn)
    assert pg_server.execute("SELECT count(*) FROM zero_session.stores", dbname=db) == [(2,)]
    labels = pg_server.execute("SELECT count(*) FROM zero_session.labels", dbname=db)
    assert labels == [(2,)]  # one name, two stores: two rows


def test_a_server_restored_from_an_older_backup_is_filled_again(
    store: Store, pg_server: Any, pg_dsn: str
) -> None:
    """The server lost the end of a session (restored from a backup) after this file
    pushed it: the next push of that session sends again from where the server stands."""
    root = store.start()
    store.append_many(root.ulid, [("prompt", f"p{i}") for i in range(10)])
    sync.push(store, pg_dsn)
    db = dbname_of(pg_dsn)
    pg_server.execute(
        "ALTER TABLE zero_session.events DISABLE TRIGGER events_refuse_update_delete;"
        "DELETE FROM zero_session.events WHERE seq > 4;"
        "ALTER TABLE zero_session.events ENABLE TRIGGER events_refuse_update_delete;"
        "UPDATE zero_session.sessions SET last_seq = 4",
        dbname=db,
    )
    store.append(root.ulid, "prompt", "p10")
    report = sync.push(store, pg_dsn)
    assert (report.events, report.diverged) == (7, ())
    assert server_rows(pg_server, pg_dsn, root.ulid) == local_rows(store, root.ulid)


def test_events_are_append_only_on_the_server(store: Store, pg_server: Any, pg_dsn: str) -> None:
    import psycopg

    store.append(store.start().ulid, "prompt", "kept")
    sync.push(store, pg_dsn)
    for statement in (
        "UPDATE zero_session.events SET text = 'changed'",
        "DELETE FROM zero_session.events",
        "TRUNCATE zero_session.events",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            pg_server.execute(statement, dbname=dbname_of(pg_dsn))


def test_deleting_locally_never_deletes_on_the_server(
    store: Store, pg_server: Any, pg_dsn: str
) -> None:
    kept, gone = store.start(), store.start()
    for s in (kept, gone):
        store.append(s.ulid, "prompt", "hello")
    sync.push(store, pg_dsn)
    store.delete(gone.ulid)
    report = sync.push(store, pg_dsn)
    assert (report.events, report.sessions) == (0, 0)
    on_server = pg_server.execute(
        "SELECT ulid FROM zero_session.sessions ORDER BY ulid", dbname=dbname_of(pg_dsn)
    )
    assert on_server == sorted([(kept.ulid,), (gone.ulid,)])
    cursors = [m.key for m in store.milestones("zero_session.sync.")]
    assert len(cursors) == 2 and not any(gone.ulid in key for key in cursors)


def test_import_never_takes_another_files_identity(
    tmp_path: Path, store: Store, open_store: Any, pg_dsn: str
) -> None:
    import io

    store.append(store.start().ulid, "prompt", "x")
    sync.push(store, pg_dsn)
    dump = io.StringIO()
    store.export(dump)
    assert "zero_session.store_id" in dump.getvalue()
    other = open_store(tmp_path / "other.db")
    other.append(other.start().ulid, "prompt", "y")
    mine = sync.push(other, pg_dsn).store_id
    other.import_(dump.getvalue().splitlines())
    assert other.get_milestone("zero_session.store_id") == mine
    assert sync.push(other, pg_dsn).store_id == mine


def test_a_row_the_server_refuses_is_reported_and_the_rest_goes_on(
    store: Store, pg_server: Any, pg_dsn: str
) -> None:
    sync.init(pg_dsn)
    db = dbname_of(pg_dsn)
    pg_server.execute(  # this server has a rule of its own
        "ALTER TABLE zero_session.events ADD CONSTRAINT no_evil CHECK (text <> 'evil')",
        dbname=db,
    )
    ulid = store.start().ulid
    store.append_many(ulid, [("prompt", "fine"), ("prompt", "evil"), ("prompt", "also fine")])
    other = store.start().ulid
    store.append(other, "prompt", "unrelated")
    report = sync.push(store, pg_dsn)
    assert report.events == 3
    assert [(d.ulid, d.seq) for d in report.diverged] == [(ulid, 2)]
    assert "no_evil" in report.diverged[0].reason
    rows = pg_server.execute(
        "SELECT ulid, seq FROM zero_session.events ORDER BY ulid, seq", dbname=db
    )
    assert rows == sorted([(ulid, 1), (ulid, 3), (other, 1)])
    assert sync.push(store, pg_dsn).events == 0
    assert [(d.ulid, d.seq) for d in sync.status(store, pg_dsn).diverged] == [(ulid, 2)]
