"""The workloads: each one builds its files, then times zero_session, raw apsw and the peers.

A workload returns one :class:`Result` per contender.  ``seconds`` is the best time of
one operation; ``per`` says what one operation is (one event appended, a batch, a whole
replay of ``n`` events...).  Files live in the run's scratch folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _build
import _raw
import _timing
from _peers import Peer
from _timing import compare

import zero_session
from zero_session import Store

ZS = "zero_session"
RAW = "raw apsw"
PLAIN = "raw apsw, plain SELECT"
TEXT = "buy 10 ACME at market, account paper-1, from the order panel"
DATA = {"qty": 10, "symbol": "ACME", "side": "buy"}
BATCH = 100
OPEN_EVENTS = 100


@dataclass
class Config:
    """Sizes and repetitions of one run."""

    quick: bool
    rounds: int
    single_n: dict[str, int]
    batch_n: dict[str, int]
    write_rounds: dict[str, int]
    replay_events: int
    list_sessions: int
    fork_events: int
    subprocess_runs: int
    scaling_sizes: tuple[int, ...]
    session_counts: tuple[int, ...] = (1_000, 10_000, 100_000, 1_000_000)
    big_batch: int = 50_000
    thread_counts: tuple[int, ...] = (1, 2, 4, 8)
    thread_events: int = 300
    concurrent_sessions: int = 4_000

    @classmethod
    def make(cls, *, quick: bool) -> Config:
        if quick:
            return cls(
                quick=True,
                rounds=3,
                single_n={"full": 20, "normal": 300},
                batch_n={"full": 5, "normal": 8},
                write_rounds={"full": 6, "normal": 6},
                replay_events=20_000,
                list_sessions=10_000,
                fork_events=100_000,
                subprocess_runs=3,
                scaling_sizes=(10_000, 100_000),
                session_counts=(1_000, 10_000, 100_000),
                big_batch=20_000,
                thread_events=60,
                concurrent_sessions=800,
            )
        return cls(
            quick=False,
            rounds=7,
            single_n={"full": 25, "normal": 1000},
            batch_n={"full": 8, "normal": 20},
            write_rounds={"full": 25, "normal": 7},
            replay_events=100_000,
            list_sessions=100_000,
            fork_events=1_000_000,
            subprocess_runs=10,
            scaling_sizes=(10_000, 100_000, 1_000_000, 10_000_000),
        )


@dataclass
class Result:
    """The best time of one operation of one contender in one workload."""

    workload: str
    contender: str
    seconds: float
    durability: str = "-"
    per: str = "op"
    n: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def _results(
    workload: str, timings: dict[str, float], *, durability: str = "-", per: str = "op", n: int = 1
) -> list[Result]:
    return [
        Result(workload, name, seconds, durability=durability, per=per, n=n)
        for name, seconds in timings.items()
    ]


def _open_session_files(work: Path, tag: str, durability: str) -> tuple[Store, str, Any, str]:
    """A store with one open session, and a raw connection to a twin file with one too."""
    zs_path, raw_path = work / f"zs-{tag}-{durability}.db", work / f"raw-{tag}-{durability}.db"
    _build.create(zs_path)
    _build.create(raw_path)
    store = Store.open(zs_path, durability=durability)  # type: ignore[arg-type]
    session = store.start(cli_version="bench")
    conn = _raw.connect(raw_path, durability)
    with conn:
        _, raw_ulid = _build.add_session(
            conn, n_events=0, started_at_ms=_build.BASE_MS, ended=False
        )
    return store, session.ulid, conn, raw_ulid


def _peer_instances(
    peers: Iterable[type[Peer]], work: Path, tag: str, durability: str
) -> list[Peer]:
    return [p(work / f"{p.name}-{tag}-{durability}.db", durability) for p in peers]


def single_append(
    cfg: Config, work: Path, peers: list[type[Peer]], durability: str
) -> list[Result]:
    store, ulid, conn, raw_ulid = _open_session_files(work, "single", durability)
    others = _peer_instances(peers, work, "single", durability)
    clock = time.time_ns
    item = ("prompt", TEXT, DATA)
    ops: dict[str, Callable[[], object]] = {
        ZS: lambda: store.append(ulid, "prompt", TEXT, data=DATA),
        RAW: lambda: _raw.append(conn, raw_ulid, "prompt", TEXT, DATA, clock() // 1_000_000),
    }
    for peer in others:
        ops[peer.name] = lambda peer=peer: peer.append(item)  # type: ignore[misc]
    # fsync latency varies from one call to the next: with durability=full many short
    # rounds, so that the best one is a run of undisturbed fsyncs.
    rounds, number = cfg.write_rounds[durability], cfg.single_n[durability]
    timings = compare(ops, rounds=rounds, number=number)
    store.close()
    conn.close()
    for peer in others:
        peer.close()
    return _results("append (1 event)", timings, durability=durability, per="event")


def batch_append(cfg: Config, work: Path, peers: list[type[Peer]], durability: str) -> list[Result]:
    store, ulid, conn, raw_ulid = _open_session_files(work, "batch", durability)
    others = _peer_instances(peers, work, "batch", durability)
    items = [("prompt", f"{TEXT} #{i}", DATA if i % 2 else None) for i in range(BATCH)]
    clock = time.time_ns
    ops: dict[str, Callable[[], object]] = {
        ZS: lambda: store.append_many(ulid, items),
        RAW: lambda: _raw.append_many(conn, raw_ulid, items, clock() // 1_000_000),
    }
    for peer in others:
        ops[peer.name] = lambda peer=peer: peer.append_many(items)  # type: ignore[misc]
    rounds, number = cfg.write_rounds[durability], cfg.batch_n[durability]
    timings = compare(ops, rounds=rounds, number=number)
    results = _results(f"append_many ({BATCH} events)", timings, durability=durability, n=BATCH)
    # One big batch (a whole import, a long agent run saved at once).
    big = [("prompt", f"{TEXT} #{i}", DATA if i % 2 else None) for i in range(cfg.big_batch)]
    ops = {
        ZS: lambda: store.append_many(ulid, big),
        RAW: lambda: _raw.append_many(conn, raw_ulid, big, clock() // 1_000_000),
    }
    timings = compare(ops, rounds=3 if cfg.quick else 5, number=1)
    results += _results(
        f"append_many ({cfg.big_batch:,} events)", timings, durability=durability, n=cfg.big_batch
    )
    store.close()
    conn.close()
    for peer in others:
        peer.close()
    return results


@dataclass
class ReplayFiles:
    path: Path
    flat: str
    fork: str


def build_replay_file(cfg: Config, work: Path) -> ReplayFiles:
    """One session of ``replay_events`` events, and a chain of four generations (a fork
    three generations deep) with the same total timeline, each contributing a quarter."""
    path = work / "replay.db"
    _build.create(path)
    conn = _build.connect(path)
    n = cfg.replay_events
    quarter = n // 4
    with conn:
        _, flat = _build.add_session(conn, n_events=n, started_at_ms=_build.BASE_MS)
        parent = None
        for generation in range(4):
            session_id, ulid = _build.add_session(
                conn,
                n_events=quarter,
                started_at_ms=_build.BASE_MS + 1 + generation,
                parent=parent,
            )
            parent = (session_id, quarter * (generation + 1))
    _build.checkpoint(conn)
    conn.close()
    return ReplayFiles(path, flat, ulid)


def _consume(iterator: Iterable[Any]) -> None:
    """Run through an iterator in C: the harness adds no Python loop per item."""
    deque(iterator, maxlen=0)


ONE_SELECT = "raw apsw, one SELECT"
PER_SEGMENT = "raw apsw, a SELECT per segment"
OURS_SQL = "raw apsw running our SQL"


def _with_cheapest_raw(
    timings: dict[str, float], raw_ways: tuple[str, ...], side: tuple[str, ...] = ()
) -> tuple[dict[str, float], dict[str, float]]:
    """The timings with the cheapest of ``raw_ways`` as raw apsw, and every raw way (and
    the ``side`` figures) apart, for the JSON."""
    apart = {name: timings.pop(name) for name in (*raw_ways, *side)}
    timings[RAW] = min(apart[name] for name in raw_ways)
    return timings, apart


def replay(cfg: Config, work: Path, peers: list[type[Peer]], files: ReplayFiles) -> list[Result]:
    """A whole timeline to Event objects, against the cheapest raw way to the same rows as
    tuples: one SELECT (through the fork chain) or a SELECT per segment, whichever is
    faster in this run; our own guarded SQL replayed by hand is a side figure."""
    store = Store.open(files.path)
    conn = _raw.connect(files.path, "full")
    others = _peer_instances(peers, work, "replay", "normal")
    for peer in others:
        peer.fill(cfg.replay_events, batch=1000 if peer.name != "langgraph" else 1)
    results: list[Result] = []
    n = cfg.replay_events
    for workload, ulid, root in (
        (f"replay ({n:,} events)", files.flat, True),
        (f"replay fork, 3 generations ({n:,})", files.fork, False),
    ):
        ops: dict[str, Callable[[], object]] = {
            ZS: lambda u=ulid: _consume(store.replay(u)),  # type: ignore[misc]
            ONE_SELECT: lambda u=ulid, r=root: _raw.replay_one_select(conn, u, root=r),  # type: ignore[misc]
            PER_SEGMENT: lambda u=ulid: _raw.replay(conn, u, guard=False),  # type: ignore[misc]
            OURS_SQL: lambda u=ulid: _raw.replay(conn, u),  # type: ignore[misc]
        }
        if root:
            for peer in others:
                ops[peer.name] = peer.replay
        timings, apart = _with_cheapest_raw(
            compare(ops, rounds=cfg.rounds, number=1), (ONE_SELECT, PER_SEGMENT), (OURS_SQL,)
        )
        rows = _results(workload, timings, per="replay", n=n)
        for r in rows:
            if r.contender == RAW:
                r.extra.update({f"{name}_s": seconds for name, seconds in apart.items()})
        results += rows
    store.close()
    conn.close()
    for peer in others:
        peer.close()
    return results


@dataclass
class ListFile:
    path: Path
    prefix: str


def build_list_file(cfg: Config, work: Path) -> ListFile:
    """``list_sessions`` sessions of five events each; every 100th one labelled."""
    path = work / "list.db"
    _build.create(path)
    conn = _build.connect(path)
    with conn:
        ulids = _build.add_many_sessions(
            conn, count=cfg.list_sessions, events_each=5, first_ms=_build.BASE_MS, label_every=100
        )
    _build.checkpoint(conn)
    conn.close()
    return ListFile(path, ulids[len(ulids) // 2][:16])


def _lookups(store: Store, conn: Any, ulid: str, prefix: str, label: str) -> list[Result]:
    """list_sessions(20), get(ulid), find(prefix) against one indexed raw SELECT each;
    our own statements replayed by hand are side figures."""
    results: list[Result] = []
    plain = _raw.plain_session_sql(conn, list_limit=20)
    ours_list = _raw.ours_list_sql(20)
    for workload, ours, raw, side in (
        (
            "list_sessions(20)",
            lambda: store.list_sessions(20),
            lambda: _raw.list_sessions(conn, plain),
            lambda: _raw.list_sessions_ours(conn, ours_list),
        ),
        ("get(ulid)", lambda: store.get(ulid), lambda: _raw.get(conn, ulid, plain), None),
        (
            "find(prefix)",
            lambda: store.find(prefix),
            lambda: _raw.find_prefix(conn, prefix, plain),
            lambda: _raw.find_prefix_ours(conn, prefix),
        ),
    ):
        ops: dict[str, Callable[[], object]] = {ZS: ours, RAW: raw}
        if side is not None:
            ops[OURS_SQL] = side
        timings = compare(ops, rounds=5, number=200)
        extra = {f"{OURS_SQL}_s": timings.pop(OURS_SQL)} if side is not None else {}
        rows = _results(f"{workload}, {label}", timings)
        for r in rows:
            if r.contender == RAW:
                r.extra.update(extra)
        results += rows
    return results


def list_and_find(cfg: Config, files: ListFile) -> list[Result]:
    store = Store.open(files.path)
    conn = _raw.connect(files.path, "full")
    ulid = store.find(files.prefix).ulid
    results = _lookups(store, conn, ulid, files.prefix, f"{cfg.list_sessions:,} sessions")
    store.close()
    conn.close()
    return results


def session_scaling(cfg: Config, work: Path) -> list[Result]:
    """The lookups on files of 1,000 up to 1,000,000 sessions (one event each): each
    should cost the same whatever the number of sessions."""
    results: list[Result] = []
    for count in cfg.session_counts:
        path = work / f"sessions-{count}.db"
        _build.create(path)
        conn = _build.connect(path)
        with conn:
            ulids = _build.add_many_sessions(
                conn, count=count, events_each=1, first_ms=_build.BASE_MS, label_every=100
            )
        _build.checkpoint(conn)
        conn.close()
        ulid = ulids[len(ulids) // 2]
        store = Store.open(path)
        conn = _raw.connect(path, "full")
        results += _lookups(store, conn, ulid, ulid[:16], f"{count:,} sessions")
        store.close()
        conn.close()
        path.unlink()
    return results


def build_fork_file(cfg: Config, work: Path) -> tuple[Path, str]:
    path = work / "fork.db"
    _build.create(path)
    conn = _build.connect(path)
    with conn:
        _, ulid = _build.add_session(conn, n_events=cfg.fork_events, started_at_ms=_build.BASE_MS)
    _build.checkpoint(conn)
    conn.close()
    return path, ulid


def fork(cfg: Config, path: Path, ulid: str, durability: str) -> list[Result]:
    store = Store.open(path, durability=durability)  # type: ignore[arg-type]
    conn = _raw.connect(path, durability)
    clock = time.time_ns
    timings = compare(
        {
            ZS: lambda: store.fork(ulid),
            RAW: lambda: _raw.fork(conn, ulid, _build.ulid_at(clock() // 1_000_000), 0),
        },
        rounds=cfg.write_rounds[durability],
        number=10 if durability == "full" else 100,
    )
    store.close()
    conn.close()
    return _results(f"fork of {cfg.fork_events:,} events", timings, durability=durability)


def open_store(cfg: Config, work: Path, peers: list[type[Peer]], durability: str) -> list[Result]:
    """Open and close a store; then open, read the newest event and close (the first
    answer).  Each file holds one session of 100 events."""
    zs_path, raw_path = work / "open-zs.db", work / "open-raw.db"
    ulids = {}
    for path in (zs_path, raw_path):
        _build.create(path)
        conn = _build.connect(path)
        with conn:
            _, ulids[path] = _build.add_session(
                conn, n_events=OPEN_EVENTS, started_at_ms=_build.BASE_MS
            )
        conn.close()
    paths = {p.name: work / f"open-{p.name}-{durability}.db" for p in peers}
    for peer in peers:
        filled = peer(paths[peer.name], durability)
        filled.fill(OPEN_EVENTS, batch=OPEN_EVENTS)
        filled.close()

    def zs_read_last() -> object:
        with Store.open(zs_path, durability=durability) as store:  # type: ignore[arg-type]
            return store.tail(ulids[zs_path], 1)

    def peer_read_last(peer: type[Peer]) -> object:
        opened = peer(paths[peer.name], durability, existing=True)
        try:
            return opened.last()
        finally:
            opened.close()

    ops: dict[str, Callable[[], object]] = {
        ZS: lambda: Store.open(zs_path, durability=durability).close(),  # type: ignore[arg-type]
        RAW: lambda: _raw.open_close(raw_path, durability),
    }
    for peer in peers:
        ops[peer.name] = lambda peer=peer: peer(paths[peer.name], durability, existing=True).close()  # type: ignore[misc]
    timings = compare(ops, rounds=cfg.rounds, number=10)
    results = _results("open + close a store", timings, durability=durability)

    ops = {
        ZS: zs_read_last,
        RAW: lambda: _raw.open_read_last(raw_path, durability, ulids[raw_path]),
    }
    for peer in peers:
        ops[peer.name] = lambda peer=peer: peer_read_last(peer)  # type: ignore[misc]
    timings = compare(ops, rounds=cfg.rounds, number=10)
    return results + _results("open + newest event + close", timings, durability=durability)


def _importtime_us(module: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(cumulative import time of ``module`` in µs per ``-X importtime``, process wall s)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    wall = time.perf_counter() - start
    top = module.split(".")[0]
    cumulative = 0.0
    for line in proc.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] in (module, top) and parts[1].isdigit():
            cumulative = max(cumulative, float(parts[1]))
    return cumulative, wall


def compile_package() -> None:
    """Write zero_session's bytecode caches, as ``pip install`` does for every package.

    The peers were installed by pip and have theirs; an editable install under
    ``PYTHONDONTWRITEBYTECODE=1`` would otherwise recompile our modules on every import.
    """
    package = Path(zero_session.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def import_time(cfg: Config, peers: list[type[Peer]], work: Path) -> list[Result]:
    compile_package()
    # `import zero_session` alone loads nothing (its names load on first use): time what a
    # program needs to open a store, as the peers' lines time their storage modules.
    modules = {ZS: "zero_session.store", RAW: "apsw"} | {p.name: p.module for p in peers}
    best = {name: (float("inf"), float("inf")) for name in modules}
    for _ in range(cfg.subprocess_runs):
        for name, module in modules.items():
            cumulative, wall = _importtime_us(module)
            best[name] = (min(best[name][0], cumulative), min(best[name][1], wall))
    # For reference: the same import with no bytecode cache at all (every module compiled).
    cold_env = dict(
        os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(work / "no-pyc")
    )
    cold = min(
        _importtime_us("zero_session.store", cold_env)[0] for _ in range(cfg.subprocess_runs)
    )
    results = []
    for name, (us, wall) in best.items():
        extra: dict[str, Any] = {"process_s": wall}
        if name == ZS:
            extra["without_bytecode_cache_s"] = cold / 1e6
        results.append(Result("import (cumulative, -X importtime)", name, us / 1e6, extra=extra))
    return results


FLOOR = "python -c 'import attrs, click, apsw'"

_RAW_LIST_SCRIPT = """
import os, apsw
conn = apsw.Connection(os.environ["ZERO_SESSION_DB"], flags=apsw.SQLITE_OPEN_READWRITE)
conn.setbusytimeout(5000)
conn.execute("PRAGMA journal_mode = WAL")
for row in conn.execute({sql!r}, (20,)):
    print(row[1], row[4], row[6] - row[3], row[17] or "-", row[2] or "-")
