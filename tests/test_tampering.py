"""SQL typed into the real sqlite3 shell cannot break the store's promises (schema 4).

Append-only (REPLACE over a stored event), lineage as a tree (REPLACE of a session, a
parent that does not exist yet, a changed id) and integer columns holding integers are
enforced by the database itself; a file from before those guards is upgraded and
``check()`` reports the rows that predate them, while reads refuse wrongly typed values
with a clear error.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from older_files import store_file_at_version
from sqlite3_cli import sqlite3_shell

from zero_session import StorageError, Store
from zero_session._schema import known_version
from zero_session.ids import new_ulid


@pytest.fixture
def populated(store: Store) -> dict[str, str]:
    """A root with a batch of 3 events then a single one, and a fork at 2 with one."""
    root = store.start(cwd="/")
    store.append_many(root, [("prompt", "a"), ("system", "b"), ("warn", "c")])
    store.append(root, "prompt", "d")
    child = store.fork(root, at_seq=2)
    store.append(child, "prompt", "e")
    return {"root": root.ulid, "child": child.ulid}


def _refused(db_path: Path, sql: str, message: str) -> None:
    with pytest.raises(subprocess.CalledProcessError) as caught:
        sqlite3_shell(db_path, sql)
    assert message in caught.value.stderr


def _events(db_path: Path) -> str:
    return sqlite3_shell(db_path, "SELECT * FROM events ORDER BY session_id, seq;")


def _id(ulid: str) -> str:
    return f"(SELECT id FROM sessions WHERE ulid = '{ulid}')"


@pytest.mark.parametrize("seq", [1, 2, 3, 4])  # first, middle, last of a batch; a single
@pytest.mark.parametrize("verb", ["REPLACE", "INSERT OR REPLACE"])
def test_replace_over_a_stored_event_is_refused(
    store: Store, populated: dict[str, str], db_path: Path, seq: int, verb: str
) -> None:
    before = _events(db_path)
    _refused(
        db_path,
        f"{verb} INTO events VALUES ({_id(populated['root'])}, {seq}, 0, 'prompt', 'evil', NULL);",
        "append-only",
    )
    assert _events(db_path) == before
    assert [e.text for e in store.replay(populated["root"])] == ["a", "b", "c", "d"]
    assert store.check().ok


def test_replace_after_raising_last_seq_by_hand_is_refused(
    store: Store, populated: dict[str, str], db_path: Path
) -> None:
    root = _id(populated["root"])
    sqlite3_shell(db_path, f"UPDATE sessions SET last_seq = 6 WHERE id = {root};")
    before = _events(db_path)
    _refused(
        db_path, f"REPLACE INTO events VALUES ({root}, 4, 0, 'prompt', 'x', NULL);", "append-only"
    )
    assert _events(db_path) == before
    # The raised range itself can still be filled by hand, in order, and is then sealed.
    sqlite3_shell(
        db_path,
        f"INSERT INTO events VALUES ({root}, 5, 0, 'prompt', 'e', NULL);"
        f"INSERT INTO events VALUES ({root}, 6, 0, 'prompt', 'f', NULL);",
    )
    _refused(
        db_path, f"REPLACE INTO events VALUES ({root}, 5, 0, 'prompt', 'x', NULL);", "append-only"
    )
    assert [e.text for e in store.replay(populated["root"])] == ["a", "b", "c", "d", "e", "f"]
    assert store.check().ok
    assert store.append(populated["root"], "prompt", "g").seq == 7


def test_replace_of_a_session_is_refused(
    store: Store, populated: dict[str, str], db_path: Path
) -> None:
    root, child = populated["root"], populated["child"]
    # A root given a new parent: its own child.
    _refused(
        db_path,
        "REPLACE INTO sessions (id, ulid, parent_id, fork_seq, started_at_ms, last_seq) "
        f"VALUES ({_id(root)}, '{root}', {_id(child)}, 0, 0, 4);",
        "never replaced",
    )
    _refused(
        db_path,
        f"INSERT OR REPLACE INTO sessions (ulid, started_at_ms) VALUES ('{child}', 0);",
        "never replaced",
    )
    assert store.get(root).parent_ulid is None
    assert store.get(child).parent_ulid == root
    assert store.check().ok


def test_a_parent_must_exist_before_its_fork(
    store: Store, populated: dict[str, str], db_path: Path
) -> None:
    # Its own parent, with an explicit id.
    _refused(
        db_path,
        "INSERT INTO sessions (id, ulid, parent_id, started_at_ms) "
        f"VALUES (100, '{new_ulid()}', 100, 0);",
        "parent must exist before it",
    )
    # Its own parent, with the id SQLite picks.
    _refused(
        db_path,
        "INSERT INTO sessions (ulid, parent_id, started_at_ms) "
        f"VALUES ('{new_ulid()}', (SELECT max(id) + 1 FROM sessions), 0);",
        "parent must exist before it",
    )
    # A parent that does not exist yet.
    _refused(
        db_path,
        f"INSERT INTO sessions (ulid, parent_id, started_at_ms) VALUES ('{new_ulid()}', 999, 0);",
        "parent must exist before it",
    )
    # A parent recorded after the fork (an explicit smaller id).
    _refused(
        db_path,
        "INSERT INTO sessions (id, ulid, parent_id, started_at_ms) "
        f"VALUES (0, '{new_ulid()}', {_id(populated['child'])}, 0);",
        "parent must exist before it",
    )
    # Ids never change (renumbering could close a loop), nor do parents.
    _refused(db_path, f"UPDATE sessions SET id = 50 WHERE id = {_id(populated['root'])};", "fixed")
    _refused(
        db_path,
        f"UPDATE sessions SET parent_id = NULL WHERE id = {_id(populated['child'])};",
        "fixed",
    )
    assert store.check().ok
    # What the API does is still allowed.
    assert store.fork(populated["child"]).parent_ulid == populated["child"]


@pytest.mark.parametrize(
    ("sql", "column"),
    [
        ("UPDATE sessions SET last_seq = 'abc' WHERE id = {root};", "sessions.last_seq"),
        ("UPDATE sessions SET last_seq = 4.5 WHERE id = {root};", "sessions.last_seq"),
        ("UPDATE sessions SET ended_at_ms = 'soon' WHERE id = {root};", "sessions.ended_at_ms"),
        ("UPDATE sessions SET ended_at_ms = 2.5 WHERE id = {root};", "sessions.ended_at_ms"),
        (
            "UPDATE sessions SET last_event_at_ms = 'x' WHERE id = {root};",
            "sessions.last_event_at_ms",
        ),
        ("UPDATE sessions SET expires_at_ms = 1.5 WHERE id = {root};", "sessions.expires_at_ms"),
        (
            "INSERT INTO sessions (ulid, started_at_ms) VALUES ('{new}', 'yesterday');",
            "sessions.started_at_ms",
        ),
        (
            "INSERT INTO sessions (ulid, started_at_ms, last_seq) VALUES ('{new}', 0, 1.5);",
            "sessions.last_seq",
        ),
        (
            "UPDATE sessions SET last_seq = 6 WHERE id = {root};"
            "INSERT INTO events VALUES ({root}, 5, 'abc', 'prompt', 't', NULL);",
            "events.at_ms",
        ),
        (
            "UPDATE sessions SET last_seq = 6 WHERE id = {root};"
            "INSERT INTO events VALUES ({root}, 5.5, 0, 'prompt', 't', NULL);",
            "events.seq",
        ),
        (
            "UPDATE sessions SET last_seq = 6 WHERE id = {root};"
            "INSERT INTO events VALUES ({root}, 'five', 0, 'prompt', 't', NULL);",
            "events.seq",
        ),
    ],
)
def test_wrong_types_in_integer_columns_are_refused(
    store: Store, populated: dict[str, str], db_path: Path, sql: str, column: str
) -> None:
    before = sqlite3_shell(db_path, "SELECT * FROM sessions ORDER BY id;") + _events(db_path)
    _refused(
        db_path,
        "BEGIN;" + sql.format(root=_id(populated["root"]), new=new_ulid()) + "COMMIT;",
        f"{column} must be an integer",
    )
    after = sqlite3_shell(db_path, "SELECT * FROM sessions ORDER BY id;") + _events(db_path)
    assert after == before
    assert store.check().ok


def test_an_older_file_upgrades_and_check_reports_rows_predating_the_guards(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    store_file_at_version(db_path, 3)
    good, bad, fork = new_ulid(), new_ulid(), new_ulid()
    sqlite3_shell(
        db_path,
        f"""
        INSERT INTO sessions (ulid, started_at_ms, last_seq) VALUES ('{good}', 1000, 2);
        INSERT INTO events VALUES (1, 1, 1001, 'prompt', 'one', NULL);
        INSERT INTO events VALUES (1, 2, 1002, 'prompt', 'two', NULL);
        REPLACE INTO events VALUES (1, 2, 1002, 'prompt', 'replaced before the guards', NULL);
        INSERT INTO sessions (ulid, started_at_ms, last_seq, ended_at_ms)
            VALUES ('{bad}', 'noon', 1, 'later');
        INSERT INTO events VALUES (2, 1, 'abc', 'prompt', 'typed by hand', NULL);
        INSERT INTO sessions (id, ulid, parent_id, fork_seq, started_at_ms, last_seq)
            VALUES (0, '{fork}', 1, 1, 1000, 1);
        """,
    )
    store = open_store()  # migrates to the current version instead of failing
    assert sqlite3_shell(db_path, "PRAGMA user_version;").strip() == str(known_version())
    report = store.check()
    found = {(p.code, p.session) for p in report.problems}
    assert ("wrong_type", bad) in found
    messages = " | ".join(str(p) for p in report.problems if p.code == "wrong_type")
    assert "sessions.started_at_ms holds 'noon'" in messages
    assert "sessions.ended_at_ms holds 'later'" in messages
    assert "events.at_ms of the event at seq 1 holds 'abc'" in messages
    assert ("fork_order", fork) in found
    # Reads of the sound session work; the typed-by-hand one is refused by name.
    assert [e.text for e in store.replay(good)] == ["one", "replaced before the guards"]
    with pytest.raises(StorageError, match=rf"session {bad}: sessions\.started_at_ms"):
        store.get(bad)
    with pytest.raises(StorageError, match=rf"session {bad}: sessions\.started_at_ms"):
        store.list_sessions()
    with pytest.raises(StorageError, match=rf"session {bad}: events\.at_ms holds 'abc'"):
        list(store.replay(bad))
    with pytest.raises(StorageError, match=rf"session {bad}: events\.at_ms"):
        store.events(bad)
    # The guards hold from now on, on the old rows too.
    _refused(
        db_path, "REPLACE INTO events VALUES (1, 1, 0, 'prompt', 'evil', NULL);", "append-only"
    )
    assert store.append(good, "prompt", "three").seq == 3


LOOP_SCRIPT = """
import sys
from zero_session import Store, ZeroSessionError
store = Store.open(sys.argv[1])
a, b = sys.argv[2], sys.argv[3]
calls = {
    "replay": lambda: list(store.replay(a)),
    "tail": lambda: store.tail(a, 10),
    "resume": lambda: store.resume(a, force=True),
    "delete": lambda: store.delete(b, cascade=True, force=True),
    "kind_counts": lambda: store.kind_counts(a),
    "search": lambda: store.search("walnut", session=a),
}
for name, call in calls.items():
    try:
        call()
    except ZeroSessionError as exc:
        print(name, "refused", type(exc).__name__, "loop" in str(exc), flush=True)
    else:
        print(name, "returned", flush=True)
