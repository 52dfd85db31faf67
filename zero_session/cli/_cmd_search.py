"""``search``: full-text search over event text (``Store.search``, SQLite FTS5).

The store is opened for writing, unlike other reading commands: a search first indexes
whatever any process appended since the last search (see docs/lifecycle.md).
"""

from __future__ import annotations

import click

from .._documents import times
from ._output import Column, local_time
from ._state import State, json_option

__all__ = ["COMMANDS"]

_COLUMNS = (
    Column("AT"),
    Column("SESSION", min_width=26),
    Column("SEQ", right=True),
    Column("KIND", max_width=12),
    Column("SNIPPET", max_width=120),
)


@click.command("search")
@click.argument("query")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--session", "needle", help="Only the timeline of this session (ulid, label).")
@click.option("--literal", is_flag=True, help="Search the words as typed, not FTS5 syntax.")
@json_option
@click.pass_obj
def search_command(state: State, query: str, limit: int, needle: str | None, literal: bool) -> None:
    """Events whose text matches QUERY, newest first, the matches in [brackets].

    QUERY is FTS5 syntax: words (all must occur), "a phrase", prefix*, OR, NOT.
    """
    with state.open(write=True) as store:
        session = store.find(needle) if needle is not None else None
        hits = store.search(query, limit=limit, session=session, literal=literal)
    out = state.out
    if out.json:
        out.document(
            [
                {
                    "session": h.session,
                    "seq": h.seq,
                    **times("at", h.at_ms),
                    "kind": h.kind,
                    "snippet": h.snippet,
                }
                for h in hits
            ]
        )
    elif hits:
        out.table(
            _COLUMNS,
            [
                (local_time(h.at_ms), h.session, str(h.seq), (h.kind, h.kind), h.snippet)
                for h in hits
            ],
        )
    else:
        out.note("no matches")


COMMANDS = (search_command,)
