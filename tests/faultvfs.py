"""VFS shims for the reliability tests: inject I/O faults, and simulate power loss.

Both inherit every routine from the default (unix) VFS and override only the file
operations they need, as the apsw documentation suggests
(https://rogerbinns.github.io/apsw/vfs.html).  SQLite turns an exception raised in a VFS
routine into the matching error code, exactly as if the operating system had failed.

``FaultVFS`` counts the reads, writes or syncs of every file opened through it and fails
the N-th one (or the N-th and every later one, for a disk that stays broken) with the
extended I/O error code SQLite's own ``os_unix.c`` would report.

``PowerLossVFS`` keeps every write in memory until the file is synced, the way an
operating system's page cache does; :meth:`PowerLossVFS.crash` throws away whatever was
not synced, leaving on disk exactly what a power cut would have left.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import apsw

FAULT_CODES = {
    "read": apsw.SQLITE_IOERR_READ,
    "write": apsw.SQLITE_IOERR_WRITE,
    "sync": apsw.SQLITE_IOERR_FSYNC,
}


class FaultPlan:
    """Which operation to fail, and counters of what happened.

    ``arm("write", 3)`` fails the third write after arming; with ``persistent=True`` also
    every write after it, until :meth:`disarm`.
    """

    def __init__(self) -> None:
        self.op: str | None = None
        self.nth = 0
        self.persistent = False
        self.seen = 0
        self.fired = 0

    def arm(self, op: str, nth: int, *, persistent: bool = False) -> None:
        if op not in FAULT_CODES:
            raise ValueError(f"unknown operation {op!r}")
        self.op, self.nth, self.persistent = op, nth, persistent
        self.seen = self.fired = 0

    def disarm(self) -> None:
        self.op = None

    def check(self, op: str) -> None:
        """Raise the I/O error for ``op`` when the plan says this one fails."""
        if op != self.op:
            return
        self.seen += 1
        if self.seen == self.nth or (self.persistent and self.seen > self.nth):
            self.fired += 1
            raise apsw.exception_for(FAULT_CODES[op])


class FaultFile(apsw.VFSFile):
    def __init__(self, plan: FaultPlan, name: Any, flags: list[int]) -> None:
        super().__init__("", name, flags)
        self._plan = plan

    def xRead(self, amount: int, offset: int) -> bytes:
        self._plan.check("read")
        return bytes(super().xRead(amount, offset))

    def xWrite(self, data: bytes, offset: int) -> None:
        self._plan.check("write")
        super().xWrite(data, offset)

    def xSync(self, flags: int) -> None:
        self._plan.check("sync")
        super().xSync(flags)


class FaultVFS(apsw.VFS):
    """A VFS named ``name`` whose files fail as ``self.plan`` says."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.plan = FaultPlan()
        super().__init__(name, "")

    def xOpen(self, name: Any, flags: list[int]) -> apsw.VFSFile:
        return FaultFile(self.plan, name, flags)


@contextmanager
def registered(vfs: apsw.VFS) -> Iterator[apsw.VFS]:
    """Keep ``vfs`` registered for the block; unregister it afterwards."""
    try:
        yield vfs
    finally:
        vfs.unregister()
