"""Store files as earlier versions of zero_session wrote them, for upgrade tests."""

from __future__ import annotations

from pathlib import Path

import apsw

from zero_session._schema import APPLICATION_ID, load_migrations


def store_file_at_version(path: Path, version: int) -> None:
    """Create ``path`` as a store holding migrations 1 to ``version`` only (WAL mode,
    each migration in its own transaction with its ``user_version``, as the store
    applies them), ready to be filled in the ``sqlite3`` shell and then upgraded."""
    conn = apsw.Connection(str(path))
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        for migration in load_migrations()[:version]:
            with conn:
                conn.execute(migration.sql)
                conn.execute(f"PRAGMA user_version = {migration.version}")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    finally:
        conn.close()