"""


def test_ancestor_walks_report_a_loop_in_a_tampered_file(
    store: Store, db_path: Path, subprocess_env: dict[str, str]
) -> None:
    root = store.start(cwd="/")
    store.append(root, "prompt", "walnut")
    a = store.fork(root)
    store.append(a, "prompt", "walnut too")
    b = store.fork(a)
    store.append(b, "prompt", "walnut three")
    store.search("walnut")  # the index exists, so search(session=...) walks the chain
    store.close()
    # The guards dropped, as in an old file: a becomes a fork of its own fork.
    sqlite3_shell(
        db_path,
        "DROP TRIGGER sessions_refuse_identity_change;"
        f"UPDATE sessions SET parent_id = {_id(b.ulid)}, fork_seq = 1 WHERE ulid = '{a.ulid}';",
    )
    done = subprocess.run(
        [sys.executable, "-c", LOOP_SCRIPT, str(db_path), a.ulid, b.ulid],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=30,  # a walk that never ends fails here instead of hanging the suite
        check=True,
    )
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    for name in ("replay", "tail", "resume", "delete", "kind_counts", "search"):
        assert lines[name] == "refused StorageError True", (name, done.stdout, done.stderr)
    with Store.open(db_path) as reopened:
        assert "fork_cycle" in {p.code for p in reopened.check().problems}
