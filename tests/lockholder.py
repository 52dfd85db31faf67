"""Another process that holds a database's write lock (``BEGIN IMMEDIATE``) until told."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_HOLDER = """
import sys, apsw
conn = apsw.Connection(sys.argv[1])
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
print("released", flush=True)
"""


class LockHolder:
    """A child process holding the write lock of ``path``; :meth:`release` commits."""

    def __init__(self, path: Path) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._child.stdout is not None
        line = self._child.stdout.readline().strip()  # blocks until the lock is held
        assert line == "locked", f"the lock holder failed to start: {line!r}"

    def release(self) -> None:
        """Commit and let the child exit; returns once the lock is free."""
        if self._child.poll() is not None:
            return
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write("go\n")
        self._child.stdin.flush()
        assert self._child.stdout.readline().strip() == "released"
        self._child.wait(timeout=30)

    def kill(self) -> None:
        if self._child.poll() is None:
            self._child.kill()
            self._child.wait()


@contextmanager
def write_lock_held(path: Path) -> Iterator[LockHolder]:
    """Hold ``path``'s write lock in another process for the ``with`` block (or until
    ``release()``)."""
    holder = LockHolder(path)
    try:
        yield holder
        holder.release()
    finally:
        holder.kill()
