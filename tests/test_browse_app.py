"""The browser's keys, driven headless with Textual's Pilot on real store files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from browsing import Sample, drive, screen_text, wait_for
from textual.pilot import Pilot
from textual.widgets import Input
from ulidtools import unique_prefix

from zero_session import Store
from zero_session.browse._app import BrowseApp
from zero_session.browse._list_screen import ListScreen
from zero_session.browse._session_list import SessionList
from zero_session.browse._timeline_screen import TimelineScreen
from zero_session.browse._timeline_view import CACHED_PAGES, TimelineView


@pytest.fixture
def sample(db_path: Path) -> Sample:
    return Sample(db_path)


def _rows(app: BrowseApp) -> list[tuple[int, str]]:
    rows = app.screen.query_one(SessionList).rows
    return [(n.depth, n.session.ulid) for n in rows]


def _view(app: BrowseApp) -> TimelineView:
    assert isinstance(app.screen, TimelineScreen)
    return app.screen.view


def _row_text(view: Any, index: int) -> str:
    return "".join(segment.text for segment in view.row_segments(index))


# ------------------------------------------------------------------------ the list


def test_the_list_is_newest_first_with_forks_under_their_parent(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        seen.append(_rows(app))

    drive(sample.path, steps)
    assert seen[0] == [(0, sample.other), (0, sample.main), (1, sample.fork)]


def test_the_first_screen_comes_first_and_the_rest_of_the_tree_after(
    sample: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("zero_session.browse._list_screen.FIRST_ROOTS", 1)
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await app.workers.wait_for_complete()
        await pilot.pause()
        seen.append(_rows(app))
        seen.append("reading" in screen_text(app))

    drive(sample.path, steps)
    assert seen == [[(0, sample.other), (0, sample.main), (1, sample.fork)], False]


def test_all_shows_archived_sessions(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        seen.append([u for _, u in _rows(app)])

    drive(sample.path, steps, include_archived=True)
    assert seen[0][-1] == sample.archived


def test_a_fork_subtree_collapses_and_expands(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down", "left")
        seen.append(_rows(app))
        await pilot.press("right")
        seen.append(_rows(app))

    drive(sample.path, steps)
    assert seen[0] == [(0, sample.other), (0, sample.main)]
    assert seen[1] == [(0, sample.other), (0, sample.main), (1, sample.fork)]


def test_slash_filters_the_list_by_label_first_prompt_cwd(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("slash", *"main", "enter")  # a label
        seen.append([u for _, u in _rows(app)])
        field = app.screen.query_one("#filter", Input)
        for text in ("parser", "another", "/home"):  # first prompts (a fork's own), a cwd
            field.value = text
            await pilot.pause()
            seen.append([u for _, u in _rows(app)])
        await pilot.press("escape")  # clears the filter
        seen.append(len(_rows(app)))

    drive(sample.path, steps)
    assert seen == [[sample.main], [sample.main], [sample.fork], [sample.other], 3]


def _unique_prefix(sample: Sample) -> str:
    return unique_prefix(sample.other, sample.main, sample.fork, sample.archived)


def test_a_needle_starts_the_list_filtered_and_a_ulid_prefix_matches(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        seen.append([u for _, u in _rows(app)])

    drive(sample.path, steps, needle=_unique_prefix(sample).lower())
    assert seen[0] == [sample.other]


# -------------------------------------------------------------------- the timeline


def test_enter_opens_the_timeline_at_its_end_and_escape_goes_back(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down", "down", "enter")  # the fork
        await pilot.pause()
        view = _view(app)
        seen.append((view.last_seq, view.cursor, view.fork_seq))
        seen.append(_row_text(view, 0))
        seen.append(_row_text(view, 10))
        await pilot.press("home")
        seen.append(view.cursor)
        await pilot.press("escape")
        seen.append(type(app.screen))
        seen.append(app.screen.query_one(SessionList).selected.session.ulid)  # type: ignore[union-attr]

    app = drive(sample.path, steps)
    assert seen[0] == (12, 11, 10)
    assert "┆" in seen[1] and "build the parser" in seen[1]  # inherited from main
    assert "┆" not in seen[2] and "try another way" in seen[2]
    assert seen[3] == 0
    assert seen[4] is ListScreen and seen[5] == sample.fork
    assert app.return_code is None  # still running when the steps ended


def test_scrolling_to_the_end_of_a_100k_event_session(db_path: Path) -> None:
    with Store.open(db_path) as store:
        long = store.start()
        store.append_many(long, [("system", f"line {i}") for i in range(1, 100_001)])
        store.end(long)
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("enter")
        await pilot.pause()
        view = _view(app)
        await pilot.press("g")
        seen.append((view.cursor, round(view.scroll_y)))
        await pilot.press(*["pagedown"] * 5)
        seen.append(view.cursor)
        await pilot.press("G")
        await pilot.pause()
        seen.append((view.cursor, round(view.scroll_y) + view.page_rows))
        seen.append(_row_text(view, view.cursor))
        await pilot.press("colon", *"54321", "enter")
        seen.append(view.selected.text if view.selected else None)
        seen.append(len(view._pages))

    drive(db_path, steps)
    assert seen[0] == (0, 0)
    assert seen[1] >= 5 * 10
    assert seen[2] == (99_999, 100_000)  # the last row is the last one on screen
    assert "100000" in seen[3] and "line 100000" in seen[3]
    assert seen[4] == "line 54321"
    assert seen[5] <= CACHED_PAGES


def test_search_finds_next_and_previous_matches_and_wraps(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down", "enter")  # main
        await pilot.pause()
        view = _view(app)
        await pilot.press("g", "slash", *"STEP 1", "enter")
        await wait_for(pilot, lambda: view.cursor == 9)  # "step 10"
        await pilot.press("n")
        await wait_for(pilot, lambda: view.cursor == 10)  # "step 11"
        await pilot.press("N")
        await wait_for(pilot, lambda: view.cursor == 9)
        await pilot.press("N")  # nothing before "step 10": wraps to the last match
        await wait_for(pilot, lambda: view.cursor == 18)  # "step 19"
        seen.append(view.match_seq)
        marked = [seg.text for seg in view.row_segments(18) if seg.style and seg.style.reverse]
        seen.append(marked)

    drive(sample.path, steps)
    assert seen == [19, ["step 1"]]  # the matched substring is drawn reversed


def test_follow_shows_events_appended_by_another_writer(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("enter")  # other: 1 event
        await pilot.pause()
        view = _view(app)
        await pilot.press("f")
        with Store.open(sample.path) as writer:
            writer.resume(sample.other)
            writer.append_many(sample.other, [("system", "new one"), ("alert", "newest")])
            await wait_for(pilot, lambda: view.last_seq == 3)
            await wait_for(pilot, lambda: view.cursor == 2)
            seen.append(view.selected.text if view.selected else None)
            await pilot.press("f")  # stop following
            writer.append(sample.other, "system", "unseen")
            await pilot.pause(0.2)
            seen.append(view.last_seq)
            writer.end(sample.other)

    drive(sample.path, steps)
    assert seen == ["newest", 3]


def test_data_is_shown_on_demand(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down", "enter", "colon", *"7", "enter", "d")
        detail = app.screen.query_one("#detail")
        seen.append(detail.display)
        seen.append(str(detail.render()))
        await pilot.press("d")
        seen.append(detail.display)

    drive(sample.path, steps)
    assert seen[0] is True and seen[2] is False
    assert "seq 7" in seen[1] and "step 7" in seen[1] and '"i": 7' in seen[1]


def test_hostile_text_is_shown_not_executed(db_path: Path) -> None:
    with Store.open(db_path) as store:
        s = store.start()
        store.append(s, "system", "\x1b[2J\x1b]0;owned\x07 wiped\nnext \u202eevil")
        store.end(s)
    seen: list[str] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("enter")
        await pilot.pause()
        seen.append(_row_text(_view(app), 0))

    drive(db_path, steps)
    assert "\x1b" not in seen[0] and "\x07" not in seen[0] and "\u202e" not in seen[0]
    assert "\\x1b[2J\\x1b]0;owned\\x07 wiped↵next \\u202eevil" in seen[0]


def test_no_color_draws_the_list_and_a_timeline(
    sample: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        seen.append(app.no_color)
        await pilot.press("down", "enter")
        await pilot.pause()
        seen.append("margin call" in screen_text(app))
        await pilot.press("d", "slash", *"x", "escape", "escape")
        seen.append(screen_text(app).count("build the parser"))

    drive(sample.path, steps)
    assert seen == [True, True, 1]


# ----------------------------------------------------------------------- actions


def _store_view(path: Path) -> Store:
    return Store.open(path, readonly=True)


def test_label_and_unlabel_with_confirmation(sample: Sample) -> None:
    async def label(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("l", *"fresh", "enter")  # on `other`
        await pilot.pause()

    drive(sample.path, label)
    with _store_view(sample.path) as store:
        assert store.get(sample.other).labels == ("fresh",)

    async def unlabel_declined(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("u", "enter", "n")

    drive(sample.path, unlabel_declined)
    with _store_view(sample.path) as store:
        assert store.get(sample.other).labels == ("fresh",)

    async def unlabel(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("u", "enter", "y")

    drive(sample.path, unlabel)
    with _store_view(sample.path) as store:
        assert store.get(sample.other).labels == ()


def test_a_label_another_session_has_moves_only_when_confirmed(sample: Sample) -> None:
    async def declined(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("l", *"main", "enter", "n")  # on `other`; main has the label

    drive(sample.path, declined)
    with _store_view(sample.path) as store:
        assert store.labels() == {"main": sample.main}

    async def moved(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("l", *"main", "enter", "y")

    drive(sample.path, moved)
    with _store_view(sample.path) as store:
        assert store.labels() == {"main": sample.other}


def test_a_refused_label_is_reported_on_screen(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("l", *"two words", "enter")
        await pilot.pause()
        seen.append([n.message for n in app._notifications])
        seen.append(type(app.screen))

    drive(sample.path, steps)
    assert any("two words" in m for m in seen[0]) and seen[1] is ListScreen
    with _store_view(sample.path) as store:
        assert store.get(sample.other).labels == ()


def test_archive_and_unarchive(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("a")  # archives `other`: hidden now
        await pilot.pause()
        seen.append([u for _, u in _rows(app)])

    drive(sample.path, steps)
    assert sample.other not in seen[0]

    async def unarchive(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("slash", *_unique_prefix(sample), "enter", "a")

    drive(sample.path, unarchive, include_archived=True)
    with _store_view(sample.path) as store:
        assert store.get(sample.other).archived_at_ms is None
        assert store.get(sample.archived).archived_at_ms is not None


def test_delete_asks_and_cascades_only_when_confirmed(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down", "D")  # main, which has a fork
        await pilot.pause()
        seen.append(str(app.screen.query("Label").first().render()))
        await pilot.press("n")
        seen.append(len(_rows(app)))
        await pilot.press("home", "D", "y")  # other, no fork
        await pilot.pause()
        seen.append([u for _, u in _rows(app)])
        await pilot.press("D", "y")  # main with its fork
        await pilot.pause()
        seen.append(_rows(app))

    drive(sample.path, steps)
    assert "1 fork" in seen[0]
    assert seen[1] == 3
    assert seen[2] == [sample.main, sample.fork]
    assert seen[3] == []
    with _store_view(sample.path) as store:
        assert [s.ulid for s in store.list_sessions(include_archived=True)] == [sample.archived]


def test_fork_at_the_cursor_seq(sample: Sample) -> None:
    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down", "enter", "colon", *"25", "enter", "F")
        await pilot.pause()

    drive(sample.path, steps)
    with _store_view(sample.path) as store:
        forks = store.forks(sample.main)
        assert [f.fork_seq for f in forks] == [10, 25]
        assert forks[1].status == "ended"


def test_export_writes_a_new_jsonl_file(sample: Sample, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down", "down", "e")  # the fork: exported with its parent
        field = app.screen.query_one("#answer")
        field.value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()

    drive(sample.path, steps)
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert sum(r.get("type") == "session" for r in records) == 2
    assert sum(r.get("type") == "event" for r in records) == 40 + 2


# ------------------------------------------------------------- leaving and picking


@pytest.mark.parametrize(
    ("pick", "key", "code"),
    [(False, "q", 0), (False, "escape", 0), (True, "q", 1), (True, "escape", 1)],
)
def test_leaving_exit_codes(sample: Sample, pick: bool, key: str, code: int) -> None:
    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press(key)

    app = drive(sample.path, steps, pick=pick)
    assert app.return_code == code
    assert app.return_value is None


def test_q_in_a_timeline_quits_with_0(sample: Sample) -> None:
    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("enter", "q")

    assert drive(sample.path, steps).return_code == 0


def test_pick_returns_the_chosen_ulid(sample: Sample) -> None:
    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down", "down", "enter")

    app = drive(sample.path, steps, pick=True)
    assert (app.return_value, app.return_code) == (sample.fork, 0)


def test_a_resize_keeps_the_cursor_row_on_screen(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down", "enter")  # main, 40 events, cursor on the last
        await pilot.pause()
        view = _view(app)
        await pilot.resize_terminal(60, 12)
        await pilot.pause()
        seen.append((view.cursor, view.page_rows, round(view.scroll_y) + view.page_rows))
        text = screen_text(app)
        seen.append(max(len(line.rstrip()) for line in text.splitlines()))
        await pilot.press("up")
        seen.append("step 39" in screen_text(app))

    drive(sample.path, steps)
    (cursor, rows, bottom), widest, shows = seen
    assert cursor == 39 and rows < 12 and bottom == 40
    assert widest <= 60 and shows


def test_an_empty_session_opens_and_forks_at_zero(db_path: Path) -> None:
    with Store.open(db_path) as store:
        empty = store.start()
        store.end(empty)
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("enter")
        await pilot.pause()
        view = _view(app)
        seen.append((view.last_seq, view.selected))
        await pilot.press("end", "pagedown", "d", "F")
        await pilot.pause()

    drive(db_path, steps)
    assert seen == [(0, None)]
    with Store.open(db_path, readonly=True) as store:
        assert [f.fork_seq for f in store.forks(empty)] == [0]


def test_opening_another_session_reuses_the_timeline_screen_afresh(sample: Sample) -> None:
    seen: list[Any] = []

    async def steps(app: BrowseApp, pilot: Pilot[Any]) -> None:
        await pilot.press("down", "enter", "f", "slash", *"step", "enter", "d")
        await app.workers.wait_for_complete()
        first = app.screen
        await pilot.press("escape", "down", "enter")  # back, then the fork
        await pilot.pause()
        view = _view(app)
        assert isinstance(app.screen, TimelineScreen)
        seen.append(app.screen is first)
        seen.append((view.ulid, view.last_seq, view.cursor, view.match_seq))
        seen.append((app.screen.following, app.screen.needle))
        seen.append(app.screen.query_one("#detail").display)
        seen.append(_row_text(view, 11))

    drive(sample.path, steps)
    assert seen[0] is True
    assert seen[1] == (sample.fork, 12, 11, None)
    assert seen[2] == (None, "")
    assert seen[3] is False
    assert "slow" in seen[4]
