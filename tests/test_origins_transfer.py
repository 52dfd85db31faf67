"""Export and import carry a pulled session's origin: an imported pulled session still
belongs to its origin store, and goes back to being the origin's own only there.

Pulled sessions are made without a server by ``_pulled.apply_pulled`` (as in
tests/test_origins.py); the files are real, and every refusal leaves the store as it was.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from clirunner import assert_user_error, run
from test_origins import pulled, snapshot, store_id, tree

from zero_session import ForeignSession, InvalidInput, Store
from zero_session._pulled import apply_pulled


def exported(store: Store, sessions: list[str] | None = None) -> list[str]:
    out = io.StringIO()
    store.export(out, sessions=sessions)
    return out.getvalue().splitlines(keepends=True)


@pytest.fixture
def stores(tmp_path: Path, open_store: Callable[..., Store]) -> tuple[Store, Store, Store]:
    """A records, B pulls from A, C is a third file that imports B's export."""
    return tuple(open_store(tmp_path / f"{name}.db") for name in "abc")  # type: ignore[return-value]


def test_round_trip_keeps_the_origin_and_the_refusal(stores: tuple[Store, Store, Store]) -> None:
    a, b, c = stores
    root, child, grandchild = tree(a)
    apply_pulled(b, [pulled(a, s) for s in (root, child, grandchild)])
    own = b.start()
    b.append(own, "prompt", "b's own")
    lines = exported(b)
    header = json.loads(lines[0])
    assert header["format"] == 2  # a version that knows only format 1 refuses the file
    records = {r["ulid"]: r for r in map(json.loads, lines) if r["type"] == "session"}
    assert records[grandchild.ulid]["origin"] == store_id(a)
    assert records[grandchild.ulid]["origin_labels"] == ["pre-cpi"]
    assert "origin_labels" not in records[root.ulid]  # only when it has any
    assert "origin" not in records[own.ulid] and "origin_labels" not in records[own.ulid]

    c.import_(lines)
    got = c.get(grandchild.ulid)
    assert got.origin == store_id(a) and got.origin_labels == ("pre-cpi",)
    assert c.get(root.ulid).origin == store_id(a)
    assert c.get(own.ulid).origin is None  # b's own session is c's now, as before
    assert list(c.replay(grandchild.ulid)) == list(a.replay(grandchild.ulid))
    before = snapshot(c)
    for write in (
        lambda: c.append(grandchild.ulid, "prompt", "mine now?"),
        lambda: c.append_many(grandchild.ulid, [("prompt", "x")]),
        lambda: c.end(grandchild.ulid),
    ):
        with pytest.raises(ForeignSession) as caught:
            write()
        assert store_id(a) in str(caught.value)
    assert snapshot(c) == before
    c.append(own.ulid, "prompt", "c continues b's own")
    # Exporting the imported copy again gives the same session lines: nothing lost.
    again = [r for r in map(json.loads, exported(c, [grandchild.ulid])) if r["type"] == "session"]
    assert again[-1]["origin"] == store_id(a) and again[-1]["origin_labels"] == ["pre-cpi"]


def test_importing_twice_and_catching_up_keep_the_origin(
    stores: tuple[Store, Store, Store],
) -> None:
    a, b, c = stores
    s = a.start()
    a.append_many(s, [("prompt", "one"), ("system", "two")])
    apply_pulled(b, [pulled(a, s)])
    c.import_(exported(b))
    before = snapshot(c)
    assert c.import_(exported(b)).events == 0
    assert snapshot(c) == before
    # A continues; B pulls the rest; C imports B's newer export and gains only those.
    a.append_many(s, [("prompt", "three"), ("alert", "four")])
    apply_pulled(b, [pulled(a, s, after_seq=2)])
    counts = c.import_(exported(b))
    assert counts.events == 2
    assert list(c.replay(s.ulid)) == list(a.replay(s.ulid))
    assert c.get(s.ulid).origin == store_id(a)
    with pytest.raises(ForeignSession):
        c.append(s.ulid, "prompt", "five")
    assert c.check().ok


def test_import_into_the_origin_store_makes_it_its_own_again(
    stores: tuple[Store, Store, Store],
) -> None:
    a, b, _ = stores
    s = a.start()
    a.append(s, "prompt", "recorded in a")
    a.label(s, "pre-cpi")
    apply_pulled(b, [pulled(a, s)])
    lines = exported(b)
    # Importing over A's own copy: same origin after the rule, nothing changes.
    before = snapshot(a)
    a.import_(lines)
    assert snapshot(a) == before
    # A lost its copy (deleted); B's export restores it as A's own session.
    a.delete(s)
    a.import_(lines)
    back = a.get(s.ulid)
    assert back.origin is None and back.origin_labels == ()
    a.append(s.ulid, "prompt", "a continues its own session")
    assert a.get(s.ulid).last_seq == 2


