"""Prune exactly what was shown, and delete's subtree read along the forks-of index.

``prune(only=...)`` is what the CLI runs after showing a dry run and asking: a session
that became eligible in between (here, by the clock moving on) is never removed, and one
of the shown sessions that gained a fork in between stays, as every ancestor of a kept
session does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from clocks import ManualClock

from zero_session import Store, _lifecycle


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_767_225_600_000)


@pytest.fixture
def cstore(open_store: Callable[..., Store], clock: ManualClock) -> Store:
    return open_store(clock=clock)


def test_prune_only_removes_no_session_that_became_eligible_later(
    cstore: Store, clock: ManualClock
) -> None:
    old = cstore.end(cstore.start())
    clock.advance(timedelta(days=20))
    younger = cstore.end(cstore.start())
    clock.advance(timedelta(days=15))
    shown = cstore.prune(older_than=timedelta(days=30), dry_run=True)
    assert shown.sessions == (old.ulid,)
    clock.advance(timedelta(days=20))  # now `younger` is past 30 days too
    done = cstore.prune(older_than=timedelta(days=30), only=shown.sessions)
    assert done.sessions == (old.ulid,)
    assert cstore.get(younger).ulid == younger.ulid


def test_prune_only_keeps_a_shown_session_that_gained_a_fork(
    cstore: Store, clock: ManualClock
) -> None:
    parent = cstore.end(cstore.start())
    clock.advance(timedelta(days=40))
    shown = cstore.prune(older_than=timedelta(days=30), dry_run=True)
    assert shown.sessions == (parent.ulid,)
    fork = cstore.fork(parent)
    done = cstore.prune(older_than=timedelta(days=30), only=shown.sessions)
    assert done.sessions == ()
    assert cstore.get(fork).parent_ulid == parent.ulid


def test_prune_only_refuses_a_single_session(cstore: Store) -> None:
    session = cstore.start()
    with pytest.raises(TypeError):
        cstore.prune(older_than=timedelta(0), only=session.ulid)


def test_delete_reads_the_subtree_along_the_forks_index(cstore: Store) -> None:
    root = cstore.end(cstore.start())
    child = cstore.fork(root)
    grandchild = cstore.fork(child)
    others = [cstore.start() for _ in range(5)]
    with cstore._reading() as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + _lifecycle.SUBTREE_FACTS_SQL, (root.ulid,)
        ).fetchall()
    details = [row[3] for row in plan]
    assert any("sessions_by_parent" in d for d in details), details
    assert not any(d.startswith("SCAN s") or d == "SCAN sessions" for d in details), details
    cstore.end(child)
    cstore.end(grandchild)
    removed = cstore.delete(root, cascade=True)
    assert removed.sessions == (grandchild.ulid, child.ulid, root.ulid)
    assert {s.ulid for s in cstore.list_sessions(None)} == {s.ulid for s in others}
