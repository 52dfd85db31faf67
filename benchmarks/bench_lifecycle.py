"""Lifecycle and search at scale: ``latest``, filtered ``list_sessions``, ``search``,
``summary`` and ``prune`` on a file of 100k sessions and 1M events.

Run: ``python benchmarks/bench_lifecycle.py [--sessions N] [--events-per-session M]
[--db PATH]``.  With ``--db`` the file is kept and reused by later runs.

The file is built with raw apsw bulk inserts that go through the schema's triggers:
each session row is inserted with its ``last_seq`` already set, then its events, so
``events_refuse_out_of_range`` accepts them.  Sessions sit in 2,000 project folders
(some in a ``src`` subfolder), belong to one of ten agents (plus a rare one), start a
minute apart and mostly ended; 1 % were interrupted.  Event texts are drawn from a
5,000-word vocabulary; "margin" is common, "zephyrquark" rare.

Each figure is the best of several rounds of repeated calls (``_timing.compare``),
except one-off operations (the first search, which indexes every event, and deletes).
"""

from __future__ import annotations

import argparse
import random
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import apsw
from _timing import compare

from zero_session import Store

T0_MS = 1_700_000_000_000
PROJECTS = 2_000
AGENTS = [f"a{i}" for i in range(10)]
KINDS = ["prompt"] * 8 + ["system"] * 4 + ["command"] * 4 + ["warn"] * 2 + ["alert", "mode_change"]
COMMANDS = ["/risk", "/fork", "/save", "/replay", "/sessions", "/help", "/label", "/share"]


def _vocabulary(rng: random.Random) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "dr", "ex"]
    words = {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(8_000)}
    return sorted(words)[:5_000]


def project_dir(k: int) -> str:
    return f"/home/user/projects/p{k:04d}"


def _event_text(rng: random.Random, kind: str, words: list[str]) -> str:
    if kind == "command":
        return f"{rng.choice(COMMANDS)} {rng.choice(words)}"
    chosen = rng.choices(words, k=rng.randint(4, 14))
    roll = rng.random()
    if roll < 0.01:
        chosen.insert(rng.randint(0, len(chosen)), "margin call")
    elif roll < 0.011 and roll > 0.01:
        chosen.append("margin")
    if rng.random() < 0.00005:
        chosen.append("zephyrquark")
    return " ".join(chosen)


def build(path: Path, n_sessions: int, per_session: int) -> None:
    """Create ``path`` with ``n_sessions`` sessions of ``per_session`` events each."""
    Store.open(path, durability="normal").close()  # schema and pragmas
    rng = random.Random(20261122)
    words = _vocabulary(rng)
    host = socket.gethostname()
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN IMMEDIATE")
    sessions = []
    events: list[tuple[int, int, int, str, str, None]] = []
    for i in range(n_sessions):
        session_id = i + 1
        start = T0_MS + i * 60_000
        last_event = start + per_session * 1000
        k = rng.randrange(PROJECTS)
        cwd = project_dir(k) + ("/src" if k % 3 == 0 and rng.random() < 0.5 else "")
        agent = "rare" if i % 5_000 == 17 else rng.choice(AGENTS)
        interrupted = rng.random() < 0.01
        ulid = f"01H{i:023d}"  # valid length and alphabet, ordered like real ulids
        sessions.append(
            (
                session_id,
                ulid,
                start,
                None if interrupted else last_event + 500,
                per_session,
                last_event if per_session else None,
                cwd,
                f'{{"agent":"{agent}"}}',
                host,
                999_999 if interrupted else None,
            )
        )
        for seq in range(1, per_session + 1):
            kind = rng.choice(KINDS)
            events.append(
                (session_id, seq, start + seq * 1000, kind, _event_text(rng, kind, words), None)
            )
    conn.executemany(
        "INSERT INTO sessions (id, ulid, started_at_ms, ended_at_ms, last_seq, "
        "last_event_at_ms, cwd, meta, writer_host, writer_pid) VALUES (?,?,?,?,?,?,?,?,?,?)",
        sessions,
    )
    conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", events)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def once(op: Callable[[], object]) -> float:
    start = time.perf_counter()
    op()
    return time.perf_counter() - start