def test_an_origin_that_differs_from_the_stores_copy_is_refused(
    stores: tuple[Store, Store, Store],
) -> None:
    a, b, c = stores
    s = a.start()
    a.append(s, "prompt", "one")
    lines = exported(a)
    c.import_(lines)  # c's own copy of a's session, as imports made before origins
    record = json.loads(lines[1])
    record["origin"] = store_id(b)
    before = snapshot(c)
    with pytest.raises(InvalidInput, match=r"f:2: session .* belongs to this store here"):
        c.import_([lines[0], json.dumps(record) + "\n", *lines[2:]], source="f")
    assert snapshot(c) == before


BAD_ORIGINS: list[tuple[dict[str, Any], str]] = [
    ({"origin": "not-a-ulid"}, "is not a store id"),
    ({"origin": "01J" + "0" * 22}, "is not a store id"),  # 25 characters
    ({"origin": "01j" + "0" * 23}, "is not a store id"),  # not canonical
    ({"origin": 7}, "wrong type"),
    ({"origin": ["01J" + "0" * 23]}, "wrong type"),
    ({"origin_labels": "pre-cpi"}, "JSON array of strings"),
    ({"origin_labels": ["ok", 3]}, "JSON array of strings"),
    ({"origin_labels": {"pre-cpi": 1}}, "JSON array of strings"),
    ({"origin_labels": [["nested"]]}, "JSON array of strings"),
]


@pytest.mark.parametrize(("change", "message"), BAD_ORIGINS)
def test_a_malformed_origin_names_the_line_and_imports_nothing(
    stores: tuple[Store, Store, Store], change: dict[str, Any], message: str
) -> None:
    a, b, c = stores
    s = a.start()
    a.append(s, "prompt", "one")
    a.label(s, "pre-cpi")
    apply_pulled(b, [pulled(a, s)])
    lines = exported(b)
    record = json.loads(lines[1])
    record.update(change)
    c.start()  # the store has something that must stay as it was
    before = snapshot(c)
    with pytest.raises(InvalidInput, match=f"bad.jsonl:2: .*{message}"):
        c.import_([lines[0], json.dumps(record) + "\n", *lines[2:]], source="bad.jsonl")
    assert snapshot(c) == before


def test_origin_labels_without_an_origin_are_refused(stores: tuple[Store, Store, Store]) -> None:
    a, _, c = stores
    a.start()
    lines = exported(a)
    record = json.loads(lines[1])
    record["origin_labels"] = ["pre-cpi"]
    before = snapshot(c)
    with pytest.raises(InvalidInput, match="f:2: origin_labels without an origin"):
        c.import_([lines[0], json.dumps(record) + "\n", *lines[2:]], source="f")
    assert snapshot(c) == before


def test_a_malformed_origin_from_the_cli_is_one_line(
    stores: tuple[Store, Store, Store], tmp_path: Path
) -> None:
    a, b, c = stores
    s = a.start()
    apply_pulled(b, [pulled(a, s)])
    lines = exported(b)
    record = json.loads(lines[1])
    record["origin"] = "x" * 26
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join([lines[0], json.dumps(record) + "\n", *lines[2:]]))
    before = snapshot(c)
    assert_user_error(run(tmp_path / "c.db", "import", str(bad)), f"{bad}:2:", "not a store id")
    assert snapshot(c) == before


def test_exports_without_origins_stay_format_1(stores: tuple[Store, Store, Store]) -> None:
    a, _, c = stores
    s = a.start(meta={"k": 1})
    a.append(s, "prompt", "hi")
    lines = exported(a)
    assert json.loads(lines[0])["format"] == 1
    assert not any('"origin' in line for line in lines)
    c.import_(lines)
    assert c.get(s.ulid).origin is None
    c.append(s.ulid, "prompt", "c's own")


def test_an_old_export_without_origin_fields_still_imports(
    stores: tuple[Store, Store, Store],
) -> None:
    _, _, c = stores
    ulid = "01JEXAMP1E0000000000000000"
    old = [
        '{"type":"zero-session-export","format":1,"exported_at_ms":1733400000000}\n',
        json.dumps(
            {
                "type": "session",
                "ulid": ulid,
                "parent": None,
                "fork_seq": 0,
                "started_at_ms": 1733400000000,
                "last_seq": 1,
                "meta": {},
            }
        )
        + "\n",
        json.dumps(
            {
                "type": "event",
                "session": ulid,
                "seq": 1,
                "at_ms": 1733400000001,
                "kind": "prompt",
                "text": "from an older version",
                "data": None,
            }
        )
        + "\n",
    ]
    assert c.import_(old).events == 1
    got = c.get(ulid)
    assert got.origin is None and got.origin_labels == ()
    c.append(ulid, "prompt", "continued here")
