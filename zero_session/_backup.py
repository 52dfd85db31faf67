"""Online backup: a consistent copy of the store while other processes keep writing.

SQLite's backup API copies the database page by page
(https://www.sqlite.org/backup.html).  We copy in a single step, which reads the whole
source inside one read transaction: in WAL mode writers in other processes go on
undisturbed, and the copy is exactly the database as of the moment the step began.  The
copy is written to a private temporary file beside the destination and linked into
place only when complete, so the destination never holds half a backup and an existing
file is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import apsw

from .errors import InvalidInput, StorageError

__all__ = ["backup_to"]


def backup_to(conn: apsw.Connection, dest: Path) -> int:
    """Copy the database of ``conn`` to the new file ``dest``; returns its size in bytes.

    Raises InvalidInput when ``dest`` exists, StorageError when it cannot be written.
    """
    if dest.exists():
        raise InvalidInput(f"{dest} already exists; back up to a new file")
    if not dest.parent.is_dir():
        raise InvalidInput(f"{dest.parent} is not a directory")
    temp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    try:
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        target = apsw.Connection(str(temp))
        try:
            with target.backup("main", conn, "main") as copy:
                copy.step(-1)
        finally:
            target.close()
        os.link(temp, dest)
    except FileExistsError as exc:
        raise InvalidInput(f"{dest} already exists; back up to a new file") from exc
    except OSError as exc:
        raise StorageError(f"cannot write the backup {dest}: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return dest.stat().st_size
