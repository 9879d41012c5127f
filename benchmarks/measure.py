"""Run a command and measure what a user would feel: wall time and peak memory of the whole process tree.

`ru_maxrss` from `wait4` is exact but covers one process; a parallel build also has
worker processes, so the tree's memory is sampled from /proc as well — the sum of each
process's PSS, since forked workers share most pages with the parent — and the largest sum
seen is reported (sampling every 100 ms can miss a shorter peak).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.1  # reading smaps_rollup walks the page tables: not too often


@dataclass
class Run:
    seconds: float
    max_rss_mb: float  # the main process (exact, from the kernel)
    tree_rss_mb: float  # main process + workers: largest sampled sum of PSS (shared pages counted once)
    stdout: str
    stderr: str
    returncode: int

    def json(self) -> dict:
        """The JSON object a benchmark child script printed as its last line of output."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def _parents() -> dict[int, tuple[int, int]]:
    """pid → (parent pid, resident pages) of every process we can see."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            rss = int(Path(entry.path, "statm").read_text().split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry.name)] = (int(fields[1]), rss)
    return found


def _pss(pid: int) -> int | None:
    """Proportional set size in bytes: pages shared with other processes counted by share.

    Forked workers share most of their memory with the parent; summing RSS would count it twice.
    """
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def tree_memory(root: int) -> int:
    """Memory of a process and all its descendants, now: the sum of their PSS (RSS where PSS is unknown)."""
    procs = _parents()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        pss = _pss(pid)
        total += pss if pss is not None else procs.get(pid, (0, 0))[1] * PAGE
        todo += children.get(pid, [])
    return total


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 7200) -> Run:
    """Run to completion (bounded by timeout), sampling the tree's memory while it runs."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_memory(proc.pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out_chunks: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda name=name, f=f: out_chunks.__setitem__(name, f.read()), daemon=True)
        for name, f in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for r in readers:
        r.start()
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"{cmd[:3]}… ran longer than {timeout} s")
        time.sleep(0.005)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        seconds=seconds,
        max_rss_mb=usage.ru_maxrss / 1024,
        tree_rss_mb=max(peak, usage.ru_maxrss * 1024) / 2**20,
        stdout=out_chunks.get("out", ""),
        stderr=out_chunks.get("err", ""),
        returncode=proc.returncode,
    )


def checked(run_: Run, what: str) -> Run:
    """The run, or stop the benchmark with the child's error output (a failed run has no figures)."""
    if run_.returncode != 0:
        raise SystemExit(f"{what} failed ({run_.returncode}):\n{run_.stderr[-3000:]}")
    return run_
