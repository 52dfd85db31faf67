"""AsyncStore: the store's methods as coroutines that never block the event loop."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import apsw
import pytest

from zero_session import AsyncStore, Event, SessionNotFound, Store

WRITER = """
import sys
from zero_session import Store
with Store.open(sys.argv[1]) as store:
    for i in range(5):
        store.append(sys.argv[2], "system", f"child {i}")
"""


def test_methods_are_coroutines_with_the_store_semantics(db_path: Path) -> None:
    async def main() -> None:
        async with await AsyncStore.open(db_path) as astore:
            s = await astore.start(cli_version="1")
            await astore.append(s, "prompt", "a", data={"n": 1})
            await astore.append_many(s, [("system", "b"), ("system", "c")])
            child = await astore.fork(s, at_seq=2)
            await astore.label(child, "kid")
            assert (await astore.find("kid")).ulid == child.ulid
            assert [e.text async for e in astore.replay(child)] == ["a", "b"]
            assert [x.ulid for x in await astore.list_sessions()] == [child.ulid, s.ulid]
            assert await astore.run(lambda store: store.get(s).last_seq) == 3
            with pytest.raises(SessionNotFound):
                await astore.find("nothing-like-this")
            await astore.end(s)
            assert (await astore.archive(s)).archived_at_ms is not None
            assert [h.session for h in await astore.search("kid")] == []
            assert AsyncStore.append.__doc__ is not None
            assert "Append one event" in AsyncStore.append.__doc__

    asyncio.run(main())


def test_every_public_store_method_has_a_coroutine() -> None:
    public = {
        name for name in dir(Store) if not name.startswith("_") and callable(getattr(Store, name))
    }
    missing = {name for name in public if not hasattr(AsyncStore, name)}
    assert missing == set(), "add `name = _coroutine(Store.name)` lines to zero_session/aio.py"


def test_a_blocked_call_leaves_the_loop_running(db_path: Path) -> None:
    """The append waits for a lock that only the event loop can release.

    Had the append run on the loop's thread, the loop could not run the callback that
    commits the blocking transaction, and the append would fail after its busy timeout.
    """

    async def main() -> None:
        astore = await AsyncStore.open(db_path, busy_timeout_ms=10_000)
        s = await astore.start()
        blocker = apsw.Connection(str(db_path))
        blocker.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.2, blocker.execute, "COMMIT")
        event = await asyncio.wait_for(astore.append(s, "prompt", "waited"), 8)
        assert event.seq == 1
        blocker.close()
        await astore.close()

    asyncio.run(main())


def test_async_follow_sees_another_process_and_stops(db_path: Path) -> None:
    async def main() -> None:
        astore = await AsyncStore.open(db_path)
        s = await astore.start()
        stop = asyncio.Event()
        got: list[Event] = []

        async def consume() -> None:
            async for event in astore.follow(s, poll_interval_s=0.01, stop=stop):
                got.append(event)
                if len(got) == 5:
                    stop.set()

        consumer = asyncio.create_task(consume())
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, str(db_path), s.ulid
        )
        assert await proc.wait() == 0
        await asyncio.wait_for(consumer, 10)
        assert [e.text for e in got] == [f"child {i}" for i in range(5)]

        listings = []
        async for listing in astore.watch(limit=3, poll_interval_s=0.01):
            listings.append(listing)
            if len(listings) == 1:
                await astore.start()
            else:
                break
        assert [len(x) for x in listings] == [1, 2]
        await astore.close()

    asyncio.run(main())
