"""Hostile input: odd text round-trips exactly; bad input is TypeError or a
ZeroSessionError and leaves the file exactly as it was; SQL injection goes nowhere;
invalid UTF-8 typed into the sqlite3 shell reads back with U+FFFD.
"""

from __future__ import annotations

import inspect
import io
import math
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import apsw
import pytest
from sqlite3_cli import sqlite3_shell

from zero_session import InvalidInput, Session, Store, ZeroSessionError
from zero_session.store import DEFAULT_MAX_EVENT_BYTES

MiB = 1024 * 1024


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table and the schema, through a separate connection."""
    conn = apsw.Connection(store.path, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
                "'sqlite_%' AND name NOT LIKE '%search%' AND name NOT LIKE '%fts%' ORDER BY 1"
            )
        ]
        out = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
        out["sqlite_schema"] = conn.execute(
            "SELECT type, name, sql FROM sqlite_schema ORDER BY name"
        ).fetchall()
        return out
    finally:
        conn.close()


@pytest.fixture
def fast_store(open_store: Callable[..., Store]) -> Store:
    """Input validation does not need fsyncs."""
    return open_store(durability="normal")


ODD_TEXTS = [
    "",
    'it\'s "quoted" `back` \\slash',
    "nul\x00inside\x00",
    "\x00",
    "emoji 🧪 and 中文 and עברית",
    "\r\n\t\x0b\x0c\x1b[31mred\x1b[0m",
    "\ufeffbom \u200b zero width \U0010ffff",
    "%_ like wildcards *?[]",
]

INJECTIONS = [
    "'; DROP TABLE events; --",
    '"); DELETE FROM sessions; --',
    "x' OR '1'='1",
    "') UNION SELECT key, value, at_ms FROM milestones --",
    "*/ DROP TABLE milestones; /*",
    "%",
    "_",
]


def test_odd_text_round_trips(fast_store: Store, db_path: Path) -> None:
    store = fast_store
    session = store.start(cwd="/", cli_version="'1'\x00", meta={"q'\"": "\x00'--"})
    sent = [store.append(session, "prompt", text, data={text: [text]}) for text in ODD_TEXTS]
    with Store.open(db_path, readonly=True) as other:
        got = list(other.replay(session))
        assert [(e.text, e.data) for e in got] == [(e.text, e.data) for e in sent]
        fresh = other.get(session)
        assert fresh.cli_version == "'1'\x00"
        assert fresh.meta == {"q'\"": "\x00'--"}


def test_sql_injection_through_every_string(fast_store: Store, tmp_path: Path) -> None:
    store = fast_store
    store.search("anything")  # the first search creates the search objects
    before = dump(store)["sqlite_schema"]
    for attempt in INJECTIONS:
        folder = tmp_path / attempt.replace("/", "|")
        s = store.start(
            cli_version=attempt, engine_base_url=attempt, cwd=folder, meta={attempt: attempt}
        )
        assert store.latest(folder) == store.get(s)
        event = store.append(s, "prompt", attempt, data={attempt: attempt})
        assert list(store.replay(s)) == [event]
        label = attempt.replace(" ", "")
        store.label(s, label)
        assert store.find(label).ulid == s.ulid
        store.set_milestone(attempt, attempt)
        assert store.get_milestone(attempt) == attempt
        assert store.set_milestone_once(attempt, "other") is False
        with pytest.raises(ZeroSessionError):
            store.find(attempt + "zz")
        with pytest.raises(ZeroSessionError):
            store.resume(attempt + "zz")
        with pytest.raises(InvalidInput):
            store.append(s, attempt, "kind")
        with pytest.raises(InvalidInput):
            store.events(s, kinds=[attempt])
        hits = {(h.session, h.seq) for h in store.search(attempt, literal=True, limit=100)}
        if any(ch.isalnum() for ch in attempt):
            assert (s.ulid, 1) in hits
        with suppress(InvalidInput):  # FTS5 syntax errors are bad input, nothing else
            store.search(attempt)
        store.unlabel(label)
    # LIKE wildcards in a prefix are plain characters.
    assert [m.key for m in store.milestones("%")] == ["%"]
    assert [m.key for m in store.milestones("_")] == ["_"]
    assert dump(store)["sqlite_schema"] == before
    assert len(store.list_sessions(None)) == len(INJECTIONS)
    assert store.check().ok


LONE_SURROGATE = "bad \ud800 half"


def test_lone_surrogates_are_refused_everywhere(fast_store: Store) -> None:
    store = fast_store
    s = store.start(cwd="/")
    store.append(s, "prompt", "ok")
    before = dump(store)
    attempts: dict[str, Callable[[], object]] = {
        "text": lambda: store.append(s, "prompt", LONE_SURROGATE),
        "data": lambda: store.append(s, "prompt", "x", data={"k": LONE_SURROGATE}),
        "data key": lambda: store.append(s, "prompt", "x", data={LONE_SURROGATE: 1}),
        "batch": lambda: store.append_many(s, [("prompt", "fine"), ("prompt", LONE_SURROGATE)]),
        "label": lambda: store.label(s, "l\ud800"),
        "milestone key": lambda: store.set_milestone(LONE_SURROGATE, "v"),
        "milestone value": lambda: store.set_milestone("k", LONE_SURROGATE),
        "cli_version": lambda: store.start(cli_version=LONE_SURROGATE),
        "engine_base_url": lambda: store.start(engine_base_url=LONE_SURROGATE),
        "meta": lambda: store.start(meta={"k": LONE_SURROGATE}),
        "cwd": lambda: store.start(cwd="/tmp/\ud800"),
        "resume": lambda: store.resume(s.ulid, cli_version=LONE_SURROGATE),
        "find": lambda: store.find(LONE_SURROGATE),
        "search": lambda: store.search(LONE_SURROGATE),
        "latest": lambda: store.latest("/tmp/\ud800"),
        "open": lambda: Store.open("/tmp/\ud800.db"),
        "open nul": lambda: Store.open("/tmp/a\x00b.db"),
    }
    for name, attempt in attempts.items():
        with pytest.raises((InvalidInput, ZeroSessionError)):
            attempt()
            pytest.fail(f"{name} accepted a lone surrogate")
    assert dump(store) == before
    assert [e.text for e in store.replay(s)] == ["ok"]


def test_one_megabyte_round_trips(store: Store) -> None:
    s = store.start(cwd="/")
    text = "é" * (MiB // 2)  # 1 MiB of UTF-8
    data = {"blob": "x" * MiB, "list": list(range(10_000))}
    store.append(s, "prompt", text, data=data)
    (event,) = store.replay(s)
    assert (event.text, event.data) == (text, data)


def test_hundred_megabytes_are_refused_quickly(store: Store) -> None:
    assert 16 * MiB == DEFAULT_MAX_EVENT_BYTES
    s = store.start(cwd="/")
    before = dump(store)
    huge = "x" * (100 * 1000 * 1000)
    with pytest.raises(InvalidInput, match="16,777,216"):
        store.append(s, "prompt", huge)
    del huge
    with pytest.raises(InvalidInput, match="item 1"):
        store.append_many(s, [("prompt", "fine"), ("prompt", "y", {"k": "z" * (17 * MiB)})])
    with pytest.raises(InvalidInput):
        store.set_milestone("k", "v" * (17 * MiB))
    assert dump(store) == before


def test_cap_counts_utf8_bytes_of_text_plus_data(open_store: Callable[..., Store]) -> None:
    store = open_store(max_event_bytes=1000, durability="normal")
    s = store.start(cwd="/")
    store.append(s, "prompt", "x" * 1000)
    store.append(s, "prompt", "€" * 333)  # 999 bytes
    with pytest.raises(InvalidInput, match="1,002 bytes"):
        store.append(s, "prompt", "€" * 334)
    store.append(s, "prompt", "x" * 990, data="abcdefgh")  # 990 + len('"abcdefgh"')
    with pytest.raises(InvalidInput):
        store.append(s, "prompt", "x" * 990, data="abcdefghi")
    assert s.ulid and store.get(s).last_seq == 3


class Unserialisable:
    pass


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def circular() -> dict[str, Any]:
    value: dict[str, Any] = {}
    value["self"] = value
    return value


NOT_JSON = {
    "set": {1, 2},
    "bytes": b"raw",
    "object": Unserialisable(),
    "nan": math.nan,
    "inf": [math.inf],
    "tuple": (1, 2),
    "int key": {1: "a"},
    "decimal": Decimal("1.5"),
    "datetime": datetime(2026, 1, 1),
    "circular": circular(),
    "deep": nested(100_000),
}


@pytest.mark.parametrize("name", sorted(NOT_JSON))
def test_non_json_data_is_refused(fast_store: Store, name: str) -> None:
    s = fast_store.start(cwd="/")
    before = dump(fast_store)
    with pytest.raises(InvalidInput, match="data"):
        fast_store.append(s, "prompt", "x", data=NOT_JSON[name])
    with pytest.raises(InvalidInput):
        fast_store.append_many(s, [("prompt", "x"), ("prompt", "y", NOT_JSON[name])])
    with pytest.raises(InvalidInput):
        fast_store.start(meta={"k": NOT_JSON[name]})
    assert dump(fast_store) == before


# --- wrong types everywhere -----------------------------------------------------------

BAD_VALUES: list[Any] = [
    None,
    0,
    -1,
    2**70,
    1.5,
    math.nan,
    True,
    b"bytes",
    bytearray(b"x"),
    ["list"],
    ("tuple",),
    {"k": "v"},
    {"set"},
    Unserialisable(),
    "",
    " ",
    "\ud800",
    "x\x00y",
    "Z" * 26,
]


SPARE = object()  # stands for a fresh session that the call may end, archive or delete


def method_specs(session: str) -> dict[str, tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every public method with valid arguments; each one will be replaced by bad ones."""
    return {
        "start": (
            (),
            {
                "cli_version": "1",
                "engine_base_url": "u",
                "cwd": "/",
                "meta": {"a": 1},
                "ttl": timedelta(days=1),
            },
        ),
        "end": ((SPARE,), {}),
        "get": ((session,), {}),
        "find": ((session,), {}),
        "list_sessions": ((20,), {"before": session, "include_archived": False}),
        "latest": (("/",), {}),
        "fork": ((session,), {"at_seq": 1}),
        "resume": ((SPARE,), {"cli_version": "1", "engine_base_url": "u", "tail": 5}),
        "append": ((session, "prompt", "t"), {"data": {"a": 1}, "expected_seq": None}),
        "append_many": ((session, [("prompt", "t")]), {"expected_seq": None}),
        "events": ((session,), {"after_seq": 0, "limit": 10, "kinds": ["prompt"]}),
        "tail": ((session, 5), {}),
        "replay": ((session,), {"after_seq": 0}),
        "label": ((session, "name"), {}),
        "unlabel": (("name",), {}),
        "set_milestone": (("k", "v"), {}),
        "set_milestone_once": (("k", "v"), {}),
        "get_milestone": (("k",), {}),
        "milestones": (("",), {}),
        "archive": ((SPARE,), {}),
        "unarchive": ((SPARE,), {}),
        "delete": ((SPARE,), {"cascade": False, "force": False}),
        "prune": ((), {"older_than": timedelta(days=3650), "dry_run": True}),
        "search": (("hello",), {"limit": 5, "session": session, "marks": ("[", "]")}),
        "summary": ((session,), {}),
        "kind_counts": ((session,), {}),
        "stats": ((), {"top": 5}),
        "export": ((io.StringIO(),), {"sessions": [session]}),
        "import_": (([],), {"source": "test"}),
        "follow": ((session,), {"after_seq": 0, "poll_interval_s": 0.01}),
        "watch": ((), {"limit": 5, "poll_interval_s": 0.01}),
    }


