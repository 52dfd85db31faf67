"""Tables, JSON and the plot of a benchmark run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from _scaling import Scale
from _workloads import RAW, ZS, Result

# workload prefix → (minimum zero_session speed as a fraction of raw apsw's, or None)
TARGETS = {
    "append (1 event)": 0.8,
    "append_many": 0.8,
    "replay": 0.6,
    "list_sessions(20)": 0.5,  # at most 2x raw apsw's time
    "get(ulid)": 0.67,  # at most 1.5x
    "find(prefix)": 0.67,
}


def human(seconds: float) -> str:
    """A duration with a unit that keeps three significant digits readable."""
    if seconds != seconds or seconds == float("inf"):
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _target(workload: str) -> float | None:
    for prefix, target in TARGETS.items():
        if workload.startswith(prefix):
            return target
    return None


def results_table(results: Sequence[Result], peers: Sequence[str]) -> str:
    """One line per (workload, durability): times, zero_session's speed as a fraction of
    raw apsw's (1.00 = the limit), and each peer's time over zero_session's (/zs)."""
    groups: dict[tuple[str, str], dict[str, Result]] = {}
    for r in results:
        groups.setdefault((r.workload, r.durability), {})[r.contender] = r
    head = ["workload", "dur.", ZS, RAW, "zs/raw", "target"]
    for peer in peers:
        head += [peer, "/zs"]
    rows = [head]
    for (workload, durability), by in groups.items():
        zs, raw = by.get(ZS), by.get(RAW)
        ratio = raw.seconds / zs.seconds if zs and raw else None
        target = _target(workload)
        mark = ""
        if ratio is not None and target is not None:
            mark = f"≥{target:.2f} {'ok' if ratio >= target else 'BELOW'}"
        row = [
            workload,
            durability,
            human(zs.seconds) if zs else "-",
            human(raw.seconds) if raw else "-",
            f"{ratio:.2f}" if ratio is not None else "-",
            mark,
        ]
        for peer in peers:
            p = by.get(peer)
            if p is None:
                row += ["n/a", ""]
            else:
                slower = p.seconds / zs.seconds if zs else float("nan")
                row += [human(p.seconds), f"{slower:.1f}"]
        rows.append(row)
    return _format(rows)


def scaling_table(scales: Sequence[Scale]) -> str:
    rows = [
        [
            "events",
            "sessions",
            "bytes/event",
            "append",
            "list(20)",
            "find",
            "fork",
            "replay (½ file)",
            "per event",
        ],
    ]
    for s in scales:
        rows.append(
            [
                f"{s.events:,}",
                f"{s.sessions:,}",
                f"{s.bytes_per_event:.0f}",
                human(s.append_s),
                human(s.list_s),
                human(s.find_s),
                human(s.fork_s),
                human(s.replay_s),
                f"{s.replay_s / s.replay_events * 1e9:.0f} ns",
            ]
        )
    return _format(rows)


def group_commit_table(results: Sequence[Result]) -> str:
    rows = [["threads", "events", "commits", "events/commit", "events/s", "µs/event", "x 1 thread"]]
    alone = next((r.seconds for r in results if r.extra["threads"] == 1), float("nan"))
    for r in results:
        commits = r.extra["commits"] or 1
        rows.append(
            [
                str(r.extra["threads"]),
                str(r.extra["events"]),
                str(r.extra["commits"]),
                f"{r.extra['events'] / commits:.1f}",
                f"{1 / r.seconds:,.0f}",
                f"{r.seconds * 1e6:.0f}",
                f"{alone / r.seconds:.1f}",
            ]
        )
    return _format(rows)


def trigger_table(results: Sequence[Result]) -> str:
    """Raw append cost with and without the append-only triggers, and the difference."""
    by: dict[str, dict[str, Result]] = {}
    for r in results:
        by.setdefault(r.workload, {})[r.contender] = r
    rows = [["workload", "without triggers", "with triggers", "trigger cost"]]
    for workload, pair in by.items():
        bare, guarded = pair["without triggers"].seconds, pair["with triggers"].seconds
        rows.append(
            [
                workload,
                human(bare),
                human(guarded),
                f"{human(guarded - bare)} ({(guarded / bare - 1) * 100:+.0f}%)",
            ]
        )
    return _format(rows)


def _format(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(
    path: Path,
    meta: dict[str, Any],
    results: Sequence[Result],
    scales: Sequence[Scale],
    threads: Sequence[Result],
) -> None:
    document = {
        "meta": meta,
        "results": [asdict(r) for r in results],
        "scaling": [s.as_dict() for s in scales],
        "group_commit": [asdict(r) for r in threads],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")


def plot(path: Path, scales: Sequence[Scale]) -> bool:
    """Cost against size, as a PNG; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = [s.events for s in scales]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, values in (
        ("append (1 event, normal)", [s.append_s for s in scales]),
        ("list_sessions(20)", [s.list_s for s in scales]),
        ("find(prefix)", [s.find_s for s in scales]),
        ("fork (½ file)", [s.fork_s for s in scales]),
    ):
        left.plot(sizes, [v * 1e6 for v in values], marker="o", label=label)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_ylim(1, 10_000)
    left.set_xlabel("events in the file")
    left.set_ylabel("µs per operation")
    left.set_title("flat: cost does not grow with the file")
    left.legend(fontsize=8)
    right.plot(
        [s.replay_events for s in scales],
        [s.replay_s for s in scales],
        marker="o",
        label="replay (whole timeline)",
    )
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("events in the timeline")
    right.set_ylabel("seconds")
    right.set_title("linear: replay time ∝ timeline length")
    right.legend(fontsize=8)
    fig.suptitle("zero_session: cost against size")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
