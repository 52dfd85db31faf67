"""Seeded, bounded fuzzing of the store's integrity promises.

1. Tampering SQL typed into the real ``sqlite3`` shell: each statement is either refused
   by the database (and then nothing changed and ``check()`` stays clean) or, for the
   few edits the guards allow, reported by ``check()`` under the expected code.  Every
   public read afterwards raises nothing but a ``ZeroSessionError``.
2. Random argument types and sizes through the public API: nothing escapes but a
   ``ZeroSessionError`` (or the ``TypeError`` documented for an argument of the wrong
   type), and a refused call leaves the file as it was.

The seeds are fixed, so a failure replays exactly; the rounds are few, so each test stays
within a few seconds.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apsw
import pytest
from sqlite3_cli import sqlite3_shell

from zero_session import Store, ZeroSessionError
from zero_session.ids import new_ulid

# (SQL template, the check() code expected when the shell accepts it; None: must be
# refused).  {a}/{b}: internal ids of two sessions (b forked from a), {s}: a seq of a,
# {v}: a random value, {u}: a fresh ulid.
TAMPERING: list[tuple[str, str | None]] = [
    ("REPLACE INTO events VALUES ({a}, {s}, 0, 'prompt', 'evil', NULL);", None),
    ("INSERT OR REPLACE INTO events VALUES ({b}, {bs}, 0, 'prompt', 'evil', NULL);", None),
    ("UPDATE events SET text = 'evil' WHERE session_id = {a};", None),
    ("DELETE FROM events WHERE session_id = {a} AND seq = {s};", None),
    ("DELETE FROM sessions WHERE id = {b};", None),
    (
        "REPLACE INTO sessions (id, ulid, parent_id, started_at_ms) "
        "VALUES ({a}, (SELECT ulid FROM sessions WHERE id = {a}), {b}, 0);",
        None,
    ),
    ("INSERT INTO sessions (ulid, parent_id, started_at_ms) VALUES ('{u}', 9999, 0);", None),
    ("INSERT INTO sessions (id, ulid, parent_id, started_at_ms) VALUES (0, '{u}', {b}, 0);", None),
    ("UPDATE sessions SET parent_id = {b} WHERE id = {a};", None),
    ("UPDATE sessions SET id = id + 100 WHERE id = {a};", None),
    ("UPDATE sessions SET last_seq = {v} WHERE id = {a};", None),
    ("UPDATE sessions SET ended_at_ms = {v} WHERE id = {b};", None),
    ("UPDATE sessions SET last_seq = last_seq - 1 WHERE id = {a};", None),
    ("UPDATE sessions SET last_seq = last_seq + 2 WHERE id = {a};", "last_seq"),
    (
        "BEGIN; UPDATE sessions SET last_seq = last_seq + 1 WHERE id = {a}; "
        "INSERT INTO events VALUES ({a}, (SELECT last_seq FROM sessions WHERE id = {a}), "
        "{v}, 'prompt', 't', NULL); COMMIT;",
        None,
    ),
    ("INSERT INTO milestones VALUES ('session.label.ghost', '{u}', 0);", "label"),
    ("INSERT INTO purging_sessions VALUES ({b});", "purge_leftover"),
    (
        "DROP TRIGGER sessions_refuse_identity_change; "
        "UPDATE sessions SET parent_id = {b} WHERE id = {a};",
        "fork_cycle",
    ),
    (
        "DROP TRIGGER sessions_refuse_wrong_type; "
        "UPDATE sessions SET ended_at_ms = 'soon' WHERE id = {b};",
        "wrong_type",
    ),
    (
        "BEGIN; INSERT INTO purging_sessions VALUES ({a}); "
        "DELETE FROM events WHERE session_id = {a} AND seq = {s}; "
        "DELETE FROM purging_sessions; COMMIT;",
        "seq_gap|seq_start|last_seq",
    ),
]
BAD_VALUES = ["'abc'", "2.5", "x'00'", "-1.5", "'9e99'"]


def _dump(path: Path) -> list[Any]:
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return [
            conn.execute(f"SELECT * FROM {table}").fetchall()
            for table in ("sessions", "events", "milestones", "purging_sessions")
        ]
    finally:
        conn.close()


def _read_everything(store: Store) -> None:
    """Every public read over every session: only ZeroSessionError may come out."""
    calls: list[Callable[[], object]] = [store.list_sessions, store.labels, store.check]
    with store._reading() as conn:
        ulids = [str(row[0]) for row in conn.execute("SELECT CAST(ulid AS TEXT) FROM sessions")]
    for ulid in ulids:
        calls += [
            lambda u=ulid: store.get(u),
            lambda u=ulid: list(store.replay(u)),
            lambda u=ulid: store.tail(u, 5),
            lambda u=ulid: store.events(u),
            lambda u=ulid: store.kind_counts(u),
            lambda u=ulid: store.search("walnut", session=u),
        ]
    for call in calls:
        with contextlib.suppress(ZeroSessionError):
            call()


@pytest.mark.parametrize("seed", range(len(TAMPERING)))
def test_tampering_in_the_shell_is_refused_or_reported(
    open_store: Callable[..., Store], tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    path = tmp_path / f"fuzz{seed}.db"
    with open_store(path) as store:
        a = store.start(cwd="/")
        store.append_many(a, [("prompt", f"walnut {i}") for i in range(rng.randint(2, 6))])
        store.append(a, "system", "one more")
        b = store.fork(a, at_seq=rng.randint(1, 3))
        store.append(b, "prompt", "walnut in the fork")
        store.search("walnut")
        with store._reading() as conn:
            a_id, b_id = (int(store._position(conn, s.ulid)[0]) for s in (a, b))
        a_last, b_last = store.get(a).last_seq, store.get(b).last_seq
    template, expected = TAMPERING[seed]  # every template, with seeded random values
    sql = template.format(
        a=a_id,
        b=b_id,
        s=rng.randint(1, a_last),
        bs=b_last,
        v=rng.choice(BAD_VALUES),
        u=new_ulid(),
    )
    before = _dump(path)
    try:
        sqlite3_shell(path, sql)
        accepted = True
    except subprocess.CalledProcessError as exc:
        accepted = False
        assert "zero_session:" in exc.stderr or "constraint" in exc.stderr.lower(), exc.stderr
    with open_store(path) as store:
        report = store.check()
        if expected is None:
            assert not accepted, sql
            assert _dump(path) == before
            assert report.ok, report
        else:
            assert accepted, sql
            codes = {p.code for p in report.problems}
            assert codes & set(expected.split("|")), (sql, report)
        _read_everything(store)


def _pool(rng: random.Random) -> Any:
    """One argument value of a random type and size."""
    choices: list[Callable[[], Any]] = [
        lambda: None,
        lambda: rng.choice([True, False]),
        lambda: rng.randint(-(2**64), 2**64),
        lambda: rng.choice([0, 1, -1, 2**63 - 1, 2**63, 2**70]),
        lambda: rng.choice([0.5, -0.0, float("nan"), float("inf")]),
        lambda: "".join(rng.choice("abcXYZ09_-./ \x00é😀") for _ in range(rng.randint(0, 40))),
        lambda: "x" * rng.choice([0, 1, 25, 26, 27, 200, 70_000]),
        lambda: new_ulid(),
        lambda: new_ulid()[:8],
        lambda: "\udcff",
        lambda: b"bytes",
        lambda: [rng.randint(0, 9)] * rng.randint(0, 5),
        lambda: {"k": rng.choice(["v", 1, None, [1, 2]])},
        lambda: ("prompt", "text"),
        lambda: object(),
    ]
    return rng.choice(choices)()


def _calls(store: Store, ulid: str, rng: random.Random) -> list[Callable[[], object]]:
    x = lambda: _pool(rng)  # noqa: E731 - a fresh random value per argument
    return [
        lambda: store.append(x(), x(), x()),
        lambda: store.append(ulid, x(), x(), data=x()),
        lambda: store.append(ulid, "prompt", "t", expected_seq=x()),
        lambda: store.append_many(ulid, x()),
        lambda: store.append_many(ulid, [(x(), x()), (x(), x(), x())]),
        lambda: store.events(ulid, after_seq=x(), limit=x()),
        lambda: store.events(x()),
        lambda: store.tail(ulid, x()),
        lambda: list(store.replay(ulid, after_seq=x())),
        lambda: store.get(x()),
        lambda: store.find(x()),
        lambda: store.fork(ulid, at_seq=x()),
        lambda: store.label(ulid, x()),
        lambda: store.unlabel(x()),
        lambda: store.set_milestone(x(), x()),
        lambda: store.get_milestone(x()),
        lambda: store.milestones(prefix=x()),
        lambda: store.start(cli_version=x(), engine_base_url=x(), cwd="/", meta=x()),
        lambda: store.list_sessions(limit=x()),
        lambda: store.archive(x()),
        lambda: store.kind_counts(x()),
        lambda: store.search(x(), limit=20),
        lambda: store.delete(x()),
        lambda: store.list_sessions(meta={"k": x()}),
        lambda: store.list_sessions(meta={f"k{i}": i for i in range(rng.choice([1, 40_000]))}),
        lambda: store.events(ulid, kinds=[f"k{i}" for i in range(rng.choice([1, 40_000]))]),
        lambda: store.follow(ulid, poll_interval_s=x()).close(),
        lambda: store.watch(poll_interval_s=x(), refresh_s=x()).close(),
        lambda: store.start(cwd="/", ttl=rng.choice([None, x()])),
    ]


@pytest.mark.parametrize("seed", range(3))
def test_random_arguments_raise_only_our_errors(
    open_store: Callable[..., Store], db_path: Path, seed: int
) -> None:
    rng = random.Random(1000 + seed)
    store = open_store()
    session = store.start(cwd="/")
    store.append_many(session, [("prompt", "walnut"), ("system", "ok")])
    calls = _calls(store, session.ulid, rng)
    for _ in range(150):
        before = _dump(db_path)
        try:
            rng.choice(calls)()
        except (ZeroSessionError, TypeError):
            # Refused: the file is as it was (reads may build the search index; they
            # never change sessions, events or milestones).
            assert _dump(db_path) == before
    assert store.check().ok
