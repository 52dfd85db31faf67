"""Store methods for looking after the file: check, export/import, stats, backup.

``_check``, ``_transfer``, ``_stats`` and ``_backup`` are imported by the methods that
use them, so that ``import zero_session`` does not pay for them (docs/performance.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import _sessions
from ._store_core import SessionRef, StoreCore, check_int

if TYPE_CHECKING:
    from ._check import CheckReport
    from ._stats import StoreStats
    from ._transfer import TextSink, TransferCounts

__all__ = ["MaintenanceMethods"]


class MaintenanceMethods(StoreCore):
    """Checking, exporting, importing, counting and backing up the store."""

    def check(self) -> CheckReport:
        """Check the file: SQLite's integrity and foreign keys plus our invariants.

        Reports every problem found (gaps in seqs, ``last_seq`` not matching the events,
        missing fork parents, fork points out of range, dangling labels) instead of
        raising; ``report.ok`` is True when there is none.  Read-only; works on a
        ``readonly=True`` store.  Raises StoreClosed, StoreLocked.
        """
        from . import _check

        with self._reading() as conn:
            return _check.run_check(conn)

    def export(
        self, out: TextSink, *, sessions: Iterable[SessionRef] | None = None
    ) -> TransferCounts:
        """Write sessions, their events and milestones to ``out`` as JSON Lines.

        ``sessions`` None exports the whole store (every milestone included); otherwise
        the given sessions with their ancestors (so forks keep their history) and their
        labels.  One read transaction: a consistent snapshot while others write.  The
        format is described in ``zero_session/_transfer.py``.  Raises SessionNotFound.
        """
        from . import _transfer

        if not callable(getattr(out, "write", None)):
            raise TypeError(f"out must have a write(str) method, not {type(out).__name__}")
        ulids = None if sessions is None else [self._ulid_of(s) for s in sessions]
        with self._reading() as conn:
            conn.execute("BEGIN")
            try:
                for ulid in ulids or ():
                    _sessions.require_row(conn, ulid)
                return _transfer.export_to(conn, out, ulids, self._now())
            finally:
                conn.execute("COMMIT")

    def import_(self, lines: Iterable[str], *, source: str = "<import>") -> TransferCounts:
        """Add what an :meth:`export` holds; returns what changed (idempotent).

        All or nothing, in one transaction.  Sessions, seqs, times, writer fields, fork
        links and milestones are restored exactly.  Raises InvalidInput (naming
        ``source`` and the line) for a malformed file or one that contradicts the store.
        """
        from . import _transfer

        with self._writing() as conn:
            return _transfer.import_from(
                conn, lines, max_event_bytes=self._max_event_bytes, source=source
            )

    def stats(self, *, top: int = 5) -> StoreStats:
        """Counts of sessions, events, milestones and labels, file sizes, events per kind,
        and the ``top`` sessions with the most events.  Reads every event once."""
        from . import _stats

        check_int(top, "top")
        with self._reading() as conn:
            conn.execute("BEGIN")
            try:
                return _stats.store_stats(conn, self._path, top=top)
            finally:
                conn.execute("COMMIT")

    def kind_counts(self, session: SessionRef) -> dict[str, int]:
        """Events per kind over the session's whole timeline, most frequent first.

        Raises SessionNotFound, StorageError (a fork lineage that loops in a tampered file).
        """
        from . import _stats
        from ._lineage import check_lineage

        ulid = self._ulid_of(session)
        with self._reading() as conn:
            session_id, _, _ = self._position(conn, ulid)
            check_lineage(conn, session_id, ulid)
            return _stats.kind_counts(conn, session_id)

    def backup(self, dest: str | os.PathLike[str]) -> int:
        """Copy the store to the new file ``dest`` with SQLite's online backup API.

        Consistent even while other processes write; returns the copy's size in bytes.
        Raises InvalidInput when ``dest`` exists, StorageError.
        """
        from pathlib import Path

        from . import _backup

        target = Path(dest).expanduser()
        with self._reading() as conn:
            return _backup.backup_to(conn, target)
