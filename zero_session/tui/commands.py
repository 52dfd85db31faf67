"""``SessionCommands``: the slash commands every TUI over zero_session offers.

``dispatch(line)`` returns a list of :class:`OutputLine` (a kind and a text) and never
raises: the TUI decides how to paint each kind.  The commands act through a
:class:`Recorder`, so ``/fork`` and ``/resume`` switch where the program writes.

Kinds: ``heading`` (a table header), ``row`` (one session), ``event`` (one timeline event
with its original time), ``info`` (plain text), ``warn`` (worth noticing), ``error``
(the user's request cannot be done: unknown session, bad usage), ``alert`` (the store
failed), ``json`` (a JSON document, from ``/share``).  Times are shown in UTC, like
``Resumed.banner()``.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import shlex
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import attrs

from .._documents import share_doc
from .._words import count
from ..errors import (
    AmbiguousSession,
    InvalidInput,
    LabelTaken,
    SessionBusy,
    SessionEnded,
    SessionNotFound,
    ZeroSessionError,
)
from ..models import Event, Session
from .recorder import Recorder

if TYPE_CHECKING:
    from ..store import Store

__all__ = [
    "LineKind",
    "OutputLine",
    "SessionCommands",
    "error_line",
    "event_line",
    "session_row",
]

REPLAY_LIMIT = 1_000
"""``/replay`` shows at most this many events (the newest), and says how many it left out."""

SHARE_EVENT_CAP = 200
"""``/share`` shows the last this many events; ``/share ... --file PATH`` writes them all."""

COMMAND_FLUSH_TIMEOUT_S = 0.25
"""How long a command waits for the recorder's queue to be written before it reads."""


class LineKind(enum.StrEnum):
    """What an output line is, so a TUI can style it."""

    HEADING = "heading"
    ROW = "row"
    EVENT = "event"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"
    ALERT = "alert"
    JSON = "json"


@attrs.frozen(slots=True)
class OutputLine:
    """One line for the TUI to render: its ``kind`` (a :class:`LineKind`) and ``text``."""

    kind: LineKind
    text: str


