"""A listing's limit is written into its SQL (SQLite re-prepares a bound ``LIMIT ?`` on
every run): every limit still gives exactly the newest sessions, on both paths."""

from __future__ import annotations

from pathlib import Path

from zero_session import Store


def test_every_limit_lists_the_newest_sessions(store: Store, tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    sessions = [store.start(cwd=tmp_path / "w" if i % 2 else tmp_path) for i in range(12)]
    store.archive(sessions[3])
    everything = [s.ulid for s in store.list_sessions(None)]
    assert len(everything) == 11
    in_w = [s.ulid for s in store.list_sessions(None, cwd=tmp_path / "w")]
    # More distinct limits than the statements kept per limit (64), twice over.
    for limit in [*range(1, 80), 2**31, *range(1, 5)]:
        assert [s.ulid for s in store.list_sessions(limit)] == everything[:limit]
        # The general path: a cwd filter, a cursor, archived sessions included.
        assert [s.ulid for s in store.list_sessions(limit, cwd=tmp_path / "w")] == in_w[:limit]
        after = store.list_sessions(limit, before=everything[0])
        assert [s.ulid for s in after] == everything[1 : 1 + limit]
        shown = store.list_sessions(limit, include_archived=True)
        assert len(shown) == min(limit, 12)
