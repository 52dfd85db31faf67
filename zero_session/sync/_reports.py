"""What push and status answer: plain attrs values (no psycopg, no password)."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Divergence", "PushReport", "SyncStatus"]


@attrs.frozen(slots=True)
class Divergence:
    """A conflict the server recorded and kept: at ``(ulid, seq)`` it already holds a
    different event (``seq`` ≥ 1), or the session ulid belongs to another store
    (``seq`` = 0).  Nothing was overwritten."""

    ulid: str
    seq: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"ulid": self.ulid, "seq": self.seq, "reason": self.reason}


@attrs.frozen(slots=True)
class PushReport:
    """What one push changed on the server.

    ``events``: events the server did not have before; ``sessions``: sessions created,
    changed (ended, archived, expiry) or extended; ``milestones``: labels and
    milestones written or removed; ``diverged``: conflicts found by this push;
    ``seconds``: wall time; ``complete``: False when a stop request ended it early.
    """

    events: int
    sessions: int
    milestones: int
    diverged: tuple[Divergence, ...]
    seconds: float
    store_id: str
    server: str
    complete: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "sessions": self.sessions,
            "milestones": self.milestones,
            "diverged": [d.as_json() for d in self.diverged],
            "seconds": round(self.seconds, 3),
            "store_id": self.store_id,
            "server": self.server,
            "complete": self.complete,
        }


@attrs.frozen(slots=True)
class SyncStatus:
    """How far the server is behind this store, as the server itself says.

    ``pending_events``: own events the server lacks; ``pending_sessions``: sessions the
    server lacks or holds with older metadata or fewer events; ``diverged``: conflicts
    recorded for this store; ``server_schema_version``: 0 when the schema is not there
    yet; ``store_id``: None for a store that never pushed (all of it is pending).
    """

    pending_events: int
    pending_sessions: int
    diverged: tuple[Divergence, ...]
    server_schema_version: int
    store_id: str | None
    server: str

    def as_json(self) -> dict[str, Any]:
        return {
            "pending_events": self.pending_events,
            "pending_sessions": self.pending_sessions,
            "diverged": [d.as_json() for d in self.diverged],
            "server_schema_version": self.server_schema_version,
            "store_id": self.store_id,
            "server": self.server,
        }
