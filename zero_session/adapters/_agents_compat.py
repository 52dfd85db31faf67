"""What the Agents adapter needs from the SDK that older SDKs lack, feature-detected.

The adapter supports ``openai-agents>=0.2``.  ``SessionSettings`` came after 0.2, and
the normalisation of a dict given as settings (``coerce_session_settings``, which
refuses unknown keys with ``TypeError``) with 0.19 or later; with an SDK that lacks
them the adapter brings its own equivalents, so ``session.session_settings.limit`` and
dict settings work the same on every supported version.
"""

from __future__ import annotations

import dataclasses
from typing import Any

try:
    from agents.memory import SessionSettings
except ImportError:  # openai-agents 0.2

    @dataclasses.dataclass
    class SessionSettings:  # type: ignore[no-redef]
        """The settings of a session (the SDK's, for SDKs that have none)."""

        limit: int | None = None
        """How many of the latest items ``get_items()`` returns; None for all."""


try:
    from agents.memory.session_settings import coerce_session_settings as _sdk_coerce
except ImportError:  # older SDKs
    _sdk_coerce = None  # type: ignore[assignment]

__all__ = ["SessionSettings", "effective_limit", "normalise_settings"]


def normalise_settings(value: Any) -> SessionSettings:
    """``value`` (None, a ``SessionSettings`` or a dict of its fields) as ``SessionSettings``.

    None gives the defaults, as the SDK's sessions hold.  Raises TypeError for a dict
    with an unknown key ("Unknown session settings: …") or a value of another type.
    """
    if value is None:
        return SessionSettings()
    if _sdk_coerce is not None:
        return _sdk_coerce(value)
    if isinstance(value, SessionSettings):
        return value
    if not isinstance(value, dict):
        raise TypeError(
            f"session settings must be a SessionSettings instance or a dict, "
            f"got {type(value).__name__}"
        )
    known = {field.name for field in dataclasses.fields(SessionSettings) if field.init}
    unknown = sorted(str(name) for name in value if name not in known)
    if unknown:
        raise TypeError(f"Unknown session settings: {', '.join(unknown)}")
    return SessionSettings(**value)


def effective_limit(limit: int | None, settings: Any) -> int | None:
    """The limit a ``get_items(limit)`` call applies: ``limit`` when given, else the
    settings' (which may have been replaced by a dict since construction)."""
    if limit is not None:
        return limit
    if settings is None:
        return None
    return normalise_settings(settings).limit
