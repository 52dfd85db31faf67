"""Scaling: the same operations on files of 10k to 10M events.

Each file holds one big session with half the events (replayed and forked) and the
other half in sessions of 100 events (listed and found), so the number of sessions grows
with the file too.  Appends go to an open session of the file at ``durability="normal"``
(no fsync), so what is left is the cost that could grow with the file: B-tree depth and
index maintenance.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import _build
from _timing import compare, time_round
from _workloads import DATA, TEXT, Config

from zero_session import Store

SMALL_SESSION = 100


@dataclass
class Scale:
    """What each operation cost on a file of ``events`` events."""

    events: int
    sessions: int
    build_s: float
    bytes_per_event: float
    append_s: float
    list_s: float
    find_s: float
    replay_events: int
    replay_s: float
    fork_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _build_file(path: Path, events: int) -> tuple[str, str, int]:
    _build.create(path)
    conn = _build.connect(path)
    big = events // 2
    small = (events - big) // SMALL_SESSION
    with conn:
        ulids = _build.add_many_sessions(
            conn, count=small, events_each=SMALL_SESSION, first_ms=_build.BASE_MS, label_every=100
        )
        _, big_ulid = _build.add_session(
            conn, n_events=big, started_at_ms=_build.BASE_MS + small * 1000
        )
    _build.checkpoint(conn)
    conn.close()
    return big_ulid, ulids[len(ulids) // 2][:16], small + 1


def measure(cfg: Config, work: Path, events: int) -> Scale:
    path = work / f"scale-{events}.db"
    start = time.perf_counter()
    big, prefix, sessions = _build_file(path, events)
    build_s = time.perf_counter() - start
    size = _build.file_bytes(path)
    store = Store.open(path, durability="normal")
    target = store.start(cli_version="bench").ulid
    reads = compare(
        {
            "append": lambda: store.append(target, "prompt", TEXT, data=DATA),
            "list": lambda: store.list_sessions(20),
            "find": lambda: store.find(prefix),
            "fork": lambda: store.fork(big),
        },
        rounds=cfg.rounds,
        number=200,
    )
    replay_rounds = 3 if events <= 1_000_000 else 1
    replay_s = min(
        time_round(lambda: [None for _ in store.replay(big)], 1) for _ in range(replay_rounds)
    )
    store.close()
    result = Scale(
        events=events,
        sessions=sessions,
        build_s=build_s,
        bytes_per_event=size / events,
        append_s=reads["append"],
        list_s=reads["list"],
        find_s=reads["find"],
        replay_events=events // 2,
        replay_s=replay_s,
        fork_s=reads["fork"],
    )
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return result
