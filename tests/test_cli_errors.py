"""Every error path of `zero-session`: exit 1 with one line and no traceback, or exit 2 for
usage errors; the store is left as it was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clirunner import assert_user_error, run

from zero_session import Store

# Two sessions whose ulids share the prefix 01HZZZZZZZ (made by import, so they are known).
TWINS = ("01HZZZZZZZAAAAAAAAAAAAAAAA", "01HZZZZZZZBBBBBBBBBBBBBBBB")


def _twin_export() -> str:
    lines = [{"type": "zero-session-export", "format": 1, "exported_at_ms": 0}]
    for ulid in TWINS:
        lines.append(
            {
                "type": "session",
                "ulid": ulid,
                "parent": None,
                "fork_seq": 0,
                "started_at_ms": 1_700_000_000_000,
                "last_seq": 1,
                "meta": {},
            }
        )
        lines.append(
            {
                "type": "event",
                "session": ulid,
                "seq": 1,
                "at_ms": 1_700_000_000_001,
                "kind": "system",
                "text": "hello",
            }
        )
    lines.append(
        {"type": "milestone", "key": "session.label.twin-a", "value": TWINS[0], "at_ms": 5}
    )
    return "".join(json.dumps(line) + "\n" for line in lines)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.db"
    result = run(path, "import", "-", input=_twin_export())
    assert result.code == 0, result
    return path


def _snapshot(db: Path) -> str:
    return run(db, "export", "--all").out.split("\n", 1)[1]


@pytest.mark.parametrize(
    "args",
    [
        ("show", "nothing-here"),
        ("replay", "nothing-here"),
        ("replay", "nothing-here", "--follow"),
        ("tail", "nothing-here"),
        ("find", "nothing-here"),
        ("label", "nothing-here", "x"),
        ("fork", "nothing-here"),
        ("end", "nothing-here"),
        ("export", "nothing-here"),
        ("share", "nothing-here"),
        ("find", "01ZZZZZZZZZZZZZZZZZZZZZZZZ"),
    ],
)
def test_unknown_needle(db: Path, args: tuple[str, ...]) -> None:
    assert_user_error(run(db, *args), "no session matches")


def test_short_prefix_is_explained(db: Path) -> None:
    assert_user_error(run(db, "show", "01HZZ"), "at least 6 characters")


@pytest.mark.parametrize("command", ["show", "replay", "tail", "find", "fork", "end", "share"])
def test_ambiguous_prefix_lists_candidates(db: Path, command: str) -> None:
    result = run(db, command, "01hzzzzzzz")
    assert_user_error(result, "matches 2 sessions", TWINS[0], TWINS[1])


@pytest.mark.parametrize("name", ["has space", "x" * 65, "tab\there"])
def test_bad_label(db: Path, name: str) -> None:
    before = _snapshot(db)
    assert_user_error(run(db, "label", "twin-a", name), "label")
    assert _snapshot(db) == before


def test_unlabel_unknown(db: Path) -> None:
    assert_user_error(run(db, "unlabel", "never-set"), "no label 'never-set'")


def test_fork_past_the_end(db: Path) -> None:
    assert_user_error(run(db, "fork", "twin-a", "--at", "5"), "past the end")


def test_missing_files(db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such.jsonl"
    assert_user_error(run(db, "import", str(missing)), "cannot read", str(missing))
    nowhere = tmp_path / "no-such.db"
    for args in (("list",), ("doctor",), ("stats",), ("label", "x", "y"), ("backup", "b.db")):
        assert_user_error(run(nowhere, *args), "no store at", str(nowhere))
    assert not nowhere.exists()  # a mistyped --db is reported, never created


def test_export_to_a_missing_folder(db: Path, tmp_path: Path) -> None:
    target = tmp_path / "no" / "folder.jsonl"
    assert_user_error(run(db, "export", "--all", "-o", str(target)), "cannot write")


def test_not_a_store(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("these are not the droids\n" * 200)
    assert_user_error(run(text, "list"), "not a zero_session database")
    assert_user_error(run(text, "label", "a", "b"), "not a zero_session database")
    other_app = tmp_path / "other.db"
    subprocess.run(["sqlite3", str(other_app), "CREATE TABLE t (x)"], check=True)
    assert_user_error(run(other_app, "list"), "another application")


def test_schema_too_new(db: Path) -> None:
    subprocess.run(["sqlite3", str(db), "PRAGMA user_version = 999"], check=True)
    assert_user_error(run(db, "list"), "newer than this zero_session knows")


def test_bad_import_files_change_nothing(db: Path, tmp_path: Path) -> None:
    before = _snapshot(db)
    good = _twin_export().splitlines()
    cases = {
        "not-json.jsonl": good[0] + "\n{oops\n",
        "no-header.jsonl": "\n".join(good[1:]) + "\n",
        "gap.jsonl": _twin_export().replace('"last_seq": 1', '"last_seq": 2'),
        "bad-kind.jsonl": _twin_export().replace('"kind": "system"', '"kind": "Bad Kind"'),
        "binary.jsonl": None,
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is None:
            path.write_bytes(b"\xff\xfe\x00garbage")
        else:
            path.write_text(content)
        assert_user_error(run(db, "import", str(path)), str(path))
    assert _snapshot(db) == before


def test_import_conflicting_history_is_refused(db: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed.jsonl"
    changed.write_text(_twin_export().replace('"text": "hello"', '"text": "rewritten"', 1))
    assert_user_error(run(db, "import", str(changed)), "differs from the store's")


def test_backup_refuses_to_overwrite(db: Path, tmp_path: Path) -> None:
    dest = tmp_path / "exists.db"
    dest.write_text("precious")
    assert_user_error(run(db, "backup", str(dest)), "already exists")
    assert dest.read_text() == "precious"


def test_doctor_reports_problems_with_exit_1(db: Path) -> None:
    subprocess.run(
        [
            "sqlite3",
            str(db),
            "INSERT INTO milestones VALUES "
            "('session.label.ghost', '01ZZZZZZZZZZZZZZZZZZZZZZZZ', 0)",
        ],
        check=True,
    )
    result = run(db, "doctor")
    assert result.code == 1
    assert "ghost" in result.out
    assert result.err.splitlines() == [f"zero-session: 1 problem found in {db}"]
    doc = run(db, "doctor", "--json").json()
    assert doc["ok"] is False and doc["problems"][0]["code"] == "label"


_HOLD_LOCK = """
import sys, apsw
conn = apsw.Connection(sys.argv[1])
conn.execute(sys.argv[2])
print("locked", flush=True)
sys.stdin.read()
"""


def _hold(db: Path, sql: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(db), sql],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    return proc


def test_locked_database(db: Path, tmp_path: Path) -> None:
    before = _snapshot(db)
    dump = tmp_path / "dump.jsonl"
    dump.write_text(_twin_export())
    holder = _hold(db, "BEGIN IMMEDIATE")
    try:
        for args in (("label", "twin-a", "blocked"), ("end", "twin-a"), ("import", str(dump))):
            assert_user_error(run(db, "--busy-timeout", "200", *args), "locked")
        assert run(db, "list").code == 0  # readers are not blocked by a writer (WAL)
    finally:
        holder.communicate("")
    assert _snapshot(db) == before
    assert run(db, "label", "twin-a", "after").code == 0


@pytest.mark.parametrize(
    "args",
    [
        ("no-such-command",),
        ("list", "--no-such-option"),
        ("list", "-n", "0"),
        ("list", "--status", "sleepy"),
        ("list", "--since", "the other day"),
        ("replay", "twin-a", "--kind", "Not A Kind"),
        ("replay",),
        ("export",),
        ("export", "twin-a", "--all"),
        ("fork", "twin-a", "--at", "-1"),
        ("--busy-timeout", "soon", "list"),
    ],
)
def test_usage_errors_exit_2(db: Path, args: tuple[str, ...]) -> None:
    result = run(db, *args)
    assert result.code == 2, result
    assert "Usage:" in result.err and "Traceback" not in result.err
    assert result.out == ""


def test_help_exits_0(db: Path) -> None:
    result = run(db, "--help")
    assert result.code == 0 and "replay" in result.out and "backup" in result.out
    assert run(db, "replay", "--help").code == 0


def test_closed_pipe_is_quiet(db: Path) -> None:
    with Store.open(db) as store:
        session = store.start()
        store.append_many(session, [("system", f"line {i}") for i in range(20_000)])
    from clirunner import SCRIPT, cli_env

    proc = subprocess.Popen(
        f"'{SCRIPT}' replay {session.ulid} | head -n 1",
        shell=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(db),
    )
    out, err = proc.communicate(timeout=60)
    assert out.split()[0] == "1"
    assert "Traceback" not in err and "Broken pipe" not in err
