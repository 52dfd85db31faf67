"""Invariant 5: bad input raises a clear error and leaves the file byte-for-byte unchanged.

Each case runs against a store holding a little of everything (events, a fork, an ended
session, a label, a milestone), with the store still open.  The database file and its
WAL are hashed before and after the failing call (the ``-shm`` index is shared memory
that readers touch, not data).  A good append afterwards proves the failing call left no
transaction open.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from zero_session import (
    InvalidInput,
    SeqConflict,
    SessionEnded,
    SessionNotFound,
    Store,
    ZeroSessionError,
)

MAX_EVENT_BYTES = 1_000
UNKNOWN = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


class World(NamedTuple):
    store: Store
    db_path: Path
    a: str  # 3 events, labelled "main"
    fork: str  # fork of a at seq 2, one own event
    ended: str  # 1 event, ended


def _circular() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


def _deep(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


def _shared_bomb(levels: int) -> list[Any]:
    """A tiny object whose JSON would double in size at every level."""
    node: list[Any] = []
    for _ in range(levels):
        node = [node, node]
    return node


def _bad_items() -> Iterator[tuple[str, str]]:
    yield ("system", "fine")
    raise InvalidInput("the producer failed half way")


Case = tuple[str, Callable[[World], object], type[BaseException]]

CASES: list[Case] = [
    # ---- opening the same file with bad options
    ("open-durability", lambda w: Store.open(w.db_path, durability="fast"), InvalidInput),  # type: ignore[arg-type]
    ("open-timeout-type", lambda w: Store.open(w.db_path, busy_timeout_ms="1"), TypeError),  # type: ignore[arg-type]
    ("open-timeout-neg", lambda w: Store.open(w.db_path, busy_timeout_ms=-1), InvalidInput),
    ("open-max-bytes-zero", lambda w: Store.open(w.db_path, max_event_bytes=0), InvalidInput),
    # ---- start
    ("start-cli-type", lambda w: w.store.start(cli_version=3), TypeError),  # type: ignore[arg-type]
    ("start-url-type", lambda w: w.store.start(engine_base_url=b"x"), TypeError),  # type: ignore[arg-type]
    ("start-meta-type", lambda w: w.store.start(meta=[1]), TypeError),  # type: ignore[arg-type]
    ("start-meta-nan", lambda w: w.store.start(meta={"x": float("nan")}), InvalidInput),
    ("start-meta-key", lambda w: w.store.start(meta={1: "a"}), InvalidInput),  # type: ignore[dict-item]
    ("start-meta-tuple", lambda w: w.store.start(meta={"t": (1, 2)}), InvalidInput),
    ("start-meta-surrogate", lambda w: w.store.start(meta={"s": "\ud800"}), InvalidInput),
    ("start-cli-surrogate", lambda w: w.store.start(cli_version="1\udfff"), InvalidInput),
    ("start-ttl-zero", lambda w: w.store.start(ttl=timedelta(0)), InvalidInput),
    ("start-ttl-negative", lambda w: w.store.start(ttl=timedelta(days=-1)), InvalidInput),
    ("start-ttl-type", lambda w: w.store.start(ttl=30), TypeError),  # type: ignore[arg-type]
    ("start-cwd-type", lambda w: w.store.start(cwd=5), TypeError),  # type: ignore[arg-type]
    # ---- end, get, find
    ("end-type", lambda w: w.store.end(5), TypeError),  # type: ignore[arg-type]
    ("end-not-ulid", lambda w: w.store.end("main"), InvalidInput),
    ("end-unknown", lambda w: w.store.end(UNKNOWN), SessionNotFound),
    ("get-type", lambda w: w.store.get(None), TypeError),  # type: ignore[arg-type]
    ("get-empty", lambda w: w.store.get(""), InvalidInput),
    ("get-unknown", lambda w: w.store.get(UNKNOWN), SessionNotFound),
    ("find-type", lambda w: w.store.find(5), TypeError),  # type: ignore[arg-type]
    ("find-empty", lambda w: w.store.find("  "), InvalidInput),
    ("find-unknown", lambda w: w.store.find("nothing-here"), SessionNotFound),
    ("find-surrogate", lambda w: w.store.find("\ud800abc"), ZeroSessionError),
    # ---- list_sessions, latest
    ("list-limit-zero", lambda w: w.store.list_sessions(0), InvalidInput),
    ("list-limit-type", lambda w: w.store.list_sessions("5"), TypeError),  # type: ignore[arg-type]
    ("list-before-bad", lambda w: w.store.list_sessions(before="main"), InvalidInput),
    ("list-before-unknown", lambda w: w.store.list_sessions(before=UNKNOWN), SessionNotFound),
    ("latest-type", lambda w: w.store.latest(5), TypeError),  # type: ignore[arg-type]
    # ---- fork
    ("fork-negative", lambda w: w.store.fork(w.a, at_seq=-1), InvalidInput),
    ("fork-past-end", lambda w: w.store.fork(w.a, at_seq=4), InvalidInput),
    ("fork-type", lambda w: w.store.fork(w.a, at_seq="2"), TypeError),  # type: ignore[arg-type]
    ("fork-bool", lambda w: w.store.fork(w.a, at_seq=True), TypeError),
    ("fork-unknown", lambda w: w.store.fork(UNKNOWN), SessionNotFound),
    # ---- resume
    ("resume-type", lambda w: w.store.resume(5), TypeError),  # type: ignore[arg-type]
    ("resume-unknown", lambda w: w.store.resume("no-such-label"), SessionNotFound),
    ("resume-cli-type", lambda w: w.store.resume("main", cli_version=1), TypeError),  # type: ignore[arg-type]
    ("resume-tail-neg", lambda w: w.store.resume("main", tail=-1), InvalidInput),
    ("resume-cli-surrogate", lambda w: w.store.resume("main", cli_version="\ud800"), InvalidInput),
    # ---- append: session, kind, text
    ("append-session-type", lambda w: w.store.append(1, "prompt", "x"), TypeError),  # type: ignore[arg-type]
    ("append-unknown", lambda w: w.store.append(UNKNOWN, "prompt", "x"), SessionNotFound),
    ("append-ended", lambda w: w.store.append(w.ended, "prompt", "x"), SessionEnded),
    ("append-kind-type", lambda w: w.store.append(w.a, 7, "x"), TypeError),  # type: ignore[arg-type]
    ("append-kind-empty", lambda w: w.store.append(w.a, "", "x"), InvalidInput),
    ("append-kind-upper", lambda w: w.store.append(w.a, "Prompt", "x"), InvalidInput),
    ("append-kind-digit", lambda w: w.store.append(w.a, "1st", "x"), InvalidInput),
    ("append-kind-space", lambda w: w.store.append(w.a, "a b", "x"), InvalidInput),
    ("append-kind-newline", lambda w: w.store.append(w.a, "prompt\n", "x"), InvalidInput),
    ("append-kind-long", lambda w: w.store.append(w.a, "k" * 65, "x"), InvalidInput),
    ("append-kind-unicode", lambda w: w.store.append(w.a, "prömpt", "x"), InvalidInput),
    ("append-text-type", lambda w: w.store.append(w.a, "prompt", b"x"), TypeError),  # type: ignore[arg-type]
    ("append-text-none", lambda w: w.store.append(w.a, "prompt", None), TypeError),  # type: ignore[arg-type]
    ("append-text-surrogate", lambda w: w.store.append(w.a, "prompt", "a\ud800b"), InvalidInput),
    # ---- append: data
    ("data-tuple", lambda w: w.store.append(w.a, "prompt", "x", data=(1, 2)), InvalidInput),
    ("data-set", lambda w: w.store.append(w.a, "prompt", "x", data={1, 2}), InvalidInput),
    ("data-bytes", lambda w: w.store.append(w.a, "prompt", "x", data={"b": b"x"}), InvalidInput),
    ("data-object", lambda w: w.store.append(w.a, "prompt", "x", data=object()), InvalidInput),
    ("data-nan", lambda w: w.store.append(w.a, "prompt", "x", data=float("nan")), InvalidInput),
    ("data-inf", lambda w: w.store.append(w.a, "prompt", "x", data=[float("-inf")]), InvalidInput),
    ("data-int-key", lambda w: w.store.append(w.a, "prompt", "x", data={1: 2}), InvalidInput),
    ("data-none-key", lambda w: w.store.append(w.a, "prompt", "x", data={None: 2}), InvalidInput),
    (
        "data-nested-tuple",
        lambda w: w.store.append(w.a, "p", "x", data={"a": [(1,)]}),
        InvalidInput,
    ),
    ("data-surrogate", lambda w: w.store.append(w.a, "p", "x", data={"k": "\udc80"}), InvalidInput),
    (
        "data-surrogate-key",
        lambda w: w.store.append(w.a, "p", "x", data={"\udc80": 1}),
        InvalidInput,
    ),
    ("data-circular", lambda w: w.store.append(w.a, "p", "x", data=_circular()), InvalidInput),
    ("data-too-deep", lambda w: w.store.append(w.a, "p", "x", data=_deep(100_000)), InvalidInput),
    ("data-depth-201", lambda w: w.store.append(w.a, "p", "x", data=_deep(200)), InvalidInput),
    (
        "data-shared-bomb",
        lambda w: w.store.append(w.a, "p", "x", data=_shared_bomb(80)),
        InvalidInput,
    ),
    ("meta-circular", lambda w: w.store.start(meta=_circular()), InvalidInput),
    ("data-huge-int", lambda w: w.store.append(w.a, "p", "x", data=10**5000), InvalidInput),
    # ---- append: size cap (text plus serialised data, in UTF-8 bytes)
    ("size-text", lambda w: w.store.append(w.a, "p", "x" * (MAX_EVENT_BYTES + 1)), InvalidInput),
    (
        "size-utf8",
        lambda w: w.store.append(w.a, "p", "é" * (MAX_EVENT_BYTES // 2 + 1)),
        InvalidInput,
    ),
    (
        "size-emoji",
        lambda w: w.store.append(w.a, "p", "🙂" * (MAX_EVENT_BYTES // 4 + 1)),
        InvalidInput,
    ),
    (
        "size-data",
        lambda w: w.store.append(w.a, "p", "", data=["y" * MAX_EVENT_BYTES]),
        InvalidInput,
    ),
    ("size-both", lambda w: w.store.append(w.a, "p", "x" * 600, data="y" * 400), InvalidInput),
    # ---- append: expected_seq
    ("expected-conflict", lambda w: w.store.append(w.a, "p", "x", expected_seq=2), SeqConflict),
    ("expected-ahead", lambda w: w.store.append(w.a, "p", "x", expected_seq=9), SeqConflict),
    ("expected-negative", lambda w: w.store.append(w.a, "p", "x", expected_seq=-1), InvalidInput),
    ("expected-type", lambda w: w.store.append(w.a, "p", "x", expected_seq="3"), TypeError),  # type: ignore[arg-type]
    # ---- append_many: all or nothing
    ("many-not-iterable", lambda w: w.store.append_many(w.a, 5), TypeError),  # type: ignore[arg-type]
    ("many-short-item", lambda w: w.store.append_many(w.a, [("system",)]), TypeError),  # type: ignore[list-item]
    ("many-long-item", lambda w: w.store.append_many(w.a, [("s", "a", None, 1)]), TypeError),  # type: ignore[list-item]
    ("many-str-items", lambda w: w.store.append_many(w.a, "ab"), TypeError),  # type: ignore[arg-type]
    (
        "many-last-kind-bad",
        lambda w: w.store.append_many(w.a, [("system", "ok"), ("system", "ok"), ("Bad", "x")]),
        InvalidInput,
    ),
    (
        "many-last-data-bad",
        lambda w: w.store.append_many(w.a, [("system", "ok"), ("system", "x", {"t": (1,)})]),
        InvalidInput,
    ),
    (
        "many-surrogate-late",
        # Valid to Python, refused only when SQLite binds it: a rollback, not a check.
        lambda w: w.store.append_many(
            w.a, [("system", str(i)) for i in range(5)] + [("s", "\ud800")]
        ),
        InvalidInput,
    ),
    (
        "many-too-big",
        lambda w: w.store.append_many(w.a, [("s", "ok"), ("s", "x" * 2000)]),
        InvalidInput,
    ),
    ("many-producer-fails", lambda w: w.store.append_many(w.a, _bad_items()), InvalidInput),
    ("many-unknown", lambda w: w.store.append_many(UNKNOWN, [("s", "x")]), SessionNotFound),
    ("many-unknown-empty", lambda w: w.store.append_many(UNKNOWN, []), SessionNotFound),
    ("many-ended", lambda w: w.store.append_many(w.ended, [("s", "x")]), SessionEnded),
    (
        "many-conflict",
        lambda w: w.store.append_many(w.a, [("s", "x")], expected_seq=0),
        SeqConflict,
    ),
    # ---- reads
    ("events-after-neg", lambda w: w.store.events(w.a, after_seq=-1), InvalidInput),
    ("events-limit-zero", lambda w: w.store.events(w.a, limit=0), InvalidInput),
    ("events-kinds-str", lambda w: w.store.events(w.a, kinds="prompt"), TypeError),
    ("events-kinds-bad", lambda w: w.store.events(w.a, kinds={"Bad"}), InvalidInput),
    ("events-kinds-type", lambda w: w.store.events(w.a, kinds=[5]), TypeError),  # type: ignore[list-item]
    ("events-unknown", lambda w: w.store.events(UNKNOWN), SessionNotFound),
    ("tail-negative", lambda w: w.store.tail(w.a, -1), InvalidInput),
    ("tail-type", lambda w: w.store.tail(w.a, "3"), TypeError),  # type: ignore[arg-type]
    ("tail-unknown", lambda w: w.store.tail(UNKNOWN), SessionNotFound),
    ("replay-after-neg", lambda w: w.store.replay(w.a, after_seq=-1), InvalidInput),
    ("replay-unknown", lambda w: list(w.store.replay(UNKNOWN)), SessionNotFound),
    ("replay-type", lambda w: w.store.replay(3.0), TypeError),  # type: ignore[arg-type]
    # ---- lifecycle, search, summary, live tails
    ("archive-type", lambda w: w.store.archive(5), TypeError),  # type: ignore[arg-type]
    ("archive-unknown", lambda w: w.store.archive(UNKNOWN), SessionNotFound),
    ("unarchive-unknown", lambda w: w.store.unarchive(UNKNOWN), SessionNotFound),
    ("unarchive-bad", lambda w: w.store.unarchive("x"), InvalidInput),
    ("delete-unknown", lambda w: w.store.delete(UNKNOWN), SessionNotFound),
    ("delete-type", lambda w: w.store.delete(b"x"), TypeError),  # type: ignore[arg-type]
    ("delete-has-forks", lambda w: w.store.delete(w.a), ZeroSessionError),
    ("prune-type", lambda w: w.store.prune(older_than=5), TypeError),  # type: ignore[arg-type]
    ("prune-negative", lambda w: w.store.prune(older_than=timedelta(-1)), InvalidInput),
    ("search-type", lambda w: w.store.search(5), TypeError),  # type: ignore[arg-type]
    ("search-limit-zero", lambda w: w.store.search("buy", limit=0), InvalidInput),
    ("search-limit-type", lambda w: w.store.search("buy", limit="5"), TypeError),  # type: ignore[arg-type]
    ("search-unknown", lambda w: w.store.search("buy", session=UNKNOWN), SessionNotFound),
    ("search-syntax", lambda w: w.store.search('"unbalanced'), InvalidInput),
    ("search-syntax-and", lambda w: w.store.search("buy AND"), InvalidInput),
    ("search-surrogate", lambda w: w.store.search("\ud800"), InvalidInput),
    ("summary-unknown", lambda w: w.store.summary(UNKNOWN), SessionNotFound),
    ("summary-type", lambda w: w.store.summary(1), TypeError),  # type: ignore[arg-type]
    ("follow-type", lambda w: w.store.follow(1), TypeError),  # type: ignore[arg-type]
    ("follow-after-neg", lambda w: w.store.follow(w.a, after_seq=-1), InvalidInput),
    ("list-cwd-type", lambda w: w.store.list_sessions(cwd=5), TypeError),  # type: ignore[arg-type]
    ("list-meta-type", lambda w: w.store.list_sessions(meta=[1]), TypeError),  # type: ignore[arg-type]
    # ---- labels
    ("label-empty", lambda w: w.store.label(w.a, ""), InvalidInput),
    ("label-space", lambda w: w.store.label(w.a, "pre cpi"), InvalidInput),
    ("label-tab", lambda w: w.store.label(w.a, "pre\tcpi"), InvalidInput),
    ("label-newline", lambda w: w.store.label(w.a, "pre-cpi\n"), InvalidInput),
    ("label-nbsp", lambda w: w.store.label(w.a, "pre\u00a0cpi"), InvalidInput),
    ("label-nul", lambda w: w.store.label(w.a, "a\x00b"), InvalidInput),
    ("label-control", lambda w: w.store.label(w.a, "a\x1bb"), InvalidInput),
    ("label-zero-width", lambda w: w.store.label(w.a, "a\u200bb"), InvalidInput),
    ("label-surrogate", lambda w: w.store.label(w.a, "a\ud800"), InvalidInput),
    ("label-65", lambda w: w.store.label(w.a, "x" * 65), InvalidInput),
    ("label-type", lambda w: w.store.label(w.a, 5), TypeError),  # type: ignore[arg-type]
    ("label-unknown-session", lambda w: w.store.label(UNKNOWN, "ok"), SessionNotFound),
    ("unlabel-empty", lambda w: w.store.unlabel(""), InvalidInput),
    ("unlabel-type", lambda w: w.store.unlabel(None), TypeError),  # type: ignore[arg-type]
    # ---- milestones
    ("ms-key-empty", lambda w: w.store.set_milestone("", "v"), InvalidInput),
    ("ms-key-long", lambda w: w.store.set_milestone("k" * 513, "v"), InvalidInput),
    ("ms-key-type", lambda w: w.store.set_milestone(1, "v"), TypeError),  # type: ignore[arg-type]
    ("ms-key-reserved", lambda w: w.store.set_milestone("session.label.x", w.a), InvalidInput),
    ("ms-value-type", lambda w: w.store.set_milestone("k", 1), TypeError),  # type: ignore[arg-type]
    ("ms-value-none", lambda w: w.store.set_milestone("k", None), TypeError),  # type: ignore[arg-type]
    ("ms-value-big", lambda w: w.store.set_milestone("k", "v" * 1001), InvalidInput),
    ("ms-value-surrogate", lambda w: w.store.set_milestone("k", "\ud800"), InvalidInput),
    ("ms-key-surrogate", lambda w: w.store.set_milestone("\ud800", "v"), InvalidInput),
    ("once-reserved", lambda w: w.store.set_milestone_once("session.label.y", w.a), InvalidInput),
    ("once-type", lambda w: w.store.set_milestone_once("k2", 2), TypeError),  # type: ignore[arg-type]
    ("once-surrogate", lambda w: w.store.set_milestone_once("k2", "\udfff"), InvalidInput),
    ("get-ms-empty", lambda w: w.store.get_milestone(""), InvalidInput),
    ("get-ms-type", lambda w: w.store.get_milestone(b"k"), TypeError),  # type: ignore[arg-type]
    ("milestones-type", lambda w: w.store.milestones(None), TypeError),  # type: ignore[arg-type]
    ("milestones-surrogate", lambda w: w.store.milestones("\ud800"), InvalidInput),
]


def file_state(db_path: Path) -> dict[str, str]:
    """SHA-256 of the database file and its WAL, read straight from disk."""
    state = {}
    for suffix in ("", "-wal", "-journal"):
        path = Path(f"{db_path}{suffix}")
        if path.exists():
            state[suffix] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


@pytest.fixture
def world(open_store: Callable[..., Store], db_path: Path) -> World:
    store = open_store(max_event_bytes=MAX_EVENT_BYTES)
    a = store.start(cli_version="1.0", meta={"m": 1})
    store.append(a, "prompt", "buy 10", data={"qty": 10})
    store.append_many(a, [("system", "ok"), ("warn", "slow", [1, 2])])
    store.label(a, "main")
    store.set_milestone("k", "v")
    fork = store.fork(a, at_seq=2)
    store.append(fork, "command", "/fork")
    ended = store.start()
    store.append(ended, "system", "bye")
    store.end(ended)
    return World(store, db_path, a.ulid, fork.ulid, ended.ulid)


@pytest.mark.parametrize(("call", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_leaves_the_file_unchanged(
    world: World, call: Callable[[World], object], expected: type[BaseException]
) -> None:
    before = file_state(world.db_path)
    assert "-wal" in before, "the WAL should hold the set-up's commits"
    with pytest.raises(expected) as caught:
        call(world)
    assert isinstance(caught.value, ZeroSessionError | TypeError)
    if not isinstance(caught.value, TypeError):
        assert str(caught.value), "the error must say what was wrong"
    assert file_state(world.db_path) == before
    # The store is still usable: no transaction was left open, no seq was consumed.
    assert world.store.append(world.a, "system", "after").seq == 4
    assert world.store.labels() == {"main": world.a}
    assert world.store.get_milestone("k") == "v"


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


def test_failed_batch_then_good_batch(world: World) -> None:
    """A refused batch consumes no seqs; the next batch continues where the last one ended."""
    with pytest.raises(InvalidInput):
        world.store.append_many(world.a, [("system", "x"), ("system", "\ud800")])
    evs = world.store.append_many(world.a, [("system", "y"), ("system", "z")])
    assert [e.seq for e in evs] == [4, 5]
    assert [e.text for e in world.store.replay(world.a)][-2:] == ["y", "z"]


def test_accepted_edges_are_not_refused(world: World) -> None:
    """The limits are inclusive: exactly at the cap and 64-character labels are fine."""
    store = world.store
    assert store.append(world.a, "p", "x" * MAX_EVENT_BYTES).seq == 4
    assert store.append(world.a, "p", "é" * (MAX_EVENT_BYTES // 2)).seq == 5
    assert store.append(world.a, "k" * 64, "").kind == "k" * 64
    assert store.append(world.a, "a0_.-", "").seq == 7
    nested = _deep(199)  # 200 lists: the deepest data accepted
    assert store.append(world.a, "p", "", data=nested).data == nested
    assert store.tail(world.a, 1)[0].data == nested
    store.label(world.a, "x" * 64)
    store.label(world.a, "ünïcödé-🙂")
    assert store.find("ünïcödé-🙂").ulid == world.a
