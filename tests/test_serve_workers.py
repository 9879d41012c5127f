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


def test_kb_serve_with_two_workers_answers_from_worker_processes_that_share_a_burst_of_connections(tmp_path: Path) -> None:
    """Both behaviours on one server (starting it is most of the time). The burst: a reported fault (#17,
    64 clients) — uvicorn's shared socket let one process accept 29 of 32 connections opened at once."""
    proposals = tmp_path / "proposals"
    shutil.copytree(CORPUS, proposals)
    port = _free_port()
    kb = Path(sys.executable).parent / "kb"
    process = subprocess.Popen(
        [str(kb), "serve", "--port", str(port), "--db", str(tmp_path / "kb.db"), "--dir", str(proposals), "--workers", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    clients: list[socket.socket] = []
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
        time.sleep(0.5)  # every worker listening
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]  # all at once
        for sock in clients:
            assert _get(sock).startswith(b"HTTP/1.1 200")
        held = _established_by_process(workers, port)
        busy = [n for n in held.values() if n]
        assert sum(held.values()) == 32 and len(busy) >= 2 and min(busy) >= 4, held
    finally:
        for sock in clients:
            sock.close()
        process.terminate()
        process.wait(timeout=20)


def _established_by_process(pids: list[int], port: int) -> dict[int, int]:
    """Established connections on `port` each process holds (from /proc: its socket fds against /proc/net/tcp)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(fields[9])
    held = {}
    for pid in pids:
        try:
            links = [str(p.readlink()) for p in Path(f"/proc/{pid}/fd").iterdir()]
        except (FileNotFoundError, PermissionError):
            continue
        held[pid] = sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in inodes)
    return held


def _get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /-/versions.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    return data
