"""ULID helpers for tests."""

from __future__ import annotations


def common_prefix(a: str, b: str) -> str:
    """The characters ``a`` and ``b`` start with alike."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def unique_prefix(ulid: str, *others: str, minimum: int = 6) -> str:
    """The shortest prefix of ``ulid`` (at least ``minimum`` chars) that no other shares.

    python-ulid makes ULIDs of one millisecond monotonic (the random part counts up), so
    sessions started together can share all but their last characters.
    """
    shared = max((len(common_prefix(ulid, other)) for other in others), default=0)
    return ulid[: max(minimum, shared + 1)]
