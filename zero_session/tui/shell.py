"""``zero-session shell``: a small interactive line program built on the embedding kit.

It shows the whole library at work in one command.  On start it opens the default store
and resumes the newest session started in the current directory (or starts one),
printing the resume banner and the tail with the events' original times.  Every line
typed is recorded as a ``prompt`` event and its echo as a ``system`` event; slash
commands are recorded as ``command`` events and run by :class:`SessionCommands`;
``/follow [<session>]`` shows what any process appends to a session until Ctrl-C.
Ctrl-D (or ``/quit``) ends every session it wrote; a shell that is killed leaves its
session ``interrupted``, and the next start's banner says so.

Line editing and history come from prompt_toolkit (the ``shell`` extra) when both ends
are a terminal; otherwise the shell reads plain lines, so it can be piped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TextIO

from .. import __version__
from ..errors import SessionBusy, SessionNotFound, ZeroSessionError
from ..models import Status
from ..store import Store
from .commands import LineKind, OutputLine, SessionCommands, error_line, event_line
from .recorder import Recorder

__all__ = ["run_shell"]

PROMPT = "zs> "
HISTORY_FILE = "shell_history"

_COLOURS = {
    LineKind.HEADING: "\x1b[1m",
    LineKind.EVENT: "\x1b[2m",
    LineKind.WARN: "\x1b[33m",
    LineKind.ERROR: "\x1b[31m",
    LineKind.ALERT: "\x1b[1;31m",
}


class _LineReader(Protocol):
    def read(self) -> str:
        """The next line without its newline; EOFError at the end, KeyboardInterrupt on ^C."""
        ...


class _PlainReader:
    """Lines from a pipe (no prompt) or from a terminal through ``input()``."""

    def __init__(self, stream: TextIO, *, interactive: bool) -> None:
        self._stream = stream
        self._interactive = interactive

    def read(self) -> str:
        if self._interactive:
            return input(PROMPT)
        line = self._stream.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")


class _ToolkitReader:
    """prompt_toolkit's line editor with persistent history and command completion."""

    def __init__(self, history: Path | None, words: list[str]) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import WordCompleter
        from prompt_toolkit.history import FileHistory, History, InMemoryHistory

        store: History = InMemoryHistory()
        if history is not None and _create_private(history):
            store = FileHistory(str(history))
        self._session: PromptSession[str] = PromptSession(
            history=store, completer=WordCompleter(words, sentence=True)
        )

    def read(self) -> str:
        return self._session.prompt(PROMPT)


def _create_private(path: Path) -> bool:
    """Create the history file readable by its owner only (what one types may be secret);
    whether it can be written.  Without it the history lasts for this run only."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
    except OSError:
        return False
    return True


def _reader(stdin: TextIO, stdout: TextIO, history: Path | None, words: list[str]) -> _LineReader:
    interactive = stdin.isatty() and stdout.isatty()
    if interactive and stdin is sys.stdin and stdout is sys.stdout:
        try:
            return _ToolkitReader(history, words)
        except ImportError:
            import readline  # noqa: F401  (line editing for input())
    return _PlainReader(stdin, interactive=interactive)


class _Printer:
    """Writes output lines, coloured only on a terminal and never with NO_COLOR."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._colour = stream.isatty() and "NO_COLOR" not in os.environ

    def line(self, text: str, kind: LineKind = LineKind.INFO) -> None:
        colour = _COLOURS.get(kind) if self._colour else None
        self._stream.write(f"{colour}{text}\x1b[0m\n" if colour else f"{text}\n")
        self._stream.flush()

    def lines(self, lines: list[OutputLine]) -> None:
        for line in lines:
            self.line(line.text, line.kind)


def _open_recorder(
    store: Store | None, cwd: str | None, warn: Callable[[str], None], resume: str | None = None
) -> Recorder:
    """Resume ``resume`` (pulled from the sync server when it is not here and a server is
    configured), else the newest session of ``cwd`` unless another live process writes it."""
    version = f"zero-session-shell/{__version__}"
    if store is not None and resume is not None:
        from .pulling import find_or_pull

        return Recorder(
            store,
            cli_version=version,
            cwd=cwd,
            resume=find_or_pull(store, resume),
            on_warning=warn,
            owns_store=True,
        )
    if store is not None:
        latest = store.latest(cwd)
        if latest is not None and latest.status is not Status.LIVE:
            try:
                return Recorder(
                    store,
                    cli_version=version,
                    cwd=cwd,
                    resume=latest.ulid,
                    on_warning=warn,
                    owns_store=True,
                )
            except SessionBusy:
                pass  # it came alive meanwhile: start a session of our own
    return Recorder(store, cli_version=version, cwd=cwd, on_warning=warn, owns_store=True)


