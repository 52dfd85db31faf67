"""``zero-session sync``: init, push, status, watch as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from clirunner import SCRIPT, cli_env
from pg_server import dbname_of

from zero_session import Store

pytestmark = pytest.mark.postgres


def run(db_file: Path, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(db_file, ZERO_SESSION_PG=dsn)
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_init_push_status(tmp_path: Path, pg_server: Any, pg_dsn: str) -> None:
    db_file = tmp_path / "s.db"
    with Store.open(db_file) as store:
        session = store.start()
        store.append_many(session.ulid, [("prompt", "a"), ("system", "b")])
    status = run(db_file, pg_dsn, "sync", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout) | {"server": None} == {
        "pending_events": 2,
        "pending_sessions": 1,
        "diverged": [],
        "server_schema_version": 0,
        "store_id": None,
        "server": None,
    }
    init = run(db_file, pg_dsn, "sync", "init")
    assert init.returncode == 0 and "version 1" in init.stdout
    push = run(db_file, pg_dsn, "sync", "push", "--json")
    assert push.returncode == 0, push.stderr
    doc = json.loads(push.stdout)
    assert (doc["events"], doc["sessions"], doc["diverged"], doc["complete"]) == (2, 1, [], True)
    assert push.stderr == ""  # piped: no progress bar
    text = run(db_file, pg_dsn, "sync", "push")
    assert text.returncode == 0 and text.stdout.startswith("pushed 0 events")
    quiet = run(db_file, pg_dsn, "sync", "push", "--quiet")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    status = run(db_file, pg_dsn, "sync", "status")
    assert status.returncode == 0
    assert "pending events    0" in status.stdout


def test_dsn_file_must_be_private(tmp_path: Path, pg_dsn: str) -> None:
    db_file = tmp_path / "s.db"
    Store.open(db_file).close()
    dsn_file = tmp_path / "dsn"
    dsn_file.write_text(pg_dsn + "\n")
    dsn_file.chmod(0o640)
    refused = run(db_file, "", "sync", "push", "--dsn-file", str(dsn_file))
    assert refused.returncode == 1 and "chmod 600" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    dsn_file.chmod(0o600)
    accepted = run(db_file, "", "sync", "push", "--dsn-file", str(dsn_file), "--json")
    assert accepted.returncode == 0, accepted.stderr


def test_a_store_that_does_not_exist(tmp_path: Path, pg_dsn: str) -> None:
    done = run(tmp_path / "missing.db", pg_dsn, "sync", "push")
    assert done.returncode == 1 and "no store" in done.stderr


def test_watch_pushes_until_ctrl_c(tmp_path: Path, pg_server: Any, pg_dsn: str) -> None:
    db_file = tmp_path / "s.db"
    with Store.open(db_file) as store:
        ulid = store.start().ulid
    env = cli_env(db_file, ZERO_SESSION_PG=pg_dsn)
    watcher = subprocess.Popen(
        [str(SCRIPT), "sync", "watch", "--interval", "0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with Store.open(db_file) as store:
            for i in range(5):
                store.append(ulid, "prompt", f"typed {i}")
        deadline = time.monotonic() + 30
        db = dbname_of(pg_dsn)
        while time.monotonic() < deadline:
            tables = pg_server.execute(
                "SELECT to_regclass('zero_session.events') IS NOT NULL", dbname=db
            )
            if tables[0][0] and pg_server.execute(
                "SELECT count(*) FROM zero_session.events", dbname=db
            ) == [(5,)]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("watch did not push the events within 30 s")
        watcher.send_signal(signal.SIGINT)
        out, err = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, err
    assert "pushed" in out and "Traceback" not in err


def test_a_progress_bar_on_a_terminal_only(tmp_path: Path, pg_dsn: str) -> None:
    import pexpect

    db_file = tmp_path / "s.db"
    with Store.open(db_file) as store:
        ulid = store.start().ulid
        store.append_many(ulid, [("prompt", f"e{i}") for i in range(12_000)])
    child = pexpect.spawn(
        str(SCRIPT),
        ["sync", "push"],
        env=cli_env(db_file, ZERO_SESSION_PG=pg_dsn),
        encoding="utf-8",
        timeout=60,
    )
    child.expect(r"pushing [\d,]+ / 12,000 events")
    child.expect("pushed 12,000 events")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
