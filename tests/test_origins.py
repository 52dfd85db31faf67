"""Pulled sessions belong to their origin store: the local half of pull, without a server.

Store A records sessions; a batch made from A's public API (what a pull reads from the
server) is applied to store B with ``_pulled.apply_pulled``.  B may read, label, archive
and fork them, never continue them, and a bad batch leaves B's file as it was.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apsw
import pytest
from clirunner import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite3_cli import sqlite3_shell

from zero_session import (
    ForeignSession,
    InvalidInput,
    Recorder,
    SessionCommands,
    SessionNotFound,
    Status,
    Store,
)
from zero_session._pulled import PulledSession, apply_pulled
from zero_session._sync_source import store_id as made_store_id
from zero_session.models import Session


def store_id(store: Store) -> str:
    """The store's id, made on first use as push and pull make it."""
    found = made_store_id(store, create=True)
    assert found is not None
    return found


def pulled(source: Store, session: Session | str, *, after_seq: int | None = None) -> PulledSession:
    """What a pull of ``session`` from ``source`` carries: its metadata, its own events
    after ``after_seq`` (default: all), its labels in ``source``."""
    s = source.get(session)
    start = s.fork_seq if after_seq is None else after_seq
    events = [
        (e.seq, e.at_ms, e.kind, e.text, None if e.data is None else json.dumps(e.data))
        for e in source.events(s, after_seq=start, limit=None)
    ]
    return PulledSession(
        ulid=s.ulid,
        origin=store_id(source),
        parent_ulid=s.parent_ulid,
        fork_seq=s.fork_seq,
        started_at_ms=s.started_at_ms,
        ended_at_ms=s.ended_at_ms,
        cli_version=s.cli_version,
        engine_base_url=s.engine_base_url,
        cwd=s.cwd,
        meta_json=json.dumps(s.meta),
        expires_at_ms=s.expires_at_ms,
        origin_labels=s.labels,
        events=events,
    )


def snapshot(store: Store) -> Any:
    """Everything in the store's tables, to show a refused write changed nothing."""
    conn = apsw.Connection(store._path, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("sessions", "events", "milestones", "pulling_sessions")
        }
    finally:
        conn.close()


@pytest.fixture
def stores(tmp_path: Path, open_store: Callable[..., Store]) -> tuple[Store, Store]:
    return open_store(tmp_path / "a.db"), open_store(tmp_path / "b.db")


def tree(a: Store) -> tuple[Session, Session, Session]:
    """A three-level fork tree in A: root → child → grandchild, with events at each."""
    root = a.start(cli_version="1.0", meta={"agent": "a1"})
    a.append_many(root, [("prompt", "buy 10", {"qty": 10}), ("system", "ok")])
    a.append(root, "warn", "after the fork point")
    child = a.fork(root, at_seq=2)
    a.append(child, "prompt", "sell 5", data=[1, "x", None])
    grandchild = a.fork(child)
    a.append_many(grandchild, [("alert", "margin"), ("mode_change", "paper")])
    a.label(grandchild, "pre-cpi")
    return root, child, grandchild


def test_pulled_tree_replays_exactly_and_keeps_its_origin(stores: tuple[Store, Store]) -> None:
    a, b = stores
    root, child, grandchild = tree(a)
    got = apply_pulled(b, [pulled(a, s) for s in (root, child, grandchild)])
    assert [s.ulid for s in got] == [root.ulid, child.ulid, grandchild.ulid]
    assert list(b.replay(grandchild.ulid)) == list(a.replay(grandchild.ulid))
    assert b.check().ok
    mine = b.get(grandchild.ulid)
    assert mine.origin == store_id(a) != store_id(b)
    assert mine.origin_labels == ("pre-cpi",)
    assert mine.labels == () and b.labels() == {}  # never a local name
    with pytest.raises(SessionNotFound):
        b.find("pre-cpi")
    assert mine.last_seq == grandchild.last_seq + 2
    assert mine.status is Status.INTERRUPTED  # open at its origin, no writer here
    assert b.get(root.ulid).origin == store_id(a)


def test_session_list_view_shows_the_origin(stores: tuple[Store, Store], tmp_path: Path) -> None:
    a, b = stores
    root, child, grandchild = tree(a)
    apply_pulled(b, [pulled(a, s) for s in (root, child, grandchild)])
    own = b.start()
    out = sqlite3_shell(
        tmp_path / "b.db",
        ".mode list\nSELECT ulid, origin_store, origin_labels FROM session_list;\n",
    )
    rows = {line.split("|")[0]: line.split("|")[1:] for line in out.splitlines()}
    assert rows[grandchild.ulid] == [store_id(a), "pre-cpi"]
    assert rows[root.ulid] == [store_id(a), ""]
    assert rows[own.ulid] == ["", ""]


