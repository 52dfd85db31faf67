"""Push to PostgreSQL: backfill speed against raw psycopg COPY, incremental push, watch lag,
append latency during a push.

Run: ``python benchmarks/bench_sync.py [--events N] [--sessions S] [--watch-s D]``.
It starts its own throw-away server from Debian's ``postgresql`` package
(``tests/pg_server.py``), on a loopback port, tuned like the tests' (no fsync).

- Backfill: a store of N events (S sessions, text and JSON data) pushed to an empty
  server, as events/s, against the cheapest raw way to put the same rows into the same
  table: one psycopg ``COPY`` of rows already in memory ("raw COPY"), and one ``COPY``
  streamed from an apsw ``SELECT`` of the file ("raw read+COPY").  Contenders alternate,
  best round kept.
- Incremental: 100 new events in one session of that store, pushed; per push, with a new
  connection (``sync.push``) and on a kept one (as ``watch`` does).
- Watch lag: 4 writer processes append at random intervals (50-200 ms) to one file while
  ``sync.watch`` (default interval 1 s) pushes it; lag = first seen on the server (polled
  every 10 ms) minus the append's acknowledgement.
- Append latency: single appends on the same ``Store`` every 2 ms while a push of the big
  store runs in another thread, against the same loop with no push.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import apsw  # noqa: E402
import psycopg  # noqa: E402
from pg_server import PgServer, find_bin_dir  # noqa: E402

from zero_session import Store, sync  # noqa: E402
from zero_session.sync import _connect, _push  # noqa: E402

WRITER = """
import random, sys, time
from zero_session import Store
store = Store.open(sys.argv[1])
session = store.start(cli_version="bench")
print("ulid", session.ulid, flush=True)
random.seed(int(sys.argv[3]))
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    time.sleep(random.uniform(0.05, 0.2))
    ev = store.append(session, "prompt", "typed by a writer", data={"n": 1})
    print(ev.seq, time.monotonic(), flush=True)
store.close()
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def build_store(path: Path, n_events: int, n_sessions: int) -> None:
    per_session = n_events // n_sessions
    with Store.open(path, durability="normal") as store:
        for s in range(n_sessions):
            session = store.start(cli_version="bench", meta={"n": s})
            for start in range(0, per_session, 10_000):
                size = min(10_000, per_session - start)
                store.append_many(
                    session,
                    [
                        (
                            "prompt",
                            f"event {start + i} of session {s}",
                            {"i": start + i, "ok": True},
                        )
                        for i in range(size)
                    ],
                )


_FILE_ROWS_SQL = (
    "SELECT s.ulid, e.seq, e.at_ms, e.kind, e.text, e.data, e.data, NULL, NULL "
    "FROM events e JOIN sessions s ON s.id = e.session_id ORDER BY e.session_id, e.seq"
)


def file_rows(path: Path) -> list[tuple[Any, ...]]:
    """Every event as the server's columns, read with apsw into memory."""
    return list(stream_file_rows(path))


