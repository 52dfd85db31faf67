"""The hot paths' shortcuts give exactly what the plain code would.

- Events built slot by slot equal ``Event(...)`` (and Event has no validator or converter
  that the shortcut would skip).
- The flat-data shortcut of ``encode_data`` accepts and refuses what the general walk
  does, and encodes like ``json.dumps`` with the store's options.
- A page of data decodes in one ``json.loads``: text typed into the ``sqlite3`` shell that
  is not JSON (even pieces that would form valid JSON when joined) comes back as
  ``{"_invalid_json": text}`` on its own event, never shifting its neighbours.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zero_session import Event, InvalidInput, Store, _events


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
    _events._check_json_value(data, max_bytes)
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


def shell(path: Path, sql: str) -> None:
    subprocess.run(["sqlite3", str(path)], input=sql, text=True, check=True, capture_output=True)


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
