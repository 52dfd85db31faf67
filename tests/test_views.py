"""The ``session_list`` and ``event_log`` views, read by the real ``sqlite3`` shell.

The shell is the one the machine has (Debian 12 ships SQLite 3.40; ``.ci/run`` installs
it), so these tests also prove the schema uses nothing newer.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from clocks import ManualClock

from zero_session import Store

START_MS = int(datetime(2026, 11, 21, 14, 3, 27, tzinfo=UTC).timestamp() * 1000) + 123
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def shell_json(db_path: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of ``sql`` as the sqlite3 shell prints them in ``-json`` mode."""
    result = subprocess.run(
        ["sqlite3", "-bail", "-json", str(db_path), sql],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else []


@pytest.fixture
def recorded(open_store: Callable[..., Store]) -> dict[str, str]:
    clock = ManualClock(START_MS)
    store = open_store(clock=clock)
    a = store.start(cli_version="0.3.0", engine_base_url="http://engine", cwd="/")
    clock.now_ms += 1_000
    store.append(a, "prompt", "buy 10", data={"qty": 10, "note": "ünï 🙂"})
    store.append_many(a, [("system", "ok"), ("warn", "slow")])
    store.label(a, "alpha")
    store.label(a, "beta")
    clock.now_ms += 500
    store.end(a)
    clock.now_ms += 60_000
    b = store.fork(a, at_seq=2)
    clock.now_ms += 2
    store.append(b, "command", "/fork")
    store.label(b, "kid")
    return {"a": a.ulid, "b": b.ulid}


def test_session_list(recorded: dict[str, str], db_path: Path) -> None:
    rows = shell_json(db_path, "SELECT * FROM session_list")
    assert [r["ulid"] for r in rows] == [recorded["b"], recorded["a"]]  # newest first
    child, parent = rows
    assert parent["started_at"] == "2026-11-21T14:03:27.123Z"
    assert parent["ended_at"] == "2026-11-21T14:03:28.623Z"
    assert parent["last_event_at"] == "2026-11-21T14:03:28.123Z"
    assert (parent["n_events"], parent["parent_ulid"], parent["fork_seq"]) == (3, None, 0)
    assert sorted(parent["labels"].split(", ")) == ["alpha", "beta"]
    assert (parent["cli_version"], parent["engine_base_url"]) == ("0.3.0", "http://engine")
    assert parent["state"] == "ended"
    assert child["started_at"] == "2026-11-21T14:04:28.623Z"
    assert child["ended_at"] is None
    assert child["state"] == "open"
    assert (child["n_events"], child["parent_ulid"], child["fork_seq"]) == (1, recorded["a"], 2)
    assert child["labels"] == "kid"
    for row in rows:
        for column in ("started_at", "ended_at", "last_event_at", "expires_at"):
            assert row[column] is None or ISO.fullmatch(row[column]), (column, row[column])


def test_session_list_answers_ad_hoc_questions(recorded: dict[str, str], db_path: Path) -> None:
    rows = shell_json(
        db_path,
        "SELECT ulid, n_events FROM session_list WHERE labels LIKE '%beta%' "
        "OR parent_ulid IS NOT NULL ORDER BY n_events DESC",
    )
    assert rows == [{"ulid": recorded["a"], "n_events": 3}, {"ulid": recorded["b"], "n_events": 1}]


def test_event_log(recorded: dict[str, str], db_path: Path) -> None:
    rows = shell_json(db_path, "SELECT * FROM event_log")
    assert [(r["ulid"], r["seq"], r["kind"], r["text"]) for r in rows] == [
        (recorded["a"], 1, "prompt", "buy 10"),
        (recorded["a"], 2, "system", "ok"),
        (recorded["a"], 3, "warn", "slow"),
        (recorded["b"], 3, "command", "/fork"),
    ]
    assert [r["at"] for r in rows] == [
        "2026-11-21T14:03:28.123Z",
        "2026-11-21T14:03:28.123Z",
        "2026-11-21T14:03:28.123Z",
        "2026-11-21T14:04:28.625Z",
    ]
    assert json.loads(rows[0]["data"]) == {"qty": 10, "note": "ünï 🙂"}
    assert rows[1]["data"] is None


def test_views_join_for_a_readable_history(recorded: dict[str, str], db_path: Path) -> None:
    rows = shell_json(
        db_path,
        "SELECT l.labels, e.seq, e.text FROM event_log AS e "
        "JOIN session_list AS l USING (ulid) WHERE l.labels = 'kid'",
    )
    assert rows == [{"labels": "kid", "seq": 3, "text": "/fork"}]


def test_views_read_while_the_store_writes(open_store: Callable[..., Store], db_path: Path) -> None:
    store = open_store()
    session = store.start()
    store.append(session, "prompt", "one")
    assert shell_json(db_path, "SELECT count(*) AS n FROM event_log") == [{"n": 1}]
    store.append(session, "prompt", "two")
    assert shell_json(db_path, "SELECT n_events FROM session_list") == [{"n_events": 2}]
