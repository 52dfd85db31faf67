"""Labels stored on the session row (schema 6) stay what the label milestones say.

The milestones ``session.label.<name>`` are the truth; ``sessions.labels`` is a copy that
every read shows, kept by triggers in the same statement, also when the labels are set,
moved or removed in the real ``sqlite3`` shell.  ``check()`` reports a row whose copy
differs (triggers dropped, column written by hand), and a schema-5 file gets the column
filled when it is upgraded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from older_files import store_file_at_version
from sqlite3_cli import sqlite3_shell
from ulidtools import common_prefix, unique_prefix

from zero_session import AmbiguousSession, SessionNotFound, StorageError, Store
from zero_session._schema import known_version
from zero_session.ids import new_ulid

LABELS_VERSION = 6  # the migration that adds sessions.labels


def _stored(db_path: Path, ulid: str) -> str:
    return sqlite3_shell(db_path, f"SELECT labels FROM sessions WHERE ulid = '{ulid}';").strip()


def _everywhere(store: Store, ulid: str) -> set[tuple[str, ...]]:
    """The labels of ``ulid`` as get, find, list and the tree show them."""
    listed = {s.ulid: s.labels for s in store.list_sessions(None, include_archived=True)}
    return {store.get(ulid).labels, store.find(ulid).labels, listed[ulid]}


def test_labels_set_through_the_api_are_on_the_row(store: Store, db_path: Path) -> None:
    a, b = store.start(), store.start()
    store.label(a, "zeta")
    store.label(a, "alpha")
    assert _everywhere(store, a.ulid) == {("alpha", "zeta")}
    store.label(b, "zeta", move=True)
    assert _everywhere(store, a.ulid) == {("alpha",)}
    assert _everywhere(store, b.ulid) == {("zeta",)}
    store.unlabel("alpha")
    assert _everywhere(store, a.ulid) == {()}
    assert _stored(db_path, a.ulid) == ""  # NULL: no labels
    assert store.check().ok


def test_labels_typed_into_the_sqlite3_shell_show(store: Store, db_path: Path) -> None:
    a, b = store.start(), store.start()
    sqlite3_shell(
        db_path,
        f"INSERT INTO milestones VALUES ('session.label.one', '{a.ulid}', 1);"
        f"INSERT INTO milestones VALUES ('session.label.two', '{a.ulid}', 1);",
    )
    assert _everywhere(store, a.ulid) == {("one", "two")}
    assert store.find("one").ulid == a.ulid
    # INSERT OR REPLACE moves a label: the old row goes without a DELETE trigger.
    sqlite3_shell(
        db_path, f"INSERT OR REPLACE INTO milestones VALUES ('session.label.one', '{b.ulid}', 2);"
    )
    assert _everywhere(store, a.ulid) == {("two",)}
    assert _everywhere(store, b.ulid) == {("one",)}
    # So does UPDATE OR REPLACE onto an existing name, and a rename.
    sqlite3_shell(
        db_path,
        "UPDATE OR REPLACE milestones SET key = 'session.label.one' "
        "WHERE key = 'session.label.two';",
    )
    assert _everywhere(store, a.ulid) == {("one",)}
    assert _everywhere(store, b.ulid) == {()}
    sqlite3_shell(
        db_path,
        "UPDATE milestones SET key = 'session.label.three' WHERE key = 'session.label.one';",
    )
    assert _everywhere(store, a.ulid) == {("three",)}
    sqlite3_shell(
        db_path, f"UPDATE milestones SET value = '{b.ulid}' WHERE key = 'session.label.three';"
    )
    assert (_everywhere(store, a.ulid), _everywhere(store, b.ulid)) == ({()}, {("three",)})
    sqlite3_shell(db_path, "DELETE FROM milestones WHERE key = 'session.label.three';")
    assert _everywhere(store, b.ulid) == {()}
    # A label made before its session's row (as an import or a pull may do).
    early = new_ulid()
    sqlite3_shell(
        db_path,
        f"INSERT INTO milestones VALUES ('session.label.early', '{early}', 1);"
        f"INSERT INTO sessions (ulid, started_at_ms, last_seq) VALUES ('{early}', 5, 0);",
    )
    assert _everywhere(store, early) == {("early",)}
    # Other milestones leave the column alone.
    sqlite3_shell(db_path, f"INSERT INTO milestones VALUES ('session.labelx', '{a.ulid}', 1);")
    assert _everywhere(store, a.ulid) == {()}
    assert store.check().ok


def test_check_reports_a_row_whose_labels_differ(store: Store, db_path: Path) -> None:
    a, b = store.start(), store.start()
    store.label(a, "kept")
    sqlite3_shell(db_path, f"UPDATE sessions SET labels = 'forged' WHERE ulid = '{b.ulid}';")
    sqlite3_shell(db_path, "DROP TRIGGER milestones_label_added;")
    sqlite3_shell(db_path, f"INSERT INTO milestones VALUES ('session.label.lost', '{a.ulid}', 1);")
    problems = {(p.code, p.session): str(p) for p in store.check().problems}
    assert set(problems) == {("label_column", a.ulid), ("label_column", b.ulid)}
    assert (
        "['kept'], its label milestones name ['kept', 'lost']" in problems[("label_column", a.ulid)]
    )
    assert "['forged'], its label milestones name []" in problems[("label_column", b.ulid)]
    # The same names in another order are no mismatch.
    sqlite3_shell(
        db_path,
        f"UPDATE sessions SET labels = 'lost' || char(31) || 'kept' WHERE ulid = '{a.ulid}';"
        f"UPDATE sessions SET labels = NULL WHERE ulid = '{b.ulid}';",
    )
    assert store.check().ok
    assert store.get(a).labels == ("kept", "lost")


def test_a_schema_5_file_upgrades_with_its_labels_on_the_rows(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    store_file_at_version(db_path, LABELS_VERSION - 1)
    a, b, c = new_ulid(), new_ulid(), new_ulid()
    sqlite3_shell(
        db_path,
        f"""
        INSERT INTO sessions (ulid, started_at_ms, last_seq) VALUES ('{a}', 1000, 0);
        INSERT INTO sessions (ulid, started_at_ms, last_seq) VALUES ('{b}', 2000, 0);
        INSERT INTO sessions (ulid, started_at_ms, last_seq) VALUES ('{c}', 3000, 0);
        INSERT INTO milestones VALUES ('session.label.b2', '{a}', 1);
        INSERT INTO milestones VALUES ('session.label.a1', '{a}', 1);
        INSERT INTO milestones VALUES ('session.label.only', '{b}', 1);
        INSERT INTO milestones VALUES ('session.label.gone', '{new_ulid()}', 1);
        INSERT INTO milestones VALUES ('other', '{c}', 1);
        """,
    )
    store = open_store()
    assert sqlite3_shell(db_path, "PRAGMA user_version;").strip() == str(known_version())
    assert [s.labels for s in store.list_sessions()] == [(), ("only",), ("a1", "b2")]
    assert store.find("a1").ulid == a
    assert {p.code for p in store.check().problems} == {"label"}  # only the missing target
    store.label(c, "new")
    assert store.get(c).labels == ("new",)


def test_find_reads_a_prefix_or_a_label_in_one_go(store: Store, db_path: Path) -> None:
    first = store.start(cwd=db_path.parent)
    second = store.start(cwd=db_path.parent)
    shared = common_prefix(first.ulid, second.ulid)
    if len(shared) >= 6:
        with pytest.raises(AmbiguousSession) as caught:
            store.find(shared)
        assert set(caught.value.candidates) == {first.ulid, second.ulid}
    # A session whose ulid no other shares past its first character (made in the shell).
    other = "7ZZZZZZZZZ" + first.ulid[10:]
    sqlite3_shell(
        db_path, f"INSERT INTO sessions (ulid, started_at_ms, last_seq) VALUES ('{other}', 1, 0);"
    )
    # A label named like a prefix of another session beats that prefix.
    store.label(first, "7ZZZZZZ")
    assert store.find("7ZZZZZZ").ulid == first.ulid
    assert store.find("7zzzzzz").ulid == other  # labels are exact, prefixes are not
    # A label that names a missing session (check() reports it) does not hide a prefix.
    sqlite3_shell(
        db_path, f"INSERT INTO milestones VALUES ('session.label.7ZZZZZ', '{new_ulid()}', 1);"
    )
    assert store.find("7ZZZZZ").ulid == other
    with pytest.raises(SessionNotFound):
        store.find("6" * 12)
    # Text the shell stored as invalid UTF-8 reads with U+FFFD, by prefix and by label.
    sqlite3_shell(
        db_path, f"UPDATE sessions SET cwd = CAST(X'2F61FF62' AS TEXT) WHERE ulid = '{other}';"
    )
    store.label(other, "bad-bytes")
    assert store.find("7zzzzzzz").cwd == "/a\ufffdb"
    assert store.find("bad-bytes").cwd == "/a\ufffdb"


def test_a_wrong_type_in_a_listed_row_is_named(store: Store, db_path: Path) -> None:
    sessions = [store.start() for _ in range(5)]
    bad = sessions[2].ulid
    others = [s.ulid for s in sessions if s.ulid != bad]
    sqlite3_shell(
        db_path,
        "DROP TRIGGER sessions_refuse_wrong_type;"
        f"UPDATE sessions SET expires_at_ms = 'soon' WHERE ulid = '{bad}';",
    )
    prefix = unique_prefix(bad, *others)
    for read in (store.list_sessions, lambda: store.get(bad), lambda: store.find(prefix)):
        with pytest.raises(StorageError, match=rf"session {bad}: sessions\.expires_at_ms"):
            read()
    assert store.get(sessions[0]).ulid == sessions[0].ulid
