"""The deployment recipe (docs/deploy.md, Dockerfile) run locally without Docker: the exact `datasette serve`
command line the container runs, from kb/serve.py's datasette_command, on 127.0.0.1."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from served_site import CORPUS

from kb.pipeline import build
from kb.serve import SITE, datasette_command

REPO = Path(__file__).parent.parent
DOCKERFILE = REPO / "Dockerfile"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dockerfile_cmd() -> list[str]:
    """The CMD of the Dockerfile (its JSON form)."""
    lines = [line for line in DOCKERFILE.read_text(encoding="utf-8").splitlines() if line.startswith("CMD ")]
    assert len(lines) == 1
    return json.loads(lines[0][len("CMD ") :])


def container_command(db: Path, port: int) -> list[str]:
    """What the Dockerfile's CMD runs, with the database and address of this test (later flags win)."""
    cmd = dockerfile_cmd()
    assert cmd[:3] == ["python", "-m", "kb.serve"]
    local = [*cmd[3:], "--db", str(db), "--host", "127.0.0.1", "--port", str(port), "--print"]
    printed = subprocess.run(
        [sys.executable, "-m", "kb.serve", *local], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return shlex.split(printed)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("deploy") / "kb.db"
    build(path, [CORPUS])
    return path


@pytest.fixture(scope="module")
def served(db: Path) -> Iterator[str]:
    port = _free_port()
    command = container_command(db, port)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.get(base + "/", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_container_command_is_datasette_serve_of_the_immutable_database_with_the_site(db: Path) -> None:
    command = container_command(db, 8001)
    assert command == datasette_command(db, host="127.0.0.1", port=8001, public="--public" in dockerfile_cmd())
    assert command[1:4] == ["-m", "datasette", "serve"]
    assert command[command.index("--immutable") + 1] == str(db)
    for flag, value in [("--plugins-dir", SITE / "plugins"), ("--template-dir", SITE / "templates"),
                        ("--metadata", SITE / "metadata.yml"), ("--static", f"static:{SITE / 'static'}")]:  # fmt: skip
        assert command[command.index(flag) + 1] == str(value)
    settings = json.loads((SITE / "settings.json").read_text(encoding="utf-8"))
    given = {command[i + 1] for i, part in enumerate(command) if part == "--setting"}
    assert set(settings) <= given


def test_packaged_command_serves_a_proposal_page_with_the_sites_plugins(served: str) -> None:
    response = httpx.get(served + "/kb/proposals/2023-0001", timeout=30)
    assert response.status_code == 200
    assert "2023-0001" in response.text and "提案" in response.text
    assert "content-security-policy" in response.headers  # site/plugins/hardening.py
    assert response.headers["x-kb-cache"] == "miss"  # site/plugins/page_cache.py
    assert httpx.get(served + "/kb/proposals/2023-0001", timeout=30).headers["x-kb-cache"] == "hit"


def test_packaged_command_serves_the_proposals_table_and_search(served: str) -> None:
    table = httpx.get(served + "/kb/proposals", timeout=30)
    assert table.status_code == 200 and "2023-0001" in table.text and "2023-0004" in table.text
    assert "/static/site.css" in table.text  # the site's metadata (extra_css_urls) and static mount
    assert httpx.get(served + "/static/site.css", timeout=30).status_code == 200
    search = httpx.get(served + "/search", params={"q": "児童"}, timeout=30)
    assert search.status_code == 200 and "2 件" in search.text  # 児童 → 2023-0001 and 2023-0004


def test_packaged_command_serves_in_public_mode(served: str) -> None:
    assert "--public" in dockerfile_cmd()
    assert httpx.get(served + "/kb", params={"sql": "select 1"}, timeout=30).status_code == 403


def test_command_refuses_a_database_not_named_kb(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kb.db"):
        datasette_command(tmp_path / "site.db")
