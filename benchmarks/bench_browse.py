"""How the full-screen browser (``zero-session browse``) holds up on a big store.

Run: ``python benchmarks/bench_browse.py [--sessions N] [--long-events N] [--scratch DIR]``.

The store: ``--sessions`` sessions (default 10,000), each with 10 events (the first a
prompt) except one with ``--long-events`` events (default 1,000,000), every 5,000th of
which says "margin call"; one session in 100 is a fork.  Built once by raw apsw bulk
inserts (``INSERT ... SELECT`` over a recursive counter, after ``Store.open`` made the
real schema) and kept in ``--scratch`` (default: a folder in the system's temporary
directory), since building it through the API would take longer than the benchmark.

The browser runs headless (Textual's ``run_test``, 120x40) on a read-only store, as
``zero-session browse`` does; every step is timed until the frame that shows it has been
drawn (``call_after_refresh``), the first paint from before the store is opened.
Targets are the issue's; ``raw`` columns are the cheapest raw-apsw
read that answers the same question, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import apsw

from zero_session import Store
from zero_session.browse._app import BrowseApp
from zero_session.browse._list_screen import ListScreen
from zero_session.browse._timeline_screen import TimelineScreen

BASE_MS = 1_780_000_000_000
NEEDLE = "margin call"
EVERY = 5_000

_SESSIONS_SQL = """
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1)
INSERT INTO sessions (id, ulid, parent_id, fork_seq, started_at_ms, ended_at_ms, last_seq,
                      last_event_at_ms, cwd, meta)
SELECT x, printf('01KB%022d', x),
       CASE WHEN x % 100 = 0 AND x > 1 THEN x - 1 END,
       CASE WHEN x % 100 = 0 AND x > 1 THEN 5 ELSE 0 END,
       ?2 + x * 1000, ?2 + x * 1000 + 500,
       CASE WHEN x = 1 THEN ?3 WHEN x % 100 = 0 THEN 15 ELSE 10 END,
       ?2 + x * 1000 + 400, '/work/project-' || (x % 50), '{}'
  FROM c
"""
_SHORT_EVENTS_SQL = """
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10)
INSERT INTO events (session_id, seq, at_ms, kind, text, data)
SELECT s.id, s.fork_seq + c.x, s.started_at_ms + c.x,
       CASE WHEN c.x = 1 THEN 'prompt' ELSE 'system' END,
       CASE WHEN c.x = 1 THEN 'task ' || s.id || ': refactor the parser' ELSE 'step ' || c.x END,
       NULL
  FROM sessions AS s, c WHERE s.id > 1 AND s.fork_seq + c.x <= s.last_seq
"""
_LONG_EVENTS_SQL = """
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1)
INSERT INTO events (session_id, seq, at_ms, kind, text, data)
SELECT 1, x, ?2 + x,
       CASE WHEN x % ?3 = 0 THEN 'alert' WHEN x % 4 = 0 THEN 'prompt' ELSE 'system' END,
       CASE WHEN x % ?3 = 0 THEN 'margin call on ACME at ' || x
            ELSE 'event ' || x || ': a line of text of a typical interactive session' END,
       CASE WHEN x % 4 = 0 THEN json_object('qty', x, 'symbol', 'ACME') END
  FROM c
"""


def build(path: Path, sessions: int, long_events: int) -> None:
    """The benchmark store at ``path`` (kept: built only when missing, migrated when a
    newer zero_session adds a migration)."""
    if path.exists():
        Store.open(path).close()
        return
    partial = path.with_suffix(".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    Store.open(partial).close()
    conn = apsw.Connection(str(partial))
    with conn:
        conn.execute(_SESSIONS_SQL, (sessions, BASE_MS, long_events))
        conn.execute(_SHORT_EVENTS_SQL)
        conn.execute(_LONG_EVENTS_SQL, (long_events, BASE_MS, EVERY))
        conn.execute(
            "INSERT INTO milestones (key, value, at_ms) "
            "SELECT 'session.label.s' || id, ulid, ?1 FROM sessions WHERE id % 20 = 0",
            (BASE_MS,),
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    partial.rename(path)


def rss_mb() -> float:
    """This process's resident memory now (not the peak), in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


