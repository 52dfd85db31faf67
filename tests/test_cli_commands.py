"""Every `zero-session` command, run as the installed console script against a real file."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest
from clirunner import SCRIPT, cli_env, run
from ulidtools import unique_prefix

from zero_session import Store

REPO = Path(__file__).resolve().parent.parent
T0 = int(datetime(2026, 11, 21, 14, 0, tzinfo=UTC).timestamp() * 1000)
LONG = "first line of a long prompt\n" + "x" * 300 + " end-of-long-text"


@attrs.define
class Sample:
    db: Path
    root: Path
    main: str
    fork: str
    other: str


def _ticking_clock() -> Iterator[int]:
    now = T0
    while True:
        yield now
        now += 1_000


@pytest.fixture
def sample(tmp_path: Path) -> Sample:
    """Three sessions: `main` (labelled pre-cpi, ended), its live fork, and `other`."""
    ticks = _ticking_clock()
    db = tmp_path / "sessions.db"
    (tmp_path / "proj").mkdir()
    (tmp_path / "elsewhere").mkdir()
    with Store.open(db, clock=lambda: next(ticks)) as store:
        main = store.start(cli_version="0.3.0", cwd=tmp_path / "proj", meta={"agent": "a1"})
        store.append(main, "prompt", "buy 10", data={"qty": 10})
        store.append_many(main, [("system", "ok"), ("warn", "slow"), ("alert", "margin call")])
        store.label(main, "pre-cpi")
        fork = store.fork(main, at_seq=2)
        store.append(fork, "command", "/fork")
        store.append(fork, "prompt", LONG)
        store.end(main)
        other = store.start(cwd=tmp_path / "elsewhere")
        store.append(other, "system", "other session")
        store.end(other)
    return Sample(db, tmp_path, main.ulid, fork.ulid, other.ulid)


def test_list_newest_first_with_header(sample: Sample) -> None:
    result = run(sample.db, "list")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0].split() == ["ULID", "STARTED", "STATUS", "EVENTS", "LABELS", "PARENT", "CWD"]
    assert [line.split()[0] for line in lines[1:]] == [sample.other, sample.fork, sample.main]
    main_row = lines[3].split()
    assert main_row[1:5] == ["2026-11-21", "14:00:00", "ended", "4"]
    assert main_row[5] == "pre-cpi"
    assert lines[2].split()[3] == "live"  # the fork's writer (this test) still runs


def test_list_options_and_json_before_or_after(sample: Sample) -> None:
    for args in (("--json", "list"), ("list", "--json")):
        docs = run(sample.db, *args).json()
        assert [d["ulid"] for d in docs] == [sample.other, sample.fork, sample.main]
    main = docs[2]
    assert main["started_at_ms"] == T0
    assert main["started_at"] == "2026-11-21T14:00:00.000Z"
    assert main["labels"] == ["pre-cpi"] and main["n_events"] == 4
    assert main["meta"] == {"agent": "a1"} and main["status"] == "ended"

    def ulids(*args: str) -> list[str]:
        return [d["ulid"] for d in run(sample.db, "list", "--json", *args).json()]

    assert ulids("-n", "1") == [sample.other]
    assert ulids("--status", "live") == [sample.fork]
    assert ulids("--status", "ended") == [sample.other, sample.main]
    assert ulids("--label", "pre-*") == [sample.main]
    assert ulids("--label", "nothing") == []
    assert ulids("--cwd", str(sample.root / "elsewhere")) == [sample.other]
    assert ulids("--cwd", str(sample.root / "proj" / "deeper")) == [sample.fork, sample.main]
    assert ulids("--since", docs[0]["started_at"]) == [sample.other]
    assert ulids("--since", docs[1]["started_at"]) == [sample.other, sample.fork]
    assert ulids("--since", "2030-01-01") == []
    assert ulids("--since", "5200w") == [sample.other, sample.fork, sample.main]


def test_archived_sessions_only_on_request(sample: Sample) -> None:
    with Store.open(sample.db) as store:
        store.archive(sample.other)

    def ulids(*args: str) -> list[str]:
        return [d["ulid"] for d in run(sample.db, "list", "--json", *args).json()]

    assert ulids() == [sample.fork, sample.main]
    assert ulids("--all") == [sample.other, sample.fork, sample.main]
    assert ulids("--status", "archived") == [sample.other]


def test_a_store_from_an_older_version_is_upgraded_once(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    first = (REPO / "migrations" / "0001_initial.sql").read_text("utf-8")
    script = f"{first}\nPRAGMA user_version = 1;\nPRAGMA application_id = {0x5A534553};\n"
    subprocess.run(["sqlite3", str(db)], input=script, text=True, check=True)
    assert run(db, "list", "--json").json() == []
    version = subprocess.run(
        ["sqlite3", str(db), "PRAGMA user_version"], capture_output=True, text=True, check=True
    )
    assert int(version.stdout) > 1


def test_show_lists_parent_chain_and_kinds(sample: Sample) -> None:
    doc = run(sample.db, "show", sample.fork, "--json").json()
    assert doc["parent_ulid"] == sample.main and doc["fork_seq"] == 2
    assert doc["parents"] == [{"ulid": sample.main, "fork_seq": 2, "labels": ["pre-cpi"]}]
    assert doc["kinds"] == {"prompt": 2, "command": 1, "system": 1}
    text = run(sample.db, "show", "pre-cpi").out
    assert f"ulid         {sample.main}" in text
    assert "kinds        prompt 1, alert 1, system 1, warn 1" in text.replace(
        "alert 1, prompt 1", "prompt 1, alert 1"
    )
    fork_text = run(sample.db, "show", unique_prefix(sample.fork, sample.main, sample.other)).out
    assert f"forked from  {sample.main} (pre-cpi) at seq 2" in fork_text


def test_replay_whole_timeline_never_truncated(sample: Sample) -> None:
    result = run(sample.db, "replay", sample.fork)
    assert result.code == 0, result
    assert "end-of-long-text" in result.out and "x" * 300 in result.out
    seqs = [line.split()[0] for line in result.out.splitlines() if line[:6].strip().isdigit()]
    assert seqs == ["1", "2", "3", "4"]
    assert f"-- continued in {sample.fork} --" in result.out
    docs = run(sample.db, "replay", sample.fork, "--json").json()
    assert [(d["session"], d["seq"]) for d in docs] == [
        (sample.main, 1),
        (sample.main, 2),
        (sample.fork, 3),
        (sample.fork, 4),
    ]
    assert docs[0]["data"] == {"qty": 10} and docs[3]["text"] == LONG
    assert docs[0]["at"] == "2026-11-21T14:00:01.000Z" and docs[0]["at_ms"] == T0 + 1000


def test_replay_filters(sample: Sample) -> None:
    def seqs(*args: str) -> list[int]:
        return [d["seq"] for d in run(sample.db, "--json", "replay", *args).json()]

    assert seqs(sample.fork, "--own") == [3, 4]
    assert seqs(sample.fork, "--kind", "prompt") == [1, 4]
    assert seqs(sample.fork, "--kind", "prompt", "--kind", "system") == [1, 2, 4]
    assert seqs(sample.fork, "--after", "2") == [3, 4]
    assert seqs(sample.fork, "--limit", "3") == [1, 2, 3]
    assert seqs("pre-cpi", "--own", "--after", "2", "--limit", "1") == [3]


def test_tail(sample: Sample) -> None:
    result = run(sample.db, "tail", "pre-cpi", "-n", "2")
    assert [line.split()[0] for line in result.out.splitlines()] == ["3", "4"]
    assert "margin call" in result.out
    assert [d["seq"] for d in run(sample.db, "tail", sample.fork, "--json").json()] == [1, 2, 3, 4]


def test_find(sample: Sample) -> None:
    assert run(sample.db, "find", "pre-cpi", "--json").json()["ulid"] == sample.main
    prefix = unique_prefix(sample.other, sample.main, sample.fork).lower()
    assert run(sample.db, "find", prefix, "--json").json()["ulid"] == sample.other
    assert run(sample.db, "find", sample.main).out.splitlines()[1].startswith(sample.main)


def test_label_unlabel_fork_end_write_the_store(sample: Sample) -> None:
    other = unique_prefix(sample.other, sample.main, sample.fork)
    assert run(sample.db, "label", other, "nightly").out.strip() == (
        f"labelled {sample.other} as nightly"
    )
    assert run(sample.db, "label", "nightly", "second", "--json").json() == {
        "label": "second",
        "ulid": sample.other,
    }
    assert run(sample.db, "unlabel", "second").code == 0
    child = run(sample.db, "fork", "pre-cpi", "--at", "3", "--json").json()
    assert child["parent_ulid"] == sample.main and child["fork_seq"] == 3
    default_fork = run(sample.db, "fork", "pre-cpi").out
    assert default_fork.startswith(f"forked {sample.main} at seq 4: ")
    ended = run(sample.db, "end", sample.fork, "--json").json()
    assert ended["status"] == "ended" and ended["ended_at_ms"] is not None
    with Store.open(sample.db, readonly=True) as store:
        assert store.labels() == {"nightly": sample.other, "pre-cpi": sample.main}
        assert store.get(sample.fork).ended_at_ms == ended["ended_at_ms"]
        assert [e.seq for e in store.replay(child["ulid"])] == [1, 2, 3]
    again = run(sample.db, "end", sample.fork, "--json").json()
    assert again["ended_at_ms"] == ended["ended_at_ms"]


def test_milestones(sample: Sample) -> None:
    with Store.open(sample.db) as store:
        store.set_milestone("deploy.version", "v" + "9" * 100)
    docs = run(sample.db, "milestones", "--json").json()
    assert [d["key"] for d in docs] == ["deploy.version", "session.label.pre-cpi"]
    assert docs[0]["value"] == "v" + "9" * 100
    table = run(sample.db, "milestones", "deploy").out.splitlines()
    assert table[0].split() == ["KEY", "VALUE", "SET", "AT"]
    assert len(table) == 2 and "…" in table[1]  # long values are truncated in tables


def test_export_import_round_trip_through_files(sample: Sample, tmp_path: Path) -> None:
    dump = tmp_path / "all.jsonl"
    exported = run(sample.db, "export", "--all", "-o", str(dump), "--json").json()
    assert exported == {"path": str(dump), "sessions": 3, "events": 7, "milestones": 1}
    copy = tmp_path / "copy.db"
    first = run(copy, "import", str(dump), "--json")
    assert first.json() == {"sessions": 3, "events": 7, "milestones": 1}, first
    assert run(copy, "import", str(dump), "--json").json() == {
        "sessions": 0,
        "events": 0,
        "milestones": 0,
    }
    again = run(copy, "export", "--all").out.splitlines()
    assert again[1:] == dump.read_text("utf-8").splitlines()[1:]
    assert run(copy, "list", "--json").json() == run(sample.db, "list", "--json").json()


def test_export_one_session_brings_its_ancestors_and_reads_stdin(
    sample: Sample, tmp_path: Path
) -> None:
    lines = run(sample.db, "export", sample.fork).out
    kinds = [line.split('"type":"')[1].split('"')[0] for line in lines.splitlines()]
    # the parent comes first, then the fork, then the labels of both (pre-cpi)
    assert kinds == [
        "zero-session-export",
        "session",
        *["event"] * 4,
        "session",
        "event",
        "event",
        "milestone",
    ]
    copy = tmp_path / "one.db"
    assert run(copy, "import", "-", input=lines).code == 0
    docs = run(copy, "replay", sample.fork, "--json").json()
    assert [d["seq"] for d in docs] == [1, 2, 3, 4]


def test_share_is_one_json_document(sample: Sample) -> None:
    doc = run(sample.db, "share", sample.fork).json()
    assert doc["session"]["ulid"] == sample.fork
    assert [p["ulid"] for p in doc["parents"]] == [sample.main]
    assert [e["seq"] for e in doc["events"]] == [1, 2, 3, 4]
    assert doc["events"][3]["text"] == LONG
    assert [e["seq"] for e in run(sample.db, "share", "pre-cpi", "-n", "1").json()["events"]] == [4]
    assert run(sample.db, "share", "pre-cpi", "--json").json()["session"]["ulid"] == sample.main


def test_stats(sample: Sample) -> None:
    doc = run(sample.db, "stats", "--json").json()
    assert (doc["sessions"], doc["events"], doc["milestones"], doc["labels"]) == (3, 7, 1, 1)
    assert doc["by_kind"] == {"prompt": 2, "system": 2, "alert": 1, "command": 1, "warn": 1}
    assert doc["busiest"][0] == {"ulid": sample.main, "n_events": 4, "labels": ["pre-cpi"]}
    assert doc["file_bytes"] > 0 and doc["first_started_at_ms"] == T0
    text = run(sample.db, "stats").out
    assert "sessions     3" in text and "BUSIEST SESSION" in text


def test_backup_copies_a_usable_store(sample: Sample, tmp_path: Path) -> None:
    dest = tmp_path / "backup.db"
    doc = run(sample.db, "backup", str(dest), "--json").json()
    assert doc["path"] == str(dest) and doc["bytes"] == dest.stat().st_size
    assert run(dest, "list", "--json").json() == run(sample.db, "list", "--json").json()
    assert run(dest, "doctor").code == 0


def test_path_and_doctor(sample: Sample, tmp_path: Path) -> None:
    assert run(sample.db, "path").out.strip() == str(sample.db)
    other = tmp_path / "nowhere.db"
    assert run(sample.db, "--db", str(other), "path", "--json").json() == {
        "path": str(other),
        "exists": False,
    }
    assert run(sample.db, "doctor").out.strip() == f"{sample.db}: ok"
    assert run(sample.db, "doctor", "--json").json() == {
        "path": str(sample.db),
        "ok": True,
        "problems": [],
    }


def test_demo_creates_the_store(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "demo.db"
    result = run(db, "demo")
    assert result.code == 0, result
    assert "replay of" in result.out and "switched to paper trading" in result.out
    assert len(run(db, "list", "--json").json()) == 2


def _on_terminal(db: Path, *args: str, **env: str) -> str:
    """Run the script with a pseudo-terminal as stdout; what it printed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [str(SCRIPT), *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=cli_env(db, TERM="xterm-256color", **env),
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=30) == 0
    return b"".join(chunks).decode("utf-8")


def test_colour_only_on_a_terminal_and_never_with_no_color(sample: Sample) -> None:
    coloured = _on_terminal(sample.db, "replay", sample.fork)
    assert "\x1b[" in coloured and "end-of-long-text" in coloured
    assert "\x1b[" in _on_terminal(sample.db, "list")
    plain = _on_terminal(sample.db, "replay", sample.fork, NO_COLOR="1")
    assert "\x1b[" not in plain and "end-of-long-text" in plain
    assert "\x1b[" not in run(sample.db, "replay", sample.fork).out  # piped


@pytest.mark.parametrize("hidden", ["click", "rich"])
def test_missing_extra_prints_a_hint(sample: Sample, tmp_path: Path, hidden: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(f"import sys\nsys.modules[{hidden!r}] = None\n")
    env = cli_env(sample.db, PYTHONPATH=str(site))
    result = run(sample.db, "list", env=env)
    assert result.code == 1
    assert result.err.splitlines() == [
        "zero-session: the command line needs the 'cli' extra: "
        f"pip install 'zero-session[cli]' ({hidden} is missing)"
    ]


def test_library_does_not_import_click_or_rich() -> None:
    code = (
        "import sys, zero_session, zero_session.cli, zero_session.cli.main;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'rich')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
