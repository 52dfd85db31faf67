"""Session ids: ULID creation, validation and prefix normalisation.

A session id is a 26-character ULID in Crockford base32, upper case.  ULIDs are ordered
only roughly (by millisecond, random within one); the store never relies on their order
for anything but prefix lookup: listing order is ``started_at_ms`` then insertion order,
and event order is ``seq``.
"""

from __future__ import annotations

import re

from .errors import InvalidInput

__all__ = ["is_ulid", "new_ulid", "normalise_prefix", "parse_ulid"]

ULID_LENGTH = 26
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_PREFIX_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{1,26}")
# Crockford's decoding rules: read I and L as 1, O as 0; case does not matter.
_CROCKFORD_ALIASES = str.maketrans("ILO", "110")


def new_ulid() -> str:
    """A fresh ULID string for a new session."""
    # Imported on first use: python-ulid reads its package metadata when imported
    # (importlib.metadata, ~20 ms), which `import zero_session` need not pay.
    from ulid import ULID

    return str(ULID())


def is_ulid(text: str) -> bool:
    """Whether ``text`` is already a canonical (upper-case) session ulid."""
    return len(text) == ULID_LENGTH and _ULID_RE.fullmatch(text) is not None


def normalise_prefix(text: str) -> str | None:
    """``text`` as a canonical ulid prefix (upper case, Crockford aliases), or None."""
    candidate = text.strip().upper()
    # Most prefixes hold no alias: three `in` tests cost less than translate's per-char
    # table lookups (~0.9 µs for 16 characters).
    if "I" in candidate or "L" in candidate or "O" in candidate:
        candidate = candidate.translate(_CROCKFORD_ALIASES)
    if _PREFIX_RE.fullmatch(candidate) is None:
        return None
    return candidate


def parse_ulid(value: object, *, what: str = "session") -> str:
    """The canonical ulid for a user-supplied id; InvalidInput when it is not one."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a ulid string or a Session, not {type(value).__name__}")
    if is_ulid(value):
        return value
    candidate = normalise_prefix(value)
    if candidate is None or not is_ulid(candidate):
        raise InvalidInput(
            f"{what} {value!r} is not a 26-character ulid; use Store.find() for labels and prefixes"
        )
    return candidate
