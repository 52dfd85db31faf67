"""What loads, and what does not, when a program imports zero_session or a person runs
``zero-session list``: each case runs in a fresh interpreter and reads ``sys.modules``.

These guard the lazy paths (docs/performance.md, "Round 2"): the CLI's command modules,
the store's feature modules, the event modules and ``zero_session``'s own names load on
first use.  They check which modules load, never how long anything takes.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import zero_session
from zero_session import Store

# Never needed to list sessions, nor to open a store: other commands, other extras.
HEAVY = (
    "zero_session.sync",
    "zero_session.browse",
    "zero_session.tui",
    "zero_session.aio",
    "zero_session.adapters",
    "zero_session._transfer",
    "zero_session._search",
    "zero_session._lifecycle",
    "zero_session._check",
    "zero_session._summary",
    "zero_session._stats",
    "zero_session._backup",
    "zero_session._pulled",
    "zero_session._tree",
    "zero_session._timeline",
    "psycopg",
    "textual",
    "rich",
    "prompt_toolkit",
    "ulid",
)
# The event modules: writing and replaying events, not reading sessions.
EVENTS = (
    "zero_session._event_input",
    "zero_session._event_reads",
    "zero_session._event_values",
    "zero_session._event_writes",
    "zero_session._replay",
)
# Commands other than `list`.
OTHER_COMMANDS = tuple(
    f"zero_session.cli.{name}"
    for name in (
        "_cmd_events",
        "_cmd_search",
        "_cmd_lifecycle",
        "_cmd_store",
        "_cmd_demo",
        "_cmd_shell",
        "_cmd_browse",
        "_cmd_sync",
        "_cmd_sync_pull",
    )
)
# Standard modules the listing path used to pull in itself (pathlib for --db, socket for
# the host name, json for output it does not print): checked against what click, attrs
# and apsw load on their own, so a new version of those cannot fail this test.
STDLIB_AVOIDED = ("pathlib", "socket", "json", "urllib.parse", "ipaddress", "fnmatch")


def _modules_after(code: str, env: dict[str, str]) -> set[str]:
    """The names in ``sys.modules`` after ``code`` ran in a new interpreter."""
    script = f"{code}\nimport sys as _s\n_s.stderr.write('\\n' + repr(sorted(_s.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return set(ast.literal_eval(done.stderr.splitlines()[-1]))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The names in ``names`` that are loaded, themselves or any submodule of them."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


@pytest.fixture
def listed_store(db_path: Path, store: Store) -> Path:
    for n in range(3):
        session = store.start(cli_version="1.0")
        store.append(session, "prompt", f"prompt {n}")
        store.label(session, f"run-{n}")
    store.end(session)
    return db_path


def test_import_zero_session_loads_nothing_else(subprocess_env: dict[str, str]) -> None:
    modules = _modules_after("import zero_session", subprocess_env)
    interpreter = _modules_after("pass", subprocess_env)  # site and .pth files load some
    assert sorted(modules - interpreter) == ["zero_session"]


def test_the_store_loads_without_feature_or_event_modules(
    subprocess_env: dict[str, str], listed_store: Path
) -> None:
    code = (
        "from zero_session import Store\n"
        f"with Store.open({str(listed_store)!r}, readonly=True) as store:\n"
        "    assert len(store.list_sessions(20)) == 3\n"
        "    store.get(store.find('run-1'))\n"
    )
    modules = _modules_after(code, subprocess_env)
    assert "zero_session.store" in modules  # the test does what it says
    assert _loaded(modules, HEAVY) == []
    assert _loaded(modules, EVENTS) == []
    assert _loaded(modules, ("click",)) == []


def test_zero_session_list_loads_only_the_listing(
    subprocess_env: dict[str, str], listed_store: Path
) -> None:
    # What the console script does (`from zero_session.cli.main import main; main()`).
    code = (
        "import sys\n"
        f"sys.argv = ['zero-session', '--db', {str(listed_store)!r}, 'list']\n"
        "from zero_session.cli.main import main\n"
        "code = main()\n"
        "assert code == 0, code\n"
    )
    modules = _modules_after(code, subprocess_env)
    assert "zero_session.cli._cmd_sessions" in modules  # it listed
    assert _loaded(modules, HEAVY) == []
    assert _loaded(modules, EVENTS) == []
    assert _loaded(modules, OTHER_COMMANDS) == []
    libraries = _modules_after("import click, attrs, apsw", subprocess_env)
    assert [m for m in STDLIB_AVOIDED if m in modules and m not in libraries] == []


def test_replay_loads_the_event_modules_but_not_the_others(
    subprocess_env: dict[str, str], listed_store: Path
) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['zero-session', '--db', {str(listed_store)!r}, 'replay', 'run-0']\n"
        "from zero_session.cli.main import main\n"
        "assert main() == 0\n"
    )
    modules = _modules_after(code, subprocess_env)
    assert "zero_session._replay" in modules
    assert _loaded(modules, HEAVY) == []


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["list", "--bogus"], ["list"]])
def test_the_command_line_leaves_the_collector_on(
    subprocess_env: dict[str, str], listed_store: Path, args: list[str]
) -> None:
    """main() imports with the garbage collector off; it is on again when main returns,
    and while the command runs."""
    code = (
        "import gc, sys\n"
        f"sys.argv = ['zero-session', '--db', {str(listed_store)!r}, *{args!r}]\n"
        "import zero_session.store as store_module\n"
        "seen = []\n"
        "real_open = store_module.Store.open\n"
        "def spy(*a, **k):\n"
        "    seen.append(gc.isenabled())\n"
        "    return real_open(*a, **k)\n"
        "store_module.Store.open = spy\n"
        "from zero_session.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert gc.isenabled()\n"
        "assert all(seen), seen\n"
    )
    _modules_after(code, subprocess_env)


def test_every_public_name_resolves_to_its_definition() -> None:
    for name in zero_session.__all__:
        value = getattr(zero_session, name)
        module = sys.modules[zero_session._LAZY[name]]
        assert getattr(module, name) is value, name
    assert set(zero_session.__all__) <= set(dir(zero_session))
    assert set(zero_session._LAZY) == set(zero_session.__all__)
    with pytest.raises(AttributeError):
        _ = zero_session.no_such_name


def test_every_error_class_is_exported_by_the_package() -> None:
    """The package lists the error names itself (importing ``errors`` to read its
    ``__all__`` would load apsw): a new error must be added there too."""
    from zero_session import errors

    assert set(errors.__all__) <= set(zero_session.__all__)


def test_the_event_names_resolve_to_their_modules() -> None:
    from zero_session import _events

    assert set(_events.__all__) == set(_events._MODULE_OF)
    for name in _events.__all__:
        value = getattr(_events, name)
        module = sys.modules[f"zero_session.{_events._MODULE_OF[name]}"]
        assert getattr(module, name) is value, name
    with pytest.raises(AttributeError):
        _ = _events.no_such_name


def test_the_store_id_key_is_an_internal_milestone() -> None:
    from zero_session._milestones import INTERNAL_PREFIX
    from zero_session._origins import STORE_ID_KEY

    assert STORE_ID_KEY.startswith(INTERNAL_PREFIX)