WRITER = """
import random, sys, time
from zero_session import Store
store = Store.open(sys.argv[1])
session = store.start(cwd="/bench/follow")
print(session.ulid, flush=True)
sys.stdin.readline()
random.seed(7)
for i in range(int(sys.argv[2])):
    time.sleep(random.uniform(0.02, 0.08))
    store.append(session, "system", f"followed {i}")
    print(time.monotonic(), flush=True)
store.end(session)
store.close()
"""


async def drawn(app: BrowseApp) -> float:
    """Wait until the screen has been refreshed (the next frame drawn); that moment."""
    frame: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    app.screen.call_after_refresh(lambda: frame.set_result(time.perf_counter()))
    return await frame


async def measure(path: Path, jumps: int, follow_events: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    long_ulid = "01KB" + "0" * 21 + "1"
    rng = random.Random(1)
    first_frame: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    mount_list = ListScreen.on_mount

    def on_mount(screen: ListScreen) -> None:  # notes when the list's first frame is drawn
        mount_list(screen)
        screen.call_after_refresh(lambda: first_frame.set_result(time.perf_counter()))

    ListScreen.on_mount = on_mount  # type: ignore[method-assign]
    started = time.perf_counter()
    store = Store.open(path, readonly=True)
    app = BrowseApp(store, include_archived=False)
    async with app.run_test(size=(120, 40)) as pilot:
        out["first paint of the list"] = await first_frame - started
        await app.workers.wait_for_complete()  # the rest of the tree, read meanwhile
        await pilot.pause()
        out["the whole tree of 10k sessions read"] = time.perf_counter() - started
        rss_first = rss_mb()

        opens = []
        for _ in range(5):  # the first open also parses the timeline screen's CSS
            t = time.perf_counter()
            app.open_timeline(long_ulid)
            await asyncio.sleep(0)
            opens.append(await drawn(app) - t)
            await pilot.pause()
            app.close_timeline()
            await pilot.pause()
        out["open the 1M-event session (first time)"] = opens[0]
        out["open the 1M-event session (median of 5)"] = statistics.median(opens)
        app.open_timeline(long_ulid)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TimelineScreen)
        view = screen.view
        n = view.last_seq

        view.move_to(0)
        await pilot.pause()
        t = time.perf_counter()
        view.move_to(n - 1)
        out["jump to the end (from the start)"] = await drawn(app) - t

        times = []
        for _ in range(jumps):
            seq = rng.randrange(1, n + 1)
            t = time.perf_counter()
            view.move_to(seq - 1)
            times.append(await drawn(app) - t)
        out["jump to any seq (median)"] = statistics.median(times)
        out["jump to any seq (p95)"] = sorted(times)[int(0.95 * len(times))]
        out["memory after jumps (MB above first paint)"] = rss_mb() - rss_first

        times = []
        for _ in range(20):
            cursor = rng.randrange(1, n + 1)
            t = time.perf_counter()
            found = store.search_timeline(long_ulid, NEEDLE, after_seq=cursor)
            times.append(time.perf_counter() - t)
            assert (found and found[0].seq > cursor) or cursor > n - EVERY
        out["search: next match (median)"] = statistics.median(times)
        out["search: next match (max)"] = max(times)
        t = time.perf_counter()
        assert store.search_timeline(long_ulid, "no such text anywhere") == []
        out["search: no match, whole 1M timeline"] = time.perf_counter() - t

        # raw: the same window, and the same scan, by hand
        conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
        t = time.perf_counter()
        for _ in range(200):
            seq = rng.randrange(1, n + 1)
            conn.execute(
                "SELECT seq, at_ms, kind, text, data FROM events WHERE session_id = 1 "
                "AND seq >= ? AND seq < ? ORDER BY seq",
                (seq, seq + 128),
            ).fetchall()
        raw_window = (time.perf_counter() - t) / 200
        t = time.perf_counter()
        for _ in range(200):
            seq = rng.randrange(1, n + 1)
            store.timeline(long_ulid, seq, 128)
        ours_window = (time.perf_counter() - t) / 200
        out["window of 128 events: Store.timeline"] = ours_window
        out["window of 128 events: raw apsw"] = raw_window
        t = time.perf_counter()
        conn.execute(
            "SELECT seq FROM events WHERE session_id = 1 AND text LIKE '%no such text anywhere%'"
        ).fetchall()
        out["search: no match, raw apsw LIKE scan"] = time.perf_counter() - t
        conn.close()

        # follow: another process appends; when does the followed view show it?
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(follow_events)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent)),
        )
        assert writer.stdin is not None and writer.stdout is not None
        follow_ulid = writer.stdout.readline().strip()
        app.close_timeline()
        await pilot.pause()
        app.open_timeline(follow_ulid)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TimelineScreen)
        seen_at: dict[int, float] = {}
        original = screen._poll

        def noting_poll() -> None:
            before = screen.view.last_seq
            original()
            now = time.monotonic()
            for seq in range(before + 1, screen.view.last_seq + 1):
                seen_at[seq] = now

        screen._poll = noting_poll  # type: ignore[method-assign]
        screen.action_follow()
        acked: list[float] = []
        stdout = writer.stdout

        def read_acks() -> None:  # in a thread: the app must keep running meanwhile
            acked.extend(float(stdout.readline()) for _ in range(follow_events))

        reader = threading.Thread(target=read_acks)
        reader.start()
        writer.stdin.write("go\n")
        writer.stdin.flush()
        deadline = time.monotonic() + 30
        while len(seen_at) < follow_events and time.monotonic() < deadline:
            await pilot.pause(0.01)
        reader.join()
        writer.wait()
        latencies = [seen_at[i + 1] - acked[i] for i in range(follow_events) if i + 1 in seen_at]
        out["follow: appended elsewhere -> in the view (p95)"] = sorted(latencies)[
            int(0.95 * (len(latencies) - 1))
        ]
        out["follow: events seen"] = f"{len(latencies)}/{follow_events}"
    store.close()
    return out