def stream_file_rows(path: Path) -> Any:
    """The same, streamed from an apsw cursor (nothing held but the current row)."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        yield from conn.execute(_FILE_ROWS_SQL)
    finally:
        conn.close()


def raw_copy(dsn: str, rows: Any) -> None:
    with psycopg.connect(dsn) as conn:
        with conn.cursor().copy(_push._COPY_EVENTS_SQL) as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()


def fresh_db(server: PgServer, *, with_schema: bool) -> str:
    dsn = server.dsn(server.database())
    if with_schema:
        sync.init(dsn)
    return dsn


def bench_backfill(server: PgServer, path: Path, n_events: int, rounds: int) -> dict[str, float]:
    best = {"sync.push": float("inf"), "raw COPY": float("inf"), "raw read+COPY": float("inf")}
    rows = file_rows(path)
    for _ in range(rounds):
        for name in best:
            dsn = fresh_db(server, with_schema=name != "sync.push")
            if name == "sync.push":
                with Store.open(path) as store:
                    with store._writing() as conn:  # a new server: forget old cursors
                        conn.execute("DELETE FROM milestones WHERE key LIKE 'zero_session.sync.%'")
                    started = time.perf_counter()
                    report = sync.push(store, dsn)
                    elapsed = time.perf_counter() - started
                assert report.events == n_events, report
            elif name == "raw COPY":
                started = time.perf_counter()
                raw_copy(dsn, rows)
                elapsed = time.perf_counter() - started
            else:
                started = time.perf_counter()
                raw_copy(dsn, stream_file_rows(path))
                elapsed = time.perf_counter() - started
            best[name] = min(best[name], elapsed)
    return best


def bench_incremental(server: PgServer, path: Path, rounds: int) -> dict[str, list[float]]:
    dsn = fresh_db(server, with_schema=False)
    times: dict[str, list[float]] = {"new connection": [], "kept connection": []}
    with Store.open(path) as store:
        with store._writing() as conn:
            conn.execute("DELETE FROM milestones WHERE key LIKE 'zero_session.sync.%'")
        sync.push(store, dsn)
        ulid = store.list_sessions(limit=1)[0].ulid
        conn, target = _connect.connect(dsn)
        pusher = _push.Pusher(store, conn, target, io_timeout_s=60)
        pusher.push()
        for _ in range(rounds):
            for name in times:
                store.append_many(ulid, [("prompt", "incremental", {"k": 1})] * 100)
                started = time.perf_counter()
                report = sync.push(store, dsn) if name == "new connection" else pusher.push()
                times[name].append((time.perf_counter() - started) * 1000)
                assert report.events == 100, report
        conn.close()
    return times


def bench_watch_lag(server: PgServer, folder: Path, seconds: float) -> list[float]:
    path = folder / "watch.db"
    Store.open(path).close()
    dsn = fresh_db(server, with_schema=True)
    seen: dict[tuple[str, int], float] = {}
    stop = threading.Event()
    with Store.open(path) as store:
        watcher = threading.Thread(target=sync.watch, args=(store, dsn), kwargs={"stop": stop})
        watcher.start()
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, str(path), str(seconds), str(i)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(4)
        ]
        poll = psycopg.connect(dsn, autocommit=True)
        last: dict[str, int] = {}
        while any(w.poll() is None for w in writers) or not seen:
            now = time.monotonic()
            for ulid, last_seq in poll.execute(
                "SELECT ulid, last_seq FROM zero_session.sessions"
            ).fetchall():
                for seq in range(last.get(ulid, 0) + 1, last_seq + 1):
                    seen.setdefault((ulid, seq), now)
                last[ulid] = last_seq
            time.sleep(0.01)
        acks: dict[tuple[str, int], float] = {}
        for w in writers:
            out, _ = w.communicate()
            lines = out.split("\n")
            ulid = lines[0].split()[1]
            for line in lines[1:]:
                if line:
                    seq, at = line.split()
                    acks[(ulid, int(seq))] = float(at)
        deadline = time.monotonic() + 10
        while len([k for k in acks if k in seen]) < len(acks) and time.monotonic() < deadline:
            now = time.monotonic()
            for ulid, last_seq in poll.execute(
                "SELECT ulid, last_seq FROM zero_session.sessions"
            ).fetchall():
                for seq in range(last.get(ulid, 0) + 1, last_seq + 1):
                    seen.setdefault((ulid, seq), now)
                last[ulid] = last_seq
            time.sleep(0.01)
        stop.set()
        watcher.join(30)
        poll.close()
    return [(seen[k] - at) * 1000 for k, at in acks.items() if k in seen]


def _push_then_set(store: Store, dsn: str, done: threading.Event) -> None:
    try:
        sync.push(store, dsn)
    finally:
        done.set()


def bench_append_latency(server: PgServer, path: Path) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    with Store.open(path) as store:
        ulid = store.start(cli_version="bench").ulid
        for name in ("no push", "during a push"):
            latencies: list[float] = []
            done = threading.Event()
            if name == "during a push":
                with store._writing() as conn:
                    conn.execute("DELETE FROM milestones WHERE key LIKE 'zero_session.sync.%'")
                pusher = threading.Thread(
                    target=_push_then_set, args=(store, fresh_db(server, with_schema=True), done)
                )
                pusher.start()
            else:
                threading.Timer(3.0, done.set).start()
            while not done.is_set():
                started = time.perf_counter()
                store.append(ulid, "prompt", "typed while pushing")
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.002)
            if name == "during a push":
                pusher.join()
            results[name] = latencies
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--watch-s", type=float, default=20.0)
    args = parser.parse_args()
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("needs Debian's postgresql package")
    server = PgServer(bin_dir).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            path = folder / "big.db"
            started = time.perf_counter()
            build_store(path, args.events, args.sessions)
            print(f"built {args.events:,} events in {time.perf_counter() - started:.1f} s")

            best = bench_backfill(server, path, args.events, args.rounds)
            print(
                f"\nbackfill of {args.events:,} events ({args.sessions} sessions), best of "
                f"{args.rounds}:"
            )
            for name, seconds in best.items():
                ratio = seconds / best["sync.push"]
                print(
                    f"  {name:15} {seconds:7.2f} s  {args.events / seconds:>10,.0f} events/s"
                    f"  sync.push speed / this = {ratio:.2f}x"
                )

            inc = bench_incremental(server, path, rounds=20)
            print("\nincremental push of 100 events:")
            for name, values in inc.items():
                print(
                    f"  {name:16} median {statistics.median(values):6.1f} ms  "
                    f"p95 {percentile(values, 0.95):6.1f} ms"
                )

            lags = bench_watch_lag(server, folder, args.watch_s)
            print(
                f"\nwatch lag, 4 writers, {len(lags)} events, interval 1 s: "
                f"median {statistics.median(lags):.0f} ms, p95 {percentile(lags, 0.95):.0f} ms, "
                f"max {max(lags):.0f} ms"
            )

            lat = bench_append_latency(server, path)
            print("\nappend latency on the same Store (ms):")
            for name, values in lat.items():
                print(
                    f"  {name:14} n={len(values):5}  median {statistics.median(values):5.2f}  "
                    f"p99 {percentile(values, 0.99):6.2f}  max {max(values):6.2f}"
                )
    finally:
        server.destroy()


if __name__ == "__main__":
    main()
