"""The embedding kit for TUIs and REPLs: a write handle that never crashes the UI, and
the slash commands such programs offer.

``Recorder`` owns the session a program writes to; ``SessionCommands`` turns ``/sessions``,
``/resume``, ``/fork``... into ``OutputLine`` values the program paints as it likes.
``zero_session.tui.shell`` is a complete line-oriented program built from them.
"""

from __future__ import annotations

from .commands import LineKind, OutputLine, SessionCommands
from .recorder import Recorder

__all__ = ["LineKind", "OutputLine", "Recorder", "SessionCommands"]