TARGETS = {
    "first paint of the list": 0.400,
    "open the 1M-event session (first time)": 0.100,
    "open the 1M-event session (median of 5)": 0.100,
    "jump to the end (from the start)": 0.050,
    "jump to any seq (median)": 0.050,
    "jump to any seq (p95)": 0.050,
    "search: next match (median)": 0.200,
    "search: next match (max)": 0.200,
    "follow: appended elsewhere -> in the view (p95)": 0.250,
    "memory after jumps (MB above first paint)": 50,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--long-events", type=int, default=1_000_000)
    parser.add_argument("--jumps", type=int, default=1_000)
    parser.add_argument("--follow-events", type=int, default=40)
    parser.add_argument(
        "--scratch", type=Path, default=Path(tempfile.gettempdir()) / "zero-session-bench"
    )
    args = parser.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    path = args.scratch / f"browse-{args.sessions}-{args.long_events}.db"
    t = time.perf_counter()
    build(path, args.sessions, args.long_events)
    print(
        f"store: {path} ({os.path.getsize(path) / 1e6:.0f} MB, ready in "
        f"{time.perf_counter() - t:.1f} s)"
    )
    results = asyncio.run(measure(path, args.jumps, args.follow_events))
    for name, value in results.items():
        target = TARGETS.get(name)
        if isinstance(value, str):
            print(f"{name:<52} {value}")
        elif "MB" in name:
            verdict = "" if target is None else ("ok" if value <= target else "MISSED")
            print(f"{name:<52} {value:>9.1f} MB   target ≤ {target} MB  {verdict}")
        else:
            verdict = "" if target is None else ("ok" if value <= target else "MISSED")
            goal = f"target ≤ {target * 1000:.0f} ms" if target else ""
            print(f"{name:<52} {value * 1000:>9.2f} ms   {goal}  {verdict}")


if __name__ == "__main__":
    main()
