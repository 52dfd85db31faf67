"""`zero-session archive`, `unarchive`, `delete`, `prune` and `vacuum`, run as the installed
console script against real files; effects checked with the API and the `sqlite3` binary."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pty
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from clirunner import SCRIPT, Result, assert_user_error, cli_env, run
from clocks import ManualClock
from ulidtools import unique_prefix

from zero_session import SessionNotFound, Status, Store

DAY = timedelta(days=1)


@attrs.define
class Shelf:
    """Sessions of every kind prune tells apart (all recorded by this test process)."""

    db: Path
    old: str  # ended 60 days ago, 3 events: goes with --older-than 30d
    labelled: str  # like old, labelled 'keep-me'
    archived: str  # like old, archived
    parent: str  # like old, but has a recent fork
    fork: str  # forked from parent today, 1 own event
    expired: str  # started 2 days ago with a 1-day TTL
    recent: str  # ended today
    live: str  # started 60 days ago, never ended: its writer (this process) still runs


@pytest.fixture
def shelf(tmp_path: Path) -> Shelf:
    now_ms = time.time_ns() // 1_000_000
    clock = ManualClock(now_ms - 60 * 86_400_000, step_ms=1_000)
    db = tmp_path / "sessions.db"
    with Store.open(db, clock=clock) as store:

        def ended(n_events: int = 0, *, ttl: timedelta | None = None) -> str:
            session = store.start(ttl=ttl)
            if n_events:
                store.append_many(session, [("system", f"event {i}") for i in range(n_events)])
            store.end(session)
            return session.ulid

        old = ended(3)
        labelled = ended(2)
        store.label(labelled, "keep-me")
        archived = ended(2)
        store.archive(archived)
        parent = ended(4)
        live = store.start().ulid
        store.append(live, "prompt", "still going")
        clock.now_ms = now_ms - 2 * 86_400_000
        expired = ended(1, ttl=DAY)
        clock.now_ms = now_ms - 60_000
        fork = store.fork(parent, at_seq=2).ulid
        store.append(fork, "prompt", "fresh")
        store.end(fork)
        recent = ended(1)
    return Shelf(db, old, labelled, archived, parent, fork, expired, recent, live)


def _ulids(db: Path) -> set[str]:
    """Every session in the file, archived ones included, read through the API."""
    with Store.open(db, readonly=True) as store:
        return {s.ulid for s in store.list_sessions(None, include_archived=True)}


def _sql(db: Path, query: str) -> str:
    """What the real `sqlite3` shell prints for ``query``."""
    done = subprocess.run(
        ["sqlite3", "-readonly", str(db), query], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _rows_of(db: Path, ulid: str) -> tuple[int, int, int]:
    """(session rows, event rows, label rows) the file holds for ``ulid``, by `sqlite3`."""
    counts = _sql(
        db,
        f"SELECT (SELECT count(*) FROM sessions WHERE ulid = '{ulid}'), "
        "(SELECT count(*) FROM events AS e JOIN sessions AS s ON s.id = e.session_id "
        f"WHERE s.ulid = '{ulid}'), "
        f"(SELECT count(*) FROM milestones WHERE value = '{ulid}')",
    )
    sessions, events, labels = (int(n) for n in counts.split("|"))
    return sessions, events, labels


def _dump(db: Path) -> str:
    """Every row of the file, as `sqlite3 .dump` prints it."""
    return _sql(db, ".dump")


def _digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


def _on_terminal(db: Path, *args: str, answer: str) -> Result:
    """Run the script with a pseudo-terminal as standard input, typing ``answer``."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(SCRIPT), *args],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(db),
        )
        os.close(follower)
        os.write(leader, answer.encode())
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
    return Result(proc.returncode, out, err)


def _assert_declined(result: Result) -> None:
    """Exit 1 after the question, whose answer (echoed by the terminal, not into the
    pipe) ends it: the preview and the question, then one error line."""
    assert result.code == 1, result
    assert result.out == "" and "Traceback" not in result.err
    assert result.err.endswith("? [y/N]: zero-session: nothing was removed\n"), result.err


# --- archive, unarchive ------------------------------------------------------------


