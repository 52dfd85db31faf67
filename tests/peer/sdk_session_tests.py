"""Run the OpenAI Agents SDK's own session tests against our drop-in ``SQLiteSession``.

Usage::

    python tests/peer/sdk_session_tests.py                    # the pinned version
    python tests/peer/sdk_session_tests.py --version 0.2.0 --version 0.24.0

For each version: download the SDK's source distribution (``pip download --no-deps
--no-binary :all:``) into a temporary folder, unpack its ``tests/`` and
``pyproject.toml`` (the SDK's pytest settings), build a throwaway virtualenv with that
SDK, its test dependencies and this checkout of zero_session, and run with pytest:

* the session test files as a whole (``SESSION_FILES``, those the version has), and
* the Runner tests elsewhere in ``tests/`` that build a ``SQLiteSession``,

after swapping, in each of those files, the one import of ``SQLiteSession`` for ours: a
line ``from zero_session.adapters.openai_agents import SQLiteSession`` right after the
SDK's import, rebinding the name.  No test and no assertion is changed.  Tests that
probe the SDK class's own internals (its tables, connections, file locks, rollback of
its sqlite3 transactions) are deselected, each with its reason in ``NOT_APPLICABLE``.
The SDK's code stays in the temporary folder, never in our repository.

Exit status: 0 when every selected test passed (none skipped) for every version, else 1.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parents[2]
PINNED = "0.24.0"
"""The newest release on PyPI when this was written; CI runs it."""

OLDEST = "0.2.0"
"""The oldest release the ``agents`` extra allows (``openai-agents>=0.2``)."""

SESSION_FILES = (
    "tests/memory/test_session.py",  # 0.3 and later
    "tests/memory/test_session_limit.py",
    "tests/extensions/memory/test_encrypt_session.py",
    "tests/test_session.py",  # 0.2
)

SWAP = "from zero_session.adapters.openai_agents import SQLiteSession"
MARK = "  # zero_session peer run: the only line changed"

TEST_DEPENDENCIES = ("pytest", "pytest-asyncio", "pytest-mock", "inline-snapshot", "httpx")

_INTERNALS = "probes the SDK class's internals, which our drop-in does not have: "
_SDK_ONLY = "tests what the SDK grants only to its own SQLiteSession class: "
_OTHER_BACKEND = "builds no SQLiteSession (it would only be skipped without its extra): "
_ENCRYPTED_POP = (
    "EncryptedSession authenticates a pop inside the SQLite transaction only when "
    "isinstance(underlying, agents.SQLiteSession) and through its private "
    "_pop_item_with_validation; with any other backend it takes the documented "
    "delegating pop, which these tests show is not atomic"
)
NOT_APPLICABLE: dict[str, str] = {
    # test name (every file, every parameter) -> why it does not apply to the drop-in
    "test_sqlite_session_close_closes_worker_thread_connections": _INTERNALS
    + "its per-thread sqlite3 connections (_connections); ours has one Store per file",
    "test_sqlite_session_reaps_connections_from_exited_worker_threads": _INTERNALS
    + "its per-thread sqlite3 connections (_connections)",
    "test_sqlite_session_closes_retired_connections_before_the_next_allocation": _INTERNALS
    + "its per-thread sqlite3 connections, patching sqlite3.connect",
    "test_sqlite_session_keeps_connections_of_live_worker_threads": _INTERNALS
    + "its per-thread sqlite3 connections (_connections)",
    "test_sqlite_session_pop_item_skips_corrupt_most_recent": _INTERNALS
    + "writes a corrupt row into its messages table through _locked_connection()",
    "test_sqlite_session_pop_item_returns_none_after_dropping_only_corrupt_rows": _INTERNALS
    + "writes corrupt rows into its messages table through _locked_connection()",
    "test_sqlite_session_get_items_limit_skips_corrupt_newest_rows": _INTERNALS
    + "writes corrupt rows into its messages table through _locked_connection()",
    "test_sqlite_session_get_items_session_settings_limit_skips_corrupt_rows": _INTERNALS
    + "writes corrupt rows into its messages table through _locked_connection()",
    "test_sqlite_session_file_lock_is_shared_across_instances": _INTERNALS
    + "its class-level per-file RLock registry (_lock, _file_lock_counts)",
    "test_sqlite_session_failed_add_items_releases_write_lock": _INTERNALS
    + "makes its sqlite3 insert fail by patching its connection",
    "test_sqlite_session_failed_clear_session_rolls_back": _INTERNALS
    + "makes its sqlite3 DELETE fail and inspects _connections' transactions",
    "test_sqlite_session_failed_pop_item_releases_write_lock": _INTERNALS
    + "makes its sqlite3 DELETE fail and inspects _connections' transactions",
    "test_sqlite_session_rollback_failure_evicts_connection": _INTERNALS
    + "injects a sqlite3.Connection subclass into _connections",
    "test_sqlite_session_close_retries_quarantined_connection": _INTERNALS
    + "injects a sqlite3.Connection subclass into _connections",
    "test_sqlite_session_post_commit_cancellation_propagates_after_known_outcome": _INTERNALS
    + "injects a sqlite3 connection that pauses in commit() into _connections (the "
    "behaviour itself, a cancelled write waited for, has our own test)",
    "test_handoff_resume_after_cancelled_compaction_commits": _INTERNALS
    + "wraps its private _insert_items to pause the compaction's write",
    "test_encrypted_compaction_skips_unencrypted_stored_history": _SDK_ONLY
    + "the private compaction hook _get_compaction_snapshot, which the SDK calls only on "
    "its own class (exact type); other sessions take the SDK's fallback, as tested",
    "test_encrypted_pop_wrong_key_preserves_recoverable_history": _SDK_ONLY + _ENCRYPTED_POP,
    "test_encrypted_pop_rechecks_authentication_after_expired_tail": _SDK_ONLY + _ENCRYPTED_POP,
    "test_encrypted_pop_authentication_is_atomic_with_concurrent_mutations": _SDK_ONLY
    + _ENCRYPTED_POP,
    "test_encrypted_pop_wrong_key_preserves_row_identity": _SDK_ONLY + _ENCRYPTED_POP,
    "test_encrypted_pop_cancellation_waits_for_authentication_rollback": _SDK_ONLY + _ENCRYPTED_POP,
    "test_encrypted_pop_preserves_sqlalchemy_history": _OTHER_BACKEND + "SQLAlchemySession",
    "test_encrypted_session_scan_budget_does_not_turn_redis_negative_limit_into_history": (
        _OTHER_BACKEND + "RedisSession"
    ),
}


def log(message: str) -> None:
    print(f"[sdk-session-tests] {message}", flush=True)


def run(command: list[str], **options: object) -> None:
    subprocess.run(command, check=True, **options)  # type: ignore[call-overload]


def download(version: str, work: Path) -> Path:
    """The SDK's sdist of ``version``, unpacked (tests and pyproject only) in ``work``."""
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    run([*pip, "--no-binary", ":all:", f"openai-agents=={version}", "-d", str(work)])
    (archive,) = work.glob("openai_agents-*.tar.gz")
    with tarfile.open(archive) as tar:
        top = tar.getnames()[0].split("/")[0]
        wanted = [
            member
            for member in tar.getmembers()
            if member.name == f"{top}/pyproject.toml" or member.name.startswith(f"{top}/tests/")
        ]
        tar.extractall(work, members=wanted, filter="data")
    return work / top


