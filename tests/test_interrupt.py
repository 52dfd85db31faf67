"""Search is bounded, and ``Store.interrupt()`` cancels a long read from another thread.

A query once held the store's mutex for minutes (its cost grows with its words, most of
all with prefix searches), so it is capped; what is left is cancelled by interrupt().
The long read here is real and deterministic without sleeping: a VFS holds the search's
first page read until the test has asked for the interrupt, then counts the pages the
search still reads, against the same search run to its end.
"""

from __future__ import annotations

import asyncio
import io
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest
from waiting import wait_for

from zero_session import AsyncStore, Interrupted, InvalidInput, Store
from zero_session._search import MAX_QUERY_CHARS, MAX_QUERY_PREFIXES, MAX_QUERY_WORDS

WAIT_S = 20.0
EXPENSIVE = " OR ".join(["w*"] * MAX_QUERY_PREFIXES)


class GatedFile(apsw.VFSFile):
    def __init__(self, vfs: GateVFS, name: Any, flags: list[int]) -> None:
        super().__init__("", name, flags)
        self._vfs = vfs

    def xRead(self, amount: int, offset: int) -> bytes:
        self._vfs.on_read()
        return bytes(super().xRead(amount, offset))


class GateVFS(apsw.VFS):
    """Counts page reads; once armed, holds the next read until :meth:`release`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reads = 0
        self.armed = False
        self.held = threading.Event()
        self.gate = threading.Event()
        super().__init__(name, "")

    def xOpen(self, name: Any, flags: list[int]) -> apsw.VFSFile:
        return GatedFile(self, name, flags)

    def on_read(self) -> None:
        self.reads += 1
        if self.armed:
            self.armed = False
            self.held.set()
            assert self.gate.wait(WAIT_S), "the gate was never opened"

    def arm(self) -> None:
        self.held.clear()
        self.gate.clear()
        self.armed = True

    def release(self) -> None:
        self.gate.set()


@pytest.fixture(scope="module")
def indexed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose search index holds 30,000 events of 2,000 words, checkpointed."""
    path = tmp_path_factory.mktemp("interrupt") / "sessions.db"
    words = [f"w{i}" for i in range(2_000)]
    rnd = random.Random(7)
    with Store.open(path, durability="normal") as store:
        for _ in range(3):
            session = store.start(cwd="/")
            store.append_many(
                session,
                [("prompt", " ".join(rnd.choice(words) for _ in range(12))) for _ in range(10_000)],
            )
            store.end(session)
        store.search("w1")  # builds the index
    return path


@pytest.fixture
def gate_vfs() -> Iterator[GateVFS]:
    vfs = GateVFS(f"gate-{random.getrandbits(32):08x}")
    yield vfs
    vfs.unregister()


def test_query_caps(store: Store) -> None:
    store.append(store.start(cwd="/"), "prompt", "hello w1 w2")
    with pytest.raises(InvalidInput, match="characters long"):
        store.search("w" * (MAX_QUERY_CHARS + 1))
    with pytest.raises(InvalidInput, match="words"):
        store.search(" ".join(["w1"] * (MAX_QUERY_WORDS + 1)))
    with pytest.raises(InvalidInput, match="prefix"):
        store.search(" OR ".join(["w*"] * (MAX_QUERY_PREFIXES + 1)))
    # At the caps, and stars searched literally, are fine.
    assert len(store.search(" ".join(["w1"] * MAX_QUERY_WORDS))) == 1
    assert len(store.search("w1 " + " " * (MAX_QUERY_CHARS - 3))) == 1
    assert len(store.search(EXPENSIVE)) == 1
    assert store.search(" ".join(["w*"] * (MAX_QUERY_PREFIXES + 1)), literal=True) == []


def _search_in_thread(store: Store) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(store.search(EXPENSIVE, limit=5))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _reads_of_a_whole_search(path: Path, vfs: GateVFS) -> int:
    with Store.open(path, vfs=vfs.name) as store:
        before = vfs.reads
        assert len(store.search(EXPENSIVE, limit=5)) == 5
        return vfs.reads - before


