"""Hostile import files: whatever a line holds, import raises InvalidInput naming the
file and line, imports nothing, and the CLI prints one line and exits 1 without leaving
a new store file behind.

Each case once escaped as a bare Python error: deep nesting (RecursionError), integers
past 64 bits (OverflowError), a ``type`` that is a list (TypeError), a line of
gigabytes (MemoryError).  The caps are documented in ``docs/reliability.md``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from clirunner import assert_user_error, run

from zero_session import InvalidInput, Store
from zero_session._events import MAX_DATA_DEPTH
from zero_session._transfer import max_line_chars

HEADER = json.dumps({"type": "zero-session-export", "format": 1})
ULID = "01JCCCCCCCCCCCCCCCCCCCCCCC"
SESSION = {
    "type": "session",
    "ulid": ULID,
    "parent": None,
    "fork_seq": 0,
    "started_at_ms": 1,
    "last_seq": 1,
    "meta": {},
}
EVENT = {"type": "event", "session": ULID, "seq": 1, "at_ms": 1, "kind": "prompt", "text": "x"}
DEEP = "[" * 100_000 + "]" * 100_000
HUGE = 2**70


def line(record: dict[str, object], **changes: object) -> str:
    return json.dumps({**record, **changes})


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


# name -> (lines, the line number the error must name)
CASES: dict[str, tuple[list[str], int]] = {
    "deep line": ([HEADER, DEEP], 2),
    "deep header": ([DEEP], 1),
    "deep data": ([HEADER, line(SESSION), line(EVENT, data=None).replace("null", DEEP)], 3),
    "data one level too deep": (
        [HEADER, line(SESSION), line(EVENT, data=None).replace("null", nested(MAX_DATA_DEPTH + 1))],
        3,
    ),
    "deep data_json": ([HEADER, line(SESSION), line(EVENT, data_json=DEEP)], 3),
    "deep meta_json": ([HEADER, line(SESSION, meta_json=DEEP)], 2),
    "deep unknown field": ([HEADER, line(SESSION, extra=None).replace("null", nested(900))], 2),
    "type is a list": ([HEADER, '{"type": []}'], 2),
    "type is an object": ([HEADER, '{"type": {"a": 1}}'], 2),
    "huge last_seq": ([HEADER, line(SESSION, last_seq=HUGE)], 2),
    "huge started_at_ms": ([HEADER, line(SESSION, started_at_ms=-HUGE)], 2),
    "huge ended_at_ms": ([HEADER, line(SESSION, ended_at_ms=HUGE)], 2),
    "huge writer_pid": ([HEADER, line(SESSION, writer_pid=HUGE)], 2),
    "huge event at_ms": ([HEADER, line(SESSION), line(EVENT, at_ms=HUGE)], 3),
    "huge seq": ([HEADER, line(SESSION), line(EVENT, seq=HUGE)], 3),
    "4000-digit integer": ([HEADER, line(SESSION, last_seq=10**4000)], 2),
    "huge milestone time": (
        [HEADER, json.dumps({"type": "milestone", "key": "k", "value": "v", "at_ms": HUGE})],
        2,
    ),
    "lone surrogate in text": ([HEADER, line(SESSION), line(EVENT, text="\ud800")], 3),
    "lone surrogate in a milestone key": (
        [HEADER, json.dumps({"type": "milestone", "key": "\udfff", "value": "v", "at_ms": 1})],
        2,
    ),
    "lone surrogate in meta": ([HEADER, line(SESSION, meta={"\ud800": 1})], 2),
    "text is a number": ([HEADER, line(SESSION), line(EVENT, text=5)], 3),
}


def _import_error(store: Store, lines: list[str]) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        store.import_(lines, source="hostile.jsonl")
    return caught.value


def _rows(store: Store) -> tuple[object, ...]:
    return (store.list_sessions(limit=None), store.milestones())


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_line_is_invalid_input_naming_the_line(store: Store, case: str) -> None:
    kept = store.start(cwd="/")
    store.append(kept, "prompt", "kept")
    store.set_milestone("before", "import")
    before = _rows(store)
    lines, number = CASES[case]
    error = _import_error(store, lines)
    assert str(error).startswith(f"hostile.jsonl:{number}: "), error
    assert len(str(error)) < 300  # names the problem, does not echo the input
    assert _rows(store) == before
    assert [e.text for e in store.replay(kept)] == ["kept"]


def test_data_at_the_depth_cap_round_trips(store: Store, tmp_path: Path) -> None:
    """The caps refuse only what the API itself would never write."""
    data: object = 1
    for _ in range(MAX_DATA_DEPTH):
        data = [data]
    session = store.start(cwd="/", meta={"deep": data[0]})  # type: ignore[index]
    store.append(session, "prompt", "deep", data=data)
    out = io.StringIO()
    store.export(out)
    with Store.open(tmp_path / "copy.db") as copy:
        copy.import_(out.getvalue().splitlines())
        assert copy.tail(session, 1)[0].data == data
        assert copy.get(session).meta == {"deep": data[0]}  # type: ignore[index]


def test_line_longer_than_the_cap_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    """A file of one endless line (no newline at all): read at most the cap, refused."""
    with Store.open(tmp_path / "small.db", max_event_bytes=1_000) as store:
        cap = max_line_chars(1_000)
        reads: list[int] = []

        class Endless(io.StringIO):
            def readline(self, size: int | None = -1, /) -> str:
                reads.append(size if size is not None else -1)
                return HEADER + "\n" if len(reads) == 1 else " " * size if size else ""

        error = _import_error(store, Endless())
        assert str(error).startswith("hostile.jsonl:2: line longer than"), error
        assert reads == [cap + 1, cap + 1]
        assert store.list_sessions() == []


def test_an_export_of_max_size_events_fits_the_line_cap(tmp_path: Path) -> None:
    """The worst escaping: control characters in text and in data typed as raw JSON."""
    cap_bytes = 2_000
    with Store.open(tmp_path / "a.db", max_event_bytes=cap_bytes) as store:
        session = store.start(cwd="/")
        store.append(session, "prompt", "\x01" * cap_bytes)
        store.append(session, "prompt", "", data=["\x01" * (cap_bytes // 6 - 1)])
        out = io.StringIO()
        store.export(out)
    longest = max(len(text) for text in out.getvalue().splitlines())
    assert longest <= max_line_chars(cap_bytes)
    with Store.open(tmp_path / "b.db", max_event_bytes=cap_bytes) as copy:
        assert copy.import_(out.getvalue().splitlines()).events == 2


@pytest.mark.parametrize("case", ["deep line", "huge last_seq", "type is a list"])
def test_cli_import_of_hostile_file_is_one_line_and_leaves_no_new_store(
    tmp_path: Path, case: str
) -> None:
    lines, number = CASES[case]
    source = tmp_path / "hostile.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "new" / "folder" / "sessions.db"
    result = run(db, "import", str(source))
    assert_user_error(result, f"{source}:{number}:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.jsonl"]


def test_cli_import_of_a_line_of_gigabytes_stops_at_the_cap(tmp_path: Path) -> None:
    """A line far past the cap (default max_event_bytes) is refused at the cap."""
    source = tmp_path / "huge.jsonl"
    cap = max_line_chars(16 * 1024 * 1024)
    with source.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        out.truncate(len(HEADER) + 1 + cap + 1_000)  # a hole reads as NULs: one long line
    db = tmp_path / "sessions.db"
    result = run(db, "import", str(source))
    assert_user_error(result, f"{source}:2: line longer than")
    assert not db.exists()


def test_cli_import_into_an_existing_store_keeps_it(tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    with Store.open(db) as store:
        store.append(store.start(cwd="/"), "prompt", "kept")
    source = tmp_path / "hostile.jsonl"
    source.write_text("\n".join(CASES["deep data"][0]) + "\n", encoding="utf-8")
    assert_user_error(run(db, "import", str(source)), f"{source}:3:")
    with Store.open(db) as store:
        assert [s.n_events for s in store.list_sessions()] == [1]
