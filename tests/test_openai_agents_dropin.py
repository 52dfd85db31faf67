"""The drop-in ``zero_session.adapters.openai_agents.SQLiteSession`` and the four ways the
adapter used to differ from the SDK's ``SQLiteSession``: ``close()``, default settings,
settings given as a dict, and the exception type for an item that cannot be stored.

Every behaviour is checked against the SDK's own class in the same test.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner
from agents import SQLiteSession as SDKSession
from agents.memory import Session, SessionSettings
from test_openai_agents import EchoModel, _msg, _script

from zero_session import InvalidInput, Store
from zero_session.adapters import _shared_stores
from zero_session.adapters.openai_agents import (
    SessionClosed,
    SQLiteSession,
    UnstorableItem,
    ZeroAgentsSession,
)


def _both(tmp_path: Path, session_id: str, **options: Any) -> tuple[SQLiteSession, SDKSession]:
    ours = SQLiteSession(session_id, tmp_path / "ours.db", **options)
    theirs = SDKSession(session_id, tmp_path / "sdk.db", **options)
    return ours, theirs


def test_the_constructor_is_the_sdks() -> None:
    ours = inspect.signature(SQLiteSession.__init__).parameters
    theirs = inspect.signature(SDKSession.__init__).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]


def test_the_same_calls_give_the_same_answers(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, "conv")
    assert isinstance(ours, Session)
    try:
        assert asyncio.run(_script(ours)) == asyncio.run(_script(theirs))
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize("limit", [None, -1, -5, 0, 1, 2, 10])
def test_limits_are_the_sdks_including_zero_and_negative(tmp_path: Path, limit: int) -> None:
    async def read(session: Any) -> list[Any]:
        await session.add_items([_msg("user", str(n)) for n in range(4)])
        return list(await session.get_items(limit=limit))

    ours, theirs = _both(tmp_path, "limits")
    try:
        assert asyncio.run(read(ours)) == asyncio.run(read(theirs))
    finally:
        ours.close()
        theirs.close()


# ---------------------------------------------------------------- 1. close()


def test_close_is_a_plain_method_and_every_later_call_raises(tmp_path: Path) -> None:
    for session in _both(tmp_path, "closing"):
        asyncio.run(session.add_items([_msg("user", "hi")]))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "coroutine ... was never awaited"
            assert session.close() is None
        calls: list[Callable[[], Any]] = [
            session.get_items,
            lambda s=session: s.add_items([_msg("user", "late")]),
            lambda s=session: s.add_items([]),
            session.pop_item,
            session.clear_session,
        ]
        for call in calls:
            with pytest.raises(RuntimeError, match="SQLiteSession is closed"):
                asyncio.run(call())
        session.close()  # again: nothing happens


def test_close_records_the_end_and_the_session_resumes_on_next_use(
    store: Store,
) -> None:
    session = ZeroAgentsSession("ending", store)
    asyncio.run(session.add_items([_msg("user", "one")]))
    ulid = asyncio.run(session.ulid())
    session.close()
    assert store.get(ulid).ended_at_ms is not None
    with pytest.raises(SessionClosed, match="ZeroAgentsSession is closed"):
        asyncio.run(session.ulid())
    again = ZeroAgentsSession("ending", store)
    asyncio.run(again.add_items([_msg("user", "two")]))
    assert asyncio.run(again.get_items()) == [_msg("user", "one"), _msg("user", "two")]
    assert asyncio.run(again.ulid()) == ulid


def test_closing_after_the_store_is_fine(open_store: Callable[..., Store]) -> None:
    store = open_store()
    session = ZeroAgentsSession("late-close", store)
    asyncio.run(session.add_items([_msg("user", "one")]))
    store.close()
    session.close()
    with pytest.raises(RuntimeError):
        asyncio.run(session.get_items())


# ------------------------------------------------------- 2. default settings


def test_settings_default_to_session_settings(store: Store, tmp_path: Path) -> None:
    sessions = [ZeroAgentsSession("d", store), *_both(tmp_path, "defaults")]
    for session in sessions:
        assert session.session_settings == SessionSettings()
        assert session.session_settings is not None
        assert session.session_settings.limit is None
    for session in sessions[1:]:
        session.close()


# ------------------------------------------------------ 3. settings as a dict


def test_a_dict_of_settings_is_normalised_and_limits_reads(tmp_path: Path) -> None:
    async def read(session: Any) -> list[Any]:
        await session.add_items([_msg("user", str(n)) for n in range(5)])
        return [await session.get_items(), await session.get_items(limit=4)]

    for session in _both(tmp_path, "dict", session_settings={"limit": 2}):
        assert isinstance(session.session_settings, SessionSettings)
        assert session.session_settings.limit == 2
        assert asyncio.run(read(session)) == [
            [_msg("user", "3"), _msg("user", "4")],
            [_msg("user", str(n)) for n in range(1, 5)],
        ]
        session.close()


def test_unknown_settings_are_a_type_error_as_in_the_sdk(store: Store, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Unknown session settings: limitt") as theirs:
        SDKSession("bad", tmp_path / "sdk.db", session_settings={"limitt": 1})
    with pytest.raises(TypeError) as ours:
        SQLiteSession("bad", tmp_path / "ours.db", session_settings={"limitt": 1})
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="Unknown session settings: limitt"):
        ZeroAgentsSession("bad", store, session_settings={"limitt": 1})
    assert not (tmp_path / "ours.db").exists()  # refused before opening anything


def test_runner_runs_with_dict_settings(tmp_path: Path) -> None:
    """The SDK's Runner reads ``session_settings.limit``: with a dict it used to fail."""

    async def converse(session: Any) -> list[Any]:
        model = EchoModel()
        agent = Agent(name="echo", instructions="echo", model=model)
        config = RunConfig(tracing_disabled=True)
        for text in ("one", "two", "three"):
            await Runner.run(agent, text, session=session, run_config=config)
        session.close()
        return model.inputs

    ours, theirs = _both(tmp_path, "runner-dict", session_settings={"limit": 2})
    sent = asyncio.run(converse(ours))
    assert sent == asyncio.run(converse(theirs))
    # the third turn was sent the two latest items of the history, then its input
    assert [m["content"] for m in sent[2] if m.get("role") == "user"] == ["two", "three"]
    assert len(sent[2]) == 3