def test_writes_that_continue_a_pulled_session_are_refused(stores: tuple[Store, Store]) -> None:
    a, b = stores
    root = a.start()
    a.append(root, "prompt", "hi")
    a.end(root)
    live = a.start()
    a.append(live, "prompt", "still going")
    apply_pulled(b, [pulled(a, root), pulled(a, live)])
    before = snapshot(b)
    for target in (root.ulid, live.ulid):  # ended or open at the origin: never ours
        attempts: list[Callable[[], object]] = [
            lambda t=target: b.append(t, "prompt", "mine now?"),
            lambda t=target: b.append(t, "prompt", "expected", expected_seq=1),
            lambda t=target: b.append_many(t, [("system", "x"), ("system", "y")]),
            lambda t=target: b._append_rows(t, [("system", "fast", None)]),
            lambda t=target: b.end(t),
        ]
        for attempt in attempts:
            with pytest.raises(ForeignSession) as caught:
                attempt()
            assert caught.value.ulid == target
            assert caught.value.origin == store_id(a)
            assert store_id(a) in str(caught.value)
    assert snapshot(b) == before


def test_the_file_refuses_to_continue_a_pulled_session_from_the_shell(
    stores: tuple[Store, Store], tmp_path: Path
) -> None:
    a, b = stores
    root = a.start()
    a.append(root, "prompt", "hi")
    apply_pulled(b, [pulled(a, root)])
    before = snapshot(b)
    for sql in (
        f"UPDATE sessions SET last_seq = 2 WHERE ulid = '{root.ulid}';",
        f"UPDATE sessions SET ended_at_ms = 1 WHERE ulid = '{root.ulid}';",
        f"UPDATE sessions SET origin_store_id = NULL WHERE ulid = '{root.ulid}';",
        "INSERT INTO events (session_id, seq, at_ms, kind, text) "
        f"SELECT id, 2, 1, 'prompt', 'x' FROM sessions WHERE ulid = '{root.ulid}';",
    ):
        with pytest.raises(subprocess.CalledProcessError):
            sqlite3_shell(tmp_path / "b.db", sql)
    assert snapshot(b) == before


def test_local_labels_and_archive_are_allowed(stores: tuple[Store, Store]) -> None:
    a, b = stores
    root = a.start()
    a.label(root, "theirs")
    apply_pulled(b, [pulled(a, root)])
    b.label(root.ulid, "mine")
    assert b.find("mine").ulid == root.ulid
    assert b.archive(root.ulid).status is Status.ARCHIVED
    got = b.get(root.ulid)
    assert got.labels == ("mine",) and got.origin_labels == ("theirs",)
    # The origin's label is no local name: another session may take it here.
    other = b.start()
    b.label(other, "theirs")
    assert b.find("theirs").ulid == other.ulid


def test_resume_continues_a_pulled_session_in_a_local_fork(stores: tuple[Store, Store]) -> None:
    a, b = stores
    _, _, grandchild = tree(a)
    chain = [pulled(a, s) for s in (grandchild.ulid,)]
    root_ulid = a.get(a.get(grandchild.ulid).parent_ulid or "").parent_ulid or ""
    child_ulid = a.get(grandchild.ulid).parent_ulid or ""
    apply_pulled(b, [pulled(a, root_ulid), pulled(a, child_ulid), *chain])
    resumed = b.resume(grandchild.ulid, cli_version="1.0")
    fork = resumed.session
    assert fork.ulid != grandchild.ulid
    assert fork.parent_ulid == grandchild.ulid
    assert fork.fork_seq == a.get(grandchild.ulid).last_seq == resumed.n_events
    assert fork.origin is None
    assert any("belongs to store" in w and store_id(a) in w for w in resumed.warnings)
    assert list(resumed.tail) == list(a.replay(grandchild.ulid))[-len(resumed.tail) :]
    b.append(fork, "prompt", "continued on B")
    timeline = list(b.replay(fork))
    assert timeline[:-1] == list(a.replay(grandchild.ulid))
    assert timeline[-1].text == "continued on B"
    assert b.get(grandchild.ulid).last_seq == a.get(grandchild.ulid).last_seq


