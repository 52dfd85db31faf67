"""Run the installed ``zero-session`` console script in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

SCRIPT = Path(sys.executable).parent / "zero-session"


@attrs.frozen
class Result:
    """What one run printed and returned."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def cli_env(db: Path, **extra: str) -> dict[str, str]:
    """The environment for the script: this test's database, UTC, no inherited colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(ZERO_SESSION_DB=str(db), TZ="UTC", COLUMNS="200")
    env.update(extra)
    return env


def run(
    db: Path,
    *args: str,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> Result:
    """Run ``zero-session ARGS`` against ``db`` (in ``cwd``, default: this one)."""
    assert SCRIPT.exists(), f"the console script is not installed at {SCRIPT}"
    done = subprocess.run(
        [str(SCRIPT), *args],
        input=input,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else cli_env(db),
        timeout=timeout,
        cwd=cwd,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit 1 with exactly one line on stderr (no traceback) naming the problem."""
    assert result.code == 1, result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("zero-session: "), lines
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
