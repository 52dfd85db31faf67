"""Value types the store hands out: immutable attrs classes and the two string enums.

They are snapshots: a ``Session`` read before an append still shows the old
``last_seq``.  Ask the store again for fresh values.
"""

from __future__ import annotations

import enum
import re
from typing import Any

import attrs

__all__ = [
    "Event",
    "EventKind",
    "Milestone",
    "Resumed",
    "Session",
    "Status",
    "iso_utc",
]

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


class EventKind(enum.StrEnum):
    """The well-known event kinds; any other kind matching ``[a-z][a-z0-9_.-]{0,63}`` works."""

    PROMPT = "prompt"
    SYSTEM = "system"
    COMMAND = "command"
    WARN = "warn"
    ALERT = "alert"
    MODE_CHANGE = "mode_change"


class Status(enum.StrEnum):
    """Where a session stands.

    ``live``: no end recorded and its writer process still runs (on this host).
    ``ended``: its end was recorded.  ``interrupted``: no end recorded and the writer is
    gone.  ``expired``: its TTL has passed and it is not live.  ``archived``: hidden from
    default listings by ``archive``.
    """

    LIVE = "live"
    ENDED = "ended"
    INTERRUPTED = "interrupted"
    EXPIRED = "expired"
    ARCHIVED = "archived"


# The last whole second formatted, and its text (one tuple, replaced whole, so that
# threads never see a second with another second's text).
_last_utc_second: list[tuple[int | None, str]] = [(None, "")]


def iso_utc(at_ms: int | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC text with millisecond precision (``...Z``)."""
    if at_ms is None:
        return None
    second, millis = divmod(at_ms, 1000)
    # Events come in runs within one second (a replay, a JSON export): format each
    # second once.
    cached = _last_utc_second[0]
    if cached[0] != second:
        from datetime import UTC, datetime  # here: ~1.5 ms of `import zero_session`

        cached = (second, datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S."))
        _last_utc_second[0] = cached
    return f"{cached[1]}{millis:03d}Z"


@attrs.frozen(slots=True)
class Event:
    """One record of a session's timeline.

    ``session`` is the ulid of the session that owns the event, which for inherited
    events of a fork is an ancestor, not the fork itself.
    """

    session: str
    seq: int
    at_ms: int
    kind: str
    text: str
    data: Any = None

    @property
    def at_iso(self) -> str:
        """``at_ms`` as ISO-8601 UTC text."""
        return iso_utc(self.at_ms) or ""


@attrs.frozen(slots=True)
class Session:
    """A session row as read from the store, with its labels and computed status.

    ``last_seq`` is the last seq of the whole timeline (inherited events included);
    ``n_events`` counts only the session's own events (``last_seq - fork_seq``).
    ``origin`` is None for this store's own sessions, else the store id of the store a
    pulled session belongs to (only that store appends to it); ``origin_labels`` are that
    store's labels of it, read-only here.
    """

    ulid: str
    parent_ulid: str | None
    fork_seq: int
    started_at_ms: int
    ended_at_ms: int | None
    last_seq: int
    last_event_at_ms: int | None
    cli_version: str | None
    engine_base_url: str | None
    cwd: str | None
    meta: dict[str, Any]
    labels: tuple[str, ...]
    status: Status
    archived_at_ms: int | None = None
    expires_at_ms: int | None = None
    writer_pid: int | None = None
    writer_host: str | None = None
    origin: str | None = None
    origin_labels: tuple[str, ...] = ()

    @property
    def n_events(self) -> int:
        """How many events the session recorded itself (not inherited from a parent)."""
        return self.last_seq - self.fork_seq


@attrs.frozen(slots=True)
class Milestone:
    """A key → text fact with the time it was last set."""

    key: str
    value: str
    at_ms: int


@attrs.frozen(slots=True)
class Resumed:
    """What ``Store.resume`` found: the session, how it stood, and what to show the user.

    ``n_events`` is the true total of the timeline (inherited events included), ``tail``
    its last events oldest first, ``warnings`` differences worth telling the user about.
    """

    session: Session
    previous_status: Status
    n_events: int
    tail: tuple[Event, ...]
    warnings: tuple[str, ...] = ()

    def banner(self) -> str:
        """One line for the top of the screen, with the session's start time in UTC.

        Example: ``resuming: 2026-11-21 14:03 UTC · interrupted · 1,234 prior events``.
        """
        from datetime import UTC, datetime

        started = datetime.fromtimestamp(self.session.started_at_ms / 1000, tz=UTC)
        noun = "prior event" if self.n_events == 1 else "prior events"
        return (
            f"resuming: {started:%Y-%m-%d %H:%M} UTC · {self.previous_status} · "
            f"{self.n_events:,} {noun}"
        )
