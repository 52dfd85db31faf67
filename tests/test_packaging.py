"""The wheel carries the migrations: build it, install it into a fresh virtualenv outside
the repo, and open a store there from a folder outside the repo.

Everything is offline: the wheel is built without build isolation (hatchling comes with
the dev extra) and installed with ``--no-deps``.  The runtime dependencies (apsw,
python-ulid, attrs) are made visible to the new environment through a ``.pth`` file
naming the folders they are installed in here, because the base interpreter may not
have them; those folders are the dependencies' own, not the repo.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that could put the repo on the import path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


def dependency_folders() -> list[str]:
    folders = set()
    for name in ("apsw", "ulid", "attrs", "attr"):
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None
        folders.add(str(Path(spec.origin).resolve().parent.parent))
    assert str(REPO) not in folders
    return sorted(folders)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheelhouse")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-build-isolation",
            "--no-deps",
            "--no-index",
            str(REPO),
            "-w",
            str(out),
        ],
        env=clean_env(),
    )
    (built,) = out.glob("zero_session-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "env"
    run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(root)])
    python = root / "bin" / "python"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        env=clean_env(),
    )
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    (Path(site.stdout.strip()) / "zz_test_dependencies.pth").write_text(
        "\n".join(dependency_folders()) + "\n"
    )
    return root


def test_wheel_ships_the_migrations_and_type_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for migration in sorted((REPO / "migrations").glob("*.sql")):
        assert f"zero_session/migrations/{migration.name}" in names
    assert "zero_session/migrations/0001_initial.sql" in names
    assert "zero_session/py.typed" in names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


_OPEN_STORE = """
import json, sys
import zero_session
from zero_session import Store, _schema
with Store.open(sys.argv[1]) as store:
    s = store.start()
    store.append(s, "prompt", "from the wheel")
    child = store.fork(s)
    texts = [e.text for e in store.replay(child)]
print(json.dumps({
    "package": zero_session.__file__,
    "migrations": str(_schema._migrations_folder()),
    "known": _schema.known_version(),
    "texts": texts,
    "path": sys.path,
}))
"""


def test_store_opens_from_the_installed_wheel(venv: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = run(
        [str(venv / "bin" / "python"), "-c", _OPEN_STORE, str(outside / "w.db")],
        cwd=outside,
        env=clean_env(),
    )
    report = json.loads(result.stdout)
    assert report["package"].startswith(str(venv)), report["package"]
    assert report["migrations"].startswith(str(venv)), report["migrations"]
    assert report["known"] == len(list((REPO / "migrations").glob("*.sql")))
    assert report["texts"] == ["from the wheel"]
    assert not any(p and Path(p).resolve() == REPO for p in report["path"])


def test_console_script_from_the_installed_wheel(venv: Path, tmp_path: Path) -> None:
    db = tmp_path / "state" / "demo.db"
    env = clean_env(ZERO_SESSION_DB=str(db))
    demo = run([str(venv / "bin" / "zero-session"), "demo"], cwd=tmp_path, env=env)
    assert db.exists()
    assert "replay" in demo.stdout
    listing = run([str(venv / "bin" / "zero-session"), "list"], cwd=tmp_path, env=env)
    assert "demo-" in listing.stdout
