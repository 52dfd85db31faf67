"""The peer script's two edits of the SDK's tests: the import swap changes nothing else,
and the Runner tests it picks are exactly those that build a ``SQLiteSession``.

(Running the SDK's tests needs the network, so CI runs the script itself from
``.ci/run``; these tests check its file surgery on a file of our own.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent / "peer" / "sdk_session_tests.py"

SDK_TEST = """\
import pytest

from agents import (
    Agent,
    SQLiteSession,
)
from agents.memory import SQLiteSession as Renamed


async def test_builds_one():
    session = SQLiteSession("a")
    assert session


def test_does_not():
    assert Agent


class TestGroup:
    def test_in_a_class(self):
        assert SQLiteSession("b")

    def helper(self):
        return SQLiteSession("c")


def test_local_import():
    from agents.memory.sqlite_session import SQLiteSession
    assert SQLiteSession("d")
"""


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sdk_session_tests", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sdk_session_tests"] = module
    spec.loader.exec_module(module)
    return module


def test_the_swap_adds_one_import_after_each_sdk_import_and_changes_nothing_else(
    script: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "test_sdk.py"
    path.write_text(SDK_TEST)
    assert script.swap_import(path)
    swapped = path.read_text().splitlines()
    added = [n for n, line in enumerate(swapped) if script.SWAP in line]
    assert [swapped[n] for n in added] == [
        script.SWAP + script.MARK,
        "    " + script.SWAP + script.MARK,
    ]
    assert swapped[added[0] - 1] == ")"  # right after the multi-line import
    assert "import SQLiteSession" in swapped[added[1] - 1]
    # everything else unchanged, line for line; the renamed import is left alone
    assert [line for n, line in enumerate(swapped) if n not in added] == SDK_TEST.splitlines()


def test_a_file_without_the_import_is_left_as_it_was(script: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "test_other.py"
    path.write_text("from agents import Agent\n\n\ndef test_x():\n    assert Agent\n")
    assert not script.swap_import(path)
    assert path.read_text() == "from agents import Agent\n\n\ndef test_x():\n    assert Agent\n"


def test_the_runner_tests_picked_are_those_that_build_a_sqlite_session(
    script: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "test_sdk.py"
    path.write_text(SDK_TEST)
    assert script._tests_building_sqlite_session(path) == [
        "test_builds_one",
        "TestGroup::test_in_a_class",
        "test_local_import",
    ]


def test_every_not_applicable_test_has_a_reason(script: ModuleType) -> None:
    assert script.NOT_APPLICABLE
    for name, reason in script.NOT_APPLICABLE.items():
        assert name.startswith("test_")
        assert len(reason) > 40, name