def build_venv(version: str, work: Path) -> Path:
    """A throwaway virtualenv with the SDK ``version``, its test tools and zero_session."""
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    # The encrypt extra brings cryptography for the encrypted-session tests (0.2 has no
    # such extra: pip says so and goes on).
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, f"openai-agents[encrypt]=={version}", *TEST_DEPENDENCIES, str(REPO)])
    return python


def _tests_building_sqlite_session(path: Path) -> list[str]:
    """``file::name`` (or ``file::Class::name``) of the tests in ``path`` whose code
    builds a ``SQLiteSession``."""
    source = path.read_text()
    if "SQLiteSession(" not in source:
        return []
    lines = source.splitlines()
    tree = ast.parse(source)
    found: list[str] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                visit(node.body, f"{prefix}{node.name}::")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                code = "\n".join(lines[node.lineno - 1 : node.end_lineno])
                if node.name.startswith("test") and "SQLiteSession(" in code:
                    found.append(f"{prefix}{node.name}")

    visit(tree.body, "")
    return found


def swap_import(path: Path) -> bool:
    """Add our import after each import of ``SQLiteSession`` in ``path``; whether any."""
    lines = path.read_text().splitlines(keepends=True)
    tree = ast.parse("".join(lines))
    ends = [
        (node.end_lineno, node.col_offset)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("agents")
        and any(alias.name == "SQLiteSession" and alias.asname is None for alias in node.names)
    ]
    for end, indent in sorted(ends, reverse=True):
        assert end is not None
        lines.insert(end, " " * indent + SWAP + MARK + "\n")
    path.write_text("".join(lines))
    return bool(ends)


