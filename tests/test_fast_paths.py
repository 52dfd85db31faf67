"""The hot paths' shortcuts give exactly what the plain code would.

- Events built slot by slot equal ``Event(...)`` (and Event has no validator or converter
  that the shortcut would skip).
- The flat-data shortcut of ``encode_data`` accepts and refuses what the general walk
  does, and encodes like ``json.dumps`` with the store's options.
- A page of data decodes in one ``json.loads``: text typed into the ``sqlite3`` shell that
  is not JSON (even pieces that would form valid JSON when joined) comes back as
  ``{"_invalid_json": text}`` on its own event, never shifting its neighbours.
- The adapters' paths without ``Event`` objects (``Store._append_rows``,
  ``Store._timeline_data``) write and read exactly what ``append_many`` and ``replay`` do.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlite3_cli import sqlite3_shell as shell

from zero_session import (
    Event,
    InvalidInput,
    ReadOnlyStore,
    SeqConflict,
    Session,
    SessionEnded,
    SessionNotFound,
    Store,
    _event_input,
    _events,
    _sessions,
)


def test_built_events_equal_constructed_ones() -> None:
    built = _events.new_event("01KSR49200GC56BRPMZH6Y8YJS", 3, 17, "prompt", "hi", {"a": [1]})
    made = Event("01KSR49200GC56BRPMZH6Y8YJS", 3, 17, "prompt", "hi", {"a": [1]})
    assert type(built) is Event
    assert built == made
    assert hash(built.seq) == hash(made.seq)
    assert repr(built) == repr(made)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.seq = 4  # type: ignore[misc]


def test_event_has_nothing_the_builder_would_skip() -> None:
    fields = attrs.fields(Event)
    assert [f.name for f in fields] == ["session", "seq", "at_ms", "kind", "text", "data"]
    assert all(f.validator is None and f.converter is None for f in fields)
    assert getattr(Event, "__attrs_post_init__", None) is None


def reference_encode(data: Any, max_bytes: int) -> str | None:
    """The general walk, then json.dumps with the store's options."""
    if data is None:
        return None
    _event_input._check_json_value(data, max_bytes)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.tuples(st.integers()),
)
keys = st.one_of(st.text(max_size=5), st.integers(), st.none())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)


@given(values, st.sampled_from([3, 1_000]))
def test_encode_data_agrees_with_the_general_walk(data: Any, max_bytes: int) -> None:
    try:
        expected: Any = reference_encode(data, max_bytes)
    except InvalidInput:
        expected = InvalidInput
    try:
        got: Any = _events.encode_data(data, max_bytes=max_bytes)
    except InvalidInput:
        got = InvalidInput
    assert got == expected


@pytest.mark.parametrize("bad", [float("nan"), -math.inf, (1,), {1: "x"}, object()])
def test_flat_data_is_still_checked(bad: Any) -> None:
    with pytest.raises(InvalidInput):
        _events.encode_data({"k": bad}, max_bytes=1_000)
    with pytest.raises(InvalidInput):
        _events.encode_data([bad], max_bytes=1_000)


def test_invalid_json_typed_in_the_shell_stays_on_its_own_event(
    store: Store, db_path: Path
) -> None:
    session = store.start()
    store.append(session, "prompt", "before", data={"ok": 1})
    # Pieces that would join into valid JSON if values were simply concatenated.
    typed = ['"a', 'b"', "1],[2", "1,2", "NaN", "{"]
    rows = ",\n".join(
        f"((SELECT id FROM sessions WHERE ulid = '{session.ulid}'), {seq}, 0, 'warn', "
        f"'typed {seq}', '{text}')"
        for seq, text in enumerate(typed, start=2)
    )
    shell(
        db_path,
        f"UPDATE sessions SET last_seq = last_seq + {len(typed)} WHERE ulid = '{session.ulid}';\n"
        f"INSERT INTO events (session_id, seq, at_ms, kind, text, data) VALUES\n{rows};\n",
    )
    store.append(session, "prompt", "after", data=[1, {"two": 2}])
    timeline = list(store.replay(session))
    assert [e.data for e in timeline] == [
        {"ok": 1},
        *({"_invalid_json": text} for text in typed),
        [1, {"two": 2}],
    ]
    assert store.events(session, limit=None) == timeline
    assert store.tail(session, 3) == timeline[-3:]
    assert timeline_data(store, session.ulid) == [(e.seq, e.kind, e.data) for e in timeline]


