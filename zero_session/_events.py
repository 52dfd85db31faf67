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
from ._event_writes import insert_events, insert_prepared, insert_rows, insert_rows_at, reserve_seqs
from ._replay import TIMELINE_CHAIN_SQL, Owner, timeline_data, timeline_page

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
