"""What ``Recorder.record`` costs the UI thread, with the store free and while another
process holds the write lock.

Run: ``python benchmarks/bench_recorder.py [--events N]``.

The cheapest raw way to hand an event to another thread is ``queue.SimpleQueue.put``;
``record`` is measured against it, per call, in the same run.  Under contention a child
process holds ``BEGIN IMMEDIATE`` on the file for the whole measurement (the store's
busy timeout is 5 s), then releases it, and the time for ``flush`` to save everything
is reported too.
"""

from __future__ import annotations

import argparse
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zero_session import Recorder, Store

HOLDER = """
import sys, apsw
conn = apsw.Connection(sys.argv[1])
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


def _per_call_us(call: object, n: int) -> list[float]:
    timings = []
    for i in range(n):
        started = time.perf_counter()
        call("prompt", f"typed {i}")  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1e6)
    return timings


def _summary(name: str, timings: list[float], raw: list[float]) -> str:
    p50, p99 = statistics.median(timings), sorted(timings)[int(0.99 * (len(timings) - 1))]
    ratio = statistics.median(raw) / p50
    return (
        f"{name:<28} p50 {p50:7.2f} µs  p99 {p99:8.2f} µs  max {max(timings):9.2f} µs"
        f"  speed vs SimpleQueue.put {ratio:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5_000)
    n = parser.parse_args().events
    sink: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
    raw = _per_call_us(lambda kind, text: sink.put((kind, text)), n)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        with Store.open(path) as store:
            rec = Recorder(store, backlog_limit=n + 1)
            free = _per_call_us(rec.record, n)
            assert rec.flush(timeout=60)
            holder = subprocess.Popen(
                [sys.executable, "-c", HOLDER, str(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert holder.stdout is not None and holder.stdin is not None
            assert holder.stdout.readline().strip() == "locked"
            locked = _per_call_us(rec.record, n)
            assert rec.pending > 0
            holder.stdin.write("go\n")
            holder.stdin.flush()
            released = time.perf_counter()
            assert rec.flush(timeout=60)
            catch_up_ms = (time.perf_counter() - released) * 1e3
            holder.wait()
            rec.close()
    print(f"{n:,} record() calls per case")
    print(_summary("SimpleQueue.put (raw)", raw, raw))
    print(_summary("record(), store free", free, raw))
    print(_summary("record(), write lock held", locked, raw))
    print(f"catch-up after the lock is released: {catch_up_ms:.1f} ms for {n:,} events")


if __name__ == "__main__":
    main()
