"""Regression: a fork of a fork takes from each ancestor only what its forks kept."""

from __future__ import annotations

from zero_session import Store


def test_fork_at_zero_of_a_fork_inherits_nothing(store: Store) -> None:
    root = store.start()
    store.append(root, "prompt", "root 1")
    middle = store.fork(root, at_seq=1)
    leaf = store.fork(middle, at_seq=0)
    store.append(leaf, "prompt", "leaf 1")
    assert [(e.seq, e.text) for e in store.replay(leaf)] == [(1, "leaf 1")]
    assert [e.text for e in store.tail(leaf, 5)] == ["leaf 1"]
    assert [e.text for e in store.resume(leaf.ulid, tail=5).tail] == ["leaf 1"]


def test_each_ancestor_is_cut_at_the_lowest_fork_point_below_it(store: Store) -> None:
    root = store.start()
    store.append_many(root, [("prompt", f"r{i}") for i in range(1, 5)])
    middle = store.fork(root, at_seq=3)
    store.append(middle, "prompt", "m4")
    leaf = store.fork(middle, at_seq=2)
    store.append(leaf, "prompt", "l3")
    assert [e.text for e in store.replay(leaf)] == ["r1", "r2", "l3"]
