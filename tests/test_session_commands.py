"""SessionCommands: the slash commands, as lines of a kind and a text, never exceptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ulidtools import common_prefix

from zero_session import OutputLine, Recorder, SessionCommands, Store
from zero_session.tui import LineKind
from zero_session.tui.commands import SHARE_EVENT_CAP


@pytest.fixture
def rec(store: Store) -> Recorder:
    recorder = Recorder(store, cli_version="1.0")
    recorder.record("prompt", "buy 10")
    recorder.record("system", "bought 10")
    return recorder


def _kinds(lines: list[OutputLine]) -> list[str]:
    return [line.kind for line in lines]


def test_sessions_lists_full_ulids_status_counts_labels_and_parent(rec: Recorder) -> None:
    cmds = SessionCommands(rec)
    parent = rec.current
    assert cmds.dispatch("/save first")[0].text.endswith("as 'first'")
    cmds.dispatch("/fork")
    lines = cmds.dispatch("/sessions 5")
    assert _kinds(lines) == ["heading", "row", "row"]
    child_row, parent_row = lines[1].text, lines[2].text
    assert child_row.startswith(f"* {rec.current}") and child_row.endswith(str(parent))
    assert f"  {parent}" in parent_row and "first" in parent_row and "live" in parent_row
    assert parent_row.split()[4] == "2"  # the parent recorded two events
    assert _kinds(cmds.dispatch("/sessions x")) == ["error"]


def test_resume_by_label_prints_banner_and_tail_and_switches(rec: Recorder) -> None:
    cmds = SessionCommands(rec)
    cmds.dispatch("/save trade")
    first = rec.current
    rec.resume(rec.store.start().ulid)
    lines = cmds.dispatch("/resume trade")
    assert lines[0].text.startswith("resuming: ") and "2 prior events" in lines[0].text
    events = [line.text for line in lines if line.kind == LineKind.EVENT]
    assert len(events) == 2 and events[0].split()[-2:] == ["buy", "10"]
    assert rec.current == first
    assert cmds.dispatch("/resume trade")[0].text.startswith("already writing")


def test_unknown_and_ambiguous_needles(rec: Recorder) -> None:
    cmds = SessionCommands(rec)
    # Sessions started milliseconds apart share their first 6 characters unless a
    # 6-character boundary (every ~4.4 minutes) falls between them; of three such
    # sessions, two always share them.
    ulids = [rec.current or "", rec.store.start().ulid, rec.store.start().ulid]
    for line in ("/resume nope", "/replay nope", "/share nope"):
        assert cmds.dispatch(line) == [
            OutputLine(LineKind.ERROR, "no session matches 'nope'. Try /sessions.")
        ]
    prefix = max(common_prefix(ulids[0], ulids[1]), common_prefix(ulids[1], ulids[2]), key=len)
    assert len(prefix) >= 6
    prefix = prefix[:6]
    (line,) = cmds.dispatch(f"/resume {prefix}")
    assert line.kind == "error" and "several sessions" in line.text


def test_replay_and_share(rec: Recorder) -> None:
    cmds = SessionCommands(rec)
    lines = cmds.dispatch("/replay")
    assert lines[0].kind == "heading" and "2 events" in lines[0].text
    assert [line.text.split()[3] for line in lines[1:]] == ["prompt", "system"]
    (shared,) = cmds.dispatch(f"/share {rec.current}")
    document = json.loads(shared.text)
    assert document["session"]["ulid"] == rec.current
    assert [e["text"] for e in document["events"]] == ["buy 10", "bought 10"]
    assert document["events"][0]["at"].endswith("Z")


def test_label_lists_and_assigns(rec: Recorder) -> None:
    cmds = SessionCommands(rec)
    assert "no labels yet" in cmds.dispatch("/label")[0].text
    other = rec.store.start()
    cmds.dispatch(f"/label theirs {other.ulid}")
    cmds.dispatch("/label mine")
    rows = [line.text.split() for line in cmds.dispatch("/label")]
    assert rows == [["mine", rec.current], ["theirs", other.ulid]]
    assert _kinds(cmds.dispatch("/label has space")) == ["error"]  # not a session


def test_usage_help_unknown_and_plain_lines(rec: Recorder) -> None:
    cmds = SessionCommands(rec)
    assert cmds.dispatch("/save")[0].text.startswith("usage: /save")
    assert cmds.dispatch("/resume")[0].text.startswith("usage: /resume")
    assert cmds.dispatch("/fork now")[0].text == "usage: /fork"
    assert cmds.dispatch("/frobnicate") == [
        OutputLine(LineKind.ERROR, "unknown command '/frobnicate'. Try /help.")
    ]
    assert len(cmds.dispatch("/help")) == len(cmds.names)
    assert cmds.dispatch("buy 10") == []
    assert _kinds(cmds.dispatch('/save "unclosed')) == ["error"]
    assert _kinds(cmds.dispatch("/save bad\tlabel")) == ["error"]


def test_store_failures_become_alert_lines(rec: Recorder) -> None:
    cmds = SessionCommands(rec)
    rec.store.close()
    for line in ("/sessions", "/fork", "/save x", "/replay", "/share", "/label"):
        (out,) = cmds.dispatch(line)
        assert out.kind == "alert", line
        assert "closed" in out.text


def test_no_persist_says_so() -> None:
    with Recorder(None) as rec:
        lines = SessionCommands(rec).dispatch("/sessions")
        assert lines[-1].kind == "warn" and "not saving" in lines[-1].text


def test_share_is_capped_and_writes_everything_to_a_file(rec: Recorder, tmp_path: Path) -> None:
    store = rec.store
    big = store.start()
    store.append_many(big, [("system", f"event {i}") for i in range(SHARE_EVENT_CAP + 50)])
    cmds = SessionCommands(rec)
    shown, note = cmds.dispatch(f"/share {big.ulid}")
    document = json.loads(shown.text)
    assert len(document["events"]) == SHARE_EVENT_CAP
    assert document["events"][-1]["text"] == f"event {SHARE_EVENT_CAP + 49}"
    assert note.kind == "warn" and f"/share {big.ulid} --file" in note.text
    target = tmp_path / "out.json"
    (written,) = cmds.dispatch(f"/share {big.ulid} --file {target}")
    assert written.kind == "info" and f"{SHARE_EVENT_CAP + 50:,} events" in written.text
    assert len(json.loads(target.read_text())["events"]) == SHARE_EVENT_CAP + 50
    (usage,) = cmds.dispatch("/share --file")
    assert usage.kind == "error" and usage.text.startswith("usage: /share")
    (refused,) = cmds.dispatch(f"/share {big.ulid} --file {tmp_path / 'no' / 'such.json'}")
    assert refused.kind == "error" and "cannot write" in refused.text
