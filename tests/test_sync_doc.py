"""Every example of docs/postgres.md, run against a real server: the Python block, the
role script of ``sync init --print-sql`` as the set-up commands use it, and each psql query
(read from the document's ```sql blocks, so the document and this test cannot drift)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from clirunner import SCRIPT, cli_env
from pg_server import dbname_of

from zero_session import Store, sync

pytestmark = pytest.mark.postgres

DOC = Path(__file__).resolve().parent.parent / "docs" / "postgres.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text("utf-8"), re.S)


def queries() -> dict[str, str]:
    """Heading → the SQL block under it."""
    found = re.findall(r"^### (.+?)\n.*?```sql\n(.*?)```", DOC.read_text("utf-8"), re.S | re.M)
    return dict(found)


def as_psycopg(sql: str) -> str:
    """psql's :'name' variables as psycopg's named parameters."""
    return re.sub(r":'(\w+)'", r"%(\1)s", sql.replace("%", "%%"))


def test_the_python_example(tmp_path: Path, pg_dsn: str) -> None:
    (code,) = blocks("python")
    env = dict(os.environ, ZERO_SESSION_PG=pg_dsn)
    env["PYTHONPATH"] = str(DOC.parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1", "0", "()"]


def test_the_set_up_commands(tmp_path: Path, pg_server: Any) -> None:
    """print-sql → run by the superuser → a password → push and status as the writer."""
    (commands,) = blocks("sh")
    assert "zero-session sync init --print-sql > roles.sql" in commands
    tag = secrets.token_hex(4)
    owner, writer = f"doc_owner_{tag}", f"doc_writer_{tag}"
    printed = subprocess.run(
        [str(SCRIPT), "sync", "init", "--print-sql", "--owner", owner, "--writer", writer],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    db = pg_server.database()
    pg_server.execute(printed, dbname=db)
    password = "pw-" + secrets.token_hex(8)
    pg_server.execute(f"ALTER ROLE {writer} PASSWORD '{password}'")
    pgpass = tmp_path / ".pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_server.port}:{db}:{writer}:{password}\n")
    pgpass.chmod(0o600)
    db_file = tmp_path / "sessions.db"
    with Store.open(db_file) as store:
        store.append(store.start().ulid, "prompt", "hello")
    env = cli_env(
        db_file,
        ZERO_SESSION_PG=f"host=127.0.0.1 port={pg_server.port} dbname={db} user={writer}",
        PGPASSFILE=str(pgpass),
    )
    for args in (["sync", "push"], ["sync", "status"]):
        done = subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert "pending events    0" in done.stdout


@pytest.fixture(scope="module")
def two_stores(tmp_path_factory: pytest.TempPathFactory, pg_server: Any) -> dict[str, Any]:
    """Two stores pushed to one database: a fork tree in A, one session in B."""
    folder = tmp_path_factory.mktemp("doc")
    dsn = pg_server.dsn(pg_server.database())
    with Store.open(folder / "a.db") as a, Store.open(folder / "b.db") as b:
        root = a.start()
        a.append(root, "prompt", "buy 10 ACME", data={"qty": 10})
        a.append_many(root, [("system", "ok"), ("alert", "Margin call at 80%")])
        child = a.fork(root, at_seq=2)
        a.append(child, "prompt", "sell 5", data={"qty": 5})
        grandchild = a.fork(child, at_seq=1)  # below its parent's own fork point
        a.append(grandchild, "prompt", "what if")
        other = b.start()
        b.append(other, "alert", "margin call on desk B", data={"qty": 1})
        sync.push(a, dsn)
        sync.push(b, dsn)
        return {
            "dsn": dsn,
            "a": sync.status(a, dsn).store_id,
            "b": sync.status(b, dsn).store_id,
            "grandchild": grandchild.ulid,
            "timeline": [(e.seq, e.session, e.kind, e.text) for e in a.replay(grandchild)],
        }


def run_query(pg_server: Any, two: dict[str, Any], heading: str, **params: Any) -> list[Any]:
    sql = as_psycopg(queries()[heading])
    return list(pg_server.execute(sql, params, dbname=dbname_of(two["dsn"])))


def test_sessions_per_store(pg_server: Any, two_stores: dict[str, Any]) -> None:
    rows = run_query(pg_server, two_stores, "Sessions per store")
    assert [(origin, n, events) for origin, n, events, _ in rows] == [
        (two_stores["a"], 3, 5),
        (two_stores["b"], 1, 1),
    ]


def test_a_whole_fork_timeline(pg_server: Any, two_stores: dict[str, Any]) -> None:
    rows = run_query(pg_server, two_stores, "A whole fork timeline", ulid=two_stores["grandchild"])
    assert [(seq, ulid, kind, text) for seq, _, ulid, kind, text in rows] == two_stores["timeline"]


def test_search_across_all_stores(pg_server: Any, two_stores: dict[str, Any]) -> None:
    rows = run_query(pg_server, two_stores, "Search across all stores", needle="margin")
    assert sorted((origin, text) for origin, _, _, _, _, text in rows) == sorted(
        [(two_stores["a"], "Margin call at 80%"), (two_stores["b"], "margin call on desk B")]
    )


def test_events_by_a_field_of_their_data(pg_server: Any, two_stores: dict[str, Any]) -> None:
    rows = run_query(pg_server, two_stores, "Events by a field of their data")
    assert [qty for *_, qty in rows] == [10, 5, 1]


def test_divergences_query(pg_server: Any, two_stores: dict[str, Any]) -> None:
    assert run_query(pg_server, two_stores, "Divergences") == []


def test_data_jsonb_refuses_is_kept_as_text(store: Store, pg_server: Any, pg_dsn: str) -> None:
    """A lone surrogate escape passes SQLite's json_valid but not jsonb: the batch is
    merged again with try_jsonb, the text kept exactly, data NULL."""
    ulid = store.start().ulid
    store._append_rows(ulid, [("prompt", "ok", '{"a":1}'), ("prompt", "odd", '{"a":"\\ud800"}')])
    assert sync.push(store, pg_dsn).events == 2
    rows = pg_server.execute(
        "SELECT seq, data, data_text FROM zero_session.events ORDER BY seq",
        dbname=dbname_of(pg_dsn),
    )
    assert rows == [(1, {"a": 1}, '{"a":1}'), (2, None, '{"a":"\\ud800"}')]


def test_the_readme_example(tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = DOC.parent.parent / "README.md"
    (code,) = [
        b
        for b in re.findall(r"```python\n(.*?)```", readme.read_text("utf-8"), re.S)
        if "sync." in b
    ]
    code = code.replace('"host=db.example.com dbname=sessions"', repr(pg_dsn))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZERO_SESSION_PG", pg_dsn)
    with Store.open(tmp_path / "state.db") as store:
        store.append(store.start().ulid, "prompt", "x")
    namespace: dict[str, Any] = {}
    exec(compile(code, str(readme), "exec"), namespace)
    assert namespace["report"].events == 1
