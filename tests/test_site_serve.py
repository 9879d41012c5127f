"""`kb serve`: rebuilds only when the database is stale, then serves on 127.0.0.1 (a real server)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kb.serve import ensure_built, is_stale

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
REPO = Path(__file__).parent.parent


def _copy_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "proposals"
    shutil.copytree(CORPUS, target)
    return target


def test_missing_database_is_stale(tmp_path: Path) -> None:
    assert is_stale(tmp_path / "kb.db", [_copy_corpus(tmp_path)])


def test_database_newer_than_every_file_is_fresh_and_not_rebuilt(tmp_path: Path) -> None:
    proposals = _copy_corpus(tmp_path)
    db = tmp_path / "kb.db"
    assert ensure_built(db, [proposals]) is not None
    assert not is_stale(db, [proposals])
    assert ensure_built(db, [proposals]) is None


def test_edited_proposal_makes_database_stale(tmp_path: Path) -> None:
    proposals = _copy_corpus(tmp_path)
    db = tmp_path / "kb.db"
    ensure_built(db, [proposals])
    later = db.stat().st_mtime + 10
    os.utime(proposals / "2023" / "0001.md", (later, later))
    assert is_stale(db, [proposals])


def test_deleted_proposal_makes_database_stale(tmp_path: Path) -> None:
    proposals = _copy_corpus(tmp_path)
    db = tmp_path / "kb.db"
    ensure_built(db, [proposals])
    earlier = db.stat().st_mtime - 10
    os.utime(db, (earlier, earlier))  # as if built a while ago
    (proposals / "2023" / "0002.md").unlink()
    assert is_stale(db, [proposals])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kb_serve_builds_then_serves_the_site_on_localhost(tmp_path: Path) -> None:
    proposals = _copy_corpus(tmp_path)
    db = tmp_path / "site.db"
    port = _free_port()
    kb = Path(sys.executable).parent / "kb"
    process = subprocess.Popen(
        [str(kb), "serve", "--port", str(port), "--db", str(db), "--dir", str(proposals)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        response = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/search?q=%E5%85%90%E7%AB%A5", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None, process.stdout.read() if process.stdout else ""
        assert response.status_code == 200
        assert "2 件" in response.text  # 児童 → 2023-0001 and 2023-0004, served from the db it built
        assert db.exists()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_kb_serve_refuses_to_start_when_files_have_problems(tmp_path: Path) -> None:
    proposals = _copy_corpus(tmp_path)
    shutil.copy(REPO / "tests" / "fixtures" / "broken" / "date_invalid.md", proposals / "2023" / "0009.md")
    kb = Path(sys.executable).parent / "kb"
    result = subprocess.run(
        [str(kb), "serve", "--port", str(_free_port()), "--db", str(tmp_path / "kb.db"), "--dir", str(proposals)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "0009.md:" in result.stderr and "公開しませんでした" in result.stderr
    assert not (tmp_path / "kb.db").exists()
