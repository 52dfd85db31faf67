"""Running code in a real child process: a short script, or a forked function."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest


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


def forked_exit_code(child: Callable[[], int], *, timeout_s: float = 30) -> int:
    """Fork; the child runs ``child`` and exits with the code it returns (99 if it
    raised).  The parent waits for it and returns that code; a child still running after
    ``timeout_s`` is killed and the test fails (a hang is what these tests look for)."""
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 99
        try:
            code = child()
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.005)  # polling the child's exit, not waiting out a race
