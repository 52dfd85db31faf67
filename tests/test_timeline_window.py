"""Windowed timeline reads and search within one timeline (Store.timeline, timeline_end,
search_timeline): what a full-screen browser reads as rows scroll into view."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from zero_session import InvalidInput, SessionNotFound, Store, TimelineWindow, _timeline


def _filled(store: Store, n: int, text: Callable[[int], str] = lambda i: f"event {i}") -> str:
    session = store.start(cwd="/")
    store.append_many(session.ulid, [("system", text(i), {"i": i}) for i in range(1, n + 1)])
    return session.ulid


def test_a_window_is_the_seq_range_asked_for(store: Store) -> None:
    ulid = _filled(store, 500)
    window = store.timeline(ulid, from_seq=200, limit=25)
    assert isinstance(window, TimelineWindow)
    assert [e.seq for e in window.events] == list(range(200, 225))
    assert window.events[0].text == "event 200" and window.events[0].data == {"i": 200}
    assert (window.last_seq, window.fork_seq, window.first_seq) == (500, 0, 200)


def test_a_window_stops_at_the_end_and_is_empty_past_it(store: Store) -> None:
    ulid = _filled(store, 10)
    assert [e.seq for e in store.timeline(ulid, from_seq=8, limit=100).events] == [8, 9, 10]
    past = store.timeline(ulid, from_seq=50, limit=10)
    assert past.events == () and past.last_seq == 10 and past.first_seq is None


def test_the_end_window_is_the_last_events_oldest_first(store: Store) -> None:
    ulid = _filled(store, 300)
    end = store.timeline_end(ulid, limit=40)
    assert [e.seq for e in end.events] == list(range(261, 301))
    assert [e.seq for e in store.timeline_end(ulid, limit=1000).events] == list(range(1, 301))
    empty = store.start()
    assert store.timeline_end(empty, 10).events == ()


def test_a_fork_window_spans_its_ancestors_and_marks_inherited_events(store: Store) -> None:
    root = _filled(store, 30, lambda i: f"root {i}")
    child = store.fork(root, at_seq=20)
    store.append_many(child, [("system", f"child {i}") for i in range(21, 31)])
    grandchild = store.fork(child, at_seq=25)
    store.append_many(grandchild, [("prompt", f"grand {i}") for i in range(26, 36)])

    window = store.timeline(grandchild, from_seq=18, limit=10)
    assert [e.text for e in window.events] == [
        "root 18", "root 19", "root 20", "child 21", "child 22", "child 23", "child 24",
        "child 25", "grand 26", "grand 27",
    ]  # fmt: skip
    assert [e.session for e in window.events[:3]] == [root] * 3
    assert {e.session for e in window.events[3:8]} == {child.ulid}
    assert [window.inherited(e) for e in window.events] == [True] * 8 + [False] * 2
    assert window.fork_seq == 25 and window.last_seq == 35
    full = store.timeline(grandchild, 1, 1000).events
    assert full == tuple(store.replay(grandchild))


def test_a_fork_at_zero_inherits_nothing(store: Store) -> None:
    root = _filled(store, 5)
    child = store.fork(root, at_seq=0)
    store.append(child, "prompt", "own")
    assert [e.text for e in store.timeline(child, 1, 10).events] == ["own"]


def _vm_steps(store: Store, read: Callable[[], object]) -> int:
    """SQLite virtual-machine steps (in hundreds) that ``read`` costs on the store's own
    connection: a count of the work done, unlike a time, the same on any machine."""
    steps = 0

    def count() -> bool:
        nonlocal steps
        steps += 1
        return False

    conn = store._conn
    assert conn is not None
    conn.set_progress_handler(count, 100)
    try:
        read()
    finally:
        conn.set_progress_handler(None)
    return steps


def test_a_window_costs_the_same_at_the_start_and_at_the_end(store: Store) -> None:
    ulid = _filled(store, 20_000)
    store.timeline(ulid, 1, 50)  # statements prepared, pages cached
    at_start = _vm_steps(store, lambda: store.timeline(ulid, 1, 50))
    at_end = _vm_steps(store, lambda: store.timeline(ulid, 19_900, 50))
    last = _vm_steps(store, lambda: store.timeline_end(ulid, 50))
    whole = _vm_steps(store, lambda: store.timeline(ulid, 1, 20_000))
    assert at_end <= at_start + 2 and last <= at_start + 2
    assert whole > 50 * max(at_start, 1)  # the counter does see the work of a long read


def test_window_arguments_are_checked(store: Store) -> None:
    ulid = _filled(store, 3)
    with pytest.raises(InvalidInput):
        store.timeline(ulid, from_seq=0)
    with pytest.raises(InvalidInput):
        store.timeline(ulid, limit=0)
    with pytest.raises(InvalidInput):
        store.timeline_end(ulid, limit=0)
    with pytest.raises(SessionNotFound):
        store.timeline("01J0000000000000000000000A")
    with pytest.raises(TypeError):
        store.timeline(ulid, from_seq="1")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ search


def test_search_finds_the_next_and_previous_matches_from_a_cursor(store: Store) -> None:
    ulid = _filled(store, 100, lambda i: "needle here" if i % 10 == 3 else f"hay {i}")
    assert [e.seq for e in store.search_timeline(ulid, "needle")] == [3]
    assert [e.seq for e in store.search_timeline(ulid, "needle", after_seq=3)] == [13]
    assert [e.seq for e in store.search_timeline(ulid, "needle", after_seq=13, limit=3)] == [
        23, 33, 43,
    ]  # fmt: skip
    assert [e.seq for e in store.search_timeline(ulid, "needle", before_seq=43)] == [33]
    assert [e.seq for e in store.search_timeline(ulid, "needle", before_seq=43, limit=2)] == [
        33, 23,
    ]  # fmt: skip
    assert store.search_timeline(ulid, "needle", after_seq=93) == []
    assert store.search_timeline(ulid, "needle", before_seq=3) == []
    assert [e.seq for e in store.search_timeline(ulid, "needle", before_seq=10_000)] == [93]


def test_search_matches_substrings_ascii_case_insensitively_and_literally(store: Store) -> None:
    ulid = _filled(store, 0)
    store.append_many(
        ulid,
        [
            ("system", "Margin CALL at 10:00"),
            ("system", "100% done"),
            ("system", "snake_case"),
            ("system", "Ärger"),
            ("system", r"back\slash"),
        ],
    )

    def seqs(text: str) -> list[int]:
        return [e.seq for e in store.search_timeline(ulid, text, limit=10)]

    assert seqs("margin call") == [1]
    assert seqs("rgin ca") == [1]  # substrings, not words
    assert seqs("%") == [2] and seqs("0%") == [2]
    assert seqs("_") == [3] and seqs("e_c") == [3]
    assert seqs("Ärger") == [4] and seqs("ärger") == []  # only ASCII folds case
    assert seqs("\\s") == [5]


def test_search_walks_every_segment_of_a_fork_in_both_directions(store: Store) -> None:
    root = _filled(store, 10, lambda i: f"x{i}" if i in (2, 9) else "-")
    child = store.fork(root, at_seq=5)
    store.append_many(child, [("system", "x-child"), ("system", "-"), ("system", "x-last")])
    found = store.search_timeline(child, "x", limit=10)
    assert [(e.seq, e.text) for e in found] == [(2, "x2"), (6, "x-child"), (8, "x-last")]
    assert found[0].session == root
    back = store.search_timeline(child, "x", before_seq=9, limit=10)
    assert [e.seq for e in back] == [8, 6, 2]


def test_search_crosses_chunk_boundaries(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_timeline, "SEARCH_CHUNK", 7)
    ulid = _filled(store, 60, lambda i: "hit" if i in (5, 31, 52) else "miss")
    assert [e.seq for e in store.search_timeline(ulid, "hit", limit=5)] == [5, 31, 52]
    assert [e.seq for e in store.search_timeline(ulid, "hit", before_seq=60, limit=5)] == [
        52, 31, 5,
    ]  # fmt: skip
    assert [e.seq for e in store.search_timeline(ulid, "hit", after_seq=5)] == [31]


def test_search_on_a_read_only_store_sees_events_appended_after_it_opened(
    db_path: Path, open_store: Callable[..., Store]
) -> None:
    writer = open_store()
    ulid = _filled(writer, 5)
    reader = open_store(readonly=True)
    assert reader.search_timeline(ulid, "fresh") == []
    writer.append(ulid, "alert", "a fresh alert")
    assert [e.seq for e in reader.search_timeline(ulid, "FRESH")] == [6]
    assert reader.timeline_end(ulid, 1).events[0].text == "a fresh alert"


def test_search_arguments_are_checked(store: Store) -> None:
    ulid = _filled(store, 3)
    with pytest.raises(InvalidInput, match="empty"):
        store.search_timeline(ulid, "")
    with pytest.raises(InvalidInput, match="not both"):
        store.search_timeline(ulid, "a", after_seq=1, before_seq=3)
    with pytest.raises(InvalidInput):
        store.search_timeline(ulid, "a", before_seq=0)
    with pytest.raises(InvalidInput):
        store.search_timeline(ulid, "x" * 5000)
    with pytest.raises(TypeError):
        store.search_timeline(ulid, 3)  # type: ignore[arg-type]
    with pytest.raises(SessionNotFound):
        store.search_timeline("01J0000000000000000000000A", "a")
