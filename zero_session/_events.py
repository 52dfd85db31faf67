"""The event concern's names in one place, for the Store, the adapters and the tools.

The code lives in one module per job:

- :mod:`zero_session._event_input`: checking and encoding kinds, texts and ``data``
  before the write transaction (InvalidInput names the problem);
- :mod:`zero_session._event_writes`: reserving seqs and inserting rows inside it;
- :mod:`zero_session._event_reads`: primary-key range reads of one session's events;
- :mod:`zero_session._replay`: a timeline through its forks (the segment chain, pages);
- :mod:`zero_session._event_values`: ``Event`` values built fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._event_input import (
        MAX_DATA_DEPTH,
        Row,
        check_kind,
        check_size,
        deeper_than,
        encode_as_json_dumps,
        encode_data,
        encode_each_as_json_dumps,
        prepare_event,
        prepare_items,
    )
    from ._event_reads import decode_all, own_events, to_events
    from ._event_values import build_events, new_event
    from ._event_writes import (
        insert_events,
        insert_prepared,
        insert_rows,
        insert_rows_at,
        reserve_seqs,
    )
    from ._replay import TIMELINE_CHAIN_SQL, Owner, timeline_data, timeline_page

# Where each name lives.  The modules load when one of their names is first used
# (PEP 562), and the names are then plain attributes of this module: a program that only
# lists sessions, and `zero-session list`, load none of them (~2 ms of imports).
_MODULES = {
    "_event_input": (
        "MAX_DATA_DEPTH",
        "Row",
        "check_kind",
        "check_size",
        "deeper_than",
        "encode_as_json_dumps",
        "encode_data",
        "encode_each_as_json_dumps",
        "prepare_event",
        "prepare_items",
    ),
    "_event_reads": ("decode_all", "own_events", "to_events"),
    "_event_values": ("build_events", "new_event"),
    "_event_writes": (
        "insert_events",
        "insert_prepared",
        "insert_rows",
        "insert_rows_at",
        "reserve_seqs",
    ),
    "_replay": ("TIMELINE_CHAIN_SQL", "Owner", "timeline_data", "timeline_page"),
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module_name = _MODULE_OF.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = import_module(f"{__package__}.{module_name}")
    names = globals()
    for each in _MODULES[module_name]:
        names[each] = getattr(module, each)
    return names[name]


__all__ = [
    "MAX_DATA_DEPTH",
    "TIMELINE_CHAIN_SQL",
    "Owner",
    "Row",
    "build_events",
    "check_kind",
    "check_size",
    "decode_all",
    "deeper_than",
    "encode_as_json_dumps",
    "encode_data",
    "encode_each_as_json_dumps",
    "insert_events",
    "insert_prepared",
    "insert_rows",
    "insert_rows_at",
    "new_event",
    "own_events",
    "prepare_event",
    "prepare_items",
    "reserve_seqs",
    "timeline_data",
    "timeline_page",
    "to_events",
]
