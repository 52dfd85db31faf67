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

import os
from collections.abc import Callable
from pathlib import Path
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


def _file_name(name: Any) -> str | None:
    """The path SQLite opens (a ``URIFilename`` for main databases), None for temp files."""
    if name is None:
        return None
    return str(name.filename() if isinstance(name, apsw.URIFilename) else name)


class PowerLossVFS(apsw.VFS):
    """A VFS that remembers, for every file, what a power cut would leave of it.

    Writes reach the real file at once (so SQLite reads what it wrote) and are also
    queued per file; ``xSync`` applies the queue to the file's *durable image*.  The
    durable image of a file that existed before is its content when first opened; a file
    created and never synced has none.  :meth:`crash_image` is the set of durable images
    at this instant: exactly the state after a power cut that loses every unsynced write.
    ``on_write`` (if set) is called after each write with the running count, so a test can
    take crash images in the middle of a transaction.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.durable: dict[str, bytearray | None] = {}
        self.pending: dict[str, list[tuple[int, bytes | None]]] = {}
        self.writes = 0
        self.on_write: Callable[[int], None] | None = None
        super().__init__(name, "")

    def xOpen(self, name: Any, flags: list[int]) -> apsw.VFSFile:
        path = _file_name(name)
        if path is not None and path not in self.durable:
            existing = Path(path)
            self.durable[path] = bytearray(existing.read_bytes()) if existing.exists() else None
            self.pending[path] = []
        return PowerLossFile(self, path, name, flags)

    def xDelete(self, filename: str, syncdir: bool) -> None:
        super().xDelete(filename, syncdir)
        self.durable.pop(filename, None)
        self.pending.pop(filename, None)

    def record_write(self, path: str | None, offset: int, data: bytes) -> None:
        if path is not None:
            self.pending[path].append((offset, data))
        self.writes += 1
        if self.on_write is not None:
            self.on_write(self.writes)

    def record_truncate(self, path: str | None, size: int) -> None:
        if path is not None:
            self.pending[path].append((size, None))

    def sync(self, path: str | None) -> None:
        """Apply the file's queued writes and truncations to its durable image."""
        if path is None:
            return
        image = self.durable[path]
        if image is None:
            image = self.durable[path] = bytearray()
        for offset, data in self.pending[path]:
            if data is None:
                del image[offset:]
            else:
                if len(image) < offset:
                    image.extend(bytes(offset - len(image)))
                image[offset : offset + len(data)] = data
        self.pending[path].clear()

    def crash_image(self) -> dict[str, bytes]:
        """File name -> content that a power cut right now would leave on disk."""
        return {
            os.path.basename(path): bytes(image)
            for path, image in self.durable.items()
            if image is not None
        }


class PowerLossFile(apsw.VFSFile):
    def __init__(self, vfs: PowerLossVFS, path: str | None, name: Any, flags: list[int]) -> None:
        super().__init__("", name, flags)
        self._vfs = vfs
        self._path = path

    def xWrite(self, data: bytes, offset: int) -> None:
        super().xWrite(data, offset)
        self._vfs.record_write(self._path, offset, bytes(data))

    def xTruncate(self, newsize: int) -> None:
        super().xTruncate(newsize)
        self._vfs.record_truncate(self._path, newsize)

    def xSync(self, flags: int) -> None:
        super().xSync(flags)
        self._vfs.sync(self._path)


def write_image(image: dict[str, bytes], folder: Path) -> None:
    """Lay a crash image out as files in ``folder``, as the machine would find it on boot."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in image.items():
        (folder / name).write_bytes(content)