def test_archive_and_unarchive(shelf: Shelf) -> None:
    doc = run(shelf.db, "archive", "keep-me", "--json").json()
    assert doc["ulid"] == shelf.labelled and doc["status"] == "archived"
    assert isinstance(doc["archived_at_ms"], int)
    assert doc["archived_at"].endswith("Z") and doc["archived_at"].startswith("20")
    with Store.open(shelf.db, readonly=True) as store:
        assert store.get(shelf.labelled).archived_at_ms == doc["archived_at_ms"]
        assert shelf.labelled not in {s.ulid for s in store.list_sessions(None)}
    again = run(shelf.db, "archive", shelf.labelled, "--json").json()
    assert again["archived_at_ms"] == doc["archived_at_ms"]  # the first time is kept

    prefix = unique_prefix(shelf.labelled, *(_ulids(shelf.db) - {shelf.labelled}))
    result = run(shelf.db, "unarchive", prefix.lower())
    assert result.code == 0, result
    assert result.out == f"unarchived {shelf.labelled}\n"
    with Store.open(shelf.db, readonly=True) as store:
        assert store.get(shelf.labelled).archived_at_ms is None
        assert shelf.labelled in {s.ulid for s in store.list_sessions(None)}
    text = run(shelf.db, "archive", shelf.old).out
    assert text.startswith(f"archived {shelf.old} at 20")


@pytest.mark.parametrize(
    "args",
    [
        ("archive", "nothing-here"),
        ("unarchive", "nothing-here"),
        ("delete", "nothing-here", "--yes"),
        ("delete", "01ZZZZZZZZZZZZZZZZZZZZZZZZ", "--yes", "--cascade"),
    ],
)
def test_unknown_needle(shelf: Shelf, args: tuple[str, ...]) -> None:
    before = _dump(shelf.db)
    assert_user_error(run(shelf.db, *args), "no session matches")
    assert _dump(shelf.db) == before


# --- delete --------------------------------------------------------------------------


def test_delete_removes_the_session_its_events_and_labels(shelf: Shelf) -> None:
    assert _rows_of(shelf.db, shelf.labelled) == (1, 2, 1)
    others = {u: _rows_of(shelf.db, u) for u in _ulids(shelf.db) - {shelf.labelled}}
    result = run(shelf.db, "delete", "keep-me", "--yes")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0].split()[0] == "ULID" and lines[1].split()[0] == shelf.labelled
    assert lines[-1].startswith("deleted 1 session and 2 events (")
    assert _rows_of(shelf.db, shelf.labelled) == (0, 0, 0)
    assert {u: _rows_of(shelf.db, u) for u in others} == others
    with Store.open(shelf.db, readonly=True) as store:
        with pytest.raises(SessionNotFound):
            store.get(shelf.labelled)
        assert store.labels() == {}
        assert store.check().ok


def test_delete_json_document(shelf: Shelf) -> None:
    doc = run(shelf.db, "delete", shelf.old, "--yes", "--json").json()
    assert doc["dry_run"] is False
    assert (doc["n_sessions"], doc["n_events"]) == (1, 3)
    assert doc["event_bytes"] == len("event 0") * 3
    assert isinstance(doc["bytes_reclaimed"], int) and doc["bytes_reclaimed"] >= 0
    [session] = doc["sessions"]
    assert session["ulid"] == shelf.old and session["status"] == "ended"
    assert session["n_events"] == 3 and isinstance(session["started_at_ms"], int)
    assert session["started_at"].endswith("Z") and session["ended_at"].endswith("Z")
    assert _rows_of(shelf.db, shelf.old) == (0, 0, 0)


def test_delete_with_forks_needs_cascade(shelf: Shelf) -> None:
    before = _dump(shelf.db)
    result = run(shelf.db, "delete", shelf.parent, "--yes")
    assert_user_error(result, "has 1 fork", shelf.fork, "--cascade")
    assert _dump(shelf.db) == before

    doc = run(shelf.db, "delete", shelf.parent, "--cascade", "--yes", "--json").json()
    assert [s["ulid"] for s in doc["sessions"]] == [shelf.fork, shelf.parent]  # forks first
    assert (doc["n_sessions"], doc["n_events"]) == (2, 5)
    assert _rows_of(shelf.db, shelf.parent) == (0, 0, 0)
    assert _rows_of(shelf.db, shelf.fork) == (0, 0, 0)
    assert _ulids(shelf.db) == {
        shelf.old,
        shelf.labelled,
        shelf.archived,
        shelf.expired,
        shelf.recent,
        shelf.live,
    }


def test_delete_refuses_a_live_session(shelf: Shelf) -> None:
    before = _dump(shelf.db)
    assert_user_error(run(shelf.db, "delete", shelf.live, "--yes"), shelf.live, "is live")
    assert _dump(shelf.db) == before
    assert _rows_of(shelf.db, shelf.live) == (1, 1, 0)


