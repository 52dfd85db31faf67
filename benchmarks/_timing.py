"""Timing helpers: interleaved best-of rounds, so every contender sees the same machine load.

On a small shared machine a single run is noisy.  Each comparison runs its contenders
round-robin (zero_session, raw apsw, peer, then raw apsw, peer, zero_session, ...) and
keeps each one's best round: the best round is the cost without interference, and
interleaving means a burst of load from elsewhere hits every contender alike instead of
one of them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping

Op = Callable[[], object]

# The clock of every timed round: wall time by default; ``run.py --clock cpu`` switches to
# the process's CPU time, which a machine shared with other work disturbs far less (but
# which leaves out waiting for the disk: the fsync of durable writes, and the peers'
# thread-pool hand-offs count only as the CPU they use).
clock: Callable[[], float] = time.perf_counter


def use_cpu_clock() -> None:
    """Time rounds by the process's CPU time instead of the wall clock."""
    global clock
    clock = time.process_time


def time_round(op: Op, number: int) -> float:
    """Seconds per call of ``op`` over ``number`` calls (garbage collector paused).

    A round of several calls starts with one untimed call: the first call after another
    contender's round pays once for what that round left behind (measured: ~0.35 ms on
    the first open of a store after the peers' rounds), which is not this op's cost.
    """
    if number > 1:
        op()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        for _ in range(number):
            op()
        return (clock() - start) / number
    finally:
        if gc_was_enabled:
            gc.enable()


def compare(ops: Mapping[str, Op], *, rounds: int, number: int) -> dict[str, float]:
    """Best seconds-per-call of each op, the ops interleaved round by round.

    Each round starts with the next contender, so that no contender always runs first
    or always follows the same one.
    """
    names = list(ops)
    best = {name: float("inf") for name in names}
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            best[name] = min(best[name], time_round(ops[name], number))
    return best
