"""CLI details: the flag at fault is named, counts are in the right number, --db goes
anywhere, a relative XDG_STATE_HOME is ignored, a CLI fork reads as ended."""

from __future__ import annotations

from pathlib import Path

from clirunner import assert_user_error, cli_env, run

from zero_session import Recorder, SessionCommands, Status, Store


def test_fork_past_the_end_names_the_flag(db_path: Path, store: Store) -> None:
    session = store.start()
    store.append(session, "prompt", "one")
    result = run(db_path, "fork", session.ulid, "--at", "5")
    assert_user_error(result, "--at 5", "last seq is 1")


def test_a_cli_fork_is_ended_not_interrupted(db_path: Path, store: Store) -> None:
    session = store.start()
    store.append(session, "prompt", "one")
    store.end(session)
    result = run(db_path, "fork", session.ulid, "--json")
    assert result.code == 0, result.err
    child = result.json()["ulid"]
    assert store.get(child).status is Status.ENDED  # the CLI process is gone by now
    resumed = store.resume(child)  # a program continues it as usual
    assert resumed.session.status is Status.LIVE


def test_db_after_the_command(db_path: Path, store: Store, tmp_path: Path) -> None:
    session = store.start()
    elsewhere = cli_env(tmp_path / "elsewhere.db")
    listed = run(db_path, "list", "--db", str(db_path), "--json", env=elsewhere)
    assert listed.code == 0, listed.err
    assert [s["ulid"] for s in listed.json()] == [session.ulid]
    shown = run(db_path, "show", session.ulid, f"--db={db_path}", env=elsewhere)
    assert shown.code == 0 and session.ulid in shown.out
    assert not (tmp_path / "elsewhere.db").exists()


def test_relative_xdg_state_home_is_ignored(db_path: Path, tmp_path: Path) -> None:
    env = cli_env(db_path, HOME=str(tmp_path), XDG_STATE_HOME="relative/state")
    del env["ZERO_SESSION_DB"]
    result = run(db_path, "path", env=env)
    assert result.out.strip() == str(tmp_path / ".local/state/zero-session/sessions.db")
    env["XDG_STATE_HOME"] = str(tmp_path / "abs")
    result = run(db_path, "path", env=env)
    assert result.out.strip() == str(tmp_path / "abs/zero-session/sessions.db")


def test_counts_of_one_are_singular(store: Store, db_path: Path, tmp_path: Path) -> None:
    with Recorder(store) as rec:
        rec.record("prompt", "only")
        (heading, *_) = SessionCommands(rec).dispatch("/replay")
        assert heading.text.endswith("· 1 event")
        ulid = rec.current
    assert ulid is not None
    exported = tmp_path / "one.jsonl"
    assert run(db_path, "export", ulid, "--output", str(exported)).code == 0
    imported = run(tmp_path / "other.db", "import", str(exported))
    assert imported.code == 0, imported.err
    assert "1 session, 1 event, 0 milestones" in imported.out + imported.err
