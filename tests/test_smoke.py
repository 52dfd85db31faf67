"""The design's API tour runs end to end on a real file."""

from __future__ import annotations

from zero_session import EventKind, Status, Store


def test_api_tour(store: Store) -> None:
    s = store.start(cli_version="0.3.0", engine_base_url=None, cwd=".", meta={"agent": "a1"})
    ev = store.append(s.ulid, EventKind.PROMPT, "buy 10", data={"qty": 10})
    evs = store.append_many(s.ulid, [("system", "ok"), ("warn", "slow")])
    assert [e.seq for e in evs] == [2, 3]
    store.append(s.ulid, "command", "/fork", expected_seq=ev.seq + 2)
    child = store.fork(s.ulid)
    assert [e.seq for e in store.replay(child.ulid)] == [1, 2, 3, 4]
    store.label(s.ulid, "pre-cpi")
    assert store.find("pre-cpi").ulid == s.ulid
    store.end(s.ulid)
    r = store.resume("pre-cpi", cli_version="0.3.1")
    assert r.previous_status is Status.ENDED
    assert r.n_events == 4
    assert "4 prior events" in r.banner()