@pytest.mark.parametrize(
    "args",
    [
        ("delete", "keep-me"),
        ("delete", "keep-me", "--cascade", "--json"),
        ("prune", "--older-than", "30d"),
        ("prune",),
    ],
)
def test_refuses_without_yes_when_not_on_a_terminal(shelf: Shelf, args: tuple[str, ...]) -> None:
    before = _digest(shelf.db)
    result = run(shelf.db, *args, input="y\n")  # a piped "y" is not an answer
    assert_user_error(result, "not a terminal", "--yes")
    assert result.out == ""
    assert _digest(shelf.db) == before
    assert len(_ulids(shelf.db)) == 8


def test_delete_asks_on_a_terminal(shelf: Shelf) -> None:
    before = _dump(shelf.db)
    declined = _on_terminal(shelf.db, "delete", shelf.parent, "--cascade", answer="n\n")
    _assert_declined(declined)
    assert _dump(shelf.db) == before

    accepted = _on_terminal(shelf.db, "delete", shelf.parent, "--cascade", "--json", answer="y\n")
    assert accepted.code == 0, accepted
    preview = accepted.err.splitlines()
    assert [line.split()[0] for line in preview[:2]] == [shelf.fork, shelf.parent]
    assert "Delete 2 sessions and 5 events? [y/N]" in accepted.err
    assert accepted.json()["n_sessions"] == 2
    assert _rows_of(shelf.db, shelf.parent) == (0, 0, 0)
    assert _rows_of(shelf.db, shelf.fork) == (0, 0, 0)


@pytest.mark.parametrize("command", [("delete", "--cascade"), ("prune", "--older-than", "30d")])
def test_ctrl_d_at_the_question_is_a_no(shelf: Shelf, command: tuple[str, ...]) -> None:
    args = (command[0], shelf.parent, *command[1:]) if command[0] == "delete" else command
    before = _dump(shelf.db)
    declined = _on_terminal(shelf.db, *args, answer="\x04")
    assert declined.code == 1, declined
    assert declined.out == "" and "Traceback" not in declined.err
    assert declined.err.endswith("? [y/N]: \nzero-session: nothing was removed\n"), declined.err
    assert _dump(shelf.db) == before


def test_delete_checks_forks_and_liveness_before_asking(shelf: Shelf) -> None:
    with Store.open(shelf.db) as store:
        live_fork = store.fork(shelf.recent).ulid  # never ended: this process writes it
    before = _dump(shelf.db)
    for args, fragments in (
        ((shelf.live,), (shelf.live, "is live")),
        ((shelf.parent,), (shelf.fork, "--cascade")),
        ((shelf.recent, "--cascade"), (live_fork, "is live")),
    ):
        result = _on_terminal(shelf.db, "delete", *args, answer="y\n")
        assert_user_error(result, *fragments)  # one line: no preview, no question
    assert _dump(shelf.db) == before


# --- prune ---------------------------------------------------------------------------


def test_prune_dry_run_changes_nothing(shelf: Shelf) -> None:
    before = _digest(shelf.db)
    doc = run(shelf.db, "prune", "--older-than", "30d", "--dry-run", "--json").json()
    assert doc["dry_run"] is True and doc["bytes_reclaimed"] == 0
    assert {s["ulid"] for s in doc["sessions"]} == {shelf.old, shelf.expired}
    assert (doc["n_sessions"], doc["n_events"]) == (2, 4)
    assert all(s["started_at"].endswith("Z") for s in doc["sessions"])
    text = run(shelf.db, "prune", "--older-than", "30d", "--dry-run").out
    assert text.splitlines()[-1].startswith("would prune 2 sessions and 4 events")
    assert "nothing was changed (dry run)" in text
    assert _digest(shelf.db) == before
    assert len(_ulids(shelf.db)) == 8


def test_prune_removes_old_and_expired_sessions_only(shelf: Shelf) -> None:
    result = run(shelf.db, "prune", "--older-than", "30d", "--yes", "--json")
    assert result.code == 0, result
    doc = result.json()
    assert doc["dry_run"] is False
    assert {s["ulid"] for s in doc["sessions"]} == {shelf.old, shelf.expired}
    assert (doc["n_sessions"], doc["n_events"]) == (2, 4)
    for ulid in (shelf.old, shelf.expired):
        assert _rows_of(shelf.db, ulid) == (0, 0, 0)
    # kept: labelled, archived, an ancestor of a kept fork, recent, live
    assert _ulids(shelf.db) == {
        shelf.labelled,
        shelf.archived,
        shelf.parent,
        shelf.fork,
        shelf.recent,
        shelf.live,
    }
    with Store.open(shelf.db, readonly=True) as store:
        assert store.get(shelf.live).status == Status.LIVE
        assert [e.text for e in store.replay(shelf.fork)][-1] == "fresh"
    again = run(shelf.db, "prune", "--older-than", "30d", "--yes")
    assert again.out == "no session qualifies; nothing was changed\n"


