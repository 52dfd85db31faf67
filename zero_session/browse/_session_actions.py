"""The keys that act on a session, shared by the list and the timeline screens.

Each destructive step asks first (unlabel, delete, and delete of a whole subtree);
the result, or the error, is shown as a notification and the screen reads the store
again.  A ``ZeroSessionError`` (a label another session has, a live session refused,
a read-only file) is shown, never raised into the UI.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from ..errors import HasForks, LabelTaken, ZeroSessionError
from . import _actions
from ._dialogs import Ask, Confirm

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["SessionActions"]


class SessionActions:
    """Mixed into a Screen that says which session (and seq) an action targets."""

    ACTION_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "label", "Label"),
        Binding("u", "unlabel", "Unlabel", show=False),
        Binding("a", "archive", "Archive"),
        Binding("D", "delete", "Delete"),
        Binding("F", "fork", "Fork"),
        Binding("e", "export", "Export"),
    ]

    # Given by the screen.
    def action_target(self) -> tuple[str, int] | None:
        """``(ulid, seq)`` an action applies to (seq: where a fork starts)."""
        raise NotImplementedError

    def after_action(self) -> None:
        """Read the store again after a change."""
        raise NotImplementedError

    @property
    def _screen(self) -> Screen[None]:
        assert isinstance(self, Screen)
        return self

    @property
    def _store(self) -> Store:
        store: Store = self._screen.app.store  # type: ignore[attr-defined]
        return store

    def _run(self, step: Callable[[], str], *, changes: bool = True) -> None:
        try:
            message = step()
        except (ZeroSessionError, OSError) as exc:
            self._screen.notify(" ".join(str(exc).split()), severity="error", markup=False)
            return
        self._screen.notify(message, markup=False)
        if changes:
            self.after_action()

    def action_label(self) -> None:
        target = self.action_target()
        if target is None:
            return
        ulid = target[0]

        def done(name: str | None) -> None:
            if not name:
                return
            try:
                message = _actions.label(self._store, ulid, name)
            except LabelTaken as taken:

                def move(yes: bool | None) -> None:
                    if yes:
                        self._run(lambda: _actions.label(self._store, ulid, name, move=True))

                question = f"'{name}' names session {taken.ulid}. Move it to {ulid}?"
                self._screen.app.push_screen(Confirm(question), move)
                return
            except (ZeroSessionError, OSError) as exc:
                self._screen.notify(" ".join(str(exc).split()), severity="error", markup=False)
                return
            self._screen.notify(message, markup=False)
            self.after_action()

        self._screen.app.push_screen(Ask(f"Label for {ulid}:"), done)

    def action_unlabel(self) -> None:
        target = self.action_target()
        if target is None:
            return
        labels = self._store.get(target[0]).labels
        if not labels:
            self._screen.notify("this session has no label", severity="warning")
            return

        def chosen(name: str | None) -> None:
            if not name:
                return

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self._run(lambda: _actions.unlabel(self._store, name))

            self._screen.app.push_screen(Confirm(f"Remove the label '{name}'?"), confirmed)

        self._screen.app.push_screen(Ask("Remove which label?", labels[0]), chosen)

    def action_archive(self) -> None:
        target = self.action_target()
        if target is None:
            return
        archived = self._store.get(target[0]).archived_at_ms is not None
        self._run(lambda: _actions.archive_toggle(self._store, target[0], archived))

    def action_delete(self) -> None:
        target = self.action_target()
        if target is None:
            return
        ulid = target[0]
        forks = self._store.forks(ulid)

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                message = _actions.delete(self._store, ulid, cascade=bool(forks))
            except HasForks:  # forked since the question was asked
                self._screen.notify("it has forks now; not deleted", severity="error")
                return
            except (ZeroSessionError, OSError) as exc:
                self._screen.notify(" ".join(str(exc).split()), severity="error", markup=False)
                return
            self._screen.notify(message, markup=False)
            self.after_deleted()

        question = f"Delete session {ulid} and all its events?"
        if forks:
            question = (
                f"Session {ulid} has {len(forks)} fork(s). Delete it with all its forks "
                "and their events?"
            )
        self._screen.app.push_screen(Confirm(question), confirmed)

    def after_deleted(self) -> None:
        self.after_action()

    def action_fork(self) -> None:
        target = self.action_target()
        if target is not None:
            ulid, seq = target
            self._run(lambda: _actions.fork(self._store, ulid, seq))

    def action_export(self) -> None:
        target = self.action_target()
        if target is None:
            return
        ulid = target[0]
        default = os.path.join(os.getcwd(), f"{ulid}.jsonl")

        def done(path: str | None) -> None:
            if path:
                self._run(lambda: _actions.export(self._store, ulid, path), changes=False)

        self._screen.app.push_screen(Ask("Export to a new JSON Lines file:", default), done)
