"""The peers: session stores our users would otherwise pick, each driven through its API.

Every peer records the same event (kind, text, JSON data) in the cheapest way its public
API allows, on its own file, with the same durability as the run (``PRAGMA synchronous``
set on every connection it opens, journal in WAL as each of them already chooses).  A
peer that is not installed is left out of the tables with a note.  docs/performance.md
explains the modelling of each one.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL", "off": "OFF"}

Item = tuple[str, str, Any]


class Peer:
    """One peer store on one file, holding one session (conversation, thread, aggregate).

    Constructed as ``Peer(path, durability, existing=False)``: ``existing=True`` opens a
    file the peer has already set up, skipping whatever set-up step its API lets a
    program skip then (the cheapest way that peer offers to open an existing store).
    """

    name = ""
    module = ""  # what ``import`` costs for this peer

    def append(self, item: Item) -> None:
        raise NotImplementedError

    def append_many(self, items: list[Item]) -> None:
        raise NotImplementedError

    def replay(self) -> list[Any]:
        raise NotImplementedError

    def last(self) -> Any:
        """The newest item: the first answer a program reading the store wants."""
        raise NotImplementedError

    def set_synchronous(self, level: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def fill(self, n_events: int, *, batch: int = 1) -> None:
        """Record ``n_events`` through the API with fsync off (building, not measuring)."""
        self.set_synchronous("off")
        done = 0
        while done < n_events:
            count = min(batch, n_events - done)
            items = [_item(done + i + 1) for i in range(count)]
            if count == 1:
                self.append(items[0])
            else:
                self.append_many(items)
            done += count


def _item(n: int) -> Item:
    data = {"qty": n, "symbol": "ACME"} if n % 4 == 0 else None
    kinds = ("prompt", "system", "command", "warn")
    return kinds[n % 4], f"event {n}: a line of text of a typical interactive session", data


class OpenAIAgents(Peer):
    """OpenAI Agents SDK ``SQLiteSession``: ``add_items`` / ``get_items`` (async API)."""

    name = "openai-agents"
    module = "agents"

    def __init__(self, path: Path, durability: str, *, existing: bool = False) -> None:
        # SQLiteSession creates its tables (IF NOT EXISTS) in __init__, always.
        from agents.memory.sqlite_session import SQLiteSession

        level = {"value": SYNCHRONOUS[durability]}

        class Session(SQLiteSession):  # type: ignore[misc]
            def _configure_connection(self, conn: sqlite3.Connection) -> None:
                SQLiteSession._configure_connection(conn)
                conn.execute(f"PRAGMA synchronous = {level['value']}")

        self._level = level
        self._loop = asyncio.new_event_loop()
        self._session = Session("bench", str(path))

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    @staticmethod
    def _message(item: Item) -> dict[str, Any]:
        kind, text, data = item
        return {"type": "message", "role": "user", "content": text, "kind": kind, "data": data}

    def append(self, item: Item) -> None:
        self._run(self._session.add_items([self._message(item)]))

    def append_many(self, items: list[Item]) -> None:
        self._run(self._session.add_items([self._message(i) for i in items]))

    def replay(self) -> list[Any]:
        return list(self._run(self._session.get_items()))

    def last(self) -> Any:
        return self._run(self._session.get_items(limit=1))

    def set_synchronous(self, level: str) -> None:
        # Connections are per worker thread; each new one is configured at this level.
        self._level["value"] = SYNCHRONOUS[level]
        for conn in list(self._session._connections):
            conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[level]}")

    def close(self) -> None:
        self._session.close()
        self._loop.close()


class LangGraph(Peer):
    """LangGraph ``SqliteSaver``: one checkpoint per event (``put``), ``put_writes`` for a
    batch, ``list`` (newest first, reversed) to replay."""

    name = "langgraph"
    module = "langgraph.checkpoint.sqlite"

    def __init__(self, path: Path, durability: str, *, existing: bool = False) -> None:
        # SqliteSaver runs setup() (CREATE TABLE IF NOT EXISTS ...) before its first
        # statement whatever the caller does: calling it here costs nothing extra.
        from langgraph.checkpoint.sqlite import SqliteSaver

        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._saver = SqliteSaver(self._conn)
        self._saver.setup()
        self.set_synchronous(durability)
        self._thread = {"configurable": {"thread_id": "bench", "checkpoint_ns": ""}}
        self._config: dict[str, Any] = self._thread
        self._step = 0

    def append(self, item: Item) -> None:
        from langgraph.checkpoint.base import empty_checkpoint

        kind, text, data = item
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"event": {"kind": kind, "text": text, "data": data}}
        self._step += 1
        self._config = self._saver.put(
            self._config, checkpoint, {"source": "input", "step": self._step}, {}
        )

    def append_many(self, items: list[Item]) -> None:
        if self._config is self._thread:
            self.append(items[0])
            items = items[1:]
        writes = [("event", {"kind": k, "text": t, "data": d}) for k, t, d in items]
        self._saver.put_writes(self._config, writes, task_id=str(uuid.uuid4()))

    def replay(self) -> list[Any]:
        found = list(self._saver.list(self._thread))
        found.reverse()
        events: list[Any] = []
        for t in found:
            events.append(t.checkpoint["channel_values"].get("event"))
            events.extend(value for _, channel, value in t.pending_writes if channel == "event")
        return events

    def last(self) -> Any:
        return self._saver.get_tuple(self._thread)

    def set_synchronous(self, level: str) -> None:
        self._conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[level]}")

    def close(self) -> None:
        self._conn.close()


class EventSourcing(Peer):
    """The ``eventsourcing`` library's ``SQLiteAggregateRecorder``: ``insert_events`` of
    ``StoredEvent`` (JSON state), ``select_events`` plus a JSON decode to replay."""

    name = "eventsourcing"
    module = "eventsourcing.sqlite"

    def __init__(self, path: Path, durability: str, *, existing: bool = False) -> None:
        from eventsourcing.sqlite import (
            SQLiteAggregateRecorder,
            SQLiteConnectionPool,
            SQLiteDatastore,
        )

        level = {"value": SYNCHRONOUS[durability]}

        class Pool(SQLiteConnectionPool):  # type: ignore[misc]
            def _create_connection(self) -> Any:
                conn = super()._create_connection()
                conn._sqlite_conn.execute(f"PRAGMA synchronous = {level['value']}")
                self.opened.append(conn)
                return conn

        self._level = level
        self._datastore = SQLiteDatastore(str(path))
        pool = Pool(db_name=str(path))
        pool.opened = []
        self._datastore.pool = pool
        self._recorder = SQLiteAggregateRecorder(self._datastore)
        if not existing:  # an application opening its store may skip this (CREATE_TABLE)
            self._recorder.create_table()
        self._id = uuid.UUID(int=1)
        self._version = 0

    def _stored(self, item: Item) -> Any:
        from eventsourcing.persistence import StoredEvent

        kind, text, data = item
        self._version += 1
        state = json.dumps({"kind": kind, "text": text, "data": data}).encode()
        return StoredEvent(self._id, self._version, "zero_session.bench:Event", state)

    def append(self, item: Item) -> None:
        self._recorder.insert_events([self._stored(item)])

    def append_many(self, items: list[Item]) -> None:
        self._recorder.insert_events([self._stored(i) for i in items])

    def replay(self) -> list[Any]:
        loads = json.loads
        return [loads(e.state) for e in self._recorder.select_events(self._id)]

    def last(self) -> Any:
        found = self._recorder.select_events(self._id, desc=True, limit=1)
        return json.loads(found[0].state)

    def set_synchronous(self, level: str) -> None:
        self._level["value"] = SYNCHRONOUS[level]
        for conn in self._datastore.pool.opened:
            conn._sqlite_conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[level]}")

    def close(self) -> None:
        self._datastore.close()


class ZeroAgents(OpenAIAgents):
    """zero_session behind the same async Agents ``Session`` API (our adapter,
    ``zero_session.adapters.openai_agents``), for a like-for-like comparison with
    ``SQLiteSession``.  Replay uses a fresh session object each time, so it reads the
    whole log instead of the adapter's cached fold."""

    name = "zero_session (Agents API)"
    module = "zero_session.adapters.openai_agents"

    def __init__(self, path: Path, durability: str, *, existing: bool = False) -> None:
        from zero_session import Store
        from zero_session.adapters.openai_agents import ZeroAgentsSession

        self._make = ZeroAgentsSession
        self._store = Store.open(path, durability=durability)  # type: ignore[arg-type]
        self._loop = asyncio.new_event_loop()
        self._session = ZeroAgentsSession("bench", self._store)

    def replay(self) -> list[Any]:
        return list(self._run(self._make("bench", self._store).get_items()))

    def set_synchronous(self, level: str) -> None:
        conn = self._store._conn
        assert conn is not None
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[level]}")

    def close(self) -> None:
        self._store.close()
        self._loop.close()


PEERS: tuple[type[Peer], ...] = (OpenAIAgents, LangGraph, EventSourcing)


def available() -> tuple[list[type[Peer]], dict[str, str]]:
    """The peers importable here, and why the others are not."""
    found: list[type[Peer]] = []
    missing: dict[str, str] = {}
    for peer in PEERS:
        try:
            __import__(peer.module)
        except ImportError as exc:
            missing[peer.name] = f"not installed ({exc.name}); pip install -e '.[bench]'"
        else:
            found.append(peer)
    return found, missing
