"""The sync package's own error class (importable without psycopg)."""

from __future__ import annotations

from ..errors import SchemaTooNew, SyncError

__all__ = ["ServerSchemaTooNew"]


class ServerSchemaTooNew(SchemaTooNew, SyncError):
    """The server's schema was written by a newer zero_session; upgrade this one.

    Both a ``SchemaTooNew`` (like a file from a newer version) and a ``SyncError`` of
    kind ``"schema"``.
    """

    def __init__(self, server: str, found: int, known: int) -> None:
        SchemaTooNew.__init__(self, f"server {server}", found, known)
        self.kind = "schema"