def test_recorder_and_slash_resume_write_to_a_local_fork(stores: tuple[Store, Store]) -> None:
    a, b = stores
    root = a.start()
    a.append(root, "prompt", "from A")
    a.label(root, "shared")
    apply_pulled(b, [pulled(a, root)])
    rec = Recorder(b, resume=root.ulid)
    assert rec.current != root.ulid
    rec.record("prompt", "from the recorder")
    rec.close()
    assert b.get(root.ulid).last_seq == 1
    assert [e.text for e in b.replay(rec.current)] == ["from A", "from the recorder"]

    rec2 = Recorder(b)
    lines = SessionCommands(rec2).dispatch(f"/resume {root.ulid}")
    assert any("belongs to store" in line.text for line in lines)
    assert rec2.current not in (None, root.ulid)
    rec2.record("prompt", "via /resume")
    rec2.close()
    assert b.get(root.ulid).last_seq == 1


def test_the_agents_adapter_continues_a_pulled_conversation_in_a_fork(
    stores: tuple[Store, Store],
) -> None:
    """The adapter's fast path is refused on the pulled session (ForeignSession, which
    the adapter answers by writing to a local fork of it): the pulled copy never
    changes."""
    pytest.importorskip("agents")
    from zero_session.adapters.openai_agents import MILESTONE_PREFIX, ZeroAgentsSession

    a, b = stores
    conversation = ZeroAgentsSession("conv", a)
    asyncio.run(conversation.add_items([{"role": "user", "content": "hi"}]))
    ulid = asyncio.run(conversation.ulid())
    apply_pulled(b, [pulled(a, ulid)])
    b.set_milestone(MILESTONE_PREFIX + "conv", ulid)
    pulled_row = b.get(ulid)
    pulled_events = list(b.replay(ulid))
    with pytest.raises(ForeignSession):
        b._append_rows(ulid, [("agents.item", "x", '{"role":"user","content":"x"}')])
    on_b = ZeroAgentsSession("conv", b)
    asyncio.run(on_b.add_items([{"role": "user", "content": "mine"}]))
    fork = asyncio.run(on_b.ulid())
    assert fork != ulid and b.get(fork).parent_ulid == ulid and b.get(fork).origin is None
    assert asyncio.run(on_b.get_items()) == [
        {"role": "user", "content": "hi"},
        {"role": "user", "content": "mine"},
    ]
    assert b.get(ulid) == pulled_row and list(b.replay(ulid)) == pulled_events


def test_a_later_batch_brings_new_events_and_refreshes_metadata(
    stores: tuple[Store, Store],
) -> None:
    a, b = stores
    root = a.start()
    a.append(root, "prompt", "one")
    apply_pulled(b, [pulled(a, root)])
    a.append_many(root, [("system", "two"), ("system", "three", {"k": "v"})])
    a.label(root, "later")
    a.end(root)
    got = apply_pulled(b, [pulled(a, root, after_seq=1)])[0]
    assert got.last_seq == 3 and got.origin_labels == ("later",)
    assert got.ended_at_ms == a.get(root).ended_at_ms and got.status is Status.ENDED
    assert list(b.replay(root.ulid)) == list(a.replay(root.ulid))
    # Nothing new: the same batch again changes nothing but is not an error.
    again = apply_pulled(b, [pulled(a, root, after_seq=3)])[0]
    assert again == got


def _broken(batch: list[PulledSession], index: int, **changes: Any) -> list[PulledSession]:
    import attrs

    return [attrs.evolve(p, **changes) if i == index else p for i, p in enumerate(batch)]


def test_a_bad_batch_leaves_the_file_unchanged(stores: tuple[Store, Store]) -> None:
    a, b = stores
    root, child, grandchild = tree(a)
    apply_pulled(b, [pulled(a, root)])
    a.append_many(root, [("prompt", "new on A"), ("system", "more")])
    good = [pulled(a, root, after_seq=3), pulled(a, child), pulled(a, grandchild)]
    events = list(good[2].events)
    someone = b.start()
    cases: list[tuple[list[PulledSession], str]] = [
        (_broken(good, 2, events=[events[0], (events[1][0] + 1, *events[1][1:])]), "gapless"),
        (_broken(good, 0, events=list(good[0].events)[1:]), "start at seq"),
        (_broken(good, 2, parent_ulid=someone.ulid[:-1] + "0"), "is not here"),
        ([good[0], good[2], good[1]], "is not here"),  # children before parents
        (_broken(good, 0, origin=store_id(b)), "this store"),
        (_broken(good, 0, origin=someone.ulid), "not to"),  # A's root claimed for another
        (_broken(good, 2, events=[(events[0][0], 1, "Bad Kind", "x", None)]), "kind"),
        (_broken(good, 2, events=[(events[0][0], 1, "prompt", "x", "{not json")]), "JSON"),
        (_broken(good, 1, fork_seq=99), "past its parent"),
        (_broken(good, 0, started_at_ms=1), "differ"),
        (_broken(good, 1, meta_json="[1"), "meta"),
    ]
    before = snapshot(b)
    for batch, fragment in cases:
        with pytest.raises(InvalidInput) as caught:
            apply_pulled(b, batch)
        assert fragment in str(caught.value), (fragment, str(caught.value))
        assert snapshot(b) == before
    apply_pulled(b, good)
    assert list(b.replay(grandchild.ulid)) == list(a.replay(grandchild.ulid))


