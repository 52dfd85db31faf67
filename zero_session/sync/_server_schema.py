"""The server schema ``zero_session``: versioned migrations, applied under an advisory lock.

Server migrations are the files ``NNNN_name.sql`` of ``migrations/postgres/`` (shipped in
the wheel as ``zero_session/migrations/postgres``; the file's own runner reads only the
top folder's files, so it never sees them).  The version is the highest number recorded
in ``zero_session.schema_migrations``.  Reading it never writes; migrating takes
``pg_advisory_xact_lock`` first and reads the version again, so two first pushes at once
apply each step exactly once, and each step and its record commit together.
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any, NamedTuple

import psycopg

from .._schema import _migrations_folder
from ..errors import SyncError
from ._connect import Target
from ._errors import ServerSchemaTooNew

__all__ = [
    "ServerMigration",
    "ServerSchemaTooNew",
    "ensure_schema",
    "known_server_version",
    "load_server_migrations",
    "server_id",
    "server_version",
]

_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
# pg_advisory_xact_lock key: "zs" "sc" "he" "ma" as one 64-bit number, ours alone.
LOCK_KEY = 0x7A73_7363_6865_6D61


class ServerMigration(NamedTuple):
    version: int
    name: str
    sql: str


@cache
def load_server_migrations() -> tuple[ServerMigration, ...]:
    """Every server migration, in order (numbered 1..n without a gap)."""
    folder = _migrations_folder()
    found: list[ServerMigration] = []
    if isinstance(folder, str):
        sub = os.path.join(folder, "postgres")
        for name in os.listdir(sub):
            match = _NAME.fullmatch(name)
            if match:
                with open(os.path.join(sub, name), encoding="utf-8") as file:
                    found.append(ServerMigration(int(match.group(1)), match.group(2), file.read()))
    else:
        for entry in (folder / "postgres").iterdir():
            match = _NAME.fullmatch(entry.name)
            if match:
                found.append(
                    ServerMigration(int(match.group(1)), match.group(2), entry.read_text("utf-8"))
                )
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise SyncError(
            f"server migrations are not numbered 1..n: {[m.version for m in found]}", "schema"
        )
    return tuple(found)


def known_server_version() -> int:
    """The server schema version this code writes."""
    return len(load_server_migrations())


def server_version(conn: psycopg.Connection[Any]) -> int:
    """The server's schema version; 0 when there is no schema yet.  Never writes."""
    # pg_tables, not to_regclass(): a catalog cache does not see a table another
    # session created while this one waited on the advisory lock.
    exists = (
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables "
        "WHERE schemaname = 'zero_session' AND tablename = 'schema_migrations')"
    )
    row = conn.execute(exists).fetchone()
    if not row or not row[0]:
        return 0
    found = conn.execute("SELECT coalesce(max(version), 0) FROM zero_session.schema_migrations")
    version = found.fetchone()
    return int(version[0]) if version else 0


def server_id(conn: psycopg.Connection[Any]) -> str:
    """The server's identity (made by migration 1); push cursors are kept per server."""
    row = conn.execute("SELECT server_id FROM zero_session.server_identity").fetchone()
    if row is None:
        raise SyncError("the server's zero_session.server_identity row is missing", "schema")
    return str(row[0])


def ensure_schema(conn: psycopg.Connection[Any], target: Target) -> int:
    """Create or migrate the schema if needed; the version it is at afterwards.

    Raises ServerSchemaTooNew, and SyncError ``"schema"`` when this role may not create
    it (run ``zero-session sync init`` as the schema's owner).
    """
    known = known_server_version()
    version = server_version(conn)
    if version > known:
        raise ServerSchemaTooNew(target.name, version, known)
    if version == known:
        return version
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            version = server_version(conn)  # another process may have migrated meanwhile
            if version > known:
                raise ServerSchemaTooNew(target.name, version, known)
            for step in load_server_migrations()[version:]:
                conn.execute(step.sql.encode("utf-8"))
                conn.execute(
                    "INSERT INTO zero_session.schema_migrations (version, name) VALUES (%s, %s)",
                    (step.version, step.name),
                )
    except psycopg.errors.InsufficientPrivilege:
        raise SyncError(
            f"role {target.user} may not create or upgrade the zero_session schema on "
            f"{target.name}; run `zero-session sync init` as the schema's owner "
            "(see `zero-session sync init --print-sql`)",
            "schema",
        ) from None
    return known
