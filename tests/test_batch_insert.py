"""Batch appends go in as multi-row INSERTs of power-of-two sizes (``_events.insert_rows_at``).

Every size, across the chunk boundaries, gives gapless seqs and exactly the events asked
for; a failure in a later chunk leaves nothing of the earlier ones; and a batch does not
push the store's other prepared statements out of apsw's cache (which ``executemany``
did: its per-row cache round trips cycle the cache's 100 slots).
"""

from __future__ import annotations

from typing import Any

import pytest

from zero_session import InvalidInput, Store, _events


def _items(n: int, start: int = 0) -> list[tuple[str, str, Any]]:
    kinds = ("prompt", "system", "agents.item")
    return [
        (kinds[i % 3], f"event {i}", {"i": i, "s": "é"} if i % 2 else None)
        for i in range(start, start + n)
    ]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 255, 256, 257, 600])
def test_every_batch_size_lands_whole_and_in_order(store: Store, n: int) -> None:
    session = store.start()
    store.append(session, "prompt", "before")
    items = _items(n)
    events = store.append_many(session, items)
    assert [e.seq for e in events] == list(range(2, n + 2))
    replayed = list(store.replay(session))[1:]
    assert replayed == events
    assert [(e.kind, e.text, e.data) for e in replayed] == items
    assert store.get(session.ulid).last_seq == n + 1
    # the rows path of the adapters lands the same way
    rows = [(k, t, _events.encode_data(d, max_bytes=1 << 20)) for k, t, d in items]
    assert store._append_rows(session.ulid, rows) == n + 2
    again = list(store.replay(session, after_seq=n + 1))
    assert [(e.seq, e.kind, e.text, e.data) for e in again] == [
        (n + 2 + i, k, t, d) for i, (k, t, d) in enumerate(items)
    ]


def test_a_failure_in_a_later_chunk_leaves_nothing(store: Store) -> None:
    session = store.start()
    store.append_many(session, _items(3))
    items = _items(300)
    items[290] = ("prompt", "\ud800 is not Unicode", None)  # fails in the third chunk
    with pytest.raises(InvalidInput, match="Unicode"):
        store.append_many(session, items)
    assert store.get(session.ulid).last_seq == 3
    assert [e.text for e in store.replay(session)] == ["event 0", "event 1", "event 2"]
    assert len(store.append_many(session, _items(300))) == 300


def test_a_batch_keeps_the_other_statements_prepared(store: Store) -> None:
    session = store.start()
    for _ in range(2):  # prepare every statement the append path uses
        store.append_many(session, _items(100))
    conn = store._conn
    assert conn is not None
    before = conn.cache_stats()
    store.append_many(session, _items(100))
    after = conn.cache_stats()
    assert after["misses"] == before["misses"]
