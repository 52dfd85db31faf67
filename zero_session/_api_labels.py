"""Store methods for labels and milestones (labels are milestones ``session.label.*``)."""

from __future__ import annotations

from . import _milestones, _sessions
from ._store_core import SessionRef, StoreCore
from .errors import LabelTaken
from .models import Milestone

__all__ = ["LabelMethods"]


class LabelMethods(StoreCore):
    """Labels and milestones."""

    def label(self, session: SessionRef, name: str, *, move: bool = False) -> None:
        """Give the session the label ``name``.

        A name that already names another session is never taken by accident: it raises
        LabelTaken (naming that session) unless ``move=True``, which moves the label
        here.  Labelling a session with a name it already has is a no-op.  A label left
        pointing at a deleted session is free.  Labels are 1-64 printable characters
        without whitespace.  Raises InvalidInput, SessionNotFound, LabelTaken.
        """
        ulid = self._ulid_of(session)
        name = _milestones.check_label(name)
        if not isinstance(move, bool):
            raise TypeError(f"move must be a bool, not {type(move).__name__}")
        key = _sessions.LABEL_PREFIX + name
        with self._writing() as conn:
            _sessions.require_row(conn, ulid)
            holder = _milestones.get_value(conn, key)
            if holder == ulid:
                return
            if holder is not None and not move and _sessions.row_by_ulid(conn, holder):
                raise LabelTaken(name, holder)
            _milestones.set_value(conn, key, ulid, self._now())

    def unlabel(self, name: str) -> bool:
        """Remove the label ``name``; whether it existed.  Raises InvalidInput."""
        name = _milestones.check_label(name)
        with self._writing() as conn:
            return _milestones.delete_key(conn, _sessions.LABEL_PREFIX + name)

    def labels(self) -> dict[str, str]:
        """Every label → the ulid it names, in label order."""
        prefix = _sessions.LABEL_PREFIX
        with self._reading() as conn:
            found = _milestones.list_milestones(conn, prefix)
        return {m.key[len(prefix) :]: m.value for m in found}

    def set_milestone(self, key: str, value: str) -> None:
        """Set ``key`` to ``value`` (overwriting), stamped with the current time.

        Keys under ``session.label.`` are reserved for :meth:`label`.  Raises InvalidInput.
        """
        key = _milestones.check_key(key)
        value = _milestones.check_value(value, self._max_event_bytes)
        with self._writing() as conn:
            _milestones.set_value(conn, key, value, self._now())

    def set_milestone_once(self, key: str, value: str) -> bool:
        """Set ``key`` only if it has never been set; whether this call wrote it."""
        key = _milestones.check_key(key)
        value = _milestones.check_value(value, self._max_event_bytes)
        with self._writing() as conn:
            return _milestones.set_value_once(conn, key, value, self._now())

    def get_milestone(self, key: str) -> str | None:
        """The value of ``key``, or None when it was never set."""
        key = _milestones.check_key(key, allow_reserved=True)
        with self._reading() as conn:
            return _milestones.get_value(conn, key)

    def milestones(self, prefix: str = "") -> list[Milestone]:
        """Milestones whose key starts with ``prefix`` (labels included), in key order."""
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        with self._reading() as conn:
            return _milestones.list_milestones(conn, prefix)
