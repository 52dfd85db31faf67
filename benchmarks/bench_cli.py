"""End-to-end time of ``zero-session`` commands, as a person or a script runs them.

Run: ``python benchmarks/bench_cli.py [--sessions N] [--events N] [--runs N]``.

Each command runs as the installed console script in a fresh process with output
piped to /dev/null (so no terminal, no rich), ``--runs`` times; the table shows the
minimum and the median wall time.  Baselines in the same run: the bare interpreter,
``from zero_session import Store`` (the library's share of every command's start-up),
and importing attrs, click and apsw (the floor of any command while the value types are
attrs classes and the command line is click).  The target for ``zero-session list`` is
45 ms end to end (issue 19).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zero_session import Store

SCRIPT = str(Path(sys.executable).parent / "zero-session")


def _build(path: Path, sessions: int, events: int) -> str:
    """A store with ``sessions`` short sessions and one long one; the long one's ulid."""
    with Store.open(path, durability="normal") as store:
        for i in range(sessions):
            session = store.start(cli_version="bench", meta={"i": i})
            store.append_many(session, [("prompt", f"p{i}"), ("system", "ok")])
            store.end(session)
        long = store.start(cli_version="bench")
        for start in range(0, events, 1_000):
            batch = [("system", f"event {n}") for n in range(start, min(events, start + 1_000))]
            store.append_many(long, batch)
        store.label(long, "long")
        store.end(long)
        return long.ulid


def _time(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """(min, median) wall milliseconds of ``argv``."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return min(samples), statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        _build(db, args.sessions, args.events)
        env = dict(os.environ, ZERO_SESSION_DB=str(db))
        env.pop("NO_COLOR", None)
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'from zero_session import Store'": [
                sys.executable,
                "-c",
                "from zero_session import Store",
            ],
            "python -c 'import attrs, click, apsw'": [
                sys.executable,
                "-c",
                "import attrs, click, apsw",
            ],
            "zero-session path": [SCRIPT, "path"],
            "zero-session list": [SCRIPT, "list"],
            "zero-session list --json": [SCRIPT, "list", "--json"],
            "zero-session show long": [SCRIPT, "show", "long"],
            f"zero-session replay long ({args.events:,} events)": [SCRIPT, "replay", "long"],
            "zero-session stats": [SCRIPT, "stats"],
        }
        print(f"{args.sessions:,} sessions, {args.runs} runs each; wall ms")
        print(f"{'command':<48} {'min':>8} {'median':>8}")
        for name, argv in cases.items():
            low, mid = _time(argv, args.runs, env)
            print(f"{name:<48} {low:>8.1f} {mid:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
