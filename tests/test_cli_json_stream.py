"""``replay --json`` and ``tail --json`` stream one JSON array with one event per line,
each line exactly what ``json.dumps(event_doc(event), ensure_ascii=False)`` gives, for
awkward texts and data too (the CLI reuses one C encoder instead of ``json.dumps``)."""

from __future__ import annotations

import json
from pathlib import Path

from clirunner import run

from zero_session import Store
from zero_session._documents import event_doc

AWKWARD = [
    ("prompt", "plain", None),
    ("system", "héllo wörld — 日本語 🙂", {"name": "é", "emoji": "🙂", "nested": {"a": [1, 2.5]}}),
    ("warn", 'quotes " and \\ backslash\nnew line\ttab \x1b[31m escape', {"q": '"\\'}),
    ("alert", "", {"big": 2**70, "neg": -1.25e-7, "t": True, "f": False, "n": None}),
    ("note.x", "  spaced  ", {"list": [[], {}, "", [None]], "zero": 0.0}),
    ("prompt", "\u2028 line separators \u2029", {"\u2028": "\u0000"}),
]


def test_replay_json_lines_are_json_dumps_of_each_event(db_path: Path, store: Store) -> None:
    session = store.start()
    store.append_many(session, AWKWARD)
    child = store.fork(session, at_seq=3)
    store.append(child, "prompt", "in the fork", data={"x": "ÿ"})
    expected = [json.dumps(event_doc(e), ensure_ascii=False) for e in store.replay(child)]

    result = run(db_path, "replay", child.ulid, "--json")
    assert result.code == 0, result.err
    assert result.out.splitlines() == ["[", *[f"{line}," for line in expected[:-1]],
                                       expected[-1], "]"]  # fmt: skip
    assert json.loads(result.out) == [event_doc(e) for e in store.replay(child)]

    tail = run(db_path, "tail", child.ulid, "-n", "2", "--json")
    assert tail.code == 0, tail.err
    assert tail.out.splitlines()[1:-1] == [f"{expected[-2]},", expected[-1]]


def test_an_empty_replay_is_an_empty_array(db_path: Path, store: Store) -> None:
    session = store.start()
    result = run(db_path, "replay", session.ulid, "--json")
    assert result.code == 0, result.err
    assert result.out == "[]\n"


def test_a_long_replay_is_one_array_across_pages_of_lines(db_path: Path, store: Store) -> None:
    session = store.start()
    store.append_many(session, [("system", f"line {n}", {"n": n}) for n in range(1_203)])
    result = run(db_path, "replay", session.ulid, "--json")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == 1_205
    assert all(line.endswith("},") for line in lines[1:-2]) and lines[-2].endswith("}")
    assert [json.loads(line.rstrip(","))["seq"] for line in lines[1:-1]] == list(range(1, 1_204))
