"""How the Agents adapter stores items: as the SDK's ``SQLiteSession`` does.

``SQLiteSession`` stores ``json.dumps(item)`` and gives back ``json.loads`` of it; the
adapter accepts and gives back the same (tuples come back as lists, int keys as str
keys), and refuses, naming the item and writing nothing, what would make the file's
JSON invalid (NaN, Infinity), what JSON cannot hold, what nests deeper than the store's
limit and what is over the size cap.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agents.memory import SQLiteSession
from hypothesis import given
from hypothesis import strategies as st

from zero_session import InvalidInput, Store
from zero_session._events import MAX_DATA_DEPTH, encode_as_json_dumps
from zero_session.adapters.openai_agents import ZeroAgentsSession


def _round_trip(session: Any, items: list[Any]) -> list[Any]:
    async def main() -> list[Any]:
        await session.add_items(items)
        return list(await session.get_items())

    return asyncio.run(main())


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


LOOSE_ITEMS: list[Any] = [
    {"role": "user", "content": "a tuple", "parts": ("x", 1, (2.5, None))},
    {"role": "user", "content": "int, float, bool and None keys", "map": {1: "a", 2.5: "b"}},
    {"role": "user", "content": "flags", "on": {True: 1, None: 2}},
    {"role": "user", "content": "a big int", "n": 2**80},
]


def test_loose_items_come_back_as_from_sqlite_session(store: Store, tmp_path: Path) -> None:
    reference = SQLiteSession("loose", str(tmp_path / "sdk.db"))
    try:
        expected = _round_trip(reference, LOOSE_ITEMS)
    finally:
        reference.close()
    got = _round_trip(ZeroAgentsSession("loose", store), LOOSE_ITEMS)
    assert got == expected
    assert got[0]["parts"] == ["x", 1, [2.5, None]]  # a tuple comes back as a list
    assert got[1]["map"] == {"1": "a", "2.5": "b"}
    # and so does a fresh session object, which reads the file instead of its cache
    assert _round_trip(ZeroAgentsSession("loose", store), []) == expected


def test_the_file_holds_compact_valid_json(open_store: Callable[..., Store], db_path: Path) -> None:
    """What ``sqlite3`` users see: the item as JSON that SQLite itself accepts."""
    store = open_store()
    _round_trip(ZeroAgentsSession("file", store), LOOSE_ITEMS)
    store.close()
    out = subprocess.run(
        ["sqlite3", "-readonly", str(db_path), "SELECT json_valid(data), data FROM events"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert len(out) == len(LOOSE_ITEMS)
    for line, item in zip(out, LOOSE_ITEMS, strict=True):
        valid, data = line.split("|", 1)
        assert valid == "1"
        assert data == json.dumps(item, separators=(",", ":"), ensure_ascii=False)


BAD_ITEMS: list[tuple[Any, str]] = [
    ({"role": "user", "n": math.nan}, "NaN"),
    ({"role": "user", "n": [1, -math.inf]}, "NaN or Infinity"),
    ({"role": "user", "when": object()}, "not JSON-serialisable"),
    ({"role": "user", "tags": {"a", "b"}}, "not JSON-serialisable"),
    ({"role": "user", "deep": _nested(MAX_DATA_DEPTH)}, f"deeper than {MAX_DATA_DEPTH}"),
    ({("a", 1): "tuple key"}, "not JSON-serialisable"),
]


@pytest.mark.parametrize(("bad", "problem"), BAD_ITEMS)
def test_a_bad_item_is_refused_by_index_and_nothing_is_written(
    store: Store, bad: Any, problem: str
) -> None:
    async def main() -> None:
        session = ZeroAgentsSession("bad", store)
        await session.add_items([{"role": "user", "content": "kept"}])
        ulid = await session.ulid()
        before = [(e.seq, e.kind, e.text, e.data) for e in store.replay(ulid)]
        batch = [{"role": "user", "content": "fine"}, {"role": "user", "content": "fine"}, bad]
        with pytest.raises(InvalidInput, match=f"item 2: .*{problem}"):
            await session.add_items(batch)
        assert [(e.seq, e.kind, e.text, e.data) for e in store.replay(ulid)] == before
        assert store.get(ulid).last_seq == 1
        assert await session.get_items() == [{"role": "user", "content": "kept"}]

    asyncio.run(main())


def test_a_refused_first_batch_creates_no_session(store: Store) -> None:
    async def main() -> None:
        session = ZeroAgentsSession("never", store)
        with pytest.raises(InvalidInput, match="item 0"):
            await session.add_items([{"role": "user", "n": math.inf}])

    asyncio.run(main())
    assert store.get_milestone("agents.session.never") is None
    assert store.list_sessions() == []


def test_a_cycle_is_refused(store: Store) -> None:
    item: dict[str, Any] = {"role": "user"}
    item["self"] = item
    with pytest.raises(InvalidInput, match=r"item 0: .*cycle"):
        _round_trip(ZeroAgentsSession("cycle", store), [item])


def test_text_that_is_not_unicode_is_refused_by_index(store: Store) -> None:
    session = ZeroAgentsSession("surrogate", store)
    _round_trip(session, [{"role": "user", "content": "kept"}])
    with pytest.raises(InvalidInput, match=r"item 1: .*Unicode"):
        _round_trip(session, [{"role": "user", "content": "ok"}, {"content": "\ud800"}])
    assert _round_trip(session, []) == [{"role": "user", "content": "kept"}]


def test_nesting_up_to_the_limit_and_brackets_in_text_are_accepted(store: Store) -> None:
    items = [
        {"role": "user", "deep": _nested(MAX_DATA_DEPTH - 1)},  # the item is one more level
        {"role": "user", "content": "[{" * 500},  # brackets inside strings are not nesting
        {"role": "tool", "rows": [{"i": i} for i in range(300)]},  # wide, not deep
    ]
    session = ZeroAgentsSession("wide", store)
    assert _round_trip(session, items) == items
    assert _round_trip(ZeroAgentsSession("wide", store), []) == items


def test_an_item_over_the_size_cap_is_refused_by_index(
    open_store: Callable[..., Store], tmp_path: Path
) -> None:
    store = open_store(tmp_path / "small.db", max_event_bytes=1_000)
    session = ZeroAgentsSession("big", store)
    small = {"role": "user", "content": "small"}
    with pytest.raises(InvalidInput, match=r"item 1: .*cap is 1,000"):
        _round_trip(session, [small, {"role": "user", "content": "é" * 600}])
    assert _round_trip(session, [small]) == [small]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
loose_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(loose_values)
def test_encoding_is_json_dumps_compact(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert encode_as_json_dumps(value) == expected
