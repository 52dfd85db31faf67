"""The writer role's privileges, and a password that never shows: in messages, str, repr,
tracebacks, pickles, CLI output or --json, on every error path."""

from __future__ import annotations

import os
import pickle
import secrets
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import psycopg
import pytest
from clirunner import SCRIPT, cli_env
from pg_server import dbname_of, dsn, free_port

from zero_session import Store, SyncError, sync
from zero_session.sync._roles import roles_sql

pytestmark = pytest.mark.postgres


def set_up_roles(pg_server: Any) -> tuple[str, str, str]:
    """A fresh database set up with the printed SQL; (dbname, owner dsn, writer dsn)."""
    tag = secrets.token_hex(4)
    owner, writer = f"zs_owner_{tag}", f"zs_writer_{tag}"
    db = pg_server.database()
    pg_server.execute(roles_sql(owner, writer), dbname=db)
    passwords = {}
    for role in (owner, writer):
        passwords[role] = "pw-" + secrets.token_hex(8)
        pg_server.execute(f"ALTER ROLE {role} PASSWORD '{passwords[role]}'")
    make = lambda role: pg_server.dsn(db, user=role, password=passwords[role])  # noqa: E731
    return db, make(owner), make(writer)


def test_the_writer_pushes_but_never_changes_an_event(store: Store, pg_server: Any) -> None:
    _, owner_dsn, writer_dsn = set_up_roles(pg_server)
    assert sync.init(owner_dsn) >= 1  # already current: nothing to do
    root = store.start()
    store.append_many(root.ulid, [("prompt", "a"), ("prompt", "b")])
    store.label(root.ulid, "first")
    store.set_milestone("deploy", "v1")
    assert sync.push(store, writer_dsn).events == 2
    store.end(root.ulid)
    store.unlabel("first")
    store.label(root.ulid, "second")
    store.set_milestone("deploy", "v2")
    store.append(store.fork(root.ulid).ulid, "prompt", "child")
    report = sync.push(store, writer_dsn)  # metadata updates need only the granted columns
    assert (report.events, report.sessions, report.milestones) == (1, 2, 3)
    with psycopg.connect(writer_dsn, autocommit=True) as conn:
        for statement in (
            "DELETE FROM zero_session.events",
            "UPDATE zero_session.events SET text = 'x'",
            "TRUNCATE zero_session.events",
            "DELETE FROM zero_session.sessions",
            "DROP TABLE zero_session.events",
            "ALTER TABLE zero_session.events DISABLE TRIGGER ALL",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM zero_session.event_log").fetchone() == (3,)


def test_a_writer_that_may_not_create_the_schema_is_told_to_run_init(
    store: Store, pg_server: Any
) -> None:
    db = pg_server.database()
    role, password = f"zs_plain_{secrets.token_hex(4)}", "pw-" + secrets.token_hex(8)
    pg_server.role(role, password)
    store.append(store.start().ulid, "prompt", "x")
    with pytest.raises(SyncError) as caught:
        sync.push(store, pg_server.dsn(db, user=role, password=password))
    assert caught.value.kind == "schema"
    assert "sync init" in str(caught.value) and "\n" not in str(caught.value)
    assert password not in str(caught.value)


def _everything_about(exc: BaseException) -> str:
    revived = pickle.loads(pickle.dumps(exc))
    return "\n".join(
        [str(exc), repr(exc), *traceback.format_exception(exc), str(revived), repr(revived)]
    )


def test_no_error_shows_the_password(
    store: Store, pg_server: Any, pg_dsn: str, tmp_path: Path
) -> None:
    secret = "S3cret-" + secrets.token_hex(6)
    store.append(store.start().ulid, "prompt", "x")
    db = dbname_of(pg_dsn)
    refused_role = f"zs_noschema_{secrets.token_hex(4)}"
    pg_server.role(refused_role, secret)
    wrong = pg_server.dsn(db, password=secret)
    cases = {
        "wrong password": wrong,
        "wrong password, URI": f"postgresql://zs_super:{secret}@127.0.0.1:{pg_server.port}/{db}",
        "unreachable": pg_server.dsn(db, password=secret, port=free_port()),
        "malformed": f"host=127.0.0.1 password={secret} port=",
        "malformed quote": f"host='127.0.0.1 password={secret}",
        "unknown database": pg_server.dsn("nope", password=secret),
        "may not create the schema": pg_server.dsn(
            pg_server.database(), user=refused_role, password=secret
        ),
        "unknown host": dsn(host="no-such-host.invalid", password=secret, connect_timeout=2),
    }
    seen = []
    for name, bad in cases.items():
        calls = [lambda bad=bad: sync.push(store, bad), lambda bad=bad: sync.init(bad)]
        if name != "may not create the schema":  # status only reads: that works
            calls.append(lambda bad=bad: sync.status(store, bad))
        for call in calls:
            with pytest.raises(SyncError) as caught:
                call()
            text = _everything_about(caught.value)
            assert secret not in text, name
            seen.append(text)
    assert any("password authentication failed" in t for t in seen)
    # PGPASSWORD is scrubbed too
    os.environ["PGPASSWORD"] = secret
    try:
        with pytest.raises(SyncError) as caught:
            sync.push(store, pg_server.dsn(db, password=None))
        assert secret not in _everything_about(caught.value)
    finally:
        del os.environ["PGPASSWORD"]


def test_no_cli_output_shows_the_password(pg_server: Any, pg_dsn: str, tmp_path: Path) -> None:
    secret = "Cl1-" + secrets.token_hex(6)
    db_file = tmp_path / "s.db"
    with Store.open(db_file) as store:
        store.append(store.start().ulid, "prompt", "x")
    db = dbname_of(pg_dsn)
    wrong = pg_server.dsn(db, password=secret)
    unreachable = pg_server.dsn(db, password=secret, port=free_port())
    dsn_file = tmp_path / "dsn"
    dsn_file.write_text(wrong)
    dsn_file.chmod(0o600)
    open_file = tmp_path / "dsn-open"
    open_file.write_text(wrong)
    open_file.chmod(0o644)
    runs = []
    for args, env_dsn in [
        (["sync", "push"], wrong),
        (["sync", "push", "--json"], wrong),
        (["sync", "status", "--json"], unreachable),
        (["sync", "init"], wrong),
        (["sync", "push", "--dsn-file", str(dsn_file)], None),
        (["sync", "push", "--dsn-file", str(open_file)], None),
        (["sync", "push", "--dsn", wrong], None),
        (["sync", "push", "--dsn", f"postgresql://u:{secret}@127.0.0.1:1/x"], None),
        (["sync", "push", "--dsn", f"password={secret} host='oops"], None),
    ]:
        env = cli_env(db_file)
        if env_dsn is not None:
            env["ZERO_SESSION_PG"] = env_dsn
        done = subprocess.run(
            [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
        )
        runs.append((args, done))
        assert done.returncode in (1, 2), (args, done.stderr)
        assert secret not in done.stdout + done.stderr, args
        assert "Traceback" not in done.stderr
    codes = [done.returncode for _, done in runs]
    assert codes == [1, 1, 1, 1, 1, 1, 2, 2, 2]
    assert "chmod 600" in runs[5][1].stderr
    assert sys.executable  # the console script runs in this venv
