"""store.check(): each invariant, broken by hand in the real sqlite3 shell, is reported."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlite3_cli import sqlite3_shell

from zero_session import CheckReport, Problem, Store
from zero_session.ids import new_ulid


def codes(report: CheckReport) -> set[str]:
    return {p.code for p in report.problems}


@pytest.fixture
def populated(store: Store) -> dict[str, str]:
    """A parent with 3 events, a fork at 2 with 2 own events, and a label."""
    parent = store.start(cwd="/")
    store.append_many(parent, [("prompt", "a"), ("system", "b"), ("warn", "c")])
    child = store.fork(parent, at_seq=2)
    store.append_many(child, [("prompt", "d"), ("prompt", "e")])
    store.label(parent, "base")
    return {"parent": parent.ulid, "child": child.ulid}


def test_healthy_store_is_ok(store: Store, populated: dict[str, str]) -> None:
    report = store.check()
    assert report == CheckReport(())
    assert report.ok is True


def test_empty_store_is_ok(store: Store) -> None:
    assert store.check().ok


def test_problem_text_names_code_and_session() -> None:
    assert str(Problem("seq_gap", "01ABC", "1 seq(s) missing")) == "seq_gap 01ABC: 1 seq(s) missing"
    assert str(Problem("integrity", None, "page 3 bad")) == "integrity: page 3 bad"


def purge_event(path: Path, ulid: str, seq: int) -> None:
    sqlite3_shell(
        path,
        f"""
        BEGIN;
        INSERT INTO purging_sessions SELECT id FROM sessions WHERE ulid = '{ulid}';
        DELETE FROM events WHERE seq = {seq}
           AND session_id = (SELECT id FROM sessions WHERE ulid = '{ulid}');
        DELETE FROM purging_sessions;
        COMMIT;
        """,
    )


def test_gap_in_seqs(store: Store, populated: dict[str, str], db_path: Path) -> None:
    purge_event(db_path, populated["parent"], 2)
    report = store.check()
    assert not report.ok
    gaps = [p for p in report.problems if p.code == "seq_gap"]
    assert [p.session for p in gaps] == [populated["parent"]]
    assert "1 seq(s) missing between 1 and 3" in gaps[0].message
    assert "last_seq" in codes(report)


def test_events_not_starting_after_fork_point(
    store: Store, populated: dict[str, str], db_path: Path
) -> None:
    purge_event(db_path, populated["child"], 3)
    report = store.check()
    assert {(p.code, p.session) for p in report.problems} == {
        ("seq_start", populated["child"]),
        ("last_seq", populated["child"]),
    }


def test_last_seq_ahead_of_events(store: Store, populated: dict[str, str], db_path: Path) -> None:
    sqlite3_shell(db_path, f"UPDATE sessions SET last_seq = 9 WHERE ulid = '{populated['child']}';")
    report = store.check()
    assert [(p.code, p.session) for p in report.problems] == [("last_seq", populated["child"])]
    assert "last_seq is 9" in report.problems[0].message


def test_missing_fork_parent(store: Store, populated: dict[str, str], db_path: Path) -> None:
    parent = populated["parent"]
    sqlite3_shell(
        db_path,
        f"""
        BEGIN;
        INSERT INTO purging_sessions SELECT id FROM sessions WHERE ulid = '{parent}';
        DELETE FROM events WHERE session_id = (SELECT id FROM sessions WHERE ulid = '{parent}');
        DELETE FROM sessions WHERE ulid = '{parent}';
        DELETE FROM purging_sessions;
        COMMIT;
        """,
    )
    report = store.check()
    assert ("fork_parent", populated["child"]) in {(p.code, p.session) for p in report.problems}
    assert "foreign_key" in codes(report)
    # The label still names the deleted parent.
    assert ("label", parent) in {(p.code, p.session) for p in report.problems}


def test_fork_point_past_parent_end(store: Store, populated: dict[str, str], db_path: Path) -> None:
    rogue = new_ulid()
    sqlite3_shell(
        db_path,
        "INSERT INTO sessions (ulid, parent_id, fork_seq, started_at_ms, last_seq) "
        f"SELECT '{rogue}', id, 7, 0, 7 FROM sessions WHERE ulid = '{populated['parent']}';",
    )
    report = store.check()
    assert [(p.code, p.session) for p in report.problems] == [("fork_seq", rogue)]
    assert "last seq 3" in report.problems[0].message


def test_fork_cycle(store: Store, populated: dict[str, str], db_path: Path) -> None:
    sqlite3_shell(
        db_path,
        "DROP TRIGGER sessions_refuse_identity_change;"
        "UPDATE sessions SET parent_id = (SELECT id FROM sessions WHERE ulid = "
        f"'{populated['child']}') WHERE ulid = '{populated['parent']}';",
    )
    report = store.check()
    assert "fork_cycle" in codes(report)


def test_dangling_label(store: Store, populated: dict[str, str], db_path: Path) -> None:
    ghost = new_ulid()
    sqlite3_shell(
        db_path,
        f"INSERT INTO milestones VALUES ('session.label.ghost', '{ghost}', 0);"
        "INSERT INTO milestones VALUES ('not.a.label', 'whatever', 0);",
    )
    report = store.check()
    assert [(p.code, p.session) for p in report.problems] == [("label", ghost)]
    assert "'ghost'" in report.problems[0].message


def test_leftover_purge_marker(store: Store, populated: dict[str, str], db_path: Path) -> None:
    sqlite3_shell(
        db_path,
        "INSERT INTO purging_sessions SELECT id FROM sessions "
        f"WHERE ulid = '{populated['child']}';",
    )
    report = store.check()
    assert [(p.code, p.session) for p in report.problems] == [
        ("purge_leftover", populated["child"])
    ]


def test_corrupt_index_page_is_reported_not_raised(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    with open_store() as store:
        for _ in range(400):
            store.start(cwd="/some/where/long/enough/to/fill/pages")
    page_size, root = _page_size_and_root(db_path, "sessions_by_cwd")
    with db_path.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\x55" * page_size)
    report = open_store().check()
    assert not report.ok
    assert codes(report) & {"integrity", "unreadable"}


def _page_size_and_root(path: Path, index: str) -> tuple[int, int]:
    out = subprocess.run(
        [
            "sqlite3",
            str(path),
            "PRAGMA page_size;",
            f"SELECT rootpage FROM sqlite_schema WHERE name = '{index}';",
        ],
        text=True,
        check=True,
        capture_output=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


def test_check_on_readonly_store(
    open_store: Callable[..., Store], populated: dict[str, str], db_path: Path
) -> None:
    purge_event(db_path, populated["parent"], 3)
    report = open_store(readonly=True).check()
    assert "last_seq" in codes(report)
