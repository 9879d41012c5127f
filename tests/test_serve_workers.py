"""`kb serve --workers N`: several server processes on one port, each serving the whole site."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CORPUS = Path(__file__).parent / "fixtures" / "corpus"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (uvicorn's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_kb_serve_with_two_workers_answers_searches_from_worker_processes(tmp_path: Path) -> None:
    proposals = tmp_path / "proposals"
    shutil.copytree(CORPUS, proposals)
    port = _free_port()
    kb = Path(sys.executable).parent / "kb"
    process = subprocess.Popen(
        [str(kb), "serve", "--port", str(port), "--db", str(tmp_path / "kb.db"), "--dir", str(proposals), "--workers", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        answers: list[httpx.Response] = []
        deadline = time.monotonic() + 60
        while len(answers) < 4 and time.monotonic() < deadline and process.poll() is None:
            try:
                answers.append(httpx.get(f"http://127.0.0.1:{port}/search?q=%E5%85%90%E7%AB%A5", timeout=5))
            except httpx.TransportError:
                time.sleep(0.2)
        assert len(answers) == 4, process.stdout.read() if process.stdout else ""
        assert all(r.status_code == 200 and "2 件" in r.text for r in answers)  # 児童: 2023-0001 and 2023-0004
        workers = [pid for child in _children(process.pid) for pid in [child, *_children(child)]]
        assert len(workers) >= 2
    finally:
        process.terminate()
        process.wait(timeout=20)
