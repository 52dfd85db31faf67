"""zero_session benchmarks: the store against raw apsw (the limit) and its peers.

    python benchmarks/run.py            # the full run (several minutes)
    python benchmarks/run.py --quick    # smaller sizes, under a minute

Prints the results table (times, zero_session's speed as a fraction of raw apsw's in the
same run, how many times slower each peer is), the group-commit table and the scaling
table; writes them as JSON to ``benchmarks/results/`` with a PNG plot of cost against
size.  docs/performance.md explains the method and the fairness of each comparison.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _report
import _scaling
import _timing
import _workloads as w
import apsw
from _peers import available

import zero_session

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = (
    "writes",
    "reads",
    "sessions",
    "agents",
    "open",
    "process",
    "threads",
    "concurrent",
    "triggers",
    "scaling",
)


def _meta(cfg: w.Config, missing: dict[str, str]) -> dict[str, Any]:
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": cfg.quick,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": __import__("os").cpu_count(),
        "apsw": apsw.apswversion(),
        "sqlite": apsw.sqlite_lib_version(),
        "zero_session": zero_session.__version__,
        "peers_missing": missing,
        "clock": "cpu" if _timing.clock is not time.perf_counter else "wall",
    }


def _step(label: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    print(f"… {label}", file=sys.stderr, flush=True)
    value = fn()
    print(f"  {label}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--no-peers", action="store_true", help="leave the peers out")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON and PNG")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time rounds by wall time (default) or by the process's CPU time (steadier on "
        "a loaded machine; leaves out waiting for the disk)",
    )
    args = parser.parse_args(argv)
    sections = set(args.only.split(",")) if args.only else set(SECTIONS)
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")

    cfg = w.Config.make(quick=args.quick)
    if args.clock == "cpu":
        _timing.use_cpu_clock()
    peers, missing = available()
    if args.no_peers:
        peers, missing = [], {p.name: "left out (--no-peers)" for p in peers}
    peer_names = [p.name for p in peers]
    work = args.work or Path(tempfile.mkdtemp(prefix="zs-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: list[w.Result] = []
    threads: list[w.Result] = []
    triggers: list[w.Result] = []
    agents: list[w.Result] = []
    scales: list[_scaling.Scale] = []
    concurrent: list[w.Result] = []
    try:
        if "writes" in sections:
            for durability in ("full", "normal"):
                results += _step(
                    f"append, {durability}",
                    lambda d=durability: w.single_append(cfg, work, peers, d),
                )
                results += _step(
                    f"append_many, {durability}",
                    lambda d=durability: w.batch_append(cfg, work, peers, d),
                )
        if "reads" in sections:
            replay_files = _step("build replay file", lambda: w.build_replay_file(cfg, work))
            results += _step("replay", lambda: w.replay(cfg, work, peers, replay_files))
            list_file = _step("build list file", lambda: w.build_list_file(cfg, work))
            results += _step("list and find", lambda: w.list_and_find(cfg, list_file))
            fork_path, fork_ulid = _step("build fork file", lambda: w.build_fork_file(cfg, work))
            for durability in ("full", "normal"):
                results += _step(
                    f"fork, {durability}", lambda d=durability: w.fork(cfg, fork_path, fork_ulid, d)
                )
        if "sessions" in sections:
            results += _step(
                "lookups against the number of sessions", lambda: w.session_scaling(cfg, work)
            )
        if "agents" in sections and "openai-agents" in peer_names:
            for durability in ("full", "normal"):
                agents += _step(
                    f"Agents API, {durability}", lambda d=durability: w.agents_api(cfg, work, d)
                )
        if "open" in sections:
            for durability in ("full", "normal"):
                results += _step(
                    f"open, {durability}", lambda d=durability: w.open_store(cfg, work, peers, d)
                )
        if "process" in sections:
            results += _step("import", lambda: w.import_time(cfg, peers, work))
            if "reads" not in sections:
                list_file = w.build_list_file(cfg, work)
            results += _step("zero-session list", lambda: w.cli_list(cfg, list_file))
            if "reads" not in sections:
                replay_files = w.build_replay_file(cfg, work)
            results += _step("zero-session replay", lambda: w.cli_replay(cfg, replay_files))
        if "threads" in sections:
            threads = _step("group commit", lambda: w.group_commit(cfg, work))
        if "concurrent" in sections:
            concurrent = _step("concurrent session creation", lambda: w.concurrent(cfg, work))
        if "triggers" in sections:
            triggers = _step("trigger cost", lambda: w.trigger_cost(cfg, work))
        if "scaling" in sections:
            for size in cfg.scaling_sizes:
                scales.append(
                    _step(f"scaling {size:,}", lambda s=size: _scaling.measure(cfg, work, s))
                )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    title = "quick run" if cfg.quick else "full run"
    print(f"\nzero_session benchmarks ({title}, {time.perf_counter() - started:.0f} s)")
    print("zs/raw: zero_session's speed as a fraction of raw apsw's (1.00 = the limit);")
    print("/zs: the peer's time over zero_session's (2.0 = the peer takes twice as long).\n")
    if results:
        print(_report.results_table(results, peer_names))
    for name, why in missing.items():
        print(f"  {name}: {why}")
    for r in results:
        if "over_piped" in r.extra:
            print(f"  {r.workload}: {r.extra['over_piped']:.2f}x the piped time (target <= 2)")
        if "over_plain" in r.extra:
            print(f"  {r.workload}: {r.extra['over_plain']:.2f}x the plain time (target <= 1.3)")
        if "floor_s" in r.extra and r.contender == w.ZS:
            print(
                f"  {r.workload}: {r.seconds * 1e3:.1f} ms (target <= 45); "
                f"python -c pass {r.extra['python_s'] * 1e3:.1f} ms, "
                f"importing attrs, click and apsw {r.extra['floor_s'] * 1e3:.1f} ms"
            )
    if agents:
        print("\nsame API: the OpenAI Agents SDK Session protocol, SQLiteSession vs our adapter")
        print(_report.results_table(agents, ["openai-agents"]))
    if threads:
        print("\ngroup commit: durable appends (durability=full) from threads sharing one Store")
        print(_report.group_commit_table(threads))
    if concurrent:
        print("\nconcurrent session creation (benchmarks/bench_concurrent.py)")
        print(concurrent[0].extra["description"])
    if triggers:
        print("\ncost of the append-only triggers (raw apsw, durability=normal)")
        print(_report.trigger_table(triggers))
    if scales:
        print("\nscaling (durability=normal; replay and fork on a session of half the file)")
        print(_report.scaling_table(scales))

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kind = "quick" if cfg.quick else "full"
    json_path = args.out / f"bench-{kind}-{stamp}.json"
    _report.write_json(
        json_path, _meta(cfg, missing), results + agents + triggers + concurrent, scales, threads
    )
    shutil.copyfile(json_path, args.out / f"latest-{kind}.json")
    print(f"\nJSON: {json_path}")
    if scales:
        png = args.out / f"scaling-{kind}.png"
        if _report.plot(png, scales):
            print(f"plot: {png}")
        else:
            print("plot: matplotlib not installed (pip install -e '.[bench]')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
