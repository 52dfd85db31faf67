"""``Event`` values built fast, for replays and the events an append returns.

Events are built without attrs' generated ``__init__`` (six calls through the frozen
class's guarded setattr): the slots are filled directly, column by column, each column
one ``map`` that runs in C.  ``Event`` has no validators or converters to skip
(``tests/test_fast_paths.py`` checks that, and the equality with ``Event(...)``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any

from .models import Event

__all__ = ["build_events", "new_event"]


_new = object.__new__
_set_session, _set_seq, _set_at_ms, _set_kind, _set_text, _set_data = (
    Event.__dict__[name].__set__ for name in ("session", "seq", "at_ms", "kind", "text", "data")
)


def new_event(session: str, seq: int, at_ms: int, kind: str, text: str, data: Any) -> Event:
    """``Event(session, seq, at_ms, kind, text, data)``, built in about half the time."""
    event = _new(Event)
    _set_session(event, session)
    _set_seq(event, seq)
    _set_at_ms(event, at_ms)
    _set_kind(event, kind)
    _set_text(event, text)
    _set_data(event, data)
    return event


def build_events(
    ulid: str,
    seqs: Iterable[int],
    at_mss: Iterable[int],
    kinds: Iterable[str],
    texts: Iterable[str],
    datas: Iterable[Any],
    count: int,
) -> list[Event]:
    """``count`` events of session ``ulid`` from their columns, each column filled by one
    ``map`` in C: no Python bytecode per event (~20 % less than a loop filling each)."""
    events = list(map(_new, repeat(Event, count)))
    consume: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend
    consume(map(_set_session, events, repeat(ulid, count)))
    consume(map(_set_seq, events, seqs))
    consume(map(_set_at_ms, events, at_mss))
    consume(map(_set_kind, events, kinds))
    consume(map(_set_text, events, texts))
    consume(map(_set_data, events, datas))
    return events
