"""What every command shares: the global options, opening the store, the output.

Commands that only read open the store with ``readonly=True``: they never create a
file (a mistyped ``--db`` is reported, not created), never take the write lock, and work
on a file the user may not write.  A file from an older zero_session is upgraded once
by a normal open first, because a read-only connection cannot migrate it.  Commands
that write open it normally; only ``import``, ``demo`` and ``sync pull`` may create a
new store.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .._store_core import _default_path
from ..errors import StorageError
from ..store import Store
from ._output import Output

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["State", "UserError", "json_option", "parsed_by"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class UserError(Exception):
    """A mistake the user can fix: printed as one line, exit status 1."""


class State:
    """The global options, shared by every command through click's context object."""

    def __init__(
        self, *, db: str | os.PathLike[str] | None, json_output: bool, busy_timeout_ms: int
    ) -> None:
        self.db = db
        self.json_output = json_output
        self.busy_timeout_ms = busy_timeout_ms
        self._output: Output | None = None

    @property
    def path(self) -> Path:
        """The database file: ``--db``, else ``$ZERO_SESSION_DB``, else the XDG default."""
        from pathlib import Path

        return Path(self.file)

    @property
    def file(self) -> str:
        """:attr:`path` as a str: what opening the store needs, without ``pathlib``
        (~3 ms to import, a tenth of a whole ``zero-session list``)."""
        if self.db is not None:
            return os.path.expanduser(os.fspath(self.db))
        return _default_path()

    @property
    def out(self) -> Output:
        """The output for this run (JSON or tables, colour or plain)."""
        if self._output is None:
            self._output = Output(json_output=self.json_output)
        return self._output

    def open(self, *, write: bool = False, create: bool = False) -> Store:
        """Open the store; UserError when it does not exist and ``create`` is False."""
        path = self.file
        if not create and not os.path.exists(path):
            raise UserError(
                f"no store at {path} (nothing recorded there yet; check --db or $ZERO_SESSION_DB)"
            )
        timeout = self.busy_timeout_ms
        if write:
            return Store.open(path, busy_timeout_ms=timeout)
        try:
            return Store.open(path, readonly=True, busy_timeout_ms=timeout)
        except StorageError as exc:
            # Only a plain StorageError (not NotAStore, SchemaTooNew, StoreLocked...):
            # a file written by an older zero_session, whose schema a read-only
            # connection cannot upgrade.  Upgrade it once, then read as usual.
            if type(exc) is not StorageError or not os.access(path, os.W_OK):
                raise
            Store.open(path, busy_timeout_ms=timeout).close()
            return Store.open(path, readonly=True, busy_timeout_ms=timeout)


def _merge_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_object(State).json_output = True  # type: ignore[union-attr]


def json_option(command: F) -> F:
    """``--json`` after the command name, same as the global ``--json``."""
    return click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_merge_json,
        help="Print JSON instead of text.",
    )(command)


def parsed_by(
    parse: Callable[[str], T],
) -> Callable[[click.Context, click.Parameter, str | None], T | None]:
    """A click callback giving an option's value as ``parse(text)`` (None stays None);
    the ValueError of a text that means nothing becomes a usage error (exit 2)."""

    def callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback
