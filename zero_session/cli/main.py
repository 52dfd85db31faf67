"""The ``zero-session`` console script.

The command line needs the optional ``cli`` extra (click and rich); the library itself
never imports them.  Without them the script prints a one-line hint and exits 1.  This
module stays tiny so that the check costs nothing: the commands are imported only after
it passes, and rich only when a table is drawn on a colour terminal.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from importlib.util import find_spec

__all__ = ["main"]

HINT = "zero-session: the command line needs the 'cli' extra: pip install 'zero-session[cli]'"


def _missing_extra() -> str | None:
    """The first of click and rich that cannot be imported, or None."""
    for name in ("click", "rich"):
        try:
            if find_spec(name) is None:
                return name
        except (ImportError, ValueError):  # ValueError: sys.modules[name] is None
            return name
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``zero-session``; returns the exit status."""
    missing = _missing_extra()
    if missing is not None:
        sys.stderr.write(f"{HINT} ({missing} is missing)\n")
        return 1
    # Importing click, attrs and the store makes tens of thousands of objects and no
    # garbage; the collector would walk them again and again meanwhile (~7 ms of a
    # `zero-session list`).  The command group switches it back on before the command
    # runs (see _app.cli); this does after --help, --version or a usage error.
    gc.disable()
    try:
        try:
            from ._app import run
        except ImportError as exc:
            sys.stderr.write(f"{HINT} ({exc})\n")
            return 1
        return run(argv)
    finally:
        gc.enable()


if __name__ == "__main__":
    sys.exit(main())