def select(sdk: Path) -> list[str]:
    """Swap the import in the selected files; the pytest arguments that run them."""
    selected: list[str] = []
    for name in SESSION_FILES:
        if (sdk / name).exists() and swap_import(sdk / name):
            selected.append(name)
    for path in sorted((sdk / "tests").glob("test_*.py")):
        name = str(path.relative_to(sdk))
        if name in SESSION_FILES:
            continue
        tests = _tests_building_sqlite_session(path)
        if tests and swap_import(path):
            selected += [f"{name}::{test}" for test in tests]
    return selected


def run_version(version: str, keep: bool, python: Path | None) -> bool:
    """Download, build, run ``version``; whether every selected test passed."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"sdk-session-tests-{version}-"))
    try:
        sdk = download(version, work)
        python = python or build_venv(version, work)
        selected = [
            target for target in select(sdk) if target.rsplit("::", 1)[-1] not in NOT_APPLICABLE
        ]
        if not selected:
            log(f"{version}: no session tests found")
            return False
        log(f"{version}: not applicable (deselected), each with its reason:")
        for name, reason in NOT_APPLICABLE.items():
            log(f"  {name}: {reason}")
        deselect = [
            f"--deselect={target.split('::')[0]}::{name}"
            for target in selected
            for name in NOT_APPLICABLE
            if "::" not in target
        ]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONPATH", None)
        pytest = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs"]
        report = work / "report.xml"
        result = subprocess.run(
            [*pytest, f"--junitxml={report}", "--rootdir", str(sdk), *deselect, *selected],
            cwd=sdk,
            env=env,
        )
        log(f"{version}: pytest exit {result.returncode} in {time.monotonic() - started:.0f} s")
        # A skipped test is not a passed one: every selected test must have run.
        skipped = sum(
            int(suite.get("skipped", 0)) for suite in ElementTree.parse(report).iter("testsuite")
        )
        if skipped:
            log(f"{version}: {skipped} selected test(s) were skipped")
        return result.returncode == 0 and not skipped
    finally:
        if keep:
            log(f"kept {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)], check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--version",
        action="append",
        help=f"SDK version to test (repeatable; default {PINNED}; 'oldest' = {OLDEST})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument(
        "--python",
        type=Path,
        help="run with this interpreter (which has the SDK version and the test tools) "
        "instead of building a virtualenv",
    )
    args = parser.parse_args(argv)
    versions = [OLDEST if v == "oldest" else v for v in args.version or [PINNED]]
    results = {version: run_version(version, args.keep, args.python) for version in versions}
    for version, passed in results.items():
        log(f"openai-agents {version}: {'passed' if passed else 'FAILED'}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
