"""Keep the picker on the terminal when stdin, stdout or stderr is redirected.

Textual sizes and draws its screen through the process's standard streams: with
``> file``, ``| cat`` or ``2> log`` the picker would be drawn into the file (or be
80x24).  While the app runs, each of file descriptors 0, 1 and 2 that is not a terminal
is pointed at ``/dev/tty``; afterwards the original is put back, so the chosen ulid is
printed where the caller redirected stdout.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["NoTerminal", "on_the_terminal"]


class NoTerminal(Exception):
    """No controlling terminal to draw on (``/dev/tty`` cannot be opened)."""


@contextmanager
def on_the_terminal() -> Iterator[None]:
    """Point the redirected standard descriptors at ``/dev/tty`` for the duration."""
    redirected = [fd for fd in (0, 1, 2) if not os.isatty(fd)]
    if not redirected:
        yield
        return
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError as exc:
        raise NoTerminal(f"the browser needs a terminal (/dev/tty: {exc.strerror})") from exc
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in redirected}
    try:
        for fd in redirected:
            os.dup2(tty, fd)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):
                stream.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(tty)
