"""The actions on a session (label, unlabel, archive, delete, fork, export), without UI.

The browser reads through a read-only store; an action that writes opens the file for
writing just for that step and closes it again, so the browser never holds the write
lock (nor a writer connection) while the user looks.  A store that was opened writable
(an embedding program's) is used as it is.  Each function returns the line to show.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from ..store import Store

__all__ = ["archive_toggle", "delete", "export", "fork", "label", "unlabel", "writable"]

T = TypeVar("T")


@contextmanager
def writable(store: Store) -> Iterator[Store]:
    """``store`` itself when it may write, else the same file opened for writing."""
    if not store.readonly:
        yield store
        return
    with Store.open(store.path) as writer:
        yield writer


def _write(store: Store, step: Callable[[Store], T]) -> T:
    with writable(store) as writer:
        return step(writer)


def label(store: Store, ulid: str, name: str, *, move: bool = False) -> str:
    """Label the session; LabelTaken when another session has the name (unless move)."""
    _write(store, lambda w: w.label(ulid, name, move=move))
    return f"labelled {ulid[:12]} '{name}'" + (" (moved)" if move else "")


def unlabel(store: Store, name: str) -> str:
    _write(store, lambda w: w.unlabel(name))
    return f"removed label '{name}'"


def archive_toggle(store: Store, ulid: str, archived: bool) -> str:
    if archived:
        _write(store, lambda w: w.unarchive(ulid))
        return f"unarchived {ulid[:12]}"
    _write(store, lambda w: w.archive(ulid))
    return f"archived {ulid[:12]}"


def delete(store: Store, ulid: str, *, cascade: bool) -> str:
    _write(store, lambda w: w.delete(ulid, cascade=cascade))
    return f"deleted {ulid[:12]}" + (" and its forks" if cascade else "")


def fork(store: Store, ulid: str, at_seq: int) -> str:
    child = _write(store, lambda w: w.fork(ulid, at_seq=at_seq))
    # The fork is a new session nobody writes yet: end it, so it is not shown as
    # "live" for as long as the browser runs (this process is its recorded writer).
    _write(store, lambda w: w.end(child.ulid))
    return f"forked {ulid[:12]} at seq {at_seq}: {child.ulid}"


def export(store: Store, ulid: str, path: str) -> str:
    """Write the session (with its ancestors) as JSON Lines to a new file ``path``."""
    target = os.path.expanduser(path)
    with open(target, "x", encoding="utf-8") as out:
        counts = store.export(out, sessions=[ulid])
    return f"exported {counts.sessions} session(s), {counts.events:,} events to {target}"