def _utc(at_ms: int | None, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
    if at_ms is None:
        return "-"
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime(pattern)


_SESSION_HEADING = (
    f"  {'ULID':<26}  {'STARTED (UTC)':<16}  {'STATUS':<11}  {'EVENTS':>6}  {'LABELS':<16}  PARENT"
)


def session_row(session: Session, *, current: bool = False) -> str:
    """One session as a table row; ``current`` marks the session being written."""
    labels = ",".join(session.labels) or "-"
    return (
        f"{'*' if current else ' '} {session.ulid}  {_utc(session.started_at_ms, '%Y-%m-%d %H:%M')}"
        f"  {session.status:<11}  {session.n_events:>6}  {labels:<16}  "
        f"{session.parent_ulid or '-'}"
    )


def event_line(event: Event) -> str:
    """One event with its original time (UTC)."""
    return f"{event.seq:>5}  {_utc(event.at_ms)}  {event.kind:<11}  {event.text}"


def _write_share_file(store: Store, session: Session, path: str) -> int:
    """Write the whole share document to ``path`` (replacing it only once complete);
    the number of events written.  Raises OSError."""
    document = share_doc(store, session)
    target = os.path.abspath(os.path.expanduser(path))
    partial = f"{target}.partial-{os.getpid()}"
    try:
        with open(partial, "w", encoding="utf-8") as file:
            json.dump(document, file, ensure_ascii=False, indent=2)
            file.write("\n")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
    return len(document["events"])


_Handler = Callable[["SessionCommands", list[str]], list[OutputLine]]

_HELP = (
    ("/sessions [n]", "list the newest n sessions (default 20); * marks this one"),
    ("/resume <ulid|prefix|label>", "continue an earlier session; writes go there"),
    ("/replay [<ulid|prefix|label>]", "show a session's timeline (default: this one)"),
    ("/fork", "branch this session; writes go to the new child"),
    ("/save <label> [--move]", "name this session so /resume <label> finds it"),
    ("/label [<label> [<session>]] [--move]", "list labels, or label a session"),
    ("/share [<ulid|prefix|label>] [--file <path>]", "the session as JSON (all of it: --file)"),
    ("/help", "this list"),
)


def _info(text: str) -> OutputLine:
    return OutputLine(LineKind.INFO, text)


def _error(text: str) -> OutputLine:
    return OutputLine(LineKind.ERROR, text)


def _take_flag(args: list[str], flag: str) -> tuple[bool, list[str]]:
    """Whether ``flag`` is among ``args``, and the arguments without it."""
    rest = [arg for arg in args if arg != flag]
    return len(rest) != len(args), rest


def _label_taken(exc: LabelTaken, retry: str) -> OutputLine:
    return _error(f"label '{exc.name}' already names session {exc.ulid}; use {retry} to move it")


def error_line(exc: Exception) -> OutputLine:
    """What to show for a failed command: the user's mistake, or the store's failure."""
    if isinstance(exc, AmbiguousSession):
        shown = ", ".join(exc.candidates)
        return _error(f"'{exc.needle}' matches several sessions ({shown}); type more of it.")
    if isinstance(exc, SessionNotFound):
        return _error(f"no session matches '{exc.needle}'. Try /sessions.")
    if isinstance(exc, InvalidInput | SessionBusy | SessionEnded):
        return _error(str(exc))
    if isinstance(exc, ZeroSessionError):
        return OutputLine(LineKind.ALERT, f"store failure: {exc}")
    if isinstance(exc, OSError):
        return _error(f"cannot write {exc.filename or 'the file'}: {exc.strerror or exc}")
    return OutputLine(LineKind.ALERT, f"unexpected {type(exc).__name__}: {exc}")


class SessionCommands:
    """Parses and runs slash commands against a :class:`Recorder`'s store."""

    def __init__(self, recorder: Recorder, *, list_limit: int = 20) -> None:
        self._rec = recorder
        self._list_limit = list_limit

    @staticmethod
    def handles(line: str) -> bool:
        """Whether ``line`` is a slash command (rather than input for the program)."""
        return line.lstrip().startswith("/")

    @property
    def names(self) -> tuple[str, ...]:
        """The command names, with their slash, for completion."""
        return tuple(f"/{name}" for name in _COMMANDS)

    def dispatch(self, line: str) -> list[OutputLine]:
        """Run one command line; the lines to show.  Never raises.

        A line that is not a slash command gives ``[]``.
        """
        if not self.handles(line):
            return []
        try:
            words = shlex.split(line.strip())
        except ValueError as exc:
            return [_error(f"cannot read that command: {exc}")]
        name, args = words[0][1:].lower(), words[1:]
        handler = _COMMANDS.get(name)
        if handler is None:
            return [_error(f"unknown command '/{name}'. Try /help.")]
        # What the program recorded should show: let the writer catch up first, for a
        # moment only (a store locked by another process must not hang the command).
        self._rec.flush(timeout=COMMAND_FLUSH_TIMEOUT_S)
        try:
            return handler(self, args)
        except Exception as exc:  # a TUI must survive store failures and our bugs too
            return [error_line(exc)]

    def _target(self, args: Sequence[str]) -> Session:
        """The session named by the first argument, or the current one."""
        if args:
            return self._rec.store.find(args[0])
        current = self._rec.current
        if current is None:
            raise self._rec.last_error or SessionNotFound("(no current session)")
        return self._rec.store.get(current)

    # ---------------------------------------------------------------- commands

    def _sessions(self, args: list[str]) -> list[OutputLine]:
        limit = self._list_limit
        if args:
            if not args[0].isdigit() or int(args[0]) < 1:
                return [_error("usage: /sessions [n]  (n: how many, a positive number)")]
            limit = int(args[0])
        listing = self._rec.store.list_sessions(limit)
        if not listing:
            return [_info("no sessions yet")]
        current = self._rec.current
        lines = [OutputLine(LineKind.HEADING, _SESSION_HEADING)]
        lines += [
            OutputLine(LineKind.ROW, session_row(s, current=s.ulid == current)) for s in listing
        ]
        if not self._rec.persistent:
            lines.append(OutputLine(LineKind.WARN, self._rec.describe()))
        return lines

    def _resume(self, args: list[str]) -> list[OutputLine]:
        if len(args) != 1:
            return [_error("usage: /resume <ulid|prefix|label>")]
        target = self._rec.store.find(args[0])
        if target.ulid == self._rec.current:
            return [_info(f"already writing session {target.ulid}")]
        resumed = self._rec.resume(target.ulid)
        lines = [_info(resumed.banner())]
        lines += [OutputLine(LineKind.WARN, w) for w in resumed.warnings]
        lines += [OutputLine(LineKind.EVENT, event_line(e)) for e in resumed.tail]
        lines.append(_info(f"now writing session {resumed.session.ulid}"))
        return lines

    def _replay(self, args: list[str]) -> list[OutputLine]:
        if len(args) > 1:
            return [_error("usage: /replay [<ulid|prefix|label>]")]
        session = self._target(args)
        events = self._rec.store.tail(session.ulid, REPLAY_LIMIT)
        lines = [
            OutputLine(
                LineKind.HEADING,
                f"replay of {session.ulid} · {session.status} · {count(session.last_seq, 'event')}",
            )
        ]
        if events and events[0].seq > 1:
            lines.append(_info(f"… {count(events[0].seq - 1, 'earlier event')} not shown"))
        lines += [OutputLine(LineKind.EVENT, event_line(e)) for e in events]
        if not events:
            lines.append(_info("no events yet"))
        return lines

    def _fork(self, args: list[str]) -> list[OutputLine]:
        if args:
            return [_error("usage: /fork")]
        parent = self._rec.current
        child = self._rec.fork()
        return [_info(f"forked {parent} at seq {child.fork_seq}; now writing session {child.ulid}")]

    def _save(self, args: list[str]) -> list[OutputLine]:
        move, args = _take_flag(args, "--move")
        if len(args) != 1:
            return [_error("usage: /save <label> [--move]  (a name without spaces)")]
        session = self._target([])
        try:
            self._rec.store.label(session.ulid, args[0], move=move)
        except LabelTaken as exc:
            return [_label_taken(exc, f"/save {args[0]} --move")]
        return [_info(f"saved session {session.ulid} as '{args[0]}'")]

    def _label(self, args: list[str]) -> list[OutputLine]:
        if not args:
            labels = self._rec.store.labels()
            if not labels:
                return [_info("no labels yet; /save <label> names this session")]
            width = max(len(name) for name in labels)
            return [OutputLine(LineKind.ROW, f"{n:<{width}}  {u}") for n, u in labels.items()]
        move, args = _take_flag(args, "--move")
        if not args or len(args) > 2:
            return [_error("usage: /label [<label> [<ulid|prefix|label>]] [--move]")]
        session = self._target(args[1:])
        try:
            self._rec.store.label(session.ulid, args[0], move=move)
        except LabelTaken as exc:
            return [_label_taken(exc, " ".join(["/label", *args, "--move"]))]
        return [_info(f"labelled session {session.ulid} '{args[0]}'")]

    def _share(self, args: list[str]) -> list[OutputLine]:
        usage = "usage: /share [<ulid|prefix|label>] [--file <path>]"
        path: str | None = None
        if "--file" in args:
            at = args.index("--file")
            if at + 1 >= len(args):
                return [_error(usage)]
            path = args[at + 1]
            args = args[:at] + args[at + 2 :]
        if len(args) > 1:
            return [_error(usage)]
        session = self._target(args)
        if path is not None:
            n_events = _write_share_file(self._rec.store, session, path)
            written = count(n_events, "event")
            return [_info(f"wrote session {session.ulid} and {written} to {path}")]
        document = share_doc(self._rec.store, session, tail=SHARE_EVENT_CAP)
        lines = [OutputLine(LineKind.JSON, json.dumps(document, ensure_ascii=False, indent=2))]
        if session.last_seq > SHARE_EVENT_CAP:
            lines.append(
                OutputLine(
                    LineKind.WARN,
                    f"showing the last {SHARE_EVENT_CAP:,} of {session.last_seq:,} events; "
                    f"/share {session.ulid} --file <path> writes them all",
                )
            )
        return lines

    def _help(self, args: list[str]) -> list[OutputLine]:
        width = max(len(usage) for usage, _ in _HELP)
        lines = [_info(f"{usage:<{width}}  {what}") for usage, what in _HELP]
        if not self._rec.persistent:
            lines.append(OutputLine(LineKind.WARN, self._rec.describe()))
        return lines


_COMMANDS: dict[str, _Handler] = {
    "sessions": SessionCommands._sessions,
    "resume": SessionCommands._resume,
    "replay": SessionCommands._replay,
    "fork": SessionCommands._fork,
    "save": SessionCommands._save,
    "label": SessionCommands._label,
    "share": SessionCommands._share,
    "help": SessionCommands._help,
}
