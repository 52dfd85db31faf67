"""Invariant 4: fork is O(1), its timeline is the parent's prefix plus its own events."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from zero_session import Event, InvalidInput, SessionNotFound, Store


def event_rows(db_path: Path) -> int:
    """Rows in the events table, counted by a separate plain connection."""
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return int(conn.execute("SELECT count(*) FROM events").fetchall()[0][0])
    finally:
        conn.close()


def summary(events: list[Event]) -> list[tuple[str, int, str, str]]:
    return [(e.session, e.seq, e.kind, e.text) for e in events]


def test_fork_copies_no_events(store: Store, db_path: Path) -> None:
    parent = store.start()
    store.append_many(parent, [("system", f"p{i}") for i in range(50)])
    rows = event_rows(db_path)
    assert rows == 50
    children = [store.fork(parent, at_seq=at) for at in (0, 1, 25, 50)]
    children.append(store.fork(parent))
    assert event_rows(db_path) == rows
    assert [c.fork_seq for c in children] == [0, 1, 25, 50, 50]
    assert all(c.parent_ulid == parent.ulid and c.n_events == 0 for c in children)
    assert [c.last_seq for c in children] == [0, 1, 25, 50, 50]


def test_fork_at_every_seq(store: Store, db_path: Path) -> None:
    parent = store.start(cli_version="1.0", engine_base_url="http://engine", meta={"a": 1})
    store.append(parent, "prompt", "p1", data={"n": 1})
    store.append_many(parent, [("system", f"p{i}", [i]) for i in range(2, 8)])
    parent_before = store.get(parent)
    parent_events = list(store.replay(parent))
    for at in range(parent_before.last_seq + 1):
        child = store.fork(parent, at_seq=at)
        assert (child.fork_seq, child.last_seq, child.parent_ulid) == (at, at, parent.ulid)
        assert child.cli_version == "1.0" and child.engine_base_url == "http://engine"
        assert child.meta == {"a": 1}
        assert list(store.replay(child)) == parent_events[:at]
        own = store.append(child, "command", f"child of {at}")
        assert own.seq == at + 1
        replayed = list(store.replay(child))
        assert replayed == [*parent_events[:at], own]
        assert store.events(child) == [own]
        assert store.tail(child, 3) == replayed[-3:]
    # The parent is exactly as it was, and only the children's own events were stored.
    after = store.get(parent)
    assert (after.last_seq, after.last_event_at_ms, after.ended_at_ms) == (
        parent_before.last_seq,
        parent_before.last_event_at_ms,
        parent_before.ended_at_ms,
    )
    assert list(store.replay(parent)) == parent_events
    assert event_rows(db_path) == 7 + 8


def test_three_generations(store: Store) -> None:
    a = store.start()
    store.append_many(a, [("system", f"a{i}") for i in range(1, 11)])  # a: 1..10
    b = store.fork(a, at_seq=6)
    store.append_many(b, [("prompt", f"b{i}") for i in range(7, 11)])  # b: a1..6, 7..10
    c = store.fork(b, at_seq=8)
    store.append_many(c, [("command", f"c{i}") for i in range(9, 12)])  # c: ..b8, 9..11
    d = store.fork(c, at_seq=10)
    store.append_many(d, [("warn", f"d{i}") for i in range(11, 14)])  # d: ..c10, 11..13
    # The ancestors keep appending after the forks; the descendants do not see it.
    store.append(a, "alert", "a11")
    store.append(b, "alert", "b11")
    store.append(c, "alert", "c12")

    expected = (
        [(a.ulid, i, "system", f"a{i}") for i in range(1, 7)]
        + [(b.ulid, i, "prompt", f"b{i}") for i in range(7, 9)]
        + [(c.ulid, i, "command", f"c{i}") for i in range(9, 11)]
        + [(d.ulid, i, "warn", f"d{i}") for i in range(11, 14)]
    )
    replayed = list(store.replay(d))
    assert summary(replayed) == expected
    for n in range(0, 16):
        assert store.tail(d, n) == (replayed[-n:] if n else [])
    for after in range(0, 14):
        assert list(store.replay(d, after_seq=after)) == replayed[after:]
    assert summary(store.events(d)) == expected[-3:]
    assert summary(store.events(d, after_seq=11)) == expected[-2:]
    # after_seq inside the inherited part still yields only own events.
    assert summary(store.events(d, after_seq=2)) == expected[-3:]
    assert summary(store.events(d, kinds={"system"})) == []
    assert [s.last_seq for s in map(store.get, (a, b, c, d))] == [11, 11, 12, 13]
    assert [s.parent_ulid for s in map(store.get, (a, b, c, d))] == [None, a.ulid, b.ulid, c.ulid]
    assert [s.n_events for s in map(store.get, (a, b, c, d))] == [11, 5, 4, 3]
    # Each ancestor's own timeline is untouched by its descendants.
    assert summary(list(store.replay(c)))[:10] == expected[:10]
    assert [e.text for e in store.replay(a)] == [f"a{i}" for i in range(1, 12)]


def test_replay_crosses_pages_and_generations(store: Store) -> None:
    a = store.start()
    store.append_many(a, [("system", f"a{i}") for i in range(1, 2501)])
    b = store.fork(a, at_seq=2100)
    store.append_many(b, [("prompt", f"b{i}") for i in range(2101, 4601)])
    c = store.fork(b, at_seq=4100)
    store.append_many(c, [("command", f"c{i}") for i in range(4101, 4201)])
    texts = [e.text for e in store.replay(c)]
    assert texts == (
        [f"a{i}" for i in range(1, 2101)]
        + [f"b{i}" for i in range(2101, 4101)]
        + [f"c{i}" for i in range(4101, 4201)]
    )
    assert [e.text for e in store.tail(c, 150)] == texts[-150:]


def test_replay_is_a_snapshot_and_lets_the_consumer_append(store: Store) -> None:
    session = store.start()
    store.append_many(session, [("system", str(i)) for i in range(1, 5001)])
    seen = 0
    for event in store.replay(session):
        seen += 1
        if event.seq % 1000 == 0:
            store.append(session, "prompt", "written while replaying")
    assert seen == 5000
    assert store.get(session).last_seq == 5005


def test_fork_of_forked_child_before_its_own_events(store: Store) -> None:
    a = store.start()
    store.append_many(a, [("system", "x"), ("system", "y")])
    b = store.fork(a)
    c = store.fork(b, at_seq=1)
    assert [e.text for e in store.replay(c)] == ["x"]
    assert store.append(c, "prompt", "z").seq == 2
    assert [(e.seq, e.text) for e in store.replay(c)] == [(1, "x"), (2, "z")]
    assert [e.text for e in store.tail(c, 5)] == ["x", "z"]


def test_every_grandchild_fork_point(store: Store) -> None:
    """A fork of a fork, at every pair of fork points, below and above the first one."""
    a = store.start()
    a_events = store.append_many(a, [("system", f"a{i}") for i in range(1, 5)])
    for b_at in range(len(a_events) + 1):
        b = store.fork(a, at_seq=b_at)
        b_timeline = a_events[:b_at] + store.append_many(b, [("prompt", "b1"), ("prompt", "b2")])
        for c_at in range(len(b_timeline) + 1):
            c = store.fork(b, at_seq=c_at)
            c_timeline = b_timeline[:c_at] + store.append_many(c, [("warn", "c1"), ("warn", "c2")])
            assert list(store.replay(c)) == c_timeline, (b_at, c_at)
            assert store.tail(c, 3) == c_timeline[-3:], (b_at, c_at)


@pytest.mark.parametrize("bad", [-1, 4, 10**6])
def test_fork_outside_the_parent_is_invalid(store: Store, db_path: Path, bad: int) -> None:
    parent = store.start()
    store.append_many(parent, [("system", "a"), ("system", "b"), ("system", "c")])
    n_sessions = len(store.list_sessions(limit=None))
    with pytest.raises(InvalidInput):
        store.fork(parent, at_seq=bad)
    assert len(store.list_sessions(limit=None)) == n_sessions
    assert store.get(parent).last_seq == 3


@pytest.mark.parametrize("bad", ["1", 1.0, True])
def test_fork_at_seq_of_wrong_type(store: Store, bad: object) -> None:
    parent = store.start()
    with pytest.raises(TypeError):
        store.fork(parent, at_seq=bad)  # type: ignore[arg-type]


def test_fork_of_unknown_session(store: Store) -> None:
    with pytest.raises(SessionNotFound):
        store.fork("01ARZ3NDEKTSV4RRFFQ69G5FAV")