# ------------------------------------------------- 4. the SDK's exception type


UNSTORABLE: list[Any] = [
    {"role": "user", "content": "a set", "tags": {"a"}},
    {"role": "user", "content": "an object", "when": object()},
    {"role": "user", "content": "bytes", "raw": b"\x00"},
]


@pytest.mark.parametrize("bad", UNSTORABLE, ids=["set", "object", "bytes"])
def test_an_item_json_cannot_hold_raises_type_error_as_in_the_sdk(tmp_path: Path, bad: Any) -> None:
    async def add(session: Any) -> list[Any]:
        await session.add_items([_msg("user", "kept")])
        with pytest.raises(TypeError):
            await session.add_items([_msg("user", "fine"), bad])
        return list(await session.get_items())

    ours, theirs = _both(tmp_path, "bad")
    try:
        assert asyncio.run(add(ours)) == asyncio.run(add(theirs)) == [_msg("user", "kept")]
    finally:
        ours.close()
        theirs.close()


def test_every_refusal_is_both_invalid_input_and_type_error(store: Store) -> None:
    session = ZeroAgentsSession("refusals", store)
    for bad in [*UNSTORABLE, {"n": math.nan}, {"s": "\ud800"}]:
        with pytest.raises(UnstorableItem, match="item 1") as refused:
            asyncio.run(session.add_items([_msg("user", "fine"), bad]))
        assert isinstance(refused.value, InvalidInput | ValueError)
        assert isinstance(refused.value, TypeError)
    assert asyncio.run(session.get_items()) == []


def test_the_new_errors_survive_pickle() -> None:
    for error in (UnstorableItem("item 3: not JSON"), SessionClosed("SQLiteSession is closed")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)


# ------------------------------------------------------------- the drop-in


def test_sessions_on_one_file_share_one_store_closed_with_the_last(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first = SQLiteSession("a", path)
    second = SQLiteSession("b", str(path))
    assert first.store is second.store
    asyncio.run(first.add_items([_msg("user", "to a")]))
    asyncio.run(second.add_items([_msg("user", "to b")]))
    first.close()
    assert asyncio.run(second.get_items()) == [_msg("user", "to b")]
    second.close()
    with Store.open(path) as reader:  # the same file, read as a zero_session store
        ulids = {reader.get_milestone(f"agents.session.{sid}") for sid in "ab"}
        assert None not in ulids and len(ulids) == 2
        texts = {e.text for ulid in ulids for e in reader.replay(str(ulid))}
        assert texts == {"user: to a", "user: to b"}
    third = SQLiteSession("a", path)  # a new store once the last one closed
    assert third.store is not first.store
    assert asyncio.run(third.get_items()) == [_msg("user", "to a")]
    third.close()
    assert not _shared_stores._open


def test_memory_sessions_are_private_as_in_the_sdk() -> None:
    async def main() -> list[Any]:
        first, second = SQLiteSession("same"), SQLiteSession("same")
        await first.add_items([_msg("user", "only in first")])
        seen = [await first.get_items(), await second.get_items()]
        first.close()
        second.close()
        return seen

    assert asyncio.run(main()) == [[_msg("user", "only in first")], []]


def test_other_table_names_keep_conversations_apart(tmp_path: Path) -> None:
    path = tmp_path / "tables.db"

    async def main() -> list[Any]:
        default = SQLiteSession("conv", path)
        other = SQLiteSession("conv", path, sessions_table="s2", messages_table="m2")
        await default.add_items([_msg("user", "default tables")])
        await other.add_items([_msg("user", "other tables")])
        seen = [await default.get_items(), await other.get_items()]
        default.close()
        other.close()
        return seen

    assert asyncio.run(main()) == [
        [_msg("user", "default tables")],
        [_msg("user", "other tables")],
    ]


def test_a_file_that_is_not_a_store_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 100)
    with pytest.raises(Exception) as refused:
        SQLiteSession("conv", path)
    assert type(refused.value).__module__ == "zero_session.errors"
    assert path.read_text() == "not a database\n" * 100
    assert not _shared_stores._open


