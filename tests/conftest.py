"""Shared fixtures: a fresh database file per test, and stores that are always closed."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from zero_session import Store

REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--durability",
        default="full",
        choices=["full", "normal"],
        help="re-run the suite with stores opened at this durability",
    )


@pytest.fixture
def durability(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--durability"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a new database file inside the test's own temporary folder."""
    return tmp_path / "sessions.db"


@pytest.fixture
def open_store(db_path: Path, durability: str) -> Iterator[Callable[..., Store]]:
    """A factory for stores on ``db_path`` (or another path); all closed at teardown."""
    opened: list[Store] = []

    def factory(path: Path | None = None, **options: object) -> Store:
        options.setdefault("durability", durability)
        store = Store.open(path or db_path, **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[..., Store]) -> Store:
    """A fresh store on a real file."""
    return open_store()


@pytest.fixture
def subprocess_env(db_path: Path) -> dict[str, str]:
    """Environment for child Python processes: the repo importable, the test's database."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["ZERO_SESSION_DB"] = str(db_path)
    env.pop("NO_COLOR", None)
    return env


PYTHON = sys.executable


# ---------------------------------------------------------------- PostgreSQL (sync tests)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """One real PostgreSQL server for the whole test session (tests/pg_server.py).

    Without Debian's ``postgresql`` package the tests that need it are skipped, unless
    ``ZERO_SESSION_REQUIRE_PG=1`` (set by ``.ci/run``) makes that a failure.  Tests that
    use it carry the ``postgres`` marker, so the second ``make test`` pass leaves them out.
    """
    from pg_server import PgServer, find_bin_dir

    bin_dir = find_bin_dir()
    required = os.environ.get("ZERO_SESSION_REQUIRE_PG") == "1"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        bin_dir = None
    if bin_dir is None:
        message = "no PostgreSQL server binaries (apt-get install postgresql) or no psycopg"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    server = PgServer(bin_dir).start()
    yield server
    server.destroy()


@pytest.fixture
def pg_dsn(pg_server: Any) -> Iterator[str]:
    """The superuser's connection string to an empty database of ``pg_server`` (no
    zero_session schema), emptied again after the test for the next one."""
    name = pg_server.take_database()
    yield str(pg_server.dsn(name))
    pg_server.give_back(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the PostgreSQL server carries the ``postgres`` marker (so the
    Makefile's second pass can leave them out), even if its module forgot to say so."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