def test_invalid_utf8_data_reads_with_replacement(store: Store, db_path: Path) -> None:
    session = store.start()
    store.append(session, "prompt", "fine", data={"x": "é"})
    shell(
        db_path,
        f"UPDATE sessions SET last_seq = last_seq + 1 WHERE ulid = '{session.ulid}';\n"
        "INSERT INTO events (session_id, seq, at_ms, kind, text, data) VALUES "
        f"((SELECT id FROM sessions WHERE ulid = '{session.ulid}'), 2, 0, 'warn', "
        "CAST(X'41FF42' AS TEXT), CAST(X'7B2261223A22FF227D' AS TEXT));\n",
    )
    first, second = store.replay(session)
    assert first.data == {"x": "é"}
    assert second.text == "A\ufffdB"
    assert second.data == {"a": "\ufffd"}
    assert timeline_data(store, session.ulid) == [
        (1, "prompt", first.data),
        (2, "warn", second.data),
    ]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if depth % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [1, 2, 50, _events.MAX_DATA_DEPTH])
def test_nesting_up_to_the_limit_is_accepted(depth: int) -> None:
    data = nested(depth)
    assert _events.encode_data(data, max_bytes=10_000) == reference_encode(data, 10_000)


def test_too_deep_cyclic_or_too_many_parts_is_refused() -> None:
    with pytest.raises(InvalidInput, match="deeper"):
        _events.encode_data(nested(_events.MAX_DATA_DEPTH + 1), max_bytes=10_000)
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(InvalidInput, match="deeper"):
        _events.encode_data({"a": cycle}, max_bytes=10_000)
    shared: list[Any] = [0] * 10
    for _ in range(40):  # 10**40 parts if expanded
        shared = [shared] * 10
    with pytest.raises(InvalidInput, match="values"):
        _events.encode_data(shared, max_bytes=10_000)


def timeline_data(store: Store, ulid: str, after_seq: int = 0) -> list[tuple[int, str, Any]]:
    return [row for page in store._timeline_data(ulid, after_seq) for row in page]


def rows_of(items: list[tuple[str, str, Any]]) -> list[tuple[str, str, str | None]]:
    return [
        (kind, text, _events.encode_data(data, max_bytes=1 << 20)) for kind, text, data in items
    ]


def test_rows_without_events_match_append_many_and_replay(store: Store) -> None:
    """Through a fork chain three generations deep, with appends on every generation."""
    items: list[tuple[str, str, Any]] = [
        ("prompt", "p", {"a": [1, {"b": None}]}),
        ("agents.item", "user: x", None),
        ("command", "c", [1.5, "é", True]),
    ]
    ours, reference = store.start(), store.start()
    for generation in range(3):
        first = store._append_rows(ours.ulid, rows_of(items))
        assert first == generation * 3 + 1
        store.append_many(reference, items)
        if generation < 2:
            ours, reference = store.fork(ours), store.fork(reference)
    expected = [(e.seq, e.kind, e.text, e.data) for e in store.replay(reference)]
    assert [(e.seq, e.kind, e.text, e.data) for e in store.replay(ours)] == expected
    assert timeline_data(store, ours.ulid) == [(seq, kind, data) for seq, kind, _, data in expected]
    assert timeline_data(store, ours.ulid, after_seq=4) == timeline_data(store, ours.ulid)[4:]


def test_rows_without_events_fail_like_append_many(store: Store, db_path: Path) -> None:
    session = store.start()
    rows = rows_of([("prompt", "one", None)])
    store._append_rows(session.ulid, rows)
    with pytest.raises(SeqConflict):
        store._append_rows(session.ulid, rows, expected_seq=0)
    store._append_rows(session.ulid, rows, expected_seq=1)
    store.end(session)
    with pytest.raises(SessionEnded):
        store._append_rows(session.ulid, rows)
    with pytest.raises(SessionNotFound):
        store._append_rows("01" + "0" * 24, rows)
    with pytest.raises(ValueError, match="no rows"):
        store._append_rows(session.ulid, [])
    with Store.open(db_path, readonly=True) as reader, pytest.raises(ReadOnlyStore):
        reader._append_rows(session.ulid, rows)
    assert [e.seq for e in store.replay(session)] == [1, 2]


def test_sessions_built_slot_by_slot_equal_constructed_ones(tmp_path: Any) -> None:
    with Store.open(tmp_path / "s.db") as store:
        parent = store.start(cli_version="1", cwd=tmp_path, meta={"a": [1]})
        store.append(parent, "prompt", "hi")
        store.label(parent, "b-label")
        store.label(parent, "a-label")
        child = store.fork(parent)
        for built in (store.get(parent), store.get(child), *store.list_sessions(None)):
            made = Session(**attrs.asdict(built, recurse=False))
            assert type(built) is Session
            assert built == made
            assert repr(built) == repr(made)
        assert store.get(parent).labels == ("a-label", "b-label")
        assert store.get(child).parent_ulid == parent.ulid


def test_session_has_nothing_the_builder_would_skip() -> None:
    # A field added to Session must be filled by _sessions.to_session too.
    fields = attrs.fields(Session)
    assert tuple(f.name for f in fields) == _sessions._SESSION_FIELDS
    assert all(f.validator is None and f.converter is None for f in fields)
    assert getattr(Session, "__attrs_post_init__", None) is None