def test_a_cancelled_write_is_waited_for_before_the_cancellation_propagates(
    store: Store,
) -> None:
    """As the SDK's sessions do: once ``CancelledError`` reaches the caller, the write
    has finished, so the caller knows its outcome (here: written) and never retries it."""
    session = ZeroAgentsSession("cancelled", store)

    async def main() -> None:
        await session.add_items([_msg("user", "one")])
        ulid = await session.ulid()
        session._lock.acquire()  # the worker waits here, its write not begun
        try:
            write = asyncio.create_task(session.add_items([_msg("user", "two")]))
            await asyncio.sleep(0)  # the write is handed to its worker thread
            write.cancel()
            await asyncio.sleep(0)
            write.cancel()
        finally:
            session._lock.release()
        with pytest.raises(asyncio.CancelledError):
            await write
        assert [e.text for e in store.replay(ulid)] == ["user: one", "user: two"]

    asyncio.run(main())


def _pull(source: Store, into: Store, ulid: str) -> None:
    """What ``sync.pull`` writes locally: ``ulid`` with its events, owned by ``source``."""
    from zero_session._pulled import PulledSession, apply_pulled
    from zero_session._sync_source import store_id

    s = source.get(ulid)
    events = [
        (e.seq, e.at_ms, e.kind, e.text, None if e.data is None else json.dumps(e.data))
        for e in source.events(s, limit=None)
    ]
    origin = store_id(source, create=True)
    assert origin is not None
    fields = ("started_at_ms", "ended_at_ms", "cli_version", "engine_base_url", "cwd")
    pulled = PulledSession(
        ulid=s.ulid,
        origin=origin,
        parent_ulid=None,
        fork_seq=0,
        meta_json=json.dumps(s.meta),
        expires_at_ms=s.expires_at_ms,
        origin_labels=s.labels,
        events=events,
        **{name: getattr(s, name) for name in fields},
    )
    apply_pulled(into, [pulled])


def test_a_pulled_conversation_continues_in_a_local_fork(
    open_store: Callable[..., Store], tmp_path: Path
) -> None:
    """The store refuses appends to a session pulled from another store (it belongs to
    its origin); the adapter, whose writes go through that same append path, continues
    the conversation in a local fork and leaves the pulled session as it was."""
    there = open_store(tmp_path / "there.db")
    origin = ZeroAgentsSession("conv", there)
    asyncio.run(origin.add_items([_msg("user", "one"), _msg("assistant", "two")]))
    pulled_ulid = asyncio.run(origin.ulid())
    here_path = tmp_path / "here.db"
    with Store.open(here_path) as here:
        _pull(there, here, pulled_ulid)
        here.set_milestone("agents.session.conv", pulled_ulid)

    async def main() -> list[Any]:
        reader = SQLiteSession("conv", here_path)
        assert await reader.get_items() == [_msg("user", "one"), _msg("assistant", "two")]
        reader.close()  # only read: no end recorded, none refused
        session = SQLiteSession("conv", here_path)
        await session.add_items([_msg("user", "three")])
        assert await session.pop_item() == _msg("user", "three")
        await session.add_items([_msg("user", "four")])
        items = await session.get_items()
        fork_ulid = await session.ulid()
        session.close()
        return [items, fork_ulid]

    items, fork_ulid = asyncio.run(main())
    assert items == [_msg("user", "one"), _msg("assistant", "two"), _msg("user", "four")]
    assert not _shared_stores._open
    with Store.open(here_path) as here:
        assert fork_ulid != pulled_ulid
        assert here.get(fork_ulid).parent_ulid == pulled_ulid
        assert here.get(fork_ulid).ended_at_ms is not None  # ours: closed, so ended
        assert here.get_milestone("agents.session.conv") == fork_ulid
        pulled = here.get(pulled_ulid)
        assert pulled.ended_at_ms is None and pulled.last_seq == 2
        assert [e.text for e in here.replay(pulled_ulid)] == ["user: one", "assistant: two"]
        assert asyncio.run(ZeroAgentsSession("conv", here).get_items()) == items
