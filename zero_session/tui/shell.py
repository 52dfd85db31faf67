"""``zero-session shell``: a small interactive line program built on the embedding kit.

It shows the whole library at work in one command.  On start it opens the default store
and resumes the newest session started in the current directory (or starts one),
printing the resume banner and the tail with the events' original times.  Every line
typed is recorded as a ``prompt`` event and its echo as a ``system`` event; slash
commands are recorded as ``command`` events and run by :class:`SessionCommands`;
``/follow [<session>]`` shows what any process appends to a session until Ctrl-C.
Ctrl-D at the prompt (or ``/quit``) ends every session it wrote, exit status 0; SIGTERM
and SIGHUP do the same (saving what was recorded) and exit with 128 + the signal; a shell
killed with SIGKILL leaves its session ``interrupted``, and the next start's banner says
so.  Ctrl-C clears the line at the prompt and cancels a running command.  Keys typed
while a command runs (Ctrl-D included) wait for the next prompt.  ``--new`` starts a new
session instead of resuming.

The shell comes up even while another process holds the store's write lock: it reads
what to show, and its recorder starts or resumes the session in the background and
saves what is typed once the lock is free.

Line editing and history come from prompt_toolkit (the ``shell`` extra) when both ends
are a terminal; otherwise the shell reads plain lines, so it can be piped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Protocol, TextIO

from .. import __version__
from .._visible import visible
from ..errors import SessionNotFound, ZeroSessionError
from ..models import Resumed, Status
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
        self._terminal = stream.isatty()
        self._colour = self._terminal and "NO_COLOR" not in os.environ

    def line(self, text: str, kind: LineKind = LineKind.INFO) -> None:
        if self._terminal:  # event text may hold escape sequences: show, never obey
            text = visible(text)
        colour = _COLOURS.get(kind) if self._colour else None
        try:
            self._stream.write(f"{colour}{text}\x1b[0m\n" if colour else f"{text}\n")
            self._stream.flush()
        except (OSError, ValueError):  # the terminal is gone (SIGHUP) or closed
            return

    def lines(self, lines: list[OutputLine]) -> None:
        for line in lines:
            self.line(line.text, line.kind)


LINE_FLUSH_WAIT_S = 0.25
"""How long the shell waits, before echoing a line, for what it recorded to be written."""

GREETING_WAIT_S = 0.5
"""How long the shell waits for its session to start before showing the prompt anyway."""


def _open_recorder(
    store: Store | None,
    cwd: str | None,
    warn: Callable[[str], None],
    *,
    new: bool,
    resume: str | None = None,
) -> tuple[Recorder, Resumed | None]:
    """A recorder that resumes ``resume`` (pulled from the sync server when it is not here
    and a server is configured), else the newest session of ``cwd`` (unless ``new``, or
    another live process writes it), and what that session looks like for the banner.

    Only reads happen here; the recorder starts or resumes its session in its writer
    thread, so the shell comes up even while another process holds the write lock.
    """
    version = f"zero-session-shell/{__version__}"
    target: str | None = None
    preview: Resumed | None = None
    if store is not None and resume is not None:
        from .pulling import find_or_pull

        target = find_or_pull(store, resume)
    elif store is not None and not new:
        latest = store.latest(cwd)
        if latest is not None and latest.status is not Status.LIVE:
            target = latest.ulid
            tail = tuple(store.tail(latest.ulid, 20))
            preview = Resumed(latest, latest.status, latest.last_seq, tail)
    rec = Recorder(
        store,
        cli_version=version,
        cwd=cwd,
        resume=target,
        on_warning=warn,
        owns_store=True,
        start_in_background=True,
    )
    return rec, preview


def _greet(rec: Recorder, preview: Resumed | None, out: _Printer) -> None:
    out.line(f"zero-session shell · {rec.describe()} · /help for commands, Ctrl-D to quit")
    writing = rec.wait_until_writing(GREETING_WAIT_S)
    resumed = rec.resumed if writing else preview
    if resumed is not None and (not writing or rec.current == resumed.session.ulid):
        out.line(resumed.banner())
        for event in resumed.tail:
            out.line(event_line(event), LineKind.EVENT)
    if not writing:
        out.line(
            "the store is busy (another process is writing to it): what you type is kept "
            "and saved when it is free",
            LineKind.WARN,
        )
    elif resumed is not None and rec.current == resumed.session.ulid:
        out.line(f"continuing session {resumed.session.ulid}")
    else:
        out.line(f"new session {rec.current}")


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
    # The announcement is inside the try: a Ctrl-C pressed as soon as it shows (while it
    # is still being written) stops following like any later one, and closes the follower.
    try:
        out.line(f"following {ulid} · Ctrl-C to stop")
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
    # Saved before it is shown, normally: a kill -9 after the echo then loses nothing.
    # A busy store delays the echo this long at most; the writer saves it later.
    rec.flush(timeout=LINE_FLUSH_WAIT_S)
    out.line(echo)


class _Terminated(SystemExit):
    """SIGTERM or SIGHUP: leave the loop, close the recorder, exit 128 + the signal."""


def _terminate(signum: int, _frame: FrameType | None) -> None:
    _ignore_termination()  # one is enough: let close() finish
    raise _Terminated(128 + signum)


def _ignore_termination() -> None:
    with contextlib.suppress(ValueError):  # not the main thread: nothing was installed
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)


@contextlib.contextmanager
def _exit_on_termination() -> Iterator[None]:
    """SIGTERM and SIGHUP end the shell like Ctrl-D does (main thread only)."""
    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    try:
        previous = {n: signal.signal(getattr(signal, n), _terminate) for n in names}
    except ValueError:  # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


@contextlib.contextmanager
def _typeahead_kept(stream: TextIO, active: bool) -> Iterator[None]:
    """While a command runs, keep what is typed as bytes for the next prompt.

    Between two prompts the terminal is back in cooked mode, where a Ctrl-D typed ahead
    becomes an end-of-file that nobody reads, and Ctrl-C flushes the typed-ahead input.
    So the command runs with ICANON and ECHO off (the keys wait, unechoed, for the line
    editor), ISIG on (Ctrl-C still interrupts) and NOFLSH (that interrupt keeps them).
    """
    if not active:
        yield
        return
    import termios

    fd = stream.fileno()
    try:
        saved = termios.tcgetattr(fd)
        mode = termios.tcgetattr(fd)
        mode[3] = (mode[3] & ~(termios.ICANON | termios.ECHO)) | termios.ISIG | termios.NOFLSH
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
        termios.tcsetattr(fd, termios.TCSANOW, mode)
    except (OSError, termios.error):
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)


def _loop(
    reader: _LineReader,
    rec: Recorder,
    commands: SessionCommands,
    out: _Printer,
    keep_typeahead: Callable[[], contextlib.AbstractContextManager[None]],
) -> None:
    """Read and run lines until Ctrl-D or /quit; Ctrl-C clears the line or cancels the
    running command."""
    while True:
        try:
            line = reader.read().strip()
        except KeyboardInterrupt:
            continue
        except EOFError:
            return
        if line in ("/quit", "/exit"):
            return
        if not line:
            continue
        try:
            with keep_typeahead():
                _handle(line, rec, commands, out)
        except KeyboardInterrupt:
            out.line("cancelled", LineKind.WARN)


def run_shell(
    *,
    db: str | os.PathLike[str] | None = None,
    no_persist: bool = False,
    new: bool = False,
    cwd: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    resume: str | None = None,
) -> int:
    """Run the interactive shell until end of input; the exit status.

    0 after Ctrl-D or ``/quit``; 1 when the store is unusable; 128 + the signal after
    SIGTERM or SIGHUP, which end the shell's sessions like Ctrl-D does.  ``db`` defaults
    to the default store path (``$ZERO_SESSION_DB``...); ``no_persist`` records into
    memory only; ``cwd`` is the directory whose latest session is resumed, unless
    ``new`` asks for a new session or ``resume`` names one (pulled from the sync server
    when it is not here).
    """
    source, sink = stdin or sys.stdin, stdout or sys.stdout
    out = _Printer(sink)
    with _exit_on_termination():
        try:
            store = None if no_persist else Store.open(db)
            rec, preview = _open_recorder(
                store,
                cwd,
                lambda note: out.line(f"! {note}", LineKind.WARN),
                new=new,
                resume=resume,
            )
        except ZeroSessionError as exc:
            out.line(f"zero-session shell: {exc}", LineKind.ERROR)
            return 1
        except _Terminated as exc:
            return int(exc.code or 0)
        status = 0
        try:
            commands = SessionCommands(rec)
            history = None if no_persist else Path(rec.store.path).parent / HISTORY_FILE
            _greet(rec, preview, out)
            reader = _reader(source, sink, history, [*commands.names, "/follow", "/pull", "/quit"])
            toolkit = isinstance(reader, _ToolkitReader)
            _loop(reader, rec, commands, out, lambda: _typeahead_kept(source, toolkit))
        except _Terminated as exc:
            status = int(exc.code or 0)
        finally:
            _ignore_termination()  # a signal now must not cut the flush and the ends short
            rec.close()
    ended = ", ".join(rec.sessions)
    out.line(f"ended session{'s' if len(rec.sessions) > 1 else ''} {ended}")
    return status


if __name__ == "__main__":
    sys.exit(run_shell())
