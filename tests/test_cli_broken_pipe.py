"""`zero-session … | head -1`: a reader that stops early is not an error (exit 0, nothing
on standard error), for every command that prints a lot."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from clirunner import SCRIPT, cli_env

from zero_session import Store


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("pipe") / "sessions.db"
    with Store.open(db) as store:
        session = store.start()
        store.append_many(session, [("system", f"line {i} " * 5) for i in range(30_000)])
        for i in range(300):
            store.label(store.start(), f"label-{i}")
        store.end(session)
    return db, session.ulid


@pytest.mark.parametrize(
    "args",
    [
        ("replay", "{u}"),
        ("replay", "{u}", "--json"),
        ("tail", "{u}", "-n", "30000"),
        ("list", "-n", "300"),
        ("--json", "list", "-n", "300"),
        ("milestones",),
        ("search", "line", "-n", "5000"),
        ("export", "--all"),
        ("share", "{u}"),
    ],
)
def test_head_closing_the_pipe_is_not_an_error(
    big: tuple[Path, str], args: tuple[str, ...]
) -> None:
    db, ulid = big
    child = subprocess.Popen(
        [str(SCRIPT), *(a.format(u=ulid) for a in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(db),
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline()  # what `head -1` reads, then it goes away
    child.stdout.close()
    error = child.stderr.read()
    assert child.wait(timeout=60) == 0
    assert error == b""