def test_interrupt_cancels_a_long_search(indexed_file: Path, gate_vfs: GateVFS) -> None:
    whole = _reads_of_a_whole_search(indexed_file, gate_vfs)
    with Store.open(indexed_file, vfs=gate_vfs.name) as store:
        store.get_milestone("warm-up")  # the schema is read before the gate is armed
        gate_vfs.arm()
        thread, outcome = _search_in_thread(store)
        assert gate_vfs.held.wait(WAIT_S)  # the search is inside SQLite, reading
        stopper = threading.Thread(target=store.interrupt)
        stopper.start()
        wait_for(lambda: store._cancelled_read != 0)  # the interrupt was asked for
        reads_at_release = gate_vfs.reads
        gate_vfs.release()
        stopper.join(WAIT_S)
        thread.join(WAIT_S)
        assert not stopper.is_alive() and not thread.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], Interrupted), outcome
        # Stopped early: far fewer pages read than the whole search needs.
        assert gate_vfs.reads - reads_at_release < whole // 4, (whole, gate_vfs.reads)
        # The store stays usable, and the next read is not affected.
        assert len(store.search(EXPENSIVE, limit=5)) == 5
        assert store.list_sessions()


def test_interrupt_with_nothing_running_changes_nothing(indexed_file: Path) -> None:
    with Store.open(indexed_file, readonly=True) as store:
        store.interrupt()
        assert len(store.search("w1", limit=3)) == 3


def test_interrupt_never_cancels_a_write(db_path: Path) -> None:
    """A write in progress (held inside its transaction by the clock) is not a read."""
    inside, release = threading.Event(), threading.Event()

    def clock() -> int:
        if threading.current_thread().name == "writer":
            inside.set()
            assert release.wait(WAIT_S)
        return 1_780_000_000_000

    with Store.open(db_path, clock=clock) as store:
        session = store.start(cwd="/")
        results: list[object] = []
        writer = threading.Thread(
            target=lambda: results.append(store.append(session, "prompt", "kept")), name="writer"
        )
        writer.start()
        assert inside.wait(WAIT_S)
        store.interrupt()  # returns at once: no read runs
        release.set()
        writer.join(WAIT_S)
        assert len(results) == 1 and [e.text for e in store.replay(session)] == ["kept"]


def test_async_store_interrupt_from_the_event_loop(indexed_file: Path, gate_vfs: GateVFS) -> None:
    async def scenario() -> None:
        astore = await AsyncStore.open(indexed_file, vfs=gate_vfs.name)
        async with astore:
            await astore.get_milestone("warm-up")
            gate_vfs.arm()
            search = asyncio.ensure_future(astore.search(EXPENSIVE, limit=5))
            assert await asyncio.to_thread(gate_vfs.held.wait, WAIT_S)
            stopping = asyncio.ensure_future(asyncio.to_thread(astore.interrupt))
            await asyncio.to_thread(wait_for, lambda: astore.store._cancelled_read != 0)
            gate_vfs.release()
            await stopping
            with pytest.raises(Interrupted):
                await search
            assert len(await astore.search("w1", limit=2)) == 2

    asyncio.run(scenario())


def test_interrupted_export_leaves_no_transaction_open(
    indexed_file: Path, gate_vfs: GateVFS, tmp_path: Path
) -> None:
    """An export reads in one read transaction: cancelled, it must not stay open (the
    next write could not begin)."""
    copy = tmp_path / "copy.db"
    copy.write_bytes(indexed_file.read_bytes())
    with Store.open(copy, vfs=gate_vfs.name) as store:
        store.get_milestone("warm-up")
        gate_vfs.arm()
        outcome: list[object] = []

        def export() -> None:
            try:
                outcome.append(store.export(io.StringIO()))
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=export)
        thread.start()
        assert gate_vfs.held.wait(WAIT_S)
        stopper = threading.Thread(target=store.interrupt)
        stopper.start()
        wait_for(lambda: store._cancelled_read != 0)
        gate_vfs.release()
        stopper.join(WAIT_S)
        thread.join(WAIT_S)
        assert len(outcome) == 1 and isinstance(outcome[0], Interrupted), outcome
        session = store.start(cwd="/")
        assert store.append(session, "prompt", "after").seq == 1
