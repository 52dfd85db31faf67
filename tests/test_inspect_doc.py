"""Every query of docs/inspect.md, run with the real `sqlite3` shell against a real store.

The queries are read from the document's ```sql blocks, so the cookbook and this test
cannot drift apart; each recipe's result is checked against what the library says.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest

from zero_session import Store

DOC = Path(__file__).resolve().parent.parent / "docs" / "inspect.md"
SQLITE3 = shutil.which("sqlite3")


def recipes() -> dict[str, str]:
    """Heading → the SQL block under it."""
    found = re.findall(r"^## (.+?)\n.*?```sql\n(.*?)```", DOC.read_text("utf-8"), re.S | re.M)
    return dict(found)


@attrs.frozen
class Sample:
    db: Path
    root: str
    child: str
    what_if: str
    store_listing: list[str]
    timeline: list[tuple[int, str, str]]
    total_by_kind: dict[str, int]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    db = tmp_path_factory.mktemp("inspect") / "sessions.db"
    with Store.open(db) as store:
        root = store.start(cwd="/tmp", meta={"desk": "fx"})
        store.append(root, "prompt", "buy 10 ACME", data={"qty": 10})
        store.append_many(root, [("system", "ok"), ("alert", "Margin call at 80%")])
        store.append(root, "command", "/fork")
        store.label(root, "pre-cpi")
        child = store.fork(root, at_seq=3)
        store.append_many(child, [("prompt", "child says hi"), ("warn", "slow")])
        # forked below its parent's own fork point: the chain must stop at seq 2
        what_if = store.fork(child, at_seq=2)
        store.append(what_if, "prompt", "what if we sell")
        store.label(what_if, "what-if")
        store.end(root)
        listing = [s.ulid for s in store.list_sessions()]
        timeline = [(e.seq, e.session, e.text) for e in store.replay(what_if)]
        kinds = store.stats().by_kind
        assert store.kind_counts(what_if) == {"prompt": 2, "system": 1}
    return Sample(db, root.ulid, child.ulid, what_if.ulid, listing, timeline, dict(kinds))


def query(db: Path, sql: str) -> list[dict[str, Any]]:
    assert SQLITE3 is not None, "the sqlite3 shell is needed (apt-get install sqlite3)"
    done = subprocess.run(
        [SQLITE3, "-readonly", "-bail", "-json", str(db)],
        input=sql,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout) if done.stdout.strip() else []
    return rows


def test_the_cookbook_has_the_promised_recipes() -> None:
    assert {
        "Recent sessions",
        "One timeline through its forks",
        "Events per kind per day",
        "Find text",
    } <= set(recipes())


@pytest.mark.parametrize("heading", list(recipes()))
def test_recipe(sample: Sample, heading: str) -> None:
    rows = query(sample.db, recipes()[heading])
    assert rows, f"{heading!r} found nothing"
    if heading == "Recent sessions":
        assert [r["ulid"] for r in rows] == sample.store_listing
    elif heading == "The session behind a label":
        assert [r["ulid"] for r in rows] == [sample.root]
        assert json.loads(rows[0]["meta"]) == {"desk": "fx"}
    elif heading == "Every label":
        assert [(r["label"], r["ulid"]) for r in rows] == [
            ("pre-cpi", sample.root),
            ("what-if", sample.what_if),
        ]
    elif heading == "One timeline through its forks":
        assert [(r["seq"], r["recorded_by"], r["text"]) for r in rows] == sample.timeline
        assert [r["seq"] for r in rows] == [1, 2, 3]
    elif heading == "The forks of a session":
        assert [(r["ulid"], r["fork_seq"]) for r in rows] == [(sample.child, 3)]
    elif heading == "Events per kind per day":
        per_kind: Counter[str] = Counter()
        for row in rows:
            per_kind[row["kind"]] += row["events"]
        assert dict(per_kind) == sample.total_by_kind
    elif heading == "Find text":
        assert [(r["ulid"], r["seq"], r["text"]) for r in rows] == [
            (sample.root, 3, "Margin call at 80%")
        ]
    elif heading == "The busiest sessions":
        assert rows[0]["ulid"] == sample.root and rows[0]["n_events"] == 4
    elif heading == "Sessions that never recorded their end":
        assert {r["ulid"] for r in rows} == {sample.child, sample.what_if}
