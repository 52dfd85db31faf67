"""Running a short Python script in a real child process."""

from __future__ import annotations

import subprocess
import sys


def run_child(script: str, env: dict[str, str]) -> str:
    """Run ``script`` with ``python -c`` to completion; its stripped standard output."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()
