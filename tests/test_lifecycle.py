"""Archive, expiry, delete and prune: every rule of the lifecycle, on real files."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import apsw
import pytest
from children import run_child
from clocks import ManualClock
from ulidtools import unique_prefix

from zero_session import (
    HasForks,
    InvalidInput,
    SessionBusy,
    SessionNotFound,
    Status,
    StorageError,
    Store,
    _lifecycle,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_767_225_600_000)


@pytest.fixture
def cstore(open_store: Callable[..., Store], clock: ManualClock) -> Store:
    return open_store(clock=clock)


def file_digest(path: Path) -> str:
    """A hash of the database file and its WAL: what a dry run must not change."""
    digest = hashlib.sha256()
    for name in (path, Path(f"{path}-wal")):
        if name.exists():
            digest.update(name.read_bytes())
    return digest.hexdigest()


def raw(path: Path) -> apsw.Connection:
    return apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)


def count(conn: apsw.Connection, sql: str, params: tuple[object, ...] = ()) -> int:
    return int(conn.execute(sql, params).fetchall()[0][0])


def ended_session(store: Store, *texts: str, **options: object) -> str:
    session = store.start(**options)  # type: ignore[arg-type]
    for text in texts:
        store.append(session, "prompt", text)
    store.end(session)
    return session.ulid


# ----------------------------------------------------------------------------- archive


def test_archive_hides_from_listings_but_resolves(cstore: Store, tmp_path: Path) -> None:
    ulid = ended_session(cstore, "hello", cwd=tmp_path)
    other = ended_session(cstore, "world", cwd=tmp_path)
    cstore.label(ulid, "keep-me")
    archived = cstore.archive(ulid)
    assert archived.status is Status.ARCHIVED
    assert archived.archived_at_ms is not None
    assert [s.ulid for s in cstore.list_sessions()] == [other]
    assert {s.ulid for s in cstore.list_sessions(include_archived=True)} == {ulid, other}
    assert cstore.get(ulid).status is Status.ARCHIVED
    assert cstore.find("keep-me").ulid == ulid
    assert cstore.find(unique_prefix(ulid, other)).ulid == ulid
    assert [e.text for e in cstore.replay(ulid)] == ["hello"]
    cstore.archive(other)
    assert cstore.latest(cwd=tmp_path) is None
    assert cstore.list_sessions(cwd=tmp_path) == []


def test_archive_is_idempotent_and_unarchive_restores(cstore: Store, clock: ManualClock) -> None:
    ulid = ended_session(cstore, "x")
    first = cstore.archive(ulid).archived_at_ms
    clock.advance(timedelta(hours=1))
    assert cstore.archive(ulid).archived_at_ms == first
    restored = cstore.unarchive(ulid)
    assert restored.status is Status.ENDED
    assert restored.archived_at_ms is None
    assert [s.ulid for s in cstore.list_sessions()] == [ulid]


def test_archive_unknown_session(cstore: Store) -> None:
    with pytest.raises(SessionNotFound):
        cstore.archive("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    with pytest.raises(SessionNotFound):
        cstore.unarchive("01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_a_live_archived_session_shows_live(cstore: Store) -> None:
    session = cstore.start()
    assert cstore.archive(session).status is Status.LIVE
    cstore.end(session)
    assert cstore.get(session).status is Status.ARCHIVED


# ------------------------------------------------------------------------------ expiry


def test_expired_status_and_prune(cstore: Store, clock: ManualClock) -> None:
    short = ended_session(cstore, "short lived", ttl=timedelta(hours=1))
    long = ended_session(cstore, "long lived", ttl=timedelta(days=30))
    plain = ended_session(cstore, "no ttl")
    assert cstore.get(short).status is Status.ENDED
    clock.advance(timedelta(hours=2))
    assert cstore.get(short).status is Status.EXPIRED
    assert cstore.get(long).status is Status.ENDED
    assert cstore.prune(expired=False).sessions == ()
    report = cstore.prune()
    assert report.sessions == (short,)
    assert report.n_events == 1
    with pytest.raises(SessionNotFound):
        cstore.get(short)
    assert {s.ulid for s in cstore.list_sessions()} == {long, plain}


def test_a_live_expired_session_is_not_pruned(cstore: Store, clock: ManualClock) -> None:
    live = cstore.start(ttl=timedelta(minutes=1))
    clock.advance(timedelta(hours=1))
    assert cstore.get(live).status is Status.LIVE
    assert cstore.prune().sessions == ()
    cstore.end(live)
    assert cstore.get(live).status is Status.EXPIRED
    assert cstore.prune().sessions == (live.ulid,)


# ------------------------------------------------------------------------------ delete


def test_delete_leaves_no_orphan_event_label_or_search_row(store: Store, db_path: Path) -> None:
    doomed = store.start()
    store.append_many(doomed, [("prompt", "zebracorn alpha"), ("warn", "zebracorn beta")])
    store.label(doomed, "doomed-label")
    store.label(doomed, "second-label")
    kept = store.start()
    store.append(kept, "prompt", "zebracorn kept")
    store.label(kept, "kept-label")
    assert len(store.search("zebracorn")) == 3  # indexes both sessions
    store.append(doomed, "system", "zebracorn late, not indexed yet")

    report = store.delete(doomed)

    assert report.sessions == (doomed.ulid,)
    assert report.n_events == 3
    assert report.event_bytes == len(b"zebracorn alpha" + b"zebracorn beta") + len(
        b"zebracorn late, not indexed yet"
    )
    with pytest.raises(SessionNotFound):
        store.get(doomed)
    assert store.labels() == {"kept-label": kept.ulid}
    assert [h.session for h in store.search("zebracorn")] == [kept.ulid]
    conn = apsw.Connection(str(db_path))  # integrity-check is spelt as an INSERT
    try:
        assert (
            count(
                conn,
                "SELECT count(*) FROM events WHERE session_id NOT IN (SELECT id FROM sessions)",
            )
            == 0
        )
        assert (
            count(
                conn,
                "SELECT count(*) FROM event_search_rows WHERE session_id NOT IN "
                "(SELECT id FROM sessions)",
            )
            == 0
        )
        assert (
            count(
                conn,
                "SELECT count(*) FROM event_search_pending WHERE session_id "
                "NOT IN (SELECT id FROM sessions)",
            )
            == 0
        )
        assert count(conn, "SELECT count(*) FROM milestones WHERE value = ?", (doomed.ulid,)) == 0
        assert count(conn, "SELECT count(*) FROM purging_sessions") == 0
        # The FTS index holds exactly the rows of its content, token for token.
        assert (
            count(conn, "SELECT count(*) FROM event_search WHERE event_search MATCH 'zebracorn'")
            == 1
        )
        conn.execute("INSERT INTO event_search (event_search, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()


def test_delete_refuses_forks_without_cascade(store: Store, db_path: Path) -> None:
    root = store.start()
    store.append(root, "prompt", "root")
    child = store.fork(root)
    grandchild = store.fork(child)
    other_child = store.fork(root, at_seq=0)
    before = file_digest(db_path)
    with pytest.raises(HasForks) as caught:
        store.delete(root)
    assert caught.value.ulid == root.ulid
    assert set(caught.value.children) == {child.ulid, other_child.ulid}
    assert file_digest(db_path) == before
    report = store.delete(child, cascade=True)
    assert report.sessions == (grandchild.ulid, child.ulid)
    assert {s.ulid for s in store.list_sessions()} == {root.ulid, other_child.ulid}
    store.delete(root, cascade=True)
    assert store.list_sessions() == []


def test_events_still_refuse_raw_delete_after_an_api_delete(store: Store, db_path: Path) -> None:
    keep = store.start()
    store.append(keep, "prompt", "stays")
    gone = store.start()
    store.append(gone, "prompt", "goes")
    store.delete(gone)
    conn = apsw.Connection(str(db_path))
    try:
        with pytest.raises(apsw.ConstraintError):
            conn.execute("DELETE FROM events")
        with pytest.raises(apsw.ConstraintError):
            conn.execute("DELETE FROM sessions")
    finally:
        conn.close()
    assert [e.text for e in store.replay(keep)] == ["stays"]


_WRITER = """
import sys, time
from zero_session import Store
store = Store.open()
session = store.start()
store.append(session, "prompt", "still writing")
print(session.ulid, flush=True)
sys.stdin.readline()
"""


def test_delete_refuses_a_session_another_live_process_writes(
    store: Store, subprocess_env: dict[str, str]
) -> None:
    store.start()  # creates the file before the writer opens it
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER],
        env=subprocess_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        ulid = writer.stdout.readline().strip()
        assert store.get(ulid).status is Status.LIVE
        with pytest.raises(SessionBusy) as caught:
            store.delete(ulid)
        assert caught.value.pid == writer.pid
        assert store.prune(older_than=timedelta(0), expired=True).sessions == ()
        assert store.delete(ulid, force=True).sessions == (ulid,)
    finally:
        writer.kill()
        writer.wait()


def test_delete_own_live_session(store: Store) -> None:
    mine = store.start()
    store.append(mine, "prompt", "mine")
    assert store.delete(mine).n_events == 1


def test_delete_unknown_session(store: Store) -> None:
    with pytest.raises(SessionNotFound):
        store.delete("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    with pytest.raises(InvalidInput):
        store.delete("not-a-ulid")


def test_delete_gives_space_back(store: Store, db_path: Path) -> None:
    big = store.start()
    store.append_many(big, [("prompt", "x" * 100_000) for _ in range(20)])
    store.end(big)
    conn = raw(db_path)
    try:
        assert count(conn, "PRAGMA auto_vacuum") == 2  # incremental, set at creation
        pages_before = count(conn, "PRAGMA page_count")
        report = store.delete(big)
        pages_after = count(conn, "PRAGMA page_count")
    finally:
        conn.close()
    assert report.bytes_reclaimed >= 1_500_000
    assert (pages_before - pages_after) * 4096 >= 1_500_000


def test_vacuum_converts_an_old_file(open_store: Callable[..., Store], db_path: Path) -> None:
    store = open_store()
    session = store.start()
    store.append_many(session, [("prompt", "y" * 50_000) for _ in range(10)])
    store.close()
    conn = apsw.Connection(str(db_path))
    conn.execute("PRAGMA auto_vacuum = NONE")
    conn.execute("VACUUM")
    assert count(conn, "PRAGMA auto_vacuum") == 0
    conn.close()
    store = open_store()
    report = store.delete(session)
    assert report.bytes_reclaimed == 0  # freed pages stay in the file for reuse
    assert store.vacuum() >= 400_000
    conn = raw(db_path)
    try:
        assert count(conn, "PRAGMA auto_vacuum") == 2
    finally:
        conn.close()


# ------------------------------------------------------------------------------- prune


def test_prune_removes_old_sessions_only(cstore: Store, clock: ManualClock) -> None:
    old = ended_session(cstore, "old one", "old two")
    clock.advance(timedelta(days=40))
    recent = ended_session(cstore, "recent")
    report = cstore.prune(older_than=timedelta(days=30))
    assert report.sessions == (old,)
    assert report.n_events == 2
    assert report.event_bytes == len("old one") + len("old two")
    assert not report.dry_run
    assert [s.ulid for s in cstore.list_sessions()] == [recent]


def test_prune_counts_activity_not_start(cstore: Store, clock: ManualClock) -> None:
    session = cstore.start()
    clock.advance(timedelta(days=40))
    cstore.append(session, "prompt", "still going")
    cstore.end(session)
    assert cstore.prune(older_than=timedelta(days=30)).sessions == ()
    clock.advance(timedelta(days=31))
    assert cstore.prune(older_than=timedelta(days=30)).sessions == (session.ulid,)


def test_prune_never_removes_an_ancestor_of_a_kept_fork(cstore: Store, clock: ManualClock) -> None:
    root = cstore.start()
    cstore.append(root, "prompt", "root")
    middle = cstore.fork(root)
    cstore.append(middle, "prompt", "middle")
    old_leaf = cstore.fork(middle)
    for session in (root, middle, old_leaf):
        cstore.end(session)
    lonely = ended_session(cstore, "lonely and old")
    clock.advance(timedelta(days=40))
    kept_leaf = cstore.fork(middle)  # recent: kept, so middle and root must stay
    cstore.end(kept_leaf)

    preview = cstore.prune(older_than=timedelta(days=30), dry_run=True)
    report = cstore.prune(older_than=timedelta(days=30))

    assert set(preview.sessions) == {old_leaf.ulid, lonely}
    assert set(report.sessions) == {old_leaf.ulid, lonely}
    remaining = {s.ulid for s in cstore.list_sessions()}
    assert remaining == {root.ulid, middle.ulid, kept_leaf.ulid}
    assert [e.text for e in cstore.replay(kept_leaf)] == ["root", "middle"]


def test_prune_keeps_ancestors_of_labelled_and_live_forks(
    cstore: Store, clock: ManualClock
) -> None:
    a = cstore.start()
    b = cstore.fork(a)
    c = cstore.fork(b)
    live_root = cstore.start()
    live_fork = cstore.fork(live_root)
    for session in (a, b, c, live_root):
        cstore.end(session)
    cstore.label(c, "precious")
    clock.advance(timedelta(days=40))
    assert cstore.get(live_fork).status is Status.LIVE
    assert cstore.prune(older_than=timedelta(days=1)).sessions == ()
    report = cstore.prune(older_than=timedelta(days=1), keep_labeled=False)
    assert report.sessions == (c.ulid, b.ulid, a.ulid)  # forks first
    assert cstore.labels() == {}
    assert {s.ulid for s in cstore.list_sessions()} == {live_root.ulid, live_fork.ulid}


def test_prune_keeps_archived_unless_asked(cstore: Store, clock: ManualClock) -> None:
    archived = ended_session(cstore, "archived")
    cstore.archive(archived)
    clock.advance(timedelta(days=40))
    assert cstore.prune(older_than=timedelta(days=1)).sessions == ()
    assert cstore.prune(older_than=timedelta(days=1), keep_archived=False).sessions == (archived,)


def test_dry_run_changes_nothing(cstore: Store, clock: ManualClock, db_path: Path) -> None:
    old = ended_session(cstore, "old text", "more old text")
    fork = cstore.fork(old)
    cstore.end(fork)
    cstore.label(ended_session(cstore, "labelled"), "keep")
    clock.advance(timedelta(days=40))
    ended_session(cstore, "new")
    cstore.search("text")  # index everything first: a dry run must not index either
    cstore.append(cstore.start(), "prompt", "unindexed text")
    before = file_digest(db_path)

    preview = cstore.prune(older_than=timedelta(days=30), dry_run=True)

    assert file_digest(db_path) == before
    assert preview.dry_run
    assert preview.sessions == (fork.ulid, old)
    assert preview.n_events == 2
    assert preview.bytes_reclaimed == 0
    real = cstore.prune(older_than=timedelta(days=30))
    assert (real.sessions, real.n_events, real.event_bytes) == (
        preview.sessions,
        preview.n_events,
        preview.event_bytes,
    )
    assert file_digest(db_path) != before


def test_prune_in_many_transactions(
    cstore: Store, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, db_path: Path
) -> None:
    monkeypatch.setattr(_lifecycle, "PRUNE_CHUNK_EVENTS", 3)
    roots = [ended_session(cstore, f"root {i}", f"more {i}") for i in range(5)]
    forks = []
    for root in roots:
        fork = cstore.fork(root)
        cstore.append(fork, "prompt", "fork text")
        cstore.end(fork)
        forks.append(fork.ulid)
    cstore.search("text")
    clock.advance(timedelta(days=2))
    report = cstore.prune(older_than=timedelta(days=1))
    assert set(report.sessions) == set(roots) | set(forks)
    assert report.n_events == 15
    assert cstore.list_sessions() == []
    conn = raw(db_path)
    try:
        assert count(conn, "SELECT count(*) FROM events") == 0
        assert count(conn, "SELECT count(*) FROM event_search_rows") == 0
    finally:
        conn.close()


def test_prune_rechecks_each_session_in_its_transaction(
    cstore: Store, clock: ManualClock, db_path: Path
) -> None:
    parent = ended_session(cstore, "parent")
    plain = ended_session(cstore, "plain")
    clock.advance(timedelta(days=40))
    conn = apsw.Connection(str(db_path))
    try:
        plan = _lifecycle.plan_prune(
            conn,
            older_than=timedelta(days=30),
            expired=True,
            keep_labeled=True,
            keep_archived=True,
            now_ms=clock.now_ms,
        )
    finally:
        conn.close()
    assert {f[1] for f in plan.doomed} == {parent, plain}
    # Between planning and removal: someone forks one and labels the other.
    cstore.end(cstore.fork(parent))
    cstore.label(plain, "now-precious")
    conn = apsw.Connection(str(db_path))
    try:
        conn.execute("BEGIN IMMEDIATE")
        removed, _, _ = _lifecycle.prune_step(conn, plan, plan.doomed)
        conn.execute("COMMIT")
    finally:
        conn.close()
    assert removed == []
    assert {parent, plain} <= {s.ulid for s in cstore.list_sessions()}


def test_prune_with_nothing_to_do(cstore: Store) -> None:
    ended_session(cstore, "x")
    report = cstore.prune(expired=False)
    assert (report.sessions, report.n_events, report.n_sessions) == ((), 0, 0)


def test_prune_bad_input(cstore: Store) -> None:
    with pytest.raises(InvalidInput):
        cstore.prune(older_than=timedelta(days=-1))
    with pytest.raises(TypeError):
        cstore.prune(older_than=30)  # type: ignore[arg-type]


def test_readonly_store_refuses_lifecycle_writes(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    writer = open_store()
    ulid = ended_session(writer, "x")
    reader = open_store(readonly=True)
    for attempt in (
        lambda: reader.archive(ulid),
        lambda: reader.delete(ulid),
        lambda: reader.prune(older_than=timedelta(0)),
        reader.vacuum,
    ):
        with pytest.raises(StorageError):
            attempt()
    assert reader.prune(older_than=timedelta(0), dry_run=True).dry_run


def test_prune_removes_an_interrupted_session(store: Store, subprocess_env: dict[str, str]) -> None:
    mine = store.start()  # live: must stay
    script = (
        "from zero_session import Store\n"
        "store = Store.open()\n"
        "s = store.start()\n"
        "store.append(s, 'prompt', 'then the process died')\n"
        "print(s.ulid)\n"
    )
    crashed = run_child(script, subprocess_env)
    assert store.get(crashed).status is Status.INTERRUPTED
    report = store.prune(older_than=timedelta(0))
    assert report.sessions == (crashed,)
    assert [s.ulid for s in store.list_sessions()] == [mine.ulid]


def test_readme_lifecycle_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text("utf-8"), re.S)
    (block,) = [b for b in blocks if "store.search(" in b]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(block, str(readme), "exec"), namespace)
    hits = namespace["hits"]
    assert hits[0].snippet == "[margin] [call] at 80%"  # type: ignore[index]
    with Store.open(tmp_path / "state.db") as store:
        assert store.list_sessions(include_archived=True) == []