def variants(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Iterator[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    for index in range(len(args)):
        for bad in BAD_VALUES:
            yield f"arg {index} = {bad!r:.30}", (*args[:index], bad, *args[index + 1 :]), kwargs
    for key in kwargs:
        for bad in BAD_VALUES:
            yield f"{key} = {bad!r:.30}", args, {**kwargs, key: bad}


def consume(result: object) -> None:
    """Iterators must fail (if they do) while being read; live followers are closed."""
    close = getattr(result, "close", None)
    if isinstance(result, Iterator) and close is None:
        list(result)
    elif close is not None:
        close()


def test_wrong_types_everywhere(fast_store: Store) -> None:
    """Every argument of every public method, replaced by values of the wrong type or
    shape: the call works, or raises TypeError or a ZeroSessionError and leaves the file
    as it was.  Never an apsw error, an OverflowError, an AttributeError ..."""
    store = fast_store
    session = store.start(cwd="/")
    store.append_many(session, [("prompt", "hello"), ("system", "two")])
    tried = 0
    failures: list[str] = []
    for name, (args, kwargs) in method_specs(session.ulid).items():
        method = getattr(store, name)
        known = inspect.signature(method).parameters
        kwargs = {k: v for k, v in kwargs.items() if k in known}
        for label, bad_args, bad_kwargs in variants(args, kwargs):
            if SPARE in bad_args:
                spare = store.start(cwd="/").ulid
                bad_args = tuple(spare if a is SPARE else a for a in bad_args)
            before = dump(store)
            try:
                consume(method(*bad_args, **bad_kwargs))
            except (TypeError, ZeroSessionError):
                if dump(store) != before:
                    failures.append(f"{name}({label}) failed but changed the file")
            except Exception as exc:
                failures.append(f"{name}({label}) raised {type(exc).__name__}: {exc}")
            tried += 1
    assert failures == [], "\n".join(failures)
    assert tried > 1000
    assert store.check().ok


def test_session_objects_and_ulids_are_interchangeable(fast_store: Store) -> None:
    s = fast_store.start(cwd="/")
    assert isinstance(s, Session)
    fast_store.append(s, "prompt", "a")
    fast_store.append(s.ulid, "prompt", "b")
    fast_store.append(s.ulid.lower(), "prompt", "c")
    assert [e.text for e in fast_store.replay(s)] == ["a", "b", "c"]


# --- invalid UTF-8 typed into the sqlite3 shell -------------------------------------


def test_invalid_utf8_from_the_shell_reads_as_replacement_characters(
    store: Store, db_path: Path
) -> None:
    s = store.start(cwd="/", meta={"ok": 1})
    store.append(s, "prompt", "clean")
    u = s.ulid
    sqlite3_shell(
        db_path,
        f"""
        UPDATE sessions SET last_seq = last_seq + 1 WHERE ulid = '{u}';
        INSERT INTO events (session_id, seq, at_ms, kind, text, data)
        SELECT id, last_seq, 0, CAST(X'70726FFF' AS TEXT), CAST(X'6869FF21' AS TEXT),
               CAST(X'7B2261223A2262FF227D' AS TEXT)
          FROM sessions WHERE ulid = '{u}';
        UPDATE sessions SET cwd = CAST(X'2F746D70FF' AS TEXT),
                            cli_version = CAST(X'31FE' AS TEXT) WHERE ulid = '{u}';
        INSERT INTO milestones VALUES (CAST(X'6BFF' AS TEXT), CAST(X'76FF' AS TEXT), 0);
        INSERT INTO milestones VALUES ('session.label.' || CAST(X'6CFF' AS TEXT), '{u}', 0);
        """,
    )
    replayed = list(store.replay(s))
    assert [(e.kind, e.text, e.data) for e in replayed] == [
        ("prompt", "clean", None),
        ("pro\ufffd", "hi\ufffd!", {"a": "b\ufffd"}),
    ]
    assert store.tail(s, 1) == replayed[1:]
    assert store.events(s, limit=None) == replayed
    fresh = store.get(s)
    assert (fresh.cwd, fresh.cli_version) == ("/tmp\ufffd", "1\ufffd")
    assert fresh.labels == ("l\ufffd",)
    assert store.list_sessions()[0].labels == ("l\ufffd",)
    assert store.labels() == {"l\ufffd": u}
    assert store.get_milestone("k\ufffd") is None  # not the same key: the bytes differ
    assert ("k\ufffd", "v\ufffd") in [(m.key, m.value) for m in store.milestones()]
    store.search("hi")
    assert store.check().ok
