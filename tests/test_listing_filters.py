"""Directory-bound sessions and meta filters in ``latest`` and ``list_sessions``."""

from __future__ import annotations

import os
from pathlib import Path

import apsw
import pytest

from zero_session import InvalidInput, Store


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """project/ with src/deep/ inside, and a sibling folder other/."""
    root = tmp_path / "project"
    (root / "src" / "deep").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    return root


def test_latest_picks_the_nearest_parent_directory(store: Store, tree: Path) -> None:
    at_root = store.start(cwd=tree)
    at_src = store.start(cwd=tree / "src")
    newer_elsewhere = store.start(cwd=tree.parent / "other")
    assert store.latest(cwd=tree / "src" / "deep") == store.get(at_src)
    assert store.latest(cwd=tree / "src") == store.get(at_src)
    assert store.latest(cwd=tree) == store.get(at_root)
    assert store.latest(cwd=tree.parent / "other") == store.get(newer_elsewhere)
    newest_root = store.start(cwd=tree)
    assert store.latest(cwd=tree).ulid == newest_root.ulid  # type: ignore[union-attr]
    assert store.latest(cwd=tree / "src" / "deep").ulid == at_src.ulid  # type: ignore[union-attr]


def test_cwd_is_canonical(store: Store, tree: Path, tmp_path: Path) -> None:
    link = tmp_path / "link-to-src"
    os.symlink(tree / "src", link)
    session = store.start(cwd=link)
    assert session.cwd == str((tree / "src").resolve())
    assert store.latest(cwd=tree / "src" / "deep").ulid == session.ulid  # type: ignore[union-attr]
    assert [s.ulid for s in store.list_sessions(cwd=link / "deep")] == [session.ulid]


def test_list_sessions_by_directory(store: Store, tree: Path) -> None:
    root_old = store.start(cwd=tree)
    store.start(cwd=tree / "src" / "deep")  # a subdirectory is not listed for tree
    root_new = store.start(cwd=tree)
    assert [s.ulid for s in store.list_sessions(cwd=tree)] == [root_new.ulid, root_old.ulid]
    # src has no session of its own: the nearest parent's sessions, like latest().
    from_src = store.list_sessions(cwd=tree / "src")
    assert [s.ulid for s in from_src] == [root_new.ulid, root_old.ulid]
    assert store.list_sessions(cwd=tree / "src", limit=1)[0] == store.latest(cwd=tree / "src")
    page_two = store.list_sessions(cwd=tree / "src", limit=1, before=root_new)
    assert [s.ulid for s in page_two] == [root_old.ulid]
    assert store.list_sessions(cwd=tree.parent / "other") == []


def test_archived_sessions_do_not_anchor_a_directory(store: Store, tree: Path) -> None:
    parent_session = store.start(cwd=tree)
    child_session = store.start(cwd=tree / "src")
    store.end(child_session)
    store.archive(child_session)
    assert [s.ulid for s in store.list_sessions(cwd=tree / "src")] == [parent_session.ulid]
    assert store.latest(cwd=tree / "src").ulid == parent_session.ulid  # type: ignore[union-attr]
    with_archived = store.list_sessions(cwd=tree / "src", include_archived=True)
    assert [s.ulid for s in with_archived] == [child_session.ulid]


def test_meta_filters(store: Store) -> None:
    a1 = store.start(meta={"agent": "a1", "n": 3, "on": True, "gone": None})
    a2 = store.start(meta={"agent": "a2", "n": 3.0, "on": False})
    plain = store.start()
    assert [s.ulid for s in store.list_sessions(meta={"agent": "a1"})] == [a1.ulid]
    assert [s.ulid for s in store.list_sessions(meta={"n": 3})] == [a2.ulid, a1.ulid]
    assert [s.ulid for s in store.list_sessions(meta={"on": True})] == [a1.ulid]
    assert [s.ulid for s in store.list_sessions(meta={"on": False})] == [a2.ulid]
    assert [s.ulid for s in store.list_sessions(meta={"gone": None})] == [a1.ulid]
    assert store.list_sessions(meta={"agent": "a1", "on": False}) == []
    assert store.list_sessions(meta={"agent": "a3"}) == []
    assert store.list_sessions(meta={"on": 1}) == []  # a JSON true is not the number 1
    assert store.list_sessions(meta={"n": "3"}) == []
    assert len(store.list_sessions(meta={})) == 3
    assert plain.ulid in {s.ulid for s in store.list_sessions()}


def test_meta_keys_with_odd_characters(store: Store) -> None:
    odd = store.start(meta={"it's.a key": "v", "$x[0]": 1})
    store.start(meta={"it's": {"a key": "v"}, "obj": {"a": 1}})
    assert store.list_sessions(meta={"obj": '{"a":1}'}) == []
    assert [s.ulid for s in store.list_sessions(meta={"it's.a key": "v"})] == [odd.ulid]
    assert [s.ulid for s in store.list_sessions(meta={"$x[0]": 1})] == [odd.ulid]


def test_meta_and_cwd_combine(store: Store, tree: Path) -> None:
    at_root = store.start(cwd=tree, meta={"agent": "a1"})
    store.start(cwd=tree / "src", meta={"agent": "a2"})
    found = store.list_sessions(cwd=tree / "src", meta={"agent": "a1"})
    assert [s.ulid for s in found] == [at_root.ulid]


def test_bad_meta_filters(store: Store) -> None:
    for bad in ({"agent": ["a1"]}, {"agent": {"x": 1}}, {'say "hi"': 1}, {"": 1}):
        with pytest.raises(InvalidInput):
            store.list_sessions(meta=bad)
    with pytest.raises(TypeError):
        store.list_sessions(meta=[("agent", "a1")])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.list_sessions(meta={1: "a1"})  # type: ignore[dict-item]


def test_directory_listing_reads_the_cwd_index(store: Store, db_path: Path) -> None:
    store.start(cwd="/")
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM sessions AS s WHERE s.cwd = ? "
                "AND s.archived_at_ms IS NULL ORDER BY s.started_at_ms DESC, s.id DESC LIMIT 20",
                ("/",),
            )
        )
    finally:
        conn.close()
    assert "sessions_by_cwd" in plan
    assert "TEMP B-TREE" not in plan
