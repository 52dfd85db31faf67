"""``AsyncStore``: the Store's methods as coroutines, for Textual and any asyncio program.

Every call runs on a worker thread of the AsyncStore's own single-thread executor, never
on the event loop: SQLite work (and apsw, which releases the GIL while SQLite runs) may
wait for a disk sync or for another process's lock for as long as the busy timeout, and
the UI must keep painting meanwhile.  One worker is enough because the Store serialises
its calls on one mutex anyway, and it keeps calls in the order they were awaited.

``follow`` and ``watch`` are async iterators that poll through the same worker and
sleep on the loop between polls (``asyncio.sleep``), so an idle follower holds no thread.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from ._follow import DEFAULT_POLL_INTERVAL_S, DEFAULT_REFRESH_S, Follower, Watcher
from .models import Event, Session
from .store import REPLAY_PAGE, SessionRef, Store

__all__ = ["AsyncStore"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _coroutine(
    method: Callable[Concatenate[Store, _P], _T],
) -> Callable[Concatenate[AsyncStore, _P], Coroutine[Any, Any, _T]]:
    """The Store method as a coroutine method of AsyncStore, run on its worker thread."""

    async def call(self: AsyncStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await self._run(functools.partial(method, self._store, *args, **kwargs))

    call.__name__ = method.__name__
    call.__qualname__ = f"AsyncStore.{method.__name__}"
    call.__doc__ = method.__doc__
    return call


class AsyncStore:
    """A :class:`Store` whose methods are coroutines that run off the event loop.

    Create it with :meth:`open` / :meth:`memory` (awaitable) or wrap an existing Store.
    Methods, arguments and errors are those of :class:`Store`.  Close it with
    ``await astore.close()`` or ``async with``.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zero-session")

    @classmethod
    async def open(cls, path: str | os.PathLike[str] | None = None, **options: Any) -> AsyncStore:
        """Open the store at ``path`` (as :meth:`Store.open`) without blocking the loop."""
        store = await asyncio.to_thread(functools.partial(Store.open, path, **options))
        return cls(store)

    @classmethod
    async def memory(cls, **options: Any) -> AsyncStore:
        """A private in-memory store (as :meth:`Store.memory`)."""
        return cls(Store.memory(**options))

    @property
    def store(self) -> Store:
        """The underlying blocking Store (for code that runs in its own threads)."""
        return self._store

    async def _run(self, call: Callable[[], _T]) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, call)

    async def run(self, func: Callable[[Store], _T]) -> _T:
        """Run ``func(store)`` on the worker thread: for methods without a wrapper here."""
        return await self._run(functools.partial(func, self._store))

    async def close(self) -> None:
        """Close the store, then stop the worker thread.  Safe to call twice."""
        await self._run(self._store.close)
        self._executor.shutdown(wait=False)

    def interrupt(self) -> None:
        """Cancel the read running on the worker now (as :meth:`Store.interrupt`): a plain
        method, called from the event loop while the worker is busy with that read."""
        self._store.interrupt()

    async def __aenter__(self) -> AsyncStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    start = _coroutine(Store.start)
    end = _coroutine(Store.end)
    get = _coroutine(Store.get)
    find = _coroutine(Store.find)
    list_sessions = _coroutine(Store.list_sessions)
    latest = _coroutine(Store.latest)
    fork = _coroutine(Store.fork)
    resume = _coroutine(Store.resume)
    append = _coroutine(Store.append)
    append_many = _coroutine(Store.append_many)
    events = _coroutine(Store.events)
    tail = _coroutine(Store.tail)
    label = _coroutine(Store.label)
    unlabel = _coroutine(Store.unlabel)
    labels = _coroutine(Store.labels)
    set_milestone = _coroutine(Store.set_milestone)
    set_milestone_once = _coroutine(Store.set_milestone_once)
    get_milestone = _coroutine(Store.get_milestone)
    milestones = _coroutine(Store.milestones)
    check = _coroutine(Store.check)
    archive = _coroutine(Store.archive)
    unarchive = _coroutine(Store.unarchive)
    delete = _coroutine(Store.delete)
    prune = _coroutine(Store.prune)
    vacuum = _coroutine(Store.vacuum)
    search = _coroutine(Store.search)
    summary = _coroutine(Store.summary)
    export = _coroutine(Store.export)
    import_ = _coroutine(Store.import_)
    stats = _coroutine(Store.stats)
    kind_counts = _coroutine(Store.kind_counts)
    backup = _coroutine(Store.backup)
    timeline = _coroutine(Store.timeline)
    timeline_end = _coroutine(Store.timeline_end)
    search_timeline = _coroutine(Store.search_timeline)
    forks = _coroutine(Store.forks)
    session_tree = _coroutine(Store.session_tree)

    async def replay(self, session: SessionRef, *, after_seq: int = 0) -> AsyncIterator[Event]:
        """The whole timeline, oldest first, read a page at a time on the worker thread.

        Raises what :meth:`Store.replay` raises, when iteration starts.
        """
        events: Iterator[Event] = await self._run(
            functools.partial(self._store.replay, session, after_seq=after_seq)
        )
        while True:
            page = await self._run(lambda: list(itertools.islice(events, REPLAY_PAGE)))
            if not page:
                return
            for event in page:
                yield event

    async def follow(
        self,
        session: SessionRef,
        *,
        after_seq: int | None = None,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[Event]:
        """New timeline events as any process appends them (as :meth:`Store.follow`).

        Ends when ``stop`` is set, or when the consumer stops iterating
        (``break``, cancellation, ``aclose()``).
        """
        follower: Follower = await self._run(
            functools.partial(
                self._store.follow,
                session,
                after_seq=after_seq,
                poll_interval_s=poll_interval_s,
            )
        )
        try:
            while stop is None or not stop.is_set():
                batch = await self._run(follower.poll)
                for event in batch:
                    yield event
                if not batch:
                    await _pause(poll_interval_s, stop)
        finally:
            follower.close()

    async def watch(
        self,
        *,
        limit: int | None = 20,
        include_archived: bool = False,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        refresh_s: float = DEFAULT_REFRESH_S,
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[list[Session]]:
        """The session listing now, then each time it changes (as :meth:`Store.watch`)."""
        watcher: Watcher = await self._run(
            functools.partial(
                self._store.watch,
                limit=limit,
                include_archived=include_archived,
                poll_interval_s=poll_interval_s,
                refresh_s=refresh_s,
            )
        )
        try:
            while stop is None or not stop.is_set():
                found = await self._run(watcher.poll)
                for listing in found:
                    yield listing
                if not found:
                    await _pause(poll_interval_s, stop)
        finally:
            watcher.close()

    def __repr__(self) -> str:
        return f"<AsyncStore {self._store!r}>"


async def _pause(seconds: float, stop: asyncio.Event | None) -> None:
    """Sleep ``seconds``, waking early when ``stop`` is set."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return
