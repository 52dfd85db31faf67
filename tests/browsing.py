"""Helpers for the browser's tests: a small known store, and driving the app headless."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from zero_session import Store
from zero_session.browse._app import BrowseApp

SIZE = (110, 24)


class Sample:
    """The ulids of the sample store: ``main`` (labelled, 40 events, one fork),
    ``fork`` (forked from main at seq 10), ``other`` (newest), ``archived``."""

    def __init__(self, path: Path, *, clock: Callable[[], int] | None = None) -> None:
        self.path = path
        with Store.open(path, clock=clock) as store:
            archived = store.start(cwd="/srv/old")
            store.append(archived, "prompt", "an archived one")
            store.end(archived)
            store.archive(archived)
            main = store.start(cwd="/work/project")
            store.append_many(
                main,
                [("prompt", "build the parser")]
                + [("system", f"step {i}", {"i": i}) for i in range(2, 40)]
                + [("alert", "margin call")],
            )
            store.label(main, "main")
            store.end(main)
            fork = store.fork(main, at_seq=10)
            store.append_many(fork, [("prompt", "try another way"), ("warn", "slow")])
            store.end(fork)
            other = store.start(cwd="/home/me")
            store.append(other, "prompt", "hello there")
            store.end(other)
        self.main, self.fork, self.other, self.archived = (
            main.ulid,
            fork.ulid,
            other.ulid,
            archived.ulid,
        )


def drive(
    path: Path,
    steps: Callable[[BrowseApp, Pilot[Any]], Awaitable[None]],
    *,
    size: tuple[int, int] = SIZE,
    **options: Any,
) -> BrowseApp:
    """Run the browser on a read-only store of ``path`` headless, through ``steps``."""

    async def main() -> BrowseApp:
        with Store.open(path, readonly=True) as store:
            app = BrowseApp(store, **options)
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                await steps(app, pilot)
                await pilot.pause()
            return app

    return asyncio.run(main())


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout_s: float = 5) -> None:
    """Let the app run until ``condition()`` holds; AssertionError after the deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await pilot.pause(0.01)


def screen_text(app: BrowseApp) -> str:
    """The characters on the app's screen, one line per row (from its SVG screenshot)."""
    import html
    import re

    rows: dict[float, list[str]] = {}
    for match in re.finditer(r'<text[^>]*y="([\d.]+)"[^>]*>(.*?)</text>', app.export_screenshot()):
        rows.setdefault(float(match.group(1)), []).append(html.unescape(match.group(2)))
    return "\n".join("".join(rows[y]).replace("\xa0", " ") for y in sorted(rows))