def report(title: str, figures: dict[str, float]) -> None:
    print(f"\n{title}")
    for name, seconds in figures.items():
        unit = f"{seconds * 1e3:10.3f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:10.1f} µs"
        print(f"  {name:<52} {unit}")


def _ulids(store: Store) -> Iterator[str]:
    yield from (s.ulid for s in store.list_sessions(limit=3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--events-per-session", type=int, default=10)
    parser.add_argument("--db", type=Path, help="keep (and reuse) the database here")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zs-bench-lifecycle-") as tmp:
        path = args.db or Path(tmp) / "big.db"
        if not path.exists():
            seconds = once(lambda: build(path, args.sessions, args.events_per_session))
            print(
                f"built {path}: {args.sessions:,} sessions, "
                f"{args.sessions * args.events_per_session:,} events in {seconds:.1f} s"
            )
        run(path, args.rounds)


def run(path: Path, rounds: int) -> None:
    store = Store.open(path, durability="normal")
    try:
        n_sessions = len(store.list_sessions(limit=None, include_archived=True))
        print(f"{path}: {n_sessions:,} sessions, {path.stat().st_size / 2**20:.0f} MiB")
        project = project_dir(6)  # p0006: k % 3 == 0, so it may have a src subfolder too
        deep = f"{project}/src/pkg/module"

        first_search = once(lambda: store.search("margin"))
        print(
            f"first search (indexes every pending event): {first_search:.1f} s, "
            f"{path.stat().st_size / 2**20:.0f} MiB after"
        )

        report(
            "listing (best of rounds)",
            compare(
                {
                    "list_sessions(limit=20)": lambda: store.list_sessions(limit=20),
                    "latest(cwd=project)": lambda: store.latest(cwd=project),
                    "latest(cwd=project/src/pkg/module) walks up": lambda: store.latest(cwd=deep),
                    "latest(cwd=/nowhere/at/all) finds none": lambda: store.latest(
                        cwd="/nowhere/at/all"
                    ),
                    "list_sessions(cwd=project, limit=20)": lambda: store.list_sessions(
                        cwd=project
                    ),
                    "list_sessions(meta={agent: a3}, limit=20)": lambda: store.list_sessions(
                        meta={"agent": "a3"}
                    ),
                    "list_sessions(meta={agent: rare}) (1 in 5,000)": lambda: store.list_sessions(
                        meta={"agent": "rare"}
                    ),
                    "list_sessions(cwd=project, meta={agent: a3})": lambda: store.list_sessions(
                        cwd=project, meta={"agent": "a3"}
                    ),
                },
                rounds=rounds,
                number=20,
            ),
        )
        one = next(_ulids(store))
        report(
            "search after catch-up (best of rounds)",
            compare(
                {
                    "search('margin') common word, limit 20": lambda: store.search("margin"),
                    "search('\"margin call\"') phrase": lambda: store.search('"margin call"'),
                    "search('zephyrquark') rare word": lambda: store.search("zephyrquark"),
                    "search('margin', limit=200)": lambda: store.search("margin", limit=200),
                    "search('margin', session=one session)": lambda: store.search(
                        "margin", session=one
                    ),
                    "search('nosuchwordanywhere') no hit": lambda: store.search(
                        "nosuchwordanywhere"
                    ),
                },
                rounds=rounds,
                number=20,
            ),
        )
        fresh = store.start(cwd=project)
        store.append_many(fresh, [("prompt", f"fresh margin text {i}") for i in range(100)])
        catch_up = once(lambda: store.search("margin"))
        report("search right after 100 new appends (one-off)", {"catch-up + search": catch_up})
        report(
            "summary and prune (best of rounds)",
            compare(
                {
                    "summary(session of 10 events)": lambda: store.summary(one),
                    "prune(older_than=1000 days, dry_run=True)": lambda: store.prune(
                        older_than=timedelta(days=1000), dry_run=True
                    ),
                },
                rounds=3,
                number=3,
            ),
        )
        victims = [s.ulid for s in store.list_sessions(limit=11)][1:]
        per_delete = once(lambda: [store.delete(u) for u in victims]) / len(victims)
        report("delete (one-off, mean of 10)", {"delete(session of 10 indexed events)": per_delete})
    finally:
        store.close()


if __name__ == "__main__":
    main()
