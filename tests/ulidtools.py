"""ULID helpers for tests."""

from __future__ import annotations


def _shared_length(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def unique_prefix(ulid: str, *others: str, minimum: int = 6) -> str:
    """The shortest prefix of ``ulid`` (at least ``minimum`` chars) that no other shares.

    python-ulid makes ULIDs of one millisecond monotonic (the random part counts up), so
    sessions started together can share all but their last characters.
    """
    shared = max((_shared_length(ulid, other) for other in others), default=0)
    return ulid[: max(minimum, shared + 1)]
