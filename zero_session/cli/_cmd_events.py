"""Commands that print events: replay (optionally following live appends) and tail.

``--follow`` prints what the timeline holds, then streams new events as any process
appends them (``Store.follow`` polls cheaply), until the session records its end or the
user presses Ctrl-C.  Followed output is flushed line by line; with ``--json`` it is one
JSON object per line (JSON Lines), since a stream cannot be one array.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterable, Iterator

import click

from .._documents import event_doc, event_json_lines
from ..models import KIND_PATTERN, Event
from ..store import Store
from ._output import Output
from ._state import State, json_option

__all__ = ["COMMANDS"]

_PAGE = 1_000
_IDLE_S = 0.05


def _kinds(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> frozenset[str]:
    for kind in value:
        if not KIND_PATTERN.fullmatch(kind):
            raise click.BadParameter(f"{kind!r} is not an event kind ([a-z][a-z0-9_.-]*)")
    return frozenset(value)


def _own_events(store: Store, ulid: str, after_seq: int) -> Iterator[Event]:
    while True:
        page = store.events(ulid, after_seq=after_seq, limit=_PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        after_seq = page[-1].seq


def follow_events(store: Store, ulid: str, after_seq: int) -> Iterator[Event]:
    """Events appended after ``after_seq``, as they arrive, until the session ends."""
    with store.follow(ulid, after_seq=after_seq) as follower:
        while True:
            batch = follower.poll()
            yield from batch
            if batch:
                continue
            if store.get(ulid).ended_at_ms is not None:
                # Everything was appended before the end was recorded: drain, then stop.
                while batch := follower.poll():
                    yield from batch
                return
            time.sleep(_IDLE_S)


def print_events(out: Output, events: Iterable[Event], *, stream: bool) -> None:
    """Print events: a JSON array, JSON lines when streaming, or text lines.

    Ctrl-C ends a stream normally (it is how one stops following), not as an error.
    """
    if stream:
        try:
            _print_events(out, events, stream=True)
        except KeyboardInterrupt:
            sys.stdout.flush()
        return
    _print_events(out, events, stream=False)


def _print_events(out: Output, events: Iterable[Event], *, stream: bool) -> None:
    if out.json and not stream:
        out.array_lines(event_json_lines(events))
        return
    previous: str | None = None
    for event in events:
        if out.json:
            out.json_line(event_doc(event))
            continue
        if previous is not None and event.session != previous:
            out.line(f"  -- continued in {event.session} --", "muted")
        previous = event.session
        out.event(event, flush=stream)


def _filtered(events: Iterable[Event], kinds: frozenset[str], cursor: list[int]) -> Iterator[Event]:
    """The events of ``kinds`` (all when empty); ``cursor[0]`` tracks the last seq seen."""
    for event in events:
        cursor[0] = event.seq
        if not kinds or event.kind in kinds:
            yield event


@click.command("replay")
@click.argument("needle")
@click.option("--own", is_flag=True, help="Only the session's own events, not inherited ones.")
@click.option(
    "--kind", "kinds", multiple=True, callback=_kinds, help="Only events of this kind (repeatable)."
)
@click.option(
    "--after", "after_seq", type=click.IntRange(min=0), default=0, help="Start after SEQ."
)
@click.option("--limit", type=click.IntRange(min=1), help="Print at most this many events.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing events as they are appended.")
@json_option
@click.pass_obj
def replay_command(
    state: State,
    needle: str,
    own: bool,
    kinds: frozenset[str],
    after_seq: int,
    limit: int | None,
    follow: bool,
) -> None:
    """The timeline of NEEDLE, oldest first: inherited events, then its own.

    Texts are printed whole, never truncated.
    """
    with state.open() as store:
        session = store.find(needle)
        cursor = [max(after_seq, session.fork_seq) if own else after_seq]
        timeline = (
            _own_events(store, session.ulid, cursor[0])
            if own
            else store.replay(session, after_seq=after_seq)
        )
        source = _filtered(timeline, kinds, cursor)
        if follow:
            live = _filtered(_later(store, session.ulid, cursor), kinds, cursor)
            source = itertools.chain(source, live)
        print_events(state.out, itertools.islice(source, limit), stream=follow)


def _later(store: Store, ulid: str, cursor: list[int]) -> Iterator[Event]:
    """Follow from wherever the replay before it stopped (read lazily, after it ran)."""
    yield from follow_events(store, ulid, cursor[0])


@click.command("tail")
@click.argument("needle")
@click.option("-n", "count", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("-f", "--follow", is_flag=True, help="Keep printing events as they are appended.")
@json_option
@click.pass_obj
def tail_command(state: State, needle: str, count: int, follow: bool) -> None:
    """The last N events of NEEDLE's timeline (forks included), oldest first."""
    with state.open() as store:
        session = store.find(needle)
        recent = store.tail(session, count)
        events: Iterable[Event] = recent
        if follow:
            last = recent[-1].seq if recent else session.last_seq
            events = itertools.chain(recent, follow_events(store, session.ulid, last))
        print_events(state.out, events, stream=follow)


COMMANDS = (replay_command, tail_command)
