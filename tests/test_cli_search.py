"""``zero-session search``, run as the installed console script against a real file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clirunner import cli_env, run

from zero_session import Store


def _record(db: Path) -> tuple[str, str]:
    with Store.open(db) as store:
        main = store.start()
        store.append_many(main, [("prompt", "buy 10 ACME"), ("alert", "margin at 80%")])
        store.label(main, "pre-cpi")
        other = store.start()
        store.append(other, "command", "/risk check margin")
        store.end(main)
        store.end(other)
    return main.ulid, other.ulid


def test_search_prints_hits_newest_first(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    main, other = _record(db)
    done = run(db, "search", "margin")
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0].split() == ["AT", "SESSION", "SEQ", "KIND", "SNIPPET"]
    assert other in lines[1] and "/risk check [margin]" in lines[1]
    assert main in lines[2] and "[margin] at 80%" in lines[2]
    docs = run(db, "search", "margin", "--session", "pre-cpi", "--json").json()
    assert [(d["session"], d["seq"], d["kind"]) for d in docs] == [(main, 2, "alert")]
    assert docs[0]["at"].endswith("Z") and isinstance(docs[0]["at_ms"], int)
    assert run(db, "search", "/risk", "--literal", "-n", "1", "--json").json()[0]["seq"] == 1


def test_search_sees_another_process_and_reports_user_errors(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _record(db)
    assert run(db, "search", "papaya").err.strip() == "no matches"
    script = (
        "import sys\nfrom zero_session import Store\n"
        "with Store.open(sys.argv[1]) as store:\n"
        "    store.append(store.start(), 'prompt', 'papaya later')\n"
    )
    subprocess.run([sys.executable, "-c", script, str(db)], check=True, env=cli_env(db))
    assert "[papaya] later" in run(db, "search", "papaya").out
    bad = run(db, "search", '"unterminated')
    assert bad.code == 1
    assert bad.err.startswith("zero-session: not a valid search query")
    assert "Traceback" not in bad.err
    assert run(db, "search", "x", "--session", "nosuch").code == 1
    assert run(db, "search").code == 2