def test_cli_list_and_show_name_the_origin(stores: tuple[Store, Store], tmp_path: Path) -> None:
    a, b = stores
    root = a.start()
    a.label(root, "theirs")
    apply_pulled(b, [pulled(a, root)])
    own = b.start()
    db = tmp_path / "b.db"
    listing = run(db, "list")
    assert listing.code == 0, listing
    assert "ORIGIN" in listing.out and store_id(a) in listing.out and "(theirs)" in listing.out
    docs = {d["ulid"]: d for d in run(db, "list", "--json").json()}
    assert docs[root.ulid]["origin"] == store_id(a)
    assert docs[root.ulid]["origin_labels"] == ["theirs"]
    assert docs[own.ulid]["origin"] is None
    shown = run(db, "show", root.ulid)
    assert shown.code == 0 and f"store {store_id(a)} (theirs)" in shown.out
    assert run(db, "show", root.ulid, "--json").json()["origin"] == store_id(a)


def test_importing_more_events_of_a_pulled_session_is_refused(
    stores: tuple[Store, Store],
) -> None:
    import io

    from zero_session import ZeroSessionError

    a, b = stores
    root = a.start()
    a.append(root, "prompt", "one")
    apply_pulled(b, [pulled(a, root)])
    a.append(root, "prompt", "two")
    exported = io.StringIO()
    a.export(exported, sessions=[root.ulid])
    before = snapshot(b)
    with pytest.raises(ZeroSessionError, match="belongs to its origin store"):
        b.import_(exported.getvalue().splitlines(keepends=True))
    assert snapshot(b) == before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("start")),
            st.tuples(st.just("append"), st.integers(0, 9), st.integers(1, 4)),
            st.tuples(st.just("fork"), st.integers(0, 9), st.integers(0, 50)),
            st.tuples(st.just("end"), st.integers(0, 9)),
            st.tuples(st.just("label"), st.integers(0, 9), st.sampled_from(["x", "y"])),
            st.tuples(st.just("pull")),
        ),
        max_size=25,
    )
)
def test_incremental_batches_always_replay_like_the_origin(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[Any, ...]]
) -> None:
    """Whatever A records, forks, ends and labels between pulls, B's copies replay like
    A's after every pull (the batches a pull would make: new sessions parents first, the
    events after B's copy)."""
    folder = tmp_path_factory.mktemp("prop")
    with Store.open(folder / "a.db") as a, Store.open(folder / "b.db") as b:
        made: list[str] = []

        def pull_all() -> None:
            batch = []
            for ulid in made:  # creation order: parents first
                mine = b.get(ulid) if ulid in have else None
                batch.append(pulled(a, ulid, after_seq=mine.last_seq if mine else None))
            apply_pulled(b, batch)
            have.update(made)

        have: set[str] = set()
        for step in steps:
            pick = made[step[1] % len(made)] if len(step) > 1 and made else None
            if step[0] == "start":
                made.append(a.start().ulid)
            elif step[0] == "append" and pick and a.get(pick).ended_at_ms is None:
                a.append_many(pick, [("system", f"e{i}", {"i": i}) for i in range(step[2])])
            elif step[0] == "fork" and pick:
                made.append(a.fork(pick, at_seq=step[2] % (a.get(pick).last_seq + 1)).ulid)
            elif step[0] == "end" and pick:
                a.end(pick)
            elif step[0] == "label" and pick:
                a.label(pick, step[2], move=True)
            elif step[0] == "pull":
                pull_all()
        pull_all()
        for ulid in made:
            assert list(b.replay(ulid)) == list(a.replay(ulid))
            here, there = b.get(ulid), a.get(ulid)
            assert (here.ended_at_ms, here.origin_labels) == (there.ended_at_ms, there.labels)
        assert b.check().ok
