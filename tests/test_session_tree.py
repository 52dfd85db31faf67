"""The fork tree (Store.forks, Store.session_tree): direct forks by index, the subtree
under a session, and the whole forest with each session's first prompt."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from clocks import ManualClock

from zero_session import SessionNode, SessionNotFound, Store
from zero_session._tree import FIRST_PROMPT_WINDOW


def _store(open_store: Callable[..., Store]) -> Store:
    return open_store(clock=ManualClock(1_700_000_000_000, step_ms=1000))


def _shape(nodes: list[SessionNode]) -> list[tuple[int, str]]:
    return [(n.depth, n.session.ulid) for n in nodes]


def test_forks_are_the_direct_children_oldest_first(open_store: Callable[..., Store]) -> None:
    store = _store(open_store)
    root = store.start()
    a = store.fork(root, at_seq=0)
    b = store.fork(root, at_seq=0)
    store.fork(a, at_seq=0)  # a grandchild is not a direct fork
    assert [s.ulid for s in store.forks(root)] == [a.ulid, b.ulid]
    assert store.forks(b) == []
    with pytest.raises(SessionNotFound):
        store.forks("01J0000000000000000000000A")


def test_forks_is_one_index_lookup(store: Store) -> None:
    from zero_session import _sessions, _tree

    conn = store._conn
    assert conn is not None
    sql = "EXPLAIN QUERY PLAN " + _sessions.SELECT_SESSION_SQL + _tree._FORKS_SQL
    plan = " ".join(str(row[-1]) for row in conn.execute(sql, (1,)))
    assert "USING INDEX sessions_by_parent" in plan, plan
    assert "SCAN s " not in plan + " ", plan


def test_the_forest_is_roots_newest_first_each_followed_by_its_forks(
    open_store: Callable[..., Store],
) -> None:
    store = _store(open_store)
    old = store.start()
    old_fork = store.fork(old, at_seq=0)
    new = store.start()
    deep = store.fork(old_fork, at_seq=0)
    newest_fork_of_old = store.fork(old, at_seq=0)
    nodes = store.session_tree()
    assert _shape(nodes) == [
        (0, new.ulid),
        (0, old.ulid),
        (1, newest_fork_of_old.ulid),
        (1, old_fork.ulid),
        (2, deep.ulid),
    ]
    assert _shape(store.session_tree(old_fork)) == [(0, old_fork.ulid), (1, deep.ulid)]
    assert _shape(store.session_tree(new)) == [(0, new.ulid)]


def test_archived_sessions_are_hidden_and_their_forks_become_roots(
    open_store: Callable[..., Store],
) -> None:
    store = _store(open_store)
    parent = store.start()
    child = store.fork(parent, at_seq=0)
    other = store.start()
    store.end(parent)
    store.archive(parent)
    assert _shape(store.session_tree()) == [(0, other.ulid), (0, child.ulid)]
    everything = store.session_tree(include_archived=True)
    assert _shape(everything) == [(0, other.ulid), (0, parent.ulid), (1, child.ulid)]
    assert everything[1].session.status == "archived"
    assert _shape(store.session_tree(parent)) == [(0, parent.ulid), (1, child.ulid)]


def test_each_node_has_its_own_first_prompt_read_in_the_first_events(
    open_store: Callable[..., Store],
) -> None:
    store = _store(open_store)
    plain = store.start()
    store.append_many(plain, [("system", "boot"), ("prompt", "first ask"), ("prompt", "second")])
    late = store.start()
    store.append_many(late, [("system", "noise")] * FIRST_PROMPT_WINDOW + [("prompt", "too late")])
    fork = store.fork(plain)
    store.append(fork, "prompt", "x" * 500)
    silent = store.start()
    prompts = {n.session.ulid: n.first_prompt for n in store.session_tree()}
    assert prompts[plain.ulid] == "first ask"
    assert prompts[late.ulid] is None
    assert prompts[fork.ulid] == "x" * 200
    assert prompts[silent.ulid] is None
    assert store.session_tree(plain)[1].first_prompt == "x" * 200


def test_nodes_carry_counts_and_labels(store: Store) -> None:
    s = store.start()
    store.append_many(s, [("prompt", "a"), ("system", "b")])
    store.label(s, "kept")
    (node,) = store.session_tree()
    assert node.session.n_events == 2 and node.session.labels == ("kept",)
    assert node.depth == 0


def test_a_limited_tree_is_the_first_roots_of_the_whole_one(
    open_store: Callable[..., Store],
) -> None:
    store = _store(open_store)
    old = store.start()
    orphan_parent = store.start()
    orphan = store.fork(orphan_parent, at_seq=0)
    store.end(orphan_parent)
    store.archive(orphan_parent)
    newest = store.start()
    fork = store.fork(newest, at_seq=0)
    store.fork(fork, at_seq=0)
    store.fork(old, at_seq=0)
    whole = _shape(store.session_tree())
    for limit in (1, 2, 3, 10):
        limited = _shape(store.session_tree(limit=limit))
        roots = [u for d, u in whole if d == 0][:limit]
        assert [u for d, u in limited if d == 0] == roots
        assert limited == whole[: len(limited)]
    assert [u for d, u in whole if d == 0] == [newest.ulid, orphan.ulid, old.ulid]
    with_archived = _shape(store.session_tree(limit=2, include_archived=True))
    assert with_archived == _shape(store.session_tree(include_archived=True))[: len(with_archived)]
