"""Labels are never taken from another session by accident: LabelTaken unless move."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirunner import run

from zero_session import LabelTaken, Recorder, SessionCommands, Store


def test_a_taken_label_is_refused_unless_moved(store: Store) -> None:
    first, second = store.start(), store.start()
    store.label(first, "pre-cpi")
    store.label(first, "pre-cpi")  # the same session again: nothing to do
    with pytest.raises(LabelTaken) as caught:
        store.label(second, "pre-cpi")
    assert (caught.value.name, caught.value.ulid) == ("pre-cpi", first.ulid)
    assert first.ulid in str(caught.value)
    assert store.labels() == {"pre-cpi": first.ulid}  # left as it was
    store.label(second, "pre-cpi", move=True)
    assert store.labels() == {"pre-cpi": second.ulid}
    assert store.get(first).labels == ()


def test_the_label_of_a_deleted_session_is_free(store: Store) -> None:
    gone, kept = store.start(), store.start()
    store.label(gone, "x")
    store.end(gone)
    store.delete(gone)
    store.label(kept, "x")
    assert store.labels() == {"x": kept.ulid}


def test_save_refuses_a_taken_name_and_says_how_to_move_it(store: Store) -> None:
    other = store.start()
    store.label(other, "pre-cpi")
    with Recorder(store) as rec:
        commands = SessionCommands(rec)
        [refused] = commands.dispatch("/save pre-cpi")
        assert refused.kind == "error"
        assert other.ulid in refused.text and "/save pre-cpi --move" in refused.text
        assert store.labels() == {"pre-cpi": other.ulid}
        [moved] = commands.dispatch("/save pre-cpi --move")
        assert moved.kind == "info"
        assert store.labels() == {"pre-cpi": rec.current}
        [relabel] = commands.dispatch(f"/label pre-cpi {other.ulid}")
        assert relabel.kind == "error" and "--move" in relabel.text


def test_cli_label_refuses_then_moves(db_path: Path, store: Store) -> None:
    first, second = store.start(), store.start()
    store.label(first, "keep")
    refused = run(db_path, "label", second.ulid, "keep")
    assert refused.code == 1
    assert "--move" in refused.err and first.ulid in refused.err
    assert len(refused.err.splitlines()) == 1
    assert store.labels() == {"keep": first.ulid}
    moved = run(db_path, "label", second.ulid, "keep", "--move")
    assert moved.code == 0, moved.err
    assert store.labels() == {"keep": second.ulid}
