"""Store methods for live updates: follow one session, watch the listing."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from . import _follow
from ._store_core import SessionRef, StoreCore, check_int

if TYPE_CHECKING:
    from .models import Session

__all__ = ["LiveMethods"]


class LiveMethods(StoreCore):
    """Following a session and watching the listing as other processes write."""

    if TYPE_CHECKING:
        # Provided by SessionMethods in Store; the watcher re-lists with it.
        def list_sessions(
            self, limit: int | None = 20, *, include_archived: bool = False
        ) -> list[Session]: ...

    def follow(
        self,
        session: SessionRef,
        *,
        after_seq: int | None = None,
        poll_interval_s: float = _follow.DEFAULT_POLL_INTERVAL_S,
        stop: threading.Event | None = None,
    ) -> _follow.Follower:
        """Iterate over the session's timeline events as any process appends them.

        Starts after ``after_seq`` (default: the current last seq, so only new events);
        blocks between events, polling every ``poll_interval_s`` with a cheap check.
        End it with ``.close()`` (from any thread), by setting ``stop``, or with ``with``.
        Raises SessionNotFound, InvalidInput; while iterating, StoreClosed.
        """
        ulid = self._ulid_of(session)
        if after_seq is not None:
            check_int(after_seq, "after_seq")
        return _follow.Follower(
            self,
            ulid,
            after_seq=after_seq,
            poll_interval_s=poll_interval_s,
            stop=stop,
        )

    def watch(
        self,
        *,
        limit: int | None = 20,
        include_archived: bool = False,
        poll_interval_s: float = _follow.DEFAULT_POLL_INTERVAL_S,
        refresh_s: float = _follow.DEFAULT_REFRESH_S,
        stop: threading.Event | None = None,
    ) -> _follow.Watcher:
        """Iterate over the session listing (as :meth:`list_sessions`) whenever it changes.

        The current listing comes first; then a new one after any commit (from any
        process) that changes it, or every ``refresh_s`` when a status changed by itself.
        Stops like :meth:`follow`.  Raises InvalidInput; while iterating, StoreClosed.
        """
        if limit is not None:
            check_int(limit, "limit", minimum=1)
        return _follow.Watcher(
            self,
            limit=limit,
            include_archived=include_archived,
            poll_interval_s=poll_interval_s,
            refresh_s=refresh_s,
            stop=stop,
        )
