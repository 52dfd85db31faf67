"""The database file on disk: private creation, name checks, read-only URIs."""

from __future__ import annotations

import os
import urllib.parse
from contextlib import suppress
from pathlib import Path

__all__ = ["create_private_file", "immutable_uri", "not_utf8"]


def create_private_file(path: Path) -> None:
    """Create the database file (and its folder) readable by the owner only.

    SQLite gives the ``-wal`` and ``-shm`` files the permissions of the database file.
    Every missing folder is created 0700 (``mkdir(parents=True)`` would give the
    intermediate ones the umask's default, 0777 under umask 0).  Existing files and
    folders keep their permissions.
    """
    missing: list[Path] = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def not_utf8(text: str) -> bool:
    """Whether ``text`` cannot be UTF-8 (SQLite takes file names as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def immutable_uri(path: Path) -> str | None:
    """A URI opening ``path`` as immutable when a read-only WAL open could not work.

    Reading a WAL file needs its ``-wal`` and ``-shm`` files, or a writable folder to
    create them in (https://www.sqlite.org/wal.html#readonly).  When there is no ``-wal``
    (the last writer closed cleanly, so the main file holds every commit) and the folder
    is not writable, the file is opened ``immutable=1``
    (https://www.sqlite.org/uri.html#uriimmutable): a snapshot read without locks, exact
    as long as nobody (someone who may write that folder) writes the file meanwhile.
    None: open normally.
    """
    wal = path.with_name(path.name + "-wal")
    if wal.exists() or os.access(path.parent, os.W_OK):
        return None
    return f"file:{urllib.parse.quote(str(path.resolve()))}?immutable=1"
