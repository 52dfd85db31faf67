"""How fast ``Store.follow`` delivers another process's events, and what idling costs.

Run: ``python benchmarks/bench_follow.py [--events N] [--idle-s S] [--poll-interval-s P]``.

Latency: a child process appends N events at irregular intervals and prints, after each
``append`` returned, ``time.monotonic()`` (one system-wide clock on Linux, so the two
processes' readings compare).  The parent follows the session and notes when each event
arrives.  Latency = arrival - acknowledgement.  Idle cost: the parent follows a session
nobody writes for S seconds and measures its own CPU time over that wall time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zero_session import Store

WRITER = """
import random, sys, time
from zero_session import Store
store = Store.open(sys.argv[1])
random.seed(7)
for i in range(int(sys.argv[3])):
    time.sleep(random.uniform(0.005, 0.05))
    store.append(sys.argv[2], "system", f"event {i}")
    print(time.monotonic(), flush=True)
store.close()
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def measure_latency(path: Path, n: int, poll_interval_s: float) -> list[float]:
    """Milliseconds from each child append's acknowledgement to its arrival here."""
    with Store.open(path) as store:
        session = store.start(cli_version="bench")
        arrivals: list[float] = []
        follower = store.follow(session, poll_interval_s=poll_interval_s)

        def consume() -> None:
            for _ in follower:
                arrivals.append(time.monotonic())
                if len(arrivals) == n:
                    return

        thread = threading.Thread(target=consume)
        thread.start()
        child = subprocess.run(
            [sys.executable, "-c", WRITER, str(path), session.ulid, str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        thread.join(30)
        follower.close()
    acks = [float(line) for line in child.stdout.split()]
    if len(arrivals) != n:
        raise SystemExit(f"only {len(arrivals)} of {n} events arrived")
    return [(seen - ack) * 1000 for seen, ack in zip(arrivals, acks, strict=True)]


def measure_idle_cpu(path: Path, idle_s: float, poll_interval_s: float) -> float:
    """Percent of one core this process used while a follower waited ``idle_s``."""
    with Store.open(path) as store:
        session = store.start(cli_version="bench")
        follower = store.follow(session, poll_interval_s=poll_interval_s)
        thread = threading.Thread(target=lambda: list(follower))
        cpu0, wall0 = time.process_time(), time.monotonic()
        thread.start()
        time.sleep(idle_s)
        cpu1, wall1 = time.process_time(), time.monotonic()
        follower.close()
        thread.join()
    return 100 * (cpu1 - cpu0) / (wall1 - wall0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--idle-s", type=float, default=5.0)
    parser.add_argument("--poll-interval-s", type=float, default=0.025)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        latencies = measure_latency(Path(tmp) / "follow.db", args.events, args.poll_interval_s)
        idle = measure_idle_cpu(Path(tmp) / "idle.db", args.idle_s, args.poll_interval_s)
    print(
        f"follow latency, another process, {len(latencies)} events, "
        f"poll every {args.poll_interval_s * 1000:.0f} ms:"
    )
    print(
        f"  p50 {statistics.median(latencies):6.1f} ms   p95 "
        f"{_percentile(latencies, 0.95):6.1f} ms   max {max(latencies):6.1f} ms"
    )
    print(f"idle follower CPU over {args.idle_s:.0f} s: {idle:.2f} % of one core")
    verdict = _percentile(latencies, 0.95) < 100 and idle < 2
    print("targets (p95 < 100 ms, idle < 2 %):", "met" if verdict else "MISSED")


if __name__ == "__main__":
    main()
