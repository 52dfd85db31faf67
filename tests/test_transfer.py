"""Export → import reproduces a store exactly, and importing twice changes nothing
(a hypothesis property over random histories of sessions, forks, labels, milestones)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zero_session import InvalidInput, Store, TransferCounts

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)
_KIND = st.sampled_from(["prompt", "system", "command", "warn", "alert", "tool.call"])

# One step of a history: what to do and with which (random) arguments.  Session indexes
# are taken modulo the number of sessions so far.
_STEP = st.one_of(
    st.tuples(st.just("start"), _TEXT, st.dictionaries(_TEXT, _JSON, max_size=2)),
    st.tuples(st.just("append"), st.integers(0, 20), _KIND, _TEXT, _JSON),
    st.tuples(st.just("fork"), st.integers(0, 20), st.integers(0, 50)),
    st.tuples(st.just("end"), st.integers(0, 20)),
    st.tuples(st.just("label"), st.integers(0, 20), st.sampled_from(["a", "b", "pre-cpi"])),
    st.tuples(st.just("milestone"), st.sampled_from(["k1", "k2", "deploy.v"]), _TEXT),
    st.tuples(st.just("archive"), st.integers(0, 20)),
)


def _play(store: Store, steps: list[tuple[Any, ...]]) -> list[str]:
    sessions = [store.start(cli_version="1.0", meta={"n": 0}).ulid]
    for step in steps:
        pick = sessions[step[1] % len(sessions)] if isinstance(step[1], int) else None
        if step[0] == "start":
            sessions.append(store.start(cli_version=step[1], meta=step[2]).ulid)
        elif step[0] == "append" and pick and store.get(pick).ended_at_ms is None:
            store.append(pick, step[2], step[3], data=step[4])
        elif step[0] == "fork" and pick:
            at = step[2] % (store.get(pick).last_seq + 1)
            sessions.append(store.fork(pick, at_seq=at).ulid)
        elif step[0] == "end" and pick:
            store.end(pick)
        elif step[0] == "label" and pick:
            store.label(pick, step[2], move=True)
        elif step[0] == "milestone":
            store.set_milestone(step[1], step[2])
        elif step[0] == "archive" and pick:
            store.archive(pick)
    return sessions


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that matters, with internal ids replaced by ulids (``sealed_seq`` is the
    append-only guard's bookkeeping, which depends on how the events were written)."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        internal = {"id", "sealed_seq"}
        info = conn.execute("PRAGMA table_info(sessions)").fetchall()
        columns = [row[1] for row in info if row[1] not in internal]
        select = ", ".join("p.ulid" if c == "parent_id" else f"s.{c}" for c in columns)
        return {
            "sessions": conn.execute(
                f"SELECT {select} FROM sessions AS s "
                "LEFT JOIN sessions AS p ON p.id = s.parent_id ORDER BY s.ulid"
            ).fetchall(),
            "events": conn.execute(
                "SELECT s.ulid, e.seq, e.at_ms, e.kind, e.text, e.data FROM events AS e "
                "JOIN sessions AS s ON s.id = e.session_id ORDER BY s.ulid, e.seq"
            ).fetchall(),
            "milestones": conn.execute("SELECT * FROM milestones ORDER BY key").fetchall(),
            "listing_order": conn.execute(
                "SELECT ulid FROM sessions ORDER BY started_at_ms DESC, id DESC"
            ).fetchall(),
        }
    finally:
        conn.close()


def _export(store: Store, **options: Any) -> str:
    out = io.StringIO()
    store.export(out, **options)
    return out.getvalue()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(_STEP, max_size=25))
def test_export_import_round_trip(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source_path, copy_path = Path(tmp) / "source.db", Path(tmp) / "copy.db"
        with Store.open(source_path) as source:
            _play(source, steps)
            text = _export(source)
        with Store.open(copy_path) as copy:
            first = copy.import_(text.splitlines())
            second = copy.import_(io.StringIO(text))
            again = _export(copy)
        assert second == TransferCounts(0, 0, 0)
        original = _dump(source_path)
        assert first.sessions == len(original["sessions"])
        assert first.events == len(original["events"])
        assert _dump(copy_path) == original
        assert again.splitlines()[1:] == text.splitlines()[1:]


def test_partial_export_carries_ancestors_and_labels(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.db") as store:
        root = store.start()
        store.append_many(root, [("system", "1"), ("system", "2")])
        child = store.fork(root, at_seq=1)
        store.append(child, "prompt", "3")
        grandchild = store.fork(child)
        unrelated = store.start()
        store.label(root, "root")
        store.label(unrelated, "other")
        store.set_milestone("global", "not exported with a selection")
        text = _export(store, sessions=[grandchild])
    with Store.open(tmp_path / "b.db") as copy:
        assert copy.import_(text.splitlines()) == TransferCounts(3, 3, 1)
        assert [e.text for e in copy.replay(grandchild.ulid)] == ["1", "3"]
        assert copy.labels() == {"root": root.ulid}
        assert copy.get_milestone("global") is None


def test_import_extends_a_shorter_copy_and_refuses_a_different_one(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.db") as store:
        session = store.start()
        store.append(session, "system", "one")
        early = _export(store)
        store.append(session, "system", "two")
        late = _export(store)
    with Store.open(tmp_path / "b.db") as copy:
        copy.import_(early.splitlines())
        assert copy.import_(late.splitlines()) == TransferCounts(1, 1, 0)
        assert [e.text for e in copy.replay(session.ulid)] == ["one", "two"]
        assert copy.check().ok
        with pytest.raises(InvalidInput, match="differs from the store's"):
            copy.import_(late.replace('"text":"two"', '"text":"TWO"').splitlines())
        assert [e.text for e in copy.replay(session.ulid)] == ["one", "two"]


def test_text_typed_into_the_shell_travels_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with Store.open(path) as store:
        session = store.start()
        store.append(session, "system", "x", data={"a": 1})
    conn = apsw.Connection(str(path))
    conn.execute("UPDATE sessions SET meta = '{ \"spaced\" : true }', last_seq = 2")
    conn.execute(
        "INSERT INTO events (session_id, seq, at_ms, kind, text, data) "
        "SELECT id, 2, 5, 'system', 'typed', 'not json' FROM sessions"
    )
    conn.close()
    with Store.open(path) as store:
        text = _export(store)
    assert '"data_json":"not json"' in text and '"meta_json":' in text
    with Store.open(tmp_path / "b.db") as copy:
        copy.import_(text.splitlines())
    assert _dump(tmp_path / "b.db") == _dump(path)


def test_one_record_is_one_line_whatever_the_text(tmp_path: Path) -> None:
    tricky = "a\nb\rc\x85d\u2028e\u2029f\x1cg\x0bh"
    with Store.open(tmp_path / "a.db") as store:
        session = store.start(cli_version=tricky)
        store.append(session, "system", tricky, data={tricky: tricky})
        text = _export(store)
    assert len(text.splitlines()) == 3  # header, session, event
    with Store.open(tmp_path / "b.db") as copy:
        copy.import_(text.splitlines())
        assert [e.text for e in copy.replay(session.ulid)] == [tricky]
        assert copy.get(session.ulid).cli_version == tricky
