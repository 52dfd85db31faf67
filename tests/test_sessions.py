"""Sessions: find, listing, latest, end, resume and status; labels and milestones; the
store's own life (closed, forked process, memory); exact round trips of text and data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from children import forked_exit_code
from clocks import ManualClock
from ulidtools import common_prefix

from zero_session import (
    AmbiguousSession,
    InvalidInput,
    SessionBusy,
    SessionNotFound,
    Status,
    Store,
    StoreClosed,
    StoreUsedAfterFork,
)

NOV_21_1403_MS = int(datetime(2026, 11, 21, 14, 3, 27, tzinfo=UTC).timestamp() * 1000)


def unique_prefix(target: str, *others: str) -> str:
    """The shortest prefix of ``target`` (at least 6 chars) that no other ulid shares."""
    n = max([6, *(len(common_prefix(target, o)) + 1 for o in others)])
    return target[:n]


# ------------------------------------------------------------------------------- find


def test_find_exact_label_prefix(store: Store) -> None:
    a, b = store.start(), store.start()
    store.label(a, "pre-cpi")
    assert store.find(a.ulid).ulid == a.ulid
    assert store.find(a.ulid.lower()).ulid == a.ulid
    assert store.find(f"  {a.ulid}\n").ulid == a.ulid
    assert store.find("pre-cpi").ulid == a.ulid
    # A unique prefix, in any case.
    prefix = unique_prefix(b.ulid, a.ulid)
    assert store.find(prefix).ulid == b.ulid
    assert store.find(prefix.lower()).ulid == b.ulid
    if len(prefix) > 6:
        with pytest.raises(AmbiguousSession):
            store.find(prefix[:-1])
    # Crockford aliases: O reads as 0, I and L as 1 (ulids of this era start "01").
    assert b.ulid.startswith("01")
    assert store.find("oI" + prefix[2:]).ulid == b.ulid
    assert store.find("ol" + prefix[2:].lower()).ulid == b.ulid


def test_exact_ulid_beats_label_beats_prefix(store: Store) -> None:
    a = store.start()
    # ULIDs of one millisecond differ only in their last characters; wait for a later one
    # so that b has a unique prefix shorter than a whole ulid.
    b = store.start()
    while len(unique_prefix(b.ulid, a.ulid)) > 20:
        b = store.start()
    # A label that spells b's ulid still loses to b itself.
    store.label(a, b.ulid)
    assert store.find(b.ulid).ulid == b.ulid
    # A label that looks like a unique prefix of b wins over the prefix.
    prefix = unique_prefix(
        b.ulid, *(s.ulid for s in store.list_sessions(limit=None) if s.ulid != b.ulid)
    )
    assert store.find(prefix).ulid == b.ulid
    store.label(a, prefix)
    assert store.find(prefix).ulid == a.ulid
    assert store.find(b.ulid[: len(prefix) + 1]).ulid == b.ulid


def test_find_ambiguous_prefix_lists_candidates(store: Store) -> None:
    sessions = [store.start() for _ in range(3)]
    shared = common_prefix(sessions[0].ulid, sessions[-1].ulid)
    assert len(shared) >= 6, "three sessions started together share their timestamp"
    with pytest.raises(AmbiguousSession) as caught:
        store.find(shared[:6].lower())
    assert set(caught.value.candidates) == {s.ulid for s in sessions}
    assert caught.value.needle == shared[:6].lower()
    for s in sessions:
        assert s.ulid in str(caught.value)
    assert not caught.value.more


def test_find_ambiguous_lists_at_most_ten(store: Store) -> None:
    sessions = [store.start() for _ in range(12)]
    shared = common_prefix(sessions[0].ulid, sessions[-1].ulid)
    with pytest.raises(AmbiguousSession) as caught:
        store.find(shared)
    assert len(caught.value.candidates) == 10
    assert caught.value.more
    assert "more than 10 sessions" in str(caught.value)
    assert set(caught.value.candidates) < {s.ulid for s in sessions}


def test_find_short_or_unknown_prefix_is_not_found(store: Store) -> None:
    session = store.start()
    with pytest.raises(SessionNotFound, match="6"):
        store.find(session.ulid[:5])
    with pytest.raises(SessionNotFound):
        store.find("ZZZZZZZZ")
    with pytest.raises(SessionNotFound) as caught:
        store.find("no-such-label")
    assert caught.value.needle == "no-such-label"
    with pytest.raises(InvalidInput):
        store.find("")


# ---------------------------------------------------------------------------- listing


def test_list_newest_first_ties_later_created_first(open_store: Callable[..., Store]) -> None:
    clock = ManualClock(NOV_21_1403_MS)
    store = open_store(clock=clock)
    same = [store.start() for _ in range(4)]
    clock.now_ms -= 60_000
    older = store.start()
    clock.now_ms += 120_000
    newer = store.start()
    listed = [s.ulid for s in store.list_sessions(limit=None)]
    assert listed == [newer.ulid, *[s.ulid for s in reversed(same)], older.ulid]
    assert [s.ulid for s in store.list_sessions(limit=2)] == listed[:2]
    # Paging with before= walks the same order without repeats or holes.
    paged: list[str] = []
    page = store.list_sessions(limit=2)
    while page:
        paged += [s.ulid for s in page]
        page = store.list_sessions(limit=2, before=page[-1])
    assert paged == listed
    assert [s.ulid for s in store.list_sessions(limit=None, before=same[2].ulid)] == [
        same[1].ulid,
        same[0].ulid,
        older.ulid,
    ]
    assert store.list_sessions(before=older) == []


def test_list_carries_counts_and_labels(store: Store) -> None:
    a = store.start()
    store.append_many(a, [("system", str(i)) for i in range(7)])
    child = store.fork(a, at_seq=5)
    store.append(child, "prompt", "own")
    store.label(a, "zeta")
    store.label(a, "alpha")
    store.label(child, "kid")
    by_ulid = {s.ulid: s for s in store.list_sessions()}
    assert (by_ulid[a.ulid].n_events, by_ulid[a.ulid].last_seq) == (7, 7)
    assert (by_ulid[child.ulid].n_events, by_ulid[child.ulid].last_seq) == (1, 6)
    assert by_ulid[a.ulid].labels == ("alpha", "zeta")
    assert by_ulid[child.ulid].labels == ("kid",)
    assert by_ulid[child.ulid].parent_ulid == a.ulid
    assert store.get(a).labels == ("alpha", "zeta")


def test_latest_walks_up_to_the_nearest_folder(store: Store, tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    link = tmp_path / "link-to-b"
    link.symlink_to(tmp_path / "a" / "b")
    assert store.latest(deep) is None
    in_a = store.start(cwd=tmp_path / "a")
    latest = store.latest(deep)
    assert latest is not None and latest.ulid == in_a.ulid
    # Started through a symlink: stored resolved, found from the real path and the link.
    in_b = store.start(cwd=link)
    assert in_b.cwd == str((tmp_path / "a" / "b").resolve())
    for where in (deep, link, link / "c", tmp_path / "a" / "b"):
        found = store.latest(where)
        assert found is not None and found.ulid == in_b.ulid
    found = store.latest(tmp_path / "a")
    assert found is not None and found.ulid == in_a.ulid
    assert store.latest(tmp_path) is None
    # The default is the current directory.
    here = store.start()
    found = store.latest()
    assert found is not None and found.ulid == here.ulid
    assert here.cwd == os.path.realpath(os.getcwd())


# ------------------------------------------------------------------------ end, status


def test_end_is_idempotent_and_keeps_the_first_time(open_store: Callable[..., Store]) -> None:
    clock = ManualClock(NOV_21_1403_MS)
    store = open_store(clock=clock)
    session = store.start()
    assert session.status is Status.LIVE
    clock.now_ms += 1_000
    first = store.end(session)
    clock.now_ms += 1_000
    again = store.end(session.ulid)
    assert first.ended_at_ms == again.ended_at_ms == NOV_21_1403_MS + 1_000
    assert store.get(session).status is Status.ENDED


_HOLDER = """
import sys
import time
from zero_session import Store
store = Store.open(sys.argv[1], clock=lambda: int(sys.argv[2]))
session = store.start(cli_version="0.3.0", engine_base_url="http://old")
store.append_many(session, [("system", str(i)) for i in range(int(sys.argv[3]))])
print(session.ulid, flush=True)
sys.stdin.readline()  # hold the session until told to go; exit without ending it
"""


@pytest.fixture
def holder(db_path: Path, subprocess_env: dict[str, str]) -> Iterator[Callable[..., tuple]]:
    """Start a real process that writes a session and stays alive until released."""
    children: list[subprocess.Popen[str]] = []

    def spawn(n_events: int = 3, started_ms: int = NOV_21_1403_MS) -> tuple:
        child = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(db_path), str(started_ms), str(n_events)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=subprocess_env,
        )
        children.append(child)
        assert child.stdout is not None
        return child, child.stdout.readline().strip()

    yield spawn
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait()


def release(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.close()
    assert child.wait(timeout=30) == 0


def test_resume_of_a_live_session_is_busy_until_its_writer_exits(
    store: Store, holder: Callable[..., tuple]
) -> None:
    child, ulid = holder()
    assert store.get(ulid).status is Status.LIVE
    assert store.get(ulid).writer_pid == child.pid
    with pytest.raises(SessionBusy) as caught:
        store.resume(ulid)
    assert (caught.value.ulid, caught.value.pid) == (ulid, child.pid)
    assert store.get(ulid).writer_pid == child.pid  # nothing changed
    release(child)
    assert store.get(ulid).status is Status.INTERRUPTED
    resumed = store.resume(ulid)
    assert resumed.previous_status is Status.INTERRUPTED
    assert resumed.session.status is Status.LIVE
    assert resumed.session.writer_pid == os.getpid()
    assert resumed.warnings == ()
    assert store.append(ulid, "system", "mine now").seq == 4


def test_resume_force_takes_over_a_live_writer(store: Store, holder: Callable[..., tuple]) -> None:
    child, ulid = holder()
    resumed = store.resume(ulid, force=True)
    assert resumed.previous_status is Status.LIVE
    assert any(str(child.pid) in w for w in resumed.warnings)
    assert store.get(ulid).writer_pid == os.getpid()
    assert store.get(ulid).status is Status.LIVE  # live: this process writes it now
    release(child)
    assert store.get(ulid).status is Status.LIVE


def test_resume_banner_warnings_and_totals(
    open_store: Callable[..., Store], holder: Callable[..., tuple]
) -> None:
    child, ulid = holder(n_events=1234)
    release(child)
    store = open_store(clock=ManualClock(NOV_21_1403_MS + 3_600_000))
    resumed = store.resume(ulid, cli_version="0.3.1", engine_base_url="http://new", tail=10)
    assert resumed.banner() == "resuming: 2026-11-21 14:03 UTC · interrupted · 1,234 prior events"
    assert resumed.n_events == 1234
    assert [e.seq for e in resumed.tail] == list(range(1225, 1235))
    assert len(resumed.warnings) == 2
    assert any("0.3.0" in w and "0.3.1" in w for w in resumed.warnings)
    assert any("http://old" in w and "http://new" in w for w in resumed.warnings)
    # The current versions are recorded; resuming again with them warns about nothing.
    store.end(ulid)
    again = store.resume(ulid, cli_version="0.3.1", engine_base_url="http://new")
    assert again.warnings == ()
    assert again.previous_status is Status.ENDED
    assert again.banner() == "resuming: 2026-11-21 14:03 UTC · ended · 1,234 prior events"
    assert store.get(ulid).ended_at_ms is None


def test_resume_banner_counts_the_whole_timeline(store: Store) -> None:
    parent = store.start()
    store.append_many(parent, [("system", "a"), ("system", "b")])
    child = store.fork(parent, at_seq=1)
    store.end(child)
    resumed = store.resume(child.ulid)
    assert resumed.n_events == 1
    assert resumed.banner().endswith("· ended · 1 prior event")
    assert [e.text for e in resumed.tail] == ["a"]


# --------------------------------------------------------------- labels, milestones


def test_labels(store: Store) -> None:
    a, b = store.start(), store.start()
    store.label(a, "pre-cpi")
    store.label(a, "second")
    assert store.labels() == {"pre-cpi": a.ulid, "second": a.ulid}
    store.label(b, "pre-cpi", move=True)  # moving must be asked for (test_label_move.py)
    assert store.labels() == {"pre-cpi": b.ulid, "second": a.ulid}
    assert store.get(a).labels == ("second",)
    assert store.get(b).labels == ("pre-cpi",)
    assert store.find("pre-cpi").ulid == b.ulid
    assert store.unlabel("pre-cpi") is True
    assert store.unlabel("pre-cpi") is False
    assert store.labels() == {"second": a.ulid}
    with pytest.raises(SessionNotFound):
        store.find("pre-cpi")
    assert store.get_milestone("session.label.second") == a.ulid


def test_milestones(open_store: Callable[..., Store]) -> None:
    clock = ManualClock(NOV_21_1403_MS)
    store = open_store(clock=clock)
    assert store.set_milestone_once("cpi.first", "one") is True
    clock.now_ms += 5
    assert store.set_milestone_once("cpi.first", "two") is False
    assert store.get_milestone("cpi.first") == "one"
    store.set_milestone("cpi.last", "x")
    store.set_milestone("cpi.last", "y")
    store.set_milestone("cpi", "root")
    store.set_milestone("cpj", "next")
    store.set_milestone("\U0010ffff\U0010ffff", "max")
    store.set_milestone("a\ud7ff!", "before the surrogates")
    assert store.get_milestone("cpi.last") == "y"
    assert store.get_milestone("never") is None
    got = store.milestones("cpi.")
    assert [(m.key, m.value) for m in got] == [("cpi.first", "one"), ("cpi.last", "y")]
    assert got[0].at_ms == NOV_21_1403_MS and got[1].at_ms == NOV_21_1403_MS + 5
    assert [m.key for m in store.milestones("cp")] == ["cpi", "cpi.first", "cpi.last", "cpj"]
    assert [m.key for m in store.milestones("\U0010ffff")] == ["\U0010ffff\U0010ffff"]
    assert [m.key for m in store.milestones("a\ud7ff")] == ["a\ud7ff!"]
    assert len(store.milestones()) == 6
    with pytest.raises(InvalidInput, match="reserved"):
        store.set_milestone("session.label.x", "y")
    with pytest.raises(InvalidInput, match="reserved"):
        store.set_milestone_once("session.label.x", "y")
    a = store.start()
    store.label(a, "lbl")
    assert [m.key for m in store.milestones("session.")] == ["session.label.lbl"]


# ---------------------------------------------------------------- the store's life


def test_store_used_after_os_fork(store: Store) -> None:
    session = store.start()
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 3
        try:
            store.get(session)
        except StoreUsedAfterFork:
            code = 0
        except BaseException:
            code = 2
        try:
            with Store.open(store.path) as own:  # a new Store in the child works
                if own.get(session).ulid != session.ulid:
                    code = 4
        except BaseException:
            code = 5
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's store is unharmed by the child.
    assert store.append(session, "system", "still fine").seq == 1


def test_store_used_after_os_fork_while_its_mutex_was_held(store: Store) -> None:
    """Forked while another thread held the store's mutex (a read in progress): the
    child's copy of the mutex stays held, so every call must refuse before taking it."""
    session = store.start()

    def child() -> int:
        code = 0
        calls: list[Callable[[], object]] = [
            lambda: store.get(session),
            lambda: store.list_sessions(),
            lambda: store.append(session, "prompt", "from the child"),
            lambda: store.label(session, "child"),
        ]
        for call in calls:
            try:
                call()
                code = 2
            except StoreUsedAfterFork:
                pass
            except BaseException:
                code = 3
        store.close()  # the parent's connection: left alone, and no hang
        return code

    with store._lock:
        assert forked_exit_code(child) == 0
    assert store.get(session).ulid == session.ulid


