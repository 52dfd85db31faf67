"""The database file on disk: private creation, name checks, read-only URIs.

Paths are plain ``str`` handled with ``os.path``: ``pathlib`` (and ``urllib.parse``,
which it imports) would add ~3 ms to ``import zero_session``.
"""

from __future__ import annotations

import os
from contextlib import suppress

__all__ = ["create_private_file", "immutable_uri", "not_utf8"]


def _parent(path: str) -> str:
    return os.path.dirname(path) or "."


def create_private_file(path: str) -> None:
    """Create the database file (and its folder) readable by the owner only.

    SQLite gives the ``-wal`` and ``-shm`` files the permissions of the database file.
    Every missing folder is created 0700 (``mkdir(parents=True)`` would give the
    intermediate ones the umask's default, 0777 under umask 0).  Existing files and
    folders keep their permissions.

    A symlink to a file not made yet is followed: the file (and any missing folder)
    is created private at the link's target.  Creating at the link itself would fail
    (``O_EXCL`` never follows a link) and leave SQLite to create the target with the
    umask's permissions, world-readable under the usual 022.
    """
    path = os.path.realpath(path)  # a path without links is returned unchanged
    missing: list[str] = []
    folder = _parent(path)
    while not os.path.exists(folder):
        missing.append(folder)
        folder = _parent(folder)
    for folder in reversed(missing):
        with suppress(FileExistsError):
            os.mkdir(folder, mode=0o700)
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


def immutable_uri(path: str) -> str | None:
    """A URI opening ``path`` as immutable when a read-only WAL open could not work.

    Reading a WAL file needs its ``-wal`` and ``-shm`` files, or a writable folder to
    create them in (https://www.sqlite.org/wal.html#readonly).  When there is no ``-wal``
    (the last writer closed cleanly, so the main file holds every commit) and the folder
    is not writable, the file is opened ``immutable=1``
    (https://www.sqlite.org/uri.html#uriimmutable): a snapshot read without locks, exact
    as long as nobody (someone who may write that folder) writes the file meanwhile.
    None: open normally.
    """
    if os.path.exists(path + "-wal") or os.access(_parent(path), os.W_OK):
        return None
    import urllib.parse  # rare: a read-only folder

    return f"file:{urllib.parse.quote(os.path.realpath(path))}?immutable=1"
