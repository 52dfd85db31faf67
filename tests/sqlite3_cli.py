"""The real ``sqlite3`` command-line shell, run on a store file as people use it."""

from __future__ import annotations

import subprocess
from pathlib import Path


def sqlite3_shell(path: Path, sql: str) -> str:
    """Run ``sql`` (statements and dot-commands) in the sqlite3 shell on ``path``; its
    output.  The shell stops at the first error (``-bail``), which raises
    CalledProcessError."""
    done = subprocess.run(
        ["sqlite3", "-bail", str(path)],
        input=sql,
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return done.stdout