def test_closed_store_refuses_everything(open_store: Callable[..., Store]) -> None:
    store = open_store()
    session = store.start()
    store.close()
    store.close()  # twice is fine
    calls: list[Callable[[], object]] = [
        store.start,
        lambda: store.end(session),
        lambda: store.get(session),
        lambda: store.find(session.ulid),
        store.list_sessions,
        store.latest,
        lambda: store.fork(session),
        lambda: store.resume(session.ulid),
        lambda: store.append(session, "system", "x"),
        lambda: store.append_many(session, [("system", "x")]),
        lambda: store.events(session),
        lambda: store.tail(session),
        lambda: list(store.replay(session)),
        lambda: store.label(session, "x"),
        lambda: store.unlabel("x"),
        store.labels,
        lambda: store.set_milestone("k", "v"),
        lambda: store.set_milestone_once("k", "v"),
        lambda: store.get_milestone("k"),
        store.milestones,
    ]
    for call in calls:
        with pytest.raises(StoreClosed):
            call()
    assert "closed" in repr(store)


def test_context_manager_closes(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.start()
    with pytest.raises(StoreClosed):
        store.list_sessions()


def test_memory_store() -> None:
    with Store.memory(clock=ManualClock(NOV_21_1403_MS)) as store:
        assert store.path == ":memory:"
        a = store.start(meta={"k": [1, 2]})
        store.append_many(a, [("prompt", "x", {"q": 1}), ("system", "y")])
        child = store.fork(a, at_seq=1)
        store.append(child, "warn", "z")
        store.label(child, "kid")
        assert [e.text for e in store.replay(child.ulid)] == ["x", "z"]
        assert store.find("kid").meta == {"k": [1, 2]}
        assert [s.ulid for s in store.list_sessions()] == [child.ulid, a.ulid]
    with Store.memory() as other:
        assert other.list_sessions() == []


# ------------------------------------------------------------------- round trips

ROUND_TRIP_TEXTS = [
    "",
    "a\x00b",
    "\x00",
    "emoji 🙂👩‍👩‍👧 and ZWJ",
    "line\nbreak\r\ncr\ttab",
    "\u2028\u2029\ufeff\ufffd",
    "'; DROP TABLE events; --",
    "\U0010ffff",
    "ünïcödé " * 100,
]
ROUND_TRIP_DATA = [
    None,
    0,
    -(2**200),
    2**63,
    1.5,
    -0.0,
    1e308,
    5e-324,
    True,
    False,
    "",
    "a\x00b 🙂",
    [],
    {},
    [None, [[], [{}]], {"": ""}],
    {"nested": {"list": [1, 2.25, "x", None, True], "nul\x00key": "🙂"}, "big": 10**30},
]


def test_text_and_data_round_trip_exactly(open_store: Callable[..., Store], db_path: Path) -> None:
    store = open_store()
    session = store.start(meta={"k\x00": "🙂", "n": 2**70}, cli_version="v\x00", cwd="/")
    for text in ROUND_TRIP_TEXTS:
        store.append(session, "prompt", text)
    store.append_many(session, [("system", "d", data) for data in ROUND_TRIP_DATA])
    store.label(session, "🙂-label")
    store.set_milestone("k\x00ey", "v\x00alue 🙂")
    store.close()

    reopened = open_store()
    events = list(reopened.replay(session))
    assert [e.text for e in events[: len(ROUND_TRIP_TEXTS)]] == ROUND_TRIP_TEXTS
    datas = [e.data for e in events[len(ROUND_TRIP_TEXTS) :]]
    assert datas == ROUND_TRIP_DATA
    for got, sent in zip(datas, ROUND_TRIP_DATA, strict=True):
        assert type(got) is type(sent)  # True stays bool, 2**63 stays int, -0.0 float
    assert str(datas[5]) == "-0.0"
    assert reopened.events(session, limit=None) == events
    found = reopened.find("🙂-label")
    assert found.meta == {"k\x00": "🙂", "n": 2**70}
    assert found.cli_version == "v\x00"
    assert reopened.get_milestone("k\x00ey") == "v\x00alue 🙂"


def _sqlite3(db_path: Path, sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sqlite3", "-bail", str(db_path), sql], capture_output=True, text=True, timeout=30
    )


def test_invalid_utf8_from_the_shell_reads_back_replaced(store: Store, db_path: Path) -> None:
    session = store.start(cli_version="1.0")
    store.append(session, "prompt", "fine")
    store.label(session, "lbl")
    u = session.ulid
    sql = f"""
        UPDATE sessions SET last_seq = last_seq + 2, cwd = CAST(X'2F746D702FFF' AS TEXT),
               cli_version = CAST(X'C3' AS TEXT) WHERE ulid = '{u}';
        INSERT INTO events (session_id, seq, at_ms, kind, text, data)
            SELECT id, 2, 0, 'prompt', CAST(X'FF41' AS TEXT), NULL FROM sessions WHERE ulid = '{u}';
        INSERT INTO events (session_id, seq, at_ms, kind, text, data)
            SELECT id, 3, 0, 'system', 'ok', CAST(X'7B2261223A2280FF227D' AS TEXT)
              FROM sessions WHERE ulid = '{u}';
        INSERT INTO milestones (key, value, at_ms)
            VALUES (CAST(X'6BFE' AS TEXT), CAST(X'E282' AS TEXT), 0);
    """
    result = _sqlite3(db_path, sql)
    assert result.returncode == 0, result.stderr
    events = list(store.replay(u))
    assert [e.text for e in events] == ["fine", "\ufffdA", "ok"]
    assert events[2].data == {"a": "\ufffd\ufffd"}
    assert store.tail(u, 2) == events[1:]
    assert store.events(u, limit=None) == events
    got = store.get(u)
    assert (got.cwd, got.cli_version) == ("/tmp/\ufffd", "\ufffd")
    assert [s.cwd for s in store.list_sessions()] == ["/tmp/\ufffd"]
    assert store.find("lbl").cli_version == "\ufffd"
    assert store.resume(u).n_events == 3
    assert store.milestones("k") == [m for m in store.milestones() if m.key == "k\ufffd"]
    assert store.milestones("k")[0].value == "\ufffd"
    # The store keeps appending after the repaired rows.
    assert store.append(u, "system", "after").seq == 4


# ------------------------------------------------------------- liveness edge cases

_EXITER = """
import sys
import time
from zero_session import Store
with Store.open(sys.argv[1]) as store:
    print(store.start().ulid, flush=True)
"""


def test_an_exited_but_unreaped_writer_is_not_live(
    store: Store, db_path: Path, subprocess_env: dict[str, str]
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _EXITER, str(db_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env,
    )
    try:
        assert child.stdout is not None
        ulid = child.stdout.readline().strip()
        # Wait for the exit but leave the child a zombie: its pid still exists.
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert Path(f"/proc/{child.pid}").exists()
        assert store.get(ulid).status is Status.INTERRUPTED
    finally:
        child.wait()
    assert store.get(ulid).status is Status.INTERRUPTED


def test_a_live_pid_with_another_start_token_is_not_the_writer(
    store: Store, db_path: Path, holder: Callable[..., tuple]
) -> None:
    """A pid reused by an unrelated process does not make the session live."""
    child, ulid = holder()
    assert store.get(ulid).status is Status.LIVE
    result = _sqlite3(
        db_path, f"UPDATE sessions SET writer_token = 'another-boot:1' WHERE ulid = '{ulid}'"
    )
    assert result.returncode == 0, result.stderr
    assert store.get(ulid).status is Status.INTERRUPTED
    assert store.resume(ulid).previous_status is Status.INTERRUPTED  # no SessionBusy
    release(child)


def test_a_writer_on_another_host_cannot_be_seen(store: Store, db_path: Path) -> None:
    session = store.start()
    result = _sqlite3(
        db_path,
        f"UPDATE sessions SET writer_host = 'elsewhere.example' WHERE ulid = '{session.ulid}'",
    )
    assert result.returncode == 0, result.stderr
    assert store.get(session).status is Status.INTERRUPTED
    resumed = store.resume(session.ulid)
    assert any("elsewhere.example" in w for w in resumed.warnings)
    assert store.get(session).writer_host != "elsewhere.example"
    assert store.get(session).status is Status.LIVE
