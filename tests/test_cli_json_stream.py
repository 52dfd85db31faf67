"""``replay --json`` and ``tail --json`` stream one JSON array with one event per line,
each line exactly what ``json.dumps(event_doc(event), ensure_ascii=False)`` gives, for
awkward texts and data too (the CLI writes the lines itself with one C encoder instead
of ``json.dumps``), and the shared encoder is ``json.dumps`` with or without CPython's C
encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirunner import run

from zero_session import Event, Store
from zero_session._documents import event_doc, event_json_lines, json_encoder

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


ODD_DATA = [
    None,
    0,
    -1.5e-300,
    2**80,
    "",
    'text with "quotes", \\ and \x00\x1f\x7f\x9b\u2028 é 日本 🙂',
    [],
    {},
    {"nested": [{"a": [None, True, False, 1.0, 1e16]}], "": {"": ""}},
]


def _events() -> list[Event]:
    return [
        Event("01KTEST", seq, 1_700_000_000_000 + seq * 997, kind, text, data)
        for seq, (kind, text, data) in enumerate(
            [(k, t, d) for k, t, _ in AWKWARD for d in ODD_DATA], start=1
        )
    ]


def test_event_lines_are_json_dumps_of_the_documents() -> None:
    events = _events()
    expected = [json.dumps(event_doc(e), ensure_ascii=False) for e in events]
    assert list(event_json_lines(events)) == expected


@pytest.mark.parametrize("compact", [False, True])
def test_the_shared_encoder_is_json_dumps(compact: bool) -> None:
    separators = (",", ":") if compact else (", ", ": ")
    encode = json_encoder(compact=compact)
    for value in ODD_DATA:
        assert encode(value) == json.dumps(value, ensure_ascii=False, separators=separators)


def test_without_the_c_encoder_the_same_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where CPython's undocumented C encoder is missing, JSONEncoder does the work."""
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    json_encoder.cache_clear()
    try:
        events = _events()
        expected = [json.dumps(event_doc(e), ensure_ascii=False) for e in events]
        assert list(event_json_lines(events)) == expected
        for value in ODD_DATA:
            compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            assert json_encoder(compact=True)(value) == compact
    finally:
        json_encoder.cache_clear()
