"""Does full-text search slow appends down?  Single appends with and without search.

Run: ``python benchmarks/bench_search.py [--rounds R] [--number N]``.

Contenders, interleaved round by round (see ``_timing.compare``), one event per call,
each on its own fresh file, at both durabilities:

* ``store (lazy search)``: ``Store.append`` as shipped: the index is filled by the next
  search, so an append does exactly what it did before search existed (and this store
  never searches, so its file has no search objects at all).
* ``store + eager FTS trigger``: the same store with a trigger that indexes every event
  as it is inserted (the design we rejected), to show what it would cost.
* ``raw apsw, schema v1``: the append's SQL by hand on a file without any search
  objects: the "without search" baseline.
* ``raw apsw, schema v2``: the same SQL on a file with the search objects.

Then the price moved to search time: the first search after N appends catches up (it
indexes those N events), measured per event indexed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import apsw
from _timing import compare

from zero_session import Store
from zero_session._schema import load_migrations

EAGER_TRIGGER = """
CREATE TRIGGER events_search_eager AFTER INSERT ON events
BEGIN
    INSERT INTO event_search_rows (session_id, seq) VALUES (NEW.session_id, NEW.seq);
    INSERT INTO event_search (rowid, text) VALUES (last_insert_rowid(), NEW.text);
    UPDATE event_search_pending SET indexed_seq = NEW.seq WHERE session_id = NEW.session_id;
END;
"""
SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}
TEXT = "buy {i} ACME at market, margin call number {j} on the desk"


Op = Callable[[], object]


def _store_append(path: Path, durability: str, *, eager: bool) -> tuple[Op, Store]:
    store = Store.open(path, durability=durability)  # type: ignore[arg-type]
    if eager:
        store.search("margin")  # the first search creates the search objects
        conn = apsw.Connection(str(path))
        conn.execute(EAGER_TRIGGER)
        conn.close()
    session = store.start()
    counter = iter(range(10**9))

    def op() -> object:
        i = next(counter)
        return store.append(session.ulid, "prompt", TEXT.format(i=i, j=i % 97))

    return op, store


def _raw_append(path: Path, durability: str, *, versions: int) -> tuple[Op, apsw.Connection]:
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[durability]}")
    for migration in load_migrations()[:versions]:
        conn.execute(migration.sql)
    ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    conn.execute("INSERT INTO sessions (ulid, started_at_ms) VALUES (?, 0)", (ulid,))
    counter = iter(range(10**9))

    def op() -> object:
        i = next(counter)
        conn.execute("BEGIN IMMEDIATE")
        session_id, seq = conn.execute(
            "UPDATE sessions SET last_seq = last_seq + 1, last_event_at_ms = ? "
            "WHERE ulid = ? AND ended_at_ms IS NULL RETURNING id, last_seq",
            (i, ulid),
        ).fetchall()[0]
        conn.execute(
            "INSERT INTO events (session_id, seq, at_ms, kind, text, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, seq, i, "prompt", TEXT.format(i=i, j=i % 97), None),
        )
        conn.execute("COMMIT")
        return seq

    return op, conn


def appends(folder: Path, durability: str, rounds: int, number: int) -> dict[str, float]:
    """Best seconds per append of each contender."""
    lazy, s1 = _store_append(folder / f"lazy-{durability}.db", durability, eager=False)
    eager, s2 = _store_append(folder / f"eager-{durability}.db", durability, eager=True)
    raw1, c1 = _raw_append(folder / f"raw1-{durability}.db", durability, versions=1)
    raw2, c2 = _raw_append(folder / f"raw2-{durability}.db", durability, versions=2)
    try:
        return compare(
            {
                "store (lazy search)": lazy,
                "store + eager FTS trigger": eager,
                "raw apsw, schema v1 (no search)": raw1,
                "raw apsw, schema v2": raw2,
            },
            rounds=rounds,
            number=number,
        )
    finally:
        s1.close()
        s2.close()
        c1.close()
        c2.close()


def catch_up(folder: Path, n: int) -> float:
    """Seconds per event for the first search after ``n`` appends (it indexes them)."""
    with Store.open(folder / "catch-up.db", durability="normal") as store:
        session = store.start()
        store.append_many(session, [("prompt", TEXT.format(i=i, j=i % 97)) for i in range(n)])
        start = time.perf_counter()
        store.search("margin", limit=20)
        return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=300, help="appends per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zs-bench-search-") as tmp:
        folder = Path(tmp)
        for durability in ("normal", "full"):
            best = appends(folder, durability, args.rounds, args.number)
            base = best["raw apsw, schema v1 (no search)"]
            lazy = best["store (lazy search)"]
            print(f"\nsingle append, durability={durability} (best of {args.rounds} rounds)")
            for name, seconds in best.items():
                print(f"  {name:<34} {seconds * 1e6:8.1f} µs   {base / seconds:5.2f}x raw v1")
            eager_cost = best["store + eager FTS trigger"] / lazy - 1
            print(f"  eager indexing would cost {eager_cost:+.0%} per append over lazy")
        for n in (1_000, 20_000):
            per_event = catch_up(folder, n)
            print(f"\nfirst search after {n:,} appends: {per_event * 1e6:.1f} µs per event indexed")


if __name__ == "__main__":
    main()