"""


def _process_seconds(run: Callable[[], object]) -> float:
    """Seconds a child process took: wall time, or with ``--clock cpu`` the CPU time the
    children used (user + system)."""
    if _timing.clock is time.perf_counter:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _run_on_terminal(command: list[str], env: dict[str, str]) -> float:
    """Seconds to run ``command`` with its output on a pseudo-terminal (as a person sees
    it: colours, tables), the terminal drained as it goes."""
    import pty

    master, slave = pty.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    while True:
        try:
            if not os.read(master, 65536):
                break
        except OSError:  # the terminal closed: the process is done
            break
    code = proc.wait()
    elapsed = time.perf_counter() - start
    os.close(master)
    if code != 0:
        raise RuntimeError(f"{command} exited {code}")
    return elapsed


def cli_list(cfg: Config, files: ListFile) -> list[Result]:
    """``zero-session list`` as a whole process, piped and on a terminal, next to a minimal
    apsw script doing the same query and a bare interpreter start."""
    env = dict(os.environ, ZERO_SESSION_DB=str(files.path), NO_COLOR="1")
    terminal_env = dict(env, COLUMNS="120", LINES="40", TERM="xterm-256color")
    terminal_env.pop("NO_COLOR")
    script = Path(sys.executable).parent / "zero-session"
    commands = {
        ZS: [str(script), "list"],
        RAW: [sys.executable, "-c", _RAW_LIST_SCRIPT.format(sql=_raw.LIST)],
        "python -c pass": [sys.executable, "-c", "pass"],
        # The floor while the design keeps attrs value types and click: their imports.
        FLOOR: [sys.executable, "-c", "import attrs, click, apsw"],
    }
    compile_package()
    best = {name: float("inf") for name in commands}
    on_terminal = {ZS: float("inf"), RAW: float("inf")}
    for _ in range(cfg.subprocess_runs):
        for name, command in commands.items():
            seconds = _process_seconds(
                lambda c=command: subprocess.run(c, env=env, check=True, capture_output=True)  # type: ignore[misc]
            )
            best[name] = min(best[name], seconds)
        for name in on_terminal:
            seconds = _process_seconds(
                lambda n=name: _run_on_terminal(commands[n], terminal_env)  # type: ignore[misc]
            )
            on_terminal[name] = min(on_terminal[name], seconds)
    results = _results("zero-session list (piped)", best)
    for result in results:
        if result.contender == ZS:
            result.extra.update(python_s=best["python -c pass"], floor_s=best[FLOOR])
    return results + _results("zero-session list (terminal)", on_terminal)


_RAW_REPLAY_SCRIPT = """
import os, sys, apsw
conn = apsw.Connection(os.environ["ZERO_SESSION_DB"], flags=apsw.SQLITE_OPEN_READWRITE)
write = sys.stdout.write
for seq, at_ms, kind, text, data in conn.execute({sql!r}, ({ulid!r},)):
    write(f"{{seq:>6}}  {{at_ms}}  {{kind:<11}}  {{text}}  {{data or ''}}\\n")
