"""Random sequences of store operations agree with a plain in-memory model.

The model keeps, for every session, its timeline as a list of the ``Event`` values that
``append`` returned (a fork starts with a copy of its parent's first ``at_seq`` events),
whether it has ended, and its parent.  Every read the store offers is checked against it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from zero_session import Event, InvalidInput, SeqConflict, SessionEnded, Status, Store

KINDS = st.sampled_from(["prompt", "system", "command", "warn", "x.y-z_9"])
TEXT = st.text(max_size=12)  # any code point but the surrogates, NUL included
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
ITEMS = st.lists(st.tuples(KINDS, TEXT, JSON), max_size=4)


class SessionModel:
    def __init__(self, parent: str | None, fork_seq: int, inherited: list[Event]) -> None:
        self.parent = parent
        self.fork_seq = fork_seq
        self.timeline = inherited
        self.ended = False


class StoreMachine(RuleBasedStateMachine):
    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="zs-model-"))
        self.store = Store.open(self.folder / "model.db", durability="normal")
        self.model: dict[str, SessionModel] = {}

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @initialize(target=sessions)
    def first(self) -> str:
        return self.start()

    @rule(target=sessions)
    def start(self) -> str:
        session = self.store.start()
        assert (session.last_seq, session.fork_seq, session.parent_ulid) == (0, 0, None)
        self.model[session.ulid] = SessionModel(None, 0, [])
        return session.ulid

    @rule(ulid=sessions, kind=KINDS, text=TEXT, data=JSON)
    def append(self, ulid: str, kind: str, text: str, data: Any) -> None:
        model = self.model[ulid]
        if model.ended:
            try:
                self.store.append(ulid, kind, text, data=data)
            except SessionEnded:
                return
            raise AssertionError("an ended session accepted an append")
        event = self.store.append(ulid, kind, text, data=data)
        assert (event.session, event.seq, event.kind, event.text) == (
            ulid,
            len(model.timeline) + 1,
            kind,
            text,
        )
        assert event.data == data
        model.timeline.append(event)

    @rule(ulid=sessions, items=ITEMS)
    def append_many(self, ulid: str, items: list[tuple[str, str, Any]]) -> None:
        model = self.model[ulid]
        if model.ended and items:
            try:
                self.store.append_many(ulid, items)
            except SessionEnded:
                return
            raise AssertionError("an ended session accepted a batch")
        events = self.store.append_many(ulid, items)
        start = len(model.timeline) + 1
        assert [e.seq for e in events] == list(range(start, start + len(items)))
        assert [(e.kind, e.text, e.data) for e in events] == items
        model.timeline.extend(events)

    @rule(ulid=sessions, data=st.data())
    def append_expecting(self, ulid: str, data: st.DataObject) -> None:
        model = self.model[ulid]
        last = len(model.timeline)
        expected = data.draw(st.sampled_from([last, last + 1, max(0, last - 1)]), "expected")
        if model.ended:
            try:
                self.store.append(ulid, "command", "expect", expected_seq=expected)
            except SessionEnded:
                return
            raise AssertionError("an ended session accepted an append")
        if expected != last:
            try:
                self.store.append(ulid, "command", "expect", expected_seq=expected)
            except SeqConflict as conflict:
                assert (conflict.expected, conflict.actual) == (expected, last)
                return
            raise AssertionError("a wrong expected_seq was accepted")
        model.timeline.append(self.store.append(ulid, "command", "expect", expected_seq=last))

    @rule(target=sessions, ulid=sessions, data=st.data())
    def fork(self, ulid: str, data: st.DataObject) -> str:
        parent = self.model[ulid]
        last = len(parent.timeline)
        at_seq = data.draw(st.none() | st.integers(0, last), "at_seq")
        child = self.store.fork(ulid, at_seq=at_seq)
        fork_seq = last if at_seq is None else at_seq
        assert (child.parent_ulid, child.fork_seq, child.last_seq) == (ulid, fork_seq, fork_seq)
        self.model[child.ulid] = SessionModel(ulid, fork_seq, parent.timeline[:fork_seq])
        return child.ulid

    @rule(target=sessions, ulid=sessions, items=ITEMS, data=st.data())
    def fork_of_a_fork(
        self, ulid: str, items: list[tuple[str, str, Any]], data: st.DataObject
    ) -> MultipleResults[str]:
        """Fork, write to the child, fork the child anywhere (often below its fork point)
        and write there too: the case where ancestors' ranges must be cut short."""
        child = self.fork(ulid, data)
        self.append_many(child, items)
        grandchild = self.fork(child, data)
        self.append(grandchild, "warn", "grandchild", None)
        return multiple(child, grandchild)

    @rule(ulid=sessions, beyond=st.integers(1, 3))
    def fork_past_the_end(self, ulid: str, beyond: int) -> None:
        try:
            self.store.fork(ulid, at_seq=len(self.model[ulid].timeline) + beyond)
        except InvalidInput:
            return
        raise AssertionError("a fork past the end was accepted")

    @rule(ulid=sessions, data=st.data())
    def replay(self, ulid: str, data: st.DataObject) -> None:
        timeline = self.model[ulid].timeline
        after = data.draw(st.integers(0, len(timeline) + 2), "after_seq")
        assert list(self.store.replay(ulid, after_seq=after)) == timeline[after:]

    @rule(ulid=sessions, n=st.integers(0, 12))
    def tail(self, ulid: str, n: int) -> None:
        timeline = self.model[ulid].timeline
        assert self.store.tail(ulid, n) == (timeline[-n:] if n else [])

    @rule(
        ulid=sessions,
        after=st.integers(0, 12),
        limit=st.none() | st.integers(1, 5),
        kinds=st.none() | st.sets(KINDS, max_size=2),
    )
    def events(self, ulid: str, after: int, limit: int | None, kinds: set[str] | None) -> None:
        model = self.model[ulid]
        own = [
            e
            for e in model.timeline[model.fork_seq :]
            if e.seq > after and (kinds is None or e.kind in kinds)
        ]
        expected = own if limit is None else own[:limit]
        assert self.store.events(ulid, after_seq=after, limit=limit, kinds=kinds) == expected

    @rule(ulid=sessions)
    def end(self, ulid: str) -> None:
        first = self.store.end(ulid)
        again = self.store.end(ulid)
        assert first.ended_at_ms is not None and again.ended_at_ms == first.ended_at_ms
        assert again.status is Status.ENDED
        self.model[ulid].ended = True

    @rule(ulid=sessions)
    def resume(self, ulid: str) -> None:
        model = self.model[ulid]
        resumed = self.store.resume(ulid, tail=5)
        expected_status = Status.ENDED if model.ended else Status.LIVE
        assert resumed.previous_status is expected_status
        assert resumed.n_events == len(model.timeline)
        assert list(resumed.tail) == model.timeline[-5:]
        assert resumed.session.status is Status.LIVE
        model.ended = False

    @precondition(lambda self: len(self.model) > 1)
    @rule(ulid=consumes(sessions))
    def forget(self, ulid: str) -> None:
        """Drop a session from the draw pool (it stays in the model and the store)."""

    @invariant()
    def timelines_agree(self) -> None:
        for ulid, model in self.model.items():
            assert list(self.store.replay(ulid)) == model.timeline

    @invariant()
    def sessions_agree(self) -> None:
        listed = {s.ulid: s for s in self.store.list_sessions(limit=None)}
        assert set(listed) == set(self.model)
        for ulid, model in self.model.items():
            session = listed[ulid]
            assert session.last_seq == len(model.timeline)
            assert session.fork_seq == model.fork_seq
            assert session.n_events == len(model.timeline) - model.fork_seq
            assert session.parent_ulid == model.parent
            assert (session.ended_at_ms is not None) == model.ended


StoreMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStoreAgainstModel = StoreMachine.TestCase
