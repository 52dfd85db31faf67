"""Concurrent session creation: threads sharing one Store and processes with their own.

Run: ``python benchmarks/bench_concurrent.py [--sessions 4000] [--events 10] [--threads 8]
[--processes 4] [--durability full]``; ``benchmarks/run.py`` runs it as its
``concurrent`` section.

Every worker (each of ``--threads`` threads on one shared ``Store``, and each of
``--processes`` processes with a ``Store`` of its own, all on one file) takes its share
of ``--sessions`` and, for each one, ``start()``s a session, appends ``--events`` events
one call at a time and ``end()``s it, all workers released at once.  Then the file is
checked from a fresh ``Store``: zero errors, every session holds exactly its events with
seqs 1..n and no gap, and ``list_sessions(None)`` sees every one of them.  Reported:
sessions per second over the whole run, and the median and p99 of ``start()``.

This is the load that makes stores without a busy timeout or a write queue fail with
"database is locked" (the OpenAI Agents SDK's tracker has 20 of 160 concurrent
``SQLiteSession`` starts failing); here any error counts as a failure of the run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zero_session import Store

TEXT = "buy 10 ACME at market, account paper-1, from the order panel"
DATA = {"qty": 10, "symbol": "ACME", "side": "buy"}


@dataclass
class Share:
    """What one worker did: its sessions, its start() latencies, its errors."""

    ulids: list[str] = field(default_factory=list)
    start_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _work(store: Store, sessions: int, events: int, share: Share) -> None:
    clock = time.perf_counter
    for _ in range(sessions):
        try:
            began = clock()
            session = store.start(cli_version="bench", meta={"worker": "concurrent"})
            share.start_s.append(clock() - began)
            share.ulids.append(session.ulid)
            for i in range(events):
                store.append(session, "prompt", TEXT, data=DATA if i % 4 == 0 else None)
            store.end(session)
        except Exception as exc:  # counted, reported, and the run fails
            share.errors.append(f"{type(exc).__name__}: {exc}")


def _thread_worker(
    store: Store, sessions: int, events: int, share: Share, go: threading.Barrier
) -> None:
    go.wait()
    _work(store, sessions, events, share)


def _process_worker(
    path: str, durability: str, sessions: int, events: int, ready: Any, go: Any, out: Any
) -> None:
    share = Share()
    store = Store.open(path, durability=durability)  # type: ignore[arg-type]
    ready.release()
    go.wait()
    _work(store, sessions, events, share)
    store.close()
    out.put((share.ulids, share.start_s, share.errors))


@dataclass
class Outcome:
    """The run's figures and its checks."""

    sessions: int
    events_each: int
    threads: int
    processes: int
    durability: str
    seconds: float
    start_p50_s: float
    start_p99_s: float
    errors: list[str]
    incomplete: list[str]
    unlisted: int

    @property
    def sessions_per_s(self) -> float:
        return self.sessions / self.seconds

    @property
    def ok(self) -> bool:
        return not self.errors and not self.incomplete and self.unlisted == 0


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run(
    path: Path,
    *,
    sessions: int = 4000,
    events: int = 10,
    threads: int = 8,
    processes: int = 4,
    durability: str = "full",
) -> Outcome:
    """Create ``sessions`` sessions of ``events`` events from threads and processes at once."""
    Store.open(path, durability=durability).close()  # type: ignore[arg-type]
    shares = _split(sessions, threads + processes)
    ctx = multiprocessing.get_context("spawn")
    ready, go_processes, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    children = [
        ctx.Process(
            target=_process_worker,
            args=(str(path), durability, shares[threads + i], events, ready, go_processes, out),
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        if not ready.acquire(timeout=120):
            raise RuntimeError("a worker process did not start")
    store = Store.open(path, durability=durability)  # type: ignore[arg-type]
    go = threading.Barrier(threads + 1)
    thread_shares = [Share() for _ in range(threads)]
    workers = [
        threading.Thread(target=_thread_worker, args=(store, shares[i], events, share, go))
        for i, share in enumerate(thread_shares)
    ]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    go_processes.set()
    go.wait()
    for worker in workers:
        worker.join()
    process_shares = []
    for _ in children:
        ulids, start_s, errors = out.get(timeout=600)
        process_shares.append(Share(ulids, start_s, errors))
    seconds = time.perf_counter() - began
    for child in children:
        child.join(timeout=60)
        if child.exitcode != 0:
            raise RuntimeError(f"a worker process exited {child.exitcode}")
    store.close()

    everything = thread_shares + process_shares
    ulids = [u for share in everything for u in share.ulids]
    start_s = sorted(s for share in everything for s in share.start_s)
    errors = [e for share in everything for e in share.errors]
    incomplete = []
    with Store.open(path, readonly=True) as check:
        for ulid in ulids:
            seqs = [event.seq for event in check.replay(ulid)]
            session = check.get(ulid)
            if seqs != list(range(1, events + 1)) or session.last_seq != events:
                incomplete.append(ulid)
        listed = {s.ulid for s in check.list_sessions(None)}
    p99 = start_s[min(len(start_s) - 1, int(len(start_s) * 0.99))] if start_s else float("nan")
    return Outcome(
        sessions=len(ulids),
        events_each=events,
        threads=threads,
        processes=processes,
        durability=durability,
        seconds=seconds,
        start_p50_s=statistics.median(start_s) if start_s else float("nan"),
        start_p99_s=p99,
        errors=errors + ([] if len(ulids) == sessions else [f"{sessions - len(ulids)} missing"]),
        incomplete=incomplete,
        unlisted=len(set(ulids) - listed),
    )


def describe(outcome: Outcome) -> str:
    """The run as a few lines of text."""
    return "\n".join(
        [
            f"{outcome.threads} threads on one Store + {outcome.processes} processes "
            f"(durability={outcome.durability}): {outcome.sessions:,} sessions "
            f"x {outcome.events_each} events in {outcome.seconds:.1f} s",
            f"  sessions/s {outcome.sessions_per_s:,.0f}   start() median "
            f"{outcome.start_p50_s * 1e3:.2f} ms, p99 {outcome.start_p99_s * 1e3:.2f} ms",
            f"  errors {len(outcome.errors)}   incomplete or gapped {len(outcome.incomplete)}"
            f"   missing from list_sessions {outcome.unlisted}   "
            + ("OK" if outcome.ok else "FAILED"),
            *(f"  error: {e}" for e in outcome.errors[:5]),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=4000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--durability", choices=("full", "normal"), default="full")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zs-concurrent-") as work:
        outcome = run(
            Path(work) / "concurrent.db",
            sessions=args.sessions,
            events=args.events,
            threads=args.threads,
            processes=args.processes,
            durability=args.durability,
        )
    print(describe(outcome))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
