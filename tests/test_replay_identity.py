"""A replay under way never crosses into another session.

The iterator remembers its session by internal id; when the session is deleted between
two pages and a new session takes the same id, the next page raises SessionNotFound
instead of yielding the newcomer's events under the old ulid.  ``follow`` and the
listings keep their own guard (by ulid), tested here too.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from zero_session import AsyncStore, SessionNotFound, Store
from zero_session._store_core import REPLAY_PAGE


def _internal_id(store: Store, ulid: str) -> int:
    with store._reading() as conn:
        return int(store._position(conn, ulid)[0])


def _delete_and_take_its_id(store: Store, ulid: str) -> str:
    """Delete ``ulid`` and start sessions until one takes its internal id."""
    old_id = _internal_id(store, ulid)
    store.delete(ulid, force=True)
    newcomer = store.start(cwd="/")
    assert _internal_id(store, newcomer.ulid) == old_id  # SQLite reuses the highest id
    store.append_many(newcomer, [("system", "newcomer")] * (REPLAY_PAGE + 10))
    return newcomer.ulid


@pytest.fixture
def long_session(store: Store) -> str:
    session = store.start(cwd="/")
    store.append_many(session, [("prompt", "original")] * (REPLAY_PAGE + 10))
    return session.ulid


def test_replay_stops_when_its_session_is_replaced(store: Store, long_session: str) -> None:
    events = store.replay(long_session)
    first = list(itertools.islice(events, REPLAY_PAGE))
    assert {e.text for e in first} == {"original"}
    _delete_and_take_its_id(store, long_session)
    with pytest.raises(SessionNotFound, match="deleted while"):
        next(events)


def test_async_replay_stops_when_its_session_is_replaced(store: Store, long_session: str) -> None:
    async def scenario() -> list[str]:
        seen: list[str] = []
        async with AsyncStore(store) as astore:
            events = astore.replay(long_session)
            async for event in events:
                seen.append(event.text)
                if len(seen) == REPLAY_PAGE:
                    await astore.run(lambda s: _delete_and_take_its_id(s, long_session))
        return seen

    with pytest.raises(SessionNotFound):
        asyncio.run(scenario())


def test_follow_and_listings_never_show_a_deleted_session(store: Store, long_session: str) -> None:
    follower = store.follow(long_session, after_seq=0)
    newcomer = _delete_and_take_its_id(store, long_session)
    with pytest.raises(SessionNotFound):
        next(iter(follower))
    assert [s.ulid for s in store.list_sessions()] == [newcomer]
