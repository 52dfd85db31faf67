"""One contract for ``Store`` and ``AsyncStore``: the same calls, the same answers and the
same errors, run against both, so that the two cannot drift apart.

Each test takes ``api``, which calls a method by name on a real ``Store`` or on a real
``AsyncStore`` (awaited on an event loop; ``replay`` collected with ``async for``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from clocks import ManualClock
from ulidtools import unique_prefix

from zero_session import (
    AmbiguousSession,
    AsyncStore,
    Event,
    HasForks,
    InvalidInput,
    SeqConflict,
    Session,
    SessionEnded,
    SessionNotFound,
    Status,
    Store,
)


class Api:
    """Calls store methods by name, synchronously or through AsyncStore."""

    def __init__(self, path: Path, flavour: str) -> None:
        self.flavour = flavour
        self._loop: asyncio.AbstractEventLoop | None = None
        # A clock one ms further on every call: times are distinct and ordered.
        clock = ManualClock(1_767_225_600_000, step_ms=1)
        if flavour == "sync":
            self._store: Any = Store.open(path, clock=clock)
        else:
            self._loop = asyncio.new_event_loop()
            self._store = self._loop.run_until_complete(AsyncStore.open(path, clock=clock))

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self._store, name)(*args, **kwargs)
        if self._loop is None:
            return result
        return self._loop.run_until_complete(result)

    def replay(self, session: Any, **kwargs: Any) -> list[Event]:
        if self._loop is None:
            return list(self._store.replay(session, **kwargs))

        async def collect() -> list[Event]:
            return [event async for event in self._store.replay(session, **kwargs)]

        return self._loop.run_until_complete(collect())

    def close(self) -> None:
        if self._loop is None:
            self._store.close()
        else:
            self._loop.run_until_complete(self._store.close())
            self._loop.close()


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    opened = Api(tmp_path / "contract.db", request.param)
    try:
        yield opened
    finally:
        opened.close()


def test_every_store_method_has_an_async_twin() -> None:
    # Lifecycle of the object itself, and the live iterators, which AsyncStore offers
    # in its own (async iterator) form, are not plain coroutine twins.
    own = {"open", "memory", "close", "path", "readonly", "durability"}
    public = {
        name
        for name, value in inspect.getmembers(Store)
        if not name.startswith("_") and callable(value) and name not in own
    }
    missing = sorted(name for name in public if not hasattr(AsyncStore, name))
    assert missing == []
    # interrupt() is a plain method: the loop calls it while the worker runs the read.
    for name in public - {"replay", "follow", "watch", "interrupt"}:
        assert inspect.iscoroutinefunction(getattr(AsyncStore, name)), name


def test_sessions_and_events(api: Api) -> None:
    s = api("start", cli_version="1", meta={"agent": "a"})
    assert isinstance(s, Session) and s.status is Status.LIVE and s.meta == {"agent": "a"}
    first = api("append", s, "prompt", "hello", data={"n": 1})
    assert (first.seq, first.text, first.data) == (1, "hello", {"n": 1})
    batch = api("append_many", s, [("system", "a"), ("warn", "b", [1, 2])])
    assert [e.seq for e in batch] == [2, 3]
    assert api("get", s).last_seq == 3
    assert [(e.seq, e.kind, e.text, e.data) for e in api.replay(s)] == [
        (1, "prompt", "hello", {"n": 1}),
        (2, "system", "a", None),
        (3, "warn", "b", [1, 2]),
    ]
    assert [e.seq for e in api.replay(s, after_seq=1)] == [2, 3]
    assert [e.seq for e in api("tail", s, 2)] == [2, 3]
    ended = api("end", s)
    assert ended.status is Status.ENDED
    with pytest.raises(SessionEnded):
        api("append", s, "prompt", "late")


def test_forks_labels_find_and_listing(api: Api) -> None:
    parent = api("start")
    api("append_many", parent, [("prompt", "p1"), ("prompt", "p2"), ("prompt", "p3")])
    child = api("fork", parent, at_seq=2)
    api("append", child, "prompt", "c3")
    assert [e.text for e in api.replay(child)] == ["p1", "p2", "c3"]
    assert api("get", child).parent_ulid == parent.ulid
    api("label", child, "kid")
    assert api("find", "kid").ulid == child.ulid
    assert api("find", unique_prefix(child.ulid, parent.ulid)).ulid == child.ulid
    assert api("get", child).labels == ("kid",)
    assert [x.ulid for x in api("list_sessions")] == [child.ulid, parent.ulid]
    assert [x.ulid for x in api("list_sessions", 1, before=child)] == [parent.ulid]
    api("archive", parent)
    assert [x.ulid for x in api("list_sessions")] == [child.ulid]
    assert len(api("list_sessions", include_archived=True)) == 2


def test_the_same_errors(api: Api) -> None:
    s = api("start")
    api("append", s, "prompt", "one")
    with pytest.raises(SeqConflict) as conflict:
        api("append", s, "prompt", "two", expected_seq=0)
    assert conflict.value.actual == 1
    with pytest.raises(SessionNotFound):
        api("get", "0" * 26)
    with pytest.raises(SessionNotFound):
        api("find", "no-such-label")
    with pytest.raises(InvalidInput):
        api("append", s, "Not A Kind", "x")
    with pytest.raises(InvalidInput):
        api("fork", s, at_seq=5)
    assert api("get", s).last_seq == 1  # nothing written by the refusals


def test_ambiguous_prefix_lists_candidates(api: Api) -> None:
    made = [api("start").ulid for _ in range(3)]
    # Ulids made within a few minutes share their first six characters (the time part);
    # two of three made in a row cannot both straddle the change of the sixth.
    pair = made[:2] if made[0][:6] == made[1][:6] else made[1:]
    shared = pair[0][:6]
    assert pair[1].startswith(shared)
    with pytest.raises(AmbiguousSession) as ambiguous:
        api("find", shared)
    assert set(pair) <= set(ambiguous.value.candidates)


def test_delete_and_prune_dry_run(api: Api) -> None:
    parent = api("start")
    api("append", parent, "prompt", "x")
    api("end", parent)
    child = api("fork", parent)
    api("end", child)
    plan = api("prune", older_than=timedelta(0), dry_run=True)
    assert set(plan.sessions) == {parent.ulid, child.ulid} and plan.dry_run
    assert len(api("list_sessions")) == 2
    with pytest.raises(HasForks):
        api("delete", parent)
    removed = api("delete", parent, cascade=True)
    assert removed.sessions == (child.ulid, parent.ulid)
    assert api("list_sessions") == []
