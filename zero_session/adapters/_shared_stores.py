"""One :class:`Store` per database file for the sessions of a process, closed with the last.

The Agents SDK's ``SQLiteSession`` is built from a path, and a program may build many of
them on one file.  The drop-in opens one ``Store`` (one connection, one mutex, one group
commit) per file and shares it, counting its users, as the SDK shares one lock per file;
the last ``release`` closes it.  ``":memory:"`` gives each user a private in-memory
store, as the SDK gives each session its own in-memory database.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..store import Store

__all__ = ["acquire", "release"]

MEMORY = ":memory:"

_guard = threading.Lock()
_open: dict[tuple[int, Path], tuple[Store, int]] = {}


def _key(path: str | os.PathLike[str]) -> tuple[int, Path]:
    # A child after os.fork() must not use its parent's store (StoreUsedAfterFork): the
    # process id keeps the child's sessions on a store of its own.
    return os.getpid(), Path(path).expanduser().resolve()


def acquire(path: str | os.PathLike[str]) -> Store:
    """The store shared by the users of ``path``, opened by the first of them.

    Raises what :meth:`Store.open` raises (NotAStore, SchemaTooNew, StorageError, …).
    """
    if str(path) == MEMORY:
        return Store.memory()
    key = _key(path)
    with _guard:
        store, users = _open.get(key, (None, 0))
        if store is None:
            store = Store.open(key[1])
        _open[key] = (store, users + 1)
        return store


def release(store: Store) -> None:
    """Give back a store from :func:`acquire`; the last user of a file closes it."""
    with _guard:
        for key, (shared, users) in _open.items():
            if shared is store:
                if users > 1:
                    _open[key] = (shared, users - 1)
                    return
                del _open[key]
                break
    store.close()