"""


def cli_replay(cfg: Config, files: ReplayFiles) -> list[Result]:
    """``zero-session replay`` of the long session as a whole process: piped, piped with
    ``--json``, and coloured on a pseudo-terminal; next to an apsw script printing the
    same rows (one SELECT, no colours, no JSON)."""
    env = dict(os.environ, ZERO_SESSION_DB=str(files.path), NO_COLOR="1")
    terminal_env = dict(env, COLUMNS="120", LINES="40", TERM="xterm-256color")
    terminal_env.pop("NO_COLOR")
    script = str(Path(sys.executable).parent / "zero-session")
    raw_script = _RAW_REPLAY_SCRIPT.format(sql=_raw.ONE_SELECT_ROOT, ulid=files.flat)
    piped = {
        ZS: [script, "replay", files.flat],
        "json": [script, "replay", files.flat, "--json"],
        RAW: [sys.executable, "-c", raw_script],
    }
    compile_package()
    best = {name: float("inf") for name in [*piped, "terminal"]}
    for _ in range(max(3, cfg.subprocess_runs // 2)):
        for name, command in piped.items():
            seconds = _process_seconds(
                lambda c=command: subprocess.run(  # type: ignore[misc]
                    c, env=env, check=True, stdout=subprocess.DEVNULL
                )
            )
            best[name] = min(best[name], seconds)
        seconds = _process_seconds(lambda: _run_on_terminal(piped[ZS], terminal_env))
        best["terminal"] = min(best["terminal"], seconds)
    n = cfg.replay_events
    results = _results(f"zero-session replay {n:,} (piped)", {ZS: best[ZS], RAW: best[RAW]})
    results.append(
        Result(
            f"zero-session replay {n:,} (terminal)",
            ZS,
            best["terminal"],
            extra={"over_piped": best["terminal"] / best[ZS]},
        )
    )
    results.append(
        Result(
            f"zero-session replay {n:,} --json (piped)",
            ZS,
            best["json"],
            extra={"over_plain": best["json"] / best[ZS]},
        )
    )
    return results


def agents_api(cfg: Config, work: Path, durability: str) -> list[Result]:
    """The OpenAI Agents SDK's ``SQLiteSession`` against zero_session's adapter of the
    same async ``Session`` API: both pay the same event loop and thread-pool hops."""
    from _peers import OpenAIAgents, ZeroAgents

    sides = {
        ZS: ZeroAgents(work / f"agents-zs-{durability}.db", durability),
        "openai-agents": OpenAIAgents(work / f"agents-sdk-{durability}.db", durability),
    }
    item = ("prompt", TEXT, DATA)
    items = [("prompt", f"{TEXT} #{i}", DATA if i % 2 else None) for i in range(BATCH)]
    rounds, number = cfg.write_rounds[durability], cfg.single_n[durability]
    single = compare(
        {name: (lambda side=side: side.append(item)) for name, side in sides.items()},
        rounds=rounds,
        number=number,
    )
    batch = compare(
        {name: (lambda side=side: side.append_many(items)) for name, side in sides.items()},
        rounds=cfg.write_rounds[durability],
        number=cfg.batch_n[durability],
    )
    results = _results("Agents API: add_items([1])", single, durability=durability, per="event")
    results += _results(f"Agents API: add_items([{BATCH}])", batch, durability=durability, n=BATCH)
    for side in sides.values():
        side.close()
    if durability == "normal":
        n = cfg.replay_events
        readers = {
            ZS: ZeroAgents(work / "agents-zs-replay.db", "normal"),
            "openai-agents": OpenAIAgents(work / "agents-sdk-replay.db", "normal"),
        }
        for side in readers.values():
            side.fill(n, batch=1000)
        timings = compare(
            {name: side.replay for name, side in readers.items()}, rounds=cfg.rounds, number=1
        )
        results += _results(f"Agents API: get_items() of {n:,}", timings, per="replay", n=n)
        for side in readers.values():
            side.close()
    return results


def _writer(store: Store, ulid: str, barrier: threading.Barrier, events: int) -> None:
    barrier.wait()
    for _ in range(events):
        store.append(ulid, "prompt", TEXT, data=DATA)


def _threaded_run(work: Path, threads: int, events: int) -> tuple[float, int]:
    """(seconds, commits) for ``threads`` threads appending ``events`` events each."""
    path = work / f"threads-{threads}.db"
    _build.create(path)
    store = Store.open(path, durability="full")
    sessions = [store.start().ulid for _ in range(threads)]
    commits_before = store._committer.commits
    barrier = threading.Barrier(threads + 1)
    workers = [threading.Thread(target=_writer, args=(store, u, barrier, events)) for u in sessions]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    commits = store._committer.commits - commits_before
    store.close()
    return elapsed, commits


def group_commit(cfg: Config, work: Path) -> list[Result]:
    """Durable appends from 1, 2, 4, 8 threads sharing one Store (each thread its own
    session): events/s and how many commits (fsyncs) carried them; best of a few runs."""
    best: dict[int, tuple[float, int]] = {}
    for _ in range(2 if cfg.quick else 3):
        for threads in cfg.thread_counts:
            elapsed, commits = _threaded_run(work, threads, cfg.thread_events)
            if threads not in best or elapsed < best[threads][0]:
                best[threads] = (elapsed, commits)
    results = []
    for threads, (elapsed, commits) in best.items():
        total = threads * cfg.thread_events
        results.append(
            Result(
                f"durable appends, {threads} thread(s)",
                ZS,
                elapsed / total,
                durability="full",
                per="event",
                extra={"threads": threads, "events": total, "commits": commits},
            )
        )
    return results


def trigger_cost(cfg: Config, work: Path) -> list[Result]:
    """Raw appends on the real schema against the same schema without the triggers that
    fire on append (the seq-range check on events, the rewind check on sessions)."""
    with_path, without_path = work / "trig-with.db", work / "trig-without.db"
    ulids = {}
    conns = {}
    for name, path in (("with triggers", with_path), ("without triggers", without_path)):
        _build.create(path)
        conn = _raw.connect(path, "normal")
        if name == "without triggers":
            conn.execute("DROP TRIGGER events_refuse_out_of_range")
            conn.execute("DROP TRIGGER sessions_refuse_seq_rewind")
        with conn:
            _, ulids[name] = _build.add_session(
                conn, n_events=0, started_at_ms=_build.BASE_MS, ended=False
            )
        conns[name] = conn
    items = [("prompt", TEXT, DATA)] * BATCH
    single = compare(
        {
            name: lambda name=name: _raw.append(conns[name], ulids[name], "prompt", TEXT, DATA, 1)  # type: ignore[misc]
            for name in conns
        },
        rounds=cfg.rounds,
        number=cfg.single_n["normal"],
    )
    batch = compare(
        {
            name: lambda name=name: _raw.append_many(conns[name], ulids[name], items, 1)  # type: ignore[misc]
            for name in conns
        },
        rounds=cfg.rounds,
        number=cfg.batch_n["normal"],
    )
    for conn in conns.values():
        conn.close()
    return _results("raw append (1 event)", single, durability="normal", per="event") + _results(
        f"raw append_many ({BATCH})", batch, durability="normal", n=BATCH
    )


def concurrent(cfg: Config, work: Path) -> list[Result]:
    """8 threads on one Store and 4 processes with their own create sessions of 10 events
    at once (``bench_concurrent.py``); fails the run on any error or gap."""
    import bench_concurrent

    outcome = bench_concurrent.run(
        work / "concurrent.db", sessions=cfg.concurrent_sessions, durability="full"
    )
    description = bench_concurrent.describe(outcome)
    if not outcome.ok:
        raise RuntimeError(description)
    return [
        Result(
            f"concurrent start: {outcome.threads} threads + {outcome.processes} processes",
            ZS,
            outcome.seconds / outcome.sessions,
            durability="full",
            per="session",
            n=outcome.sessions,
            extra={
                "description": description,
                "sessions_per_s": outcome.sessions_per_s,
                "start_p50_s": outcome.start_p50_s,
                "start_p99_s": outcome.start_p99_s,
                "errors": len(outcome.errors),
            },
        )
    ]