def test_prune_options_widen_or_narrow_what_goes(shelf: Shelf) -> None:
    def pruned(*args: str) -> set[str]:
        result = run(shelf.db, "prune", "--yes", "--json", *args)
        assert result.code == 0, result
        return {s["ulid"] for s in result.json()["sessions"]}

    assert pruned("--older-than", "30d", "--no-expired") == {shelf.old}
    assert pruned() == {shelf.expired}  # expired sessions go by default
    assert pruned("--older-than", "30d", "--include-labeled") == {shelf.labelled}
    assert pruned("--older-than", "30d", "--include-archived") == {shelf.archived}
    assert pruned("--older-than", "0s") == {shelf.fork, shelf.parent, shelf.recent}
    assert _ulids(shelf.db) == {shelf.live}
    assert _rows_of(shelf.db, shelf.labelled) == (0, 0, 0)  # its label went with it


def test_prune_text_lists_sessions_and_totals(shelf: Shelf) -> None:
    result = run(shelf.db, "prune", "--older-than", "720h", "--no-expired", "-y")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0].split()[:3] == ["ULID", "STARTED", "STATUS"]
    assert lines[1].split()[0] == shelf.old and lines[1].split()[3] == "ended"
    assert lines[2].startswith("pruned 1 session and 3 events (")


def test_prune_asks_on_a_terminal(shelf: Shelf) -> None:
    declined = _on_terminal(shelf.db, "prune", "--older-than", "30d", answer="no\n")
    _assert_declined(declined)
    assert len(_ulids(shelf.db)) == 8
    accepted = _on_terminal(shelf.db, "prune", "--older-than", "30d", answer="y\n")
    assert accepted.code == 0, accepted
    assert shelf.old in accepted.err and "Delete 2 sessions and 4 events?" in accepted.err
    assert shelf.old not in _ulids(shelf.db) and shelf.expired not in _ulids(shelf.db)


@pytest.mark.parametrize(
    "args",
    [
        ("--older-than", "30"),
        ("--older-than", "thirty days"),
        ("--older-than", "-5d"),
        ("--older-than", "5y"),
        ("--older-than", "9" * 30 + "d"),
        ("--no-expired",),
        ("--older-than",),
    ],
)
def test_prune_usage_errors_exit_2(shelf: Shelf, args: tuple[str, ...]) -> None:
    before = _digest(shelf.db)
    result = run(shelf.db, "prune", "--yes", *args)
    assert result.code == 2, result
    assert "Error:" in result.err and "Traceback" not in result.err and result.out == ""
    assert _digest(shelf.db) == before


# --- vacuum --------------------------------------------------------------------------


def test_vacuum_gives_back_the_pages_of_an_old_file(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with Store.open(db) as store:
        big = store.start()
        store.append_many(big, [("system", "x" * 4_000) for _ in range(300)])
        store.end(big)
        small = store.start()
        store.end(small)
    # A file from before incremental auto-vacuum: freed pages stay in the file.
    subprocess.run(["sqlite3", str(db), "PRAGMA auto_vacuum = NONE; VACUUM;"], check=True)
    deleted = run(db, "delete", big.ulid, "--yes", "--json").json()
    assert deleted["n_events"] == 300 and deleted["bytes_reclaimed"] == 0
    assert int(_sql(db, "PRAGMA freelist_count")) > 250
    size_before = db.stat().st_size

    doc = run(db, "vacuum", "--json").json()
    assert doc["path"] == str(db) and doc["bytes_reclaimed"] > 250 * 4_000
    assert _sql(db, "PRAGMA auto_vacuum") == "2" and _sql(db, "PRAGMA freelist_count") == "0"
    assert db.stat().st_size <= size_before - doc["bytes_reclaimed"]
    assert _ulids(db) == {small.ulid}
    text = run(db, "vacuum").out
    assert text == f"vacuumed {db}: 0 B given back\n"


# --- read-only files -----------------------------------------------------------------


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable for the duration: by its mode bits, or for root (who
    ignores them) with the immutable attribute."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize(
    "args",
    [
        ("archive", "keep-me"),
        ("unarchive", "keep-me"),
        ("delete", "keep-me", "--yes"),
        ("prune", "--older-than", "30d", "--yes"),
        ("vacuum",),
    ],
)
def test_read_only_file(shelf: Shelf, args: tuple[str, ...]) -> None:
    before = _digest(shelf.db)
    with _read_only(shelf.db):
        assert_user_error(run(shelf.db, *args), "read-only")
    assert _digest(shelf.db) == before
    assert len(_ulids(shelf.db)) == 8
