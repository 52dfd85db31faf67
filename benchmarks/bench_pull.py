"""How fast ``sync.pull`` brings a long session from PostgreSQL into a new store file.

Run: ``python benchmarks/bench_pull.py [--events N] [--rounds R]`` (needs Debian's
``postgresql`` package and the ``postgres`` extra).

A throw-away server (tests/pg_server.py) gets one session of N events (default 100,000)
pushed by store A.  Each round then pulls it into a new, empty store file, next to the
cheapest raw way to get the same rows into a file: one psycopg ``SELECT`` of the
session's ``(seq, at_ms, kind, text, data_text)`` in seq order (binary results, as the
pull reads them) and one apsw ``executemany`` into a fresh file's ``events`` table of the
same shape, WAL and ``synchronous=FULL`` like the store, in one transaction.  The raw way
checks nothing, has no triggers and writes no session row; the pull validates the batch,
keeps its atomicity and fires the file's append-only triggers.  Ratio = raw time / pull
time (target ≥ 0.5).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from itertools import count
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import apsw  # noqa: E402
import psycopg  # noqa: E402
from pg_server import PgServer, find_bin_dir  # noqa: E402

from benchmarks._timing import compare  # noqa: E402
from zero_session import Store, sync  # noqa: E402

_RAW_TABLE = (
    "CREATE TABLE events (session_id INTEGER NOT NULL, seq INTEGER NOT NULL, "
    "at_ms INTEGER NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, data TEXT, "
    "PRIMARY KEY (session_id, seq)) WITHOUT ROWID"
)


def record(store: Store, n: int) -> str:
    """One session of ``n`` events shaped like an agent's log; its ulid."""
    session = store.start(cli_version="bench", meta={"agent": "a1"})
    batch = 1_000
    for start in range(0, n, batch):
        store.append_many(
            session,
            [
                ("prompt" if i % 4 == 0 else "system", f"event {i}: price 101.{i % 97}", {"i": i})
                for i in range(start, min(n, start + batch))
            ],
        )
    return session.ulid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL server binaries: apt-get install postgresql")
    server = PgServer(bin_dir).start()
    try:
        dsn = server.dsn(server.database())
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            with Store.open(folder / "a.db") as a:
                ulid = record(a, args.events)
                sync.push(a, dsn)
            numbers = count()

            def pull() -> None:
                with Store.open(folder / f"pull-{next(numbers)}.db") as b:
                    got = sync.pull(b, ulid, dsn)
                assert got.last_seq == args.events

            def raw() -> None:
                with psycopg.connect(dsn) as pg:
                    rows = (
                        pg.cursor(binary=True)
                        .execute(
                            "SELECT seq, at_ms, kind, text, data_text FROM zero_session.events "
                            "WHERE ulid = %s ORDER BY seq",
                            (ulid,),
                        )
                        .fetchall()
                    )
                conn = apsw.Connection(str(folder / f"raw-{next(numbers)}.db"))
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute(_RAW_TABLE)
                with conn:
                    conn.executemany("INSERT INTO events VALUES (1, ?, ?, ?, ?, ?)", rows)
                conn.close()
                assert len(rows) == args.events

            best = compare(
                {"sync.pull": pull, "raw psycopg + apsw": raw}, rounds=args.rounds, number=1
            )
    finally:
        server.destroy()
    n = args.events
    print(f"pull of one {n:,}-event session into a new store (best of {args.rounds}):")
    for name, seconds in best.items():
        print(f"  {name:<20} {seconds:7.3f} s   {n / seconds:>10,.0f} events/s")
    ratio = best["raw psycopg + apsw"] / best["sync.pull"]
    print(f"ratio to raw: {ratio:.2f}x (target >= 0.5x):", "met" if ratio >= 0.5 else "MISSED")


if __name__ == "__main__":
    main()
