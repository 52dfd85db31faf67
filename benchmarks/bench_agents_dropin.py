"""The drop-in ``SQLiteSession`` against the Agents SDK's own, on the same file system.

Run: ``python benchmarks/bench_agents_dropin.py [--rounds R] [--items N]``.

Both are driven through the same async API from one event loop, each on its own new
file in one temporary folder, with its default settings (the SDK's connection at
SQLite's default ``synchronous``, ours at ``durability="full"``):

* ``add_items([1])``: N calls of one item each, how the Runner writes a turn;
  seconds per call.
* ``add_items([N])``: calls of N items each; seconds per call.

Both write to one session each (on its own file, opened and given its first item
before timing) that grows round by round, as a conversation does.
* ``get_items()`` of N items by a new session object, so ours reads and folds the
  whole log instead of answering from the fold it caches; seconds per call.
* ``get_items()`` again on the same object (ours: only what was appended since).

Contenders run interleaved round by round and keep their best round
(``_timing.compare``); the ratio is ours / the SDK's (≤ 1.0 is the target).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import compare
from agents import SQLiteSession as SDKSession

from zero_session.adapters.openai_agents import SQLiteSession

SDK = "openai-agents SQLiteSession"
OURS = "zero_session drop-in"
KINDS: dict[str, type[Any]] = {OURS: SQLiteSession, SDK: SDKSession}
RUN_CALLS = 100


def _item(n: int) -> dict[str, Any]:
    """A user message or an assistant output message, alternately, as the Runner stores."""
    if n % 2 == 0:
        return {"role": "user", "content": f"message {n}: buy 10 ACME at market, then report"}
    text = {"type": "output_text", "text": f"echo {n}: done, filled at 101.25", "annotations": []}
    return {
        "id": f"msg_{n:06d}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [text],
    }


class Sides:
    """One event loop; new sessions of both kinds on new files in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.opened: list[Any] = []
        self.count = 0

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def new(self, kind: type[Any]) -> Any:
        """A session of ``kind`` on a new file."""
        self.count += 1
        path = self.folder / f"{self.count}.db"
        session = kind("bench", path)
        self.opened.append(session)
        return session

    def close(self) -> None:
        for session in self.opened:
            session.close()
        self.loop.close()


def _started(sides: Sides) -> dict[str, Any]:
    """For each side, a session on its own new file, already holding one item (opening a
    file and its first write are not what is measured).  Rounds go on writing to it, as
    a program's turns go on writing to its conversation."""
    started = {name: sides.new(kind) for name, kind in KINDS.items()}
    for session in started.values():
        sides.run(session.add_items([_item(-1)]))
    return started


def _per_call(sides: Sides, n: int, rounds: int) -> dict[str, float]:
    """Best seconds per ``add_items([one item])``: ``n`` calls a side in each of
    ``rounds`` series, every series cut in runs of ``RUN_CALLS`` calls that alternate
    between the sides, the best run kept (on a loaded machine a short run is less likely
    to be hit by another process than a long one)."""
    started = _started(sides)

    def op_for(name: str) -> Callable[[], object]:
        numbers = itertools.count()
        return lambda: sides.run(started[name].add_items([_item(next(numbers))]))

    ops = {name: op_for(name) for name in KINDS}
    return compare(ops, rounds=max(1, rounds * n // RUN_CALLS), number=RUN_CALLS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--items", type=int, default=1000)
    args = parser.parse_args(argv)
    n = args.items
    with tempfile.TemporaryDirectory(prefix="bench-agents-", dir=Path.cwd()) as tmp:
        sides = Sides(Path(tmp))
        try:
            results = _measure(sides, n, args.rounds)
            probe = sqlite3.connect(Path(tmp) / "probe.db")
            synchronous = probe.execute("PRAGMA synchronous").fetchone()[0]
            probe.close()
        finally:
            sides.close()
    print(f"folder: {Path.cwd()} (the SDK's sqlite3 default synchronous={synchronous})")
    print(f"{'workload':<34} {SDK:>28} {OURS:>22} {'ratio':>7}")
    for label, best in results:
        ratio = best[OURS] / best[SDK]
        print(
            f"{label:<34} {best[SDK] * 1e6:>25.1f} µs {best[OURS] * 1e6:>19.1f} µs {ratio:>6.2f}x"
        )
    return 0


def _measure(sides: Sides, n: int, rounds: int) -> list[tuple[str, dict[str, float]]]:
    results = [(f"add_items([1]) x {n:,}, per call", _per_call(sides, n, rounds))]

    batch = [_item(i) for i in range(n)]
    started = _started(sides)

    def batch_op(name: str) -> Callable[[], object]:
        return lambda: sides.run(started[name].add_items(batch))

    # Many rounds of one call: a single call is short, so the best of many finds a quiet
    # moment on a loaded machine.
    best = compare({name: batch_op(name) for name in KINDS}, rounds=4 * rounds, number=1)
    results.append((f"add_items([{n:,}]), per call", best))

    # get_items(): both files filled once with the same N items.
    filled = {
        OURS: sides.new(SQLiteSession),
        SDK: sides.new(SDKSession),
    }
    for session in filled.values():
        sides.run(session.add_items(batch))
    paths = {name: session.db_path for name, session in filled.items()}
    kinds = KINDS

    # New objects made before timing (the SDK's constructor writes its schema).
    pool = {name: [kinds[name]("bench", paths[name]) for _ in range(2 * rounds)] for name in kinds}
    for sessions in pool.values():
        sides.opened += sessions

    def read_new(name: str) -> Callable[[], object]:
        def op() -> object:
            session = pool[name].pop()  # a new object: no cached fold
            items = sides.run(session.get_items())
            assert len(items) == n
            return items

        return op

    def read_again(name: str) -> Callable[[], object]:
        return lambda: sides.run(filled[name].get_items())

    new_object = compare({k: read_new(k) for k in kinds}, rounds=2 * rounds, number=1)
    same_object = compare({k: read_again(k) for k in kinds}, rounds=2 * rounds, number=3)
    results.append((f"get_items() of {n:,}, new object", new_object))
    results.append((f"get_items() of {n:,}, same object", same_object))
    return results


if __name__ == "__main__":
    sys.exit(main())