def _greet(rec: Recorder, out: _Printer) -> None:
    out.line(f"zero-session shell · {rec.describe()} · /help for commands, Ctrl-D to quit")
    resumed = rec.resumed
    if resumed is None:
        out.line(f"new session {rec.current}")
        return
    out.line(resumed.banner())
    for event in resumed.tail:
        out.line(event_line(event), LineKind.EVENT)
    out.line(f"continuing session {resumed.session.ulid}")


_SHELL_HELP = (
    ("/follow [<ulid|prefix|label>]", "show events as any process appends them; Ctrl-C stops"),
    ("/pull <ulid|prefix|label>", "bring a session from the sync server to read or resume"),
    ("/quit", "end the session and leave (or Ctrl-D)"),
)


def _follow(args: list[str], rec: Recorder, out: _Printer) -> None:
    """Print the session's new events, from any process, until Ctrl-C."""
    try:
        ulid = rec.store.find(args[0]).ulid if args else rec.current
        if ulid is None:
            raise rec.last_error or SessionNotFound("(no current session)")
        follower = rec.store.follow(ulid)
    except Exception as exc:
        out.lines([error_line(exc)])
        return
    out.line(f"following {ulid} · Ctrl-C to stop")
    try:
        for event in follower:
            out.line(event_line(event), LineKind.EVENT)
    except KeyboardInterrupt:
        out.line("stopped following")
    except Exception as exc:
        out.lines([error_line(exc)])
    finally:
        follower.close()


def _handle(line: str, rec: Recorder, commands: SessionCommands, out: _Printer) -> None:
    if commands.handles(line):
        rec.record("command", line)
        name, *args = line.split()
        if name == "/follow":
            _follow(args, rec, out)
            return
        if name == "/pull":
            from .pulling import pull_lines

            out.lines(pull_lines(rec.store, args))
            return
        out.lines(commands.dispatch(line))
        if name == "/help":
            width = max(len(usage) for usage, _ in _SHELL_HELP)
            for usage, what in _SHELL_HELP:
                out.line(f"{usage:<{width}}  {what}")
        return
    rec.record("prompt", line)
    echo = f"echo: {line}"
    rec.record("system", echo)
    out.line(echo)


def run_shell(
    *,
    db: str | os.PathLike[str] | None = None,
    no_persist: bool = False,
    cwd: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    resume: str | None = None,
) -> int:
    """Run the interactive shell until end of input; the exit status (1: store unusable).

    ``db`` defaults to the default store path (``$ZERO_SESSION_DB``...); ``no_persist``
    records into memory only; ``cwd`` is the directory whose latest session is resumed,
    unless ``resume`` names a session (pulled from the sync server when it is not here).
    """
    source, sink = stdin or sys.stdin, stdout or sys.stdout
    out = _Printer(sink)
    try:
        store = None if no_persist else Store.open(db)
        rec = _open_recorder(store, cwd, lambda note: out.line(f"! {note}", LineKind.WARN), resume)
    except ZeroSessionError as exc:
        out.line(f"zero-session shell: {exc}", LineKind.ERROR)
        return 1
    commands = SessionCommands(rec)
    history = None if no_persist else Path(rec.store.path).parent / HISTORY_FILE
    with rec:
        _greet(rec, out)
        reader = _reader(source, sink, history, [*commands.names, "/follow", "/pull", "/quit"])
        while True:
            try:
                line = reader.read().strip()
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if line in ("/quit", "/exit"):
                break
            if line:
                _handle(line, rec, commands, out)
    ended = ", ".join(rec.sessions)
    out.line(f"ended session{'s' if len(rec.sessions) > 1 else ''} {ended}")
    return 0


if __name__ == "__main__":
    sys.exit(run_shell())
