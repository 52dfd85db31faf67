"""JSON documents of sessions, events and milestones, as the CLI's ``--json`` and the
``share`` command (``zero-session share``, the TUI's ``/share``) print them: every time
as epoch ms (``*_ms``) plus ISO-8601 UTC."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from . import __version__
from .models import Event, Milestone, Session, iso_utc

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "event_doc",
    "event_json_lines",
    "json_encoder",
    "milestone_doc",
    "session_doc",
    "share_doc",
    "times",
]


def times(name: str, at_ms: int | None) -> dict[str, Any]:
    """``{name_ms: at_ms, name: iso}``, e.g. ``started_at_ms`` and ``started_at``."""
    return {f"{name}_ms": at_ms, name: iso_utc(at_ms)}


def session_doc(session: Session) -> dict[str, Any]:
    """A session as JSON."""
    return {
        "ulid": session.ulid,
        "status": str(session.status),
        **times("started_at", session.started_at_ms),
        **times("ended_at", session.ended_at_ms),
        **times("last_event_at", session.last_event_at_ms),
        "n_events": session.n_events,
        "last_seq": session.last_seq,
        "parent_ulid": session.parent_ulid,
        "fork_seq": session.fork_seq,
        "labels": list(session.labels),
        "cli_version": session.cli_version,
        "engine_base_url": session.engine_base_url,
        "cwd": session.cwd,
        "meta": session.meta,
        "writer_pid": session.writer_pid,
        "writer_host": session.writer_host,
        **times("archived_at", session.archived_at_ms),
        **times("expires_at", session.expires_at_ms),
        "origin": session.origin,
        "origin_labels": list(session.origin_labels),
    }


def event_doc(event: Event) -> dict[str, Any]:
    """An event as JSON; ``session`` is the ulid of the session that recorded it."""
    at_ms = event.at_ms
    return {  # times() spelled out: a replay --json builds one per event
        "session": event.session,
        "seq": event.seq,
        "at_ms": at_ms,
        "at": iso_utc(at_ms),
        "kind": event.kind,
        "text": event.text,
        "data": event.data,
    }


@cache
def json_encoder(*, compact: bool = False) -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=False)`` (with ``separators=(",", ":")`` when
    ``compact``) as one function made once, for encoding many values.

    ``json.dumps`` builds a new encoder for every call, which costs more than encoding a
    small value.  This makes CPython's C encoder once (``json.encoder.c_make_encoder``,
    not documented; ``JSONEncoder.encode`` where it is missing or differs).  The values
    are documents built from the store, which cannot hold a cycle: no cycle check.
    """
    import json
    from json import encoder as json_encoder

    item_separator, key_separator = (",", ":") if compact else (", ", ": ")
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(item_separator, key_separator))
    make_encoder = getattr(json_encoder, "c_make_encoder", None)
    if make_encoder is None:
        return encoder.encode
    try:
        # (markers, default, encoder, indent, key separator, item separator, sort_keys,
        # skipkeys, allow_nan): what JSONEncoder passes, without the cycle check.
        chunks = make_encoder(
            None, encoder.default, json_encoder.encode_basestring, None,
            key_separator, item_separator, False, False, True,
        )  # fmt: skip
    except TypeError:
        return encoder.encode
    join = "".join
    return lambda value: join(chunks(value, 0))


def event_json_lines(events: Iterable[Event]) -> Iterator[str]:
    """Each event's :func:`event_doc` as ``json.dumps(doc, ensure_ascii=False)`` gives it,
    written as text without building the dictionary (half the cost, for ``replay
    --json`` of many events).  tests/test_cli_json_stream.py holds the two to the same
    bytes: a field added to :func:`event_doc` goes here too."""
    from json.encoder import encode_basestring as quoted

    encode = json_encoder()
    for event in events:
        at_ms, data = event.at_ms, event.data
        at = iso_utc(at_ms)
        yield (
            f'{{"session": {quoted(event.session)}, "seq": {event.seq}, "at_ms": {at_ms}, '
            f'"at": {"null" if at is None else quoted(at)}, "kind": {quoted(event.kind)}, '
            f'"text": {quoted(event.text)}, "data": {"null" if data is None else encode(data)}}}'
        )


def milestone_doc(milestone: Milestone) -> dict[str, Any]:
    """A milestone as JSON."""
    return {"key": milestone.key, "value": milestone.value, **times("at", milestone.at_ms)}


def share_doc(store: Store, session: Session, *, tail: int | None = None) -> dict[str, Any]:
    """One document about ``session`` for a bug report: its metadata, its ancestors,
    events per kind, and its timeline (or only the last ``tail`` events)."""
    from ._transfer import FORMAT  # here: the listing commands need none of _transfer

    events = store.tail(session, tail) if tail is not None else list(store.replay(session))
    parents = []
    current = session
    while current.parent_ulid is not None:
        current = store.get(current.parent_ulid)
        parents.append(session_doc(current))
    return {
        "zero_session": {"version": __version__, "format": FORMAT},
        "session": session_doc(session),
        "parents": parents,
        "kinds": store.kind_counts(session),
        "events": [event_doc(e) for e in events],
    }
