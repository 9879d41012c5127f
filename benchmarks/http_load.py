"""The site under load: `kb serve` on 127.0.0.1, N concurrent clients, latency percentiles and throughput.

Closed loop: each client sends its next request when the previous answer arrived, so
latency ≈ clients ÷ throughput once the server is saturated. Every run is bounded both in
requests and in seconds. The clients (httpx, asyncio) run in this process on the same
machine, so they take some of the CPU the server could use; the figures are what one
machine serving and measuring itself sees.

    python benchmarks/http_load.py /tmp/kb-bench/kb-10000.db /tmp/kb-bench/corpus-10000 "/search?q=児童"
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

HOST = "127.0.0.1"  # never any other address
KB = Path(sys.executable).parent / "kb"
READY_SECONDS = 1800
SERVER_LOGS: list[Path] = []  # each served() server's stderr, kept for the caller to read  # `kb serve` builds first when the database is older than the files


@dataclass
class Load:
    requests: int
    errors: int  # responses other than 200, and failed requests
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    per_second: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextmanager
def served(db: Path, corpus: Path, workers: int = 1) -> Iterator[str]:
    """`kb serve` in a child process; yields its base URL once it answers, stops it afterwards."""
    port = free_port()
    args = [str(KB), "serve", "--db", str(db), "--dir", str(corpus), "--port", str(port), "--workers", str(workers)]
    with serving(args, f"http://{HOST}:{port}", "/", READY_SECONDS, "kb serve") as (base, _):
        yield base


@contextmanager
def serving(args: list[str], base: str, ready_path: str, ready_seconds: float, name: str) -> Iterator[tuple[str, int]]:
    """Run a server command; yield (`base`, its pid) once `ready_path` answers 200; stop the server afterwards.

    The server's log goes to a file (its path appended to SERVER_LOGS): a pipe nobody reads fills up
    (64 KiB of Datasette's SQL error lines) and then blocks the server mid-response.
    """
    log = tempfile.NamedTemporaryFile("w+", prefix="kb-serve-", suffix=".log", delete=False)
    SERVER_LOGS.append(Path(log.name))
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, text=True)
    try:
        deadline = time.monotonic() + ready_seconds
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{name} stopped ({proc.returncode}): {Path(log.name).read_text()[-2000:]}")
            try:
                if httpx.get(base + ready_path, timeout=30).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not answer within {ready_seconds} s")
            time.sleep(0.3)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0–100) of sorted samples."""
    rank = max(1, -(-len(sorted_ms) * p // 100))
    return sorted_ms[int(rank) - 1]


async def _run(base: str, paths: list[str], clients: int, max_requests: int, max_seconds: float) -> Load:
    latencies: list[float] = []
    errors = 0
    issued = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        for path in paths[:3]:  # warm up: templates compiled, pages cached by SQLite
            await client.get(path)
        start = time.perf_counter()
        deadline = start + max_seconds

        async def worker() -> None:
            nonlocal errors, issued
            while issued < max_requests and time.perf_counter() < deadline:
                path = paths[issued % len(paths)]
                issued += 1
                sent = time.perf_counter()
                try:
                    response = await client.get(path)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - sent) * 1000)
                errors += not ok

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    ms = sorted(latencies)
    return Load(
        requests=len(ms),
        errors=errors,
        seconds=elapsed,
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99),
        per_second=len(ms) / elapsed,
    )


def load(base: str, paths: list[str], clients: int = 16, max_requests: int = 800, max_seconds: float = 30) -> Load:
    """Bounded closed-loop load on `paths` (taken in turn) from `clients` concurrent clients."""
    return asyncio.run(_run(base, paths, clients, max_requests, max_seconds))


# Datasette's table.html prints the facets it gave up on; its JSON API (0.65) leaves them out.
TIMED_OUT = re.compile(r'<p class="facets-timed-out">[^<:]*:\s*([^<]*)</p>')


def facets_timed_out_in(page: str) -> list[str]:
    """Facet names of the 'These facets timed out: a, b' notice of a table page's HTML ([] when none)."""
    found = TIMED_OUT.search(page)
    return [html.unescape(name.strip()) for name in found.group(1).split(",") if name.strip()] if found else []


def timed_out_facets(base: str, path: str) -> list[str]:
    """Facets Datasette gave up on (facet_time_limit_ms) for a table page, read from the HTML page itself.

    The page still answers 200 without them, and the JSON of the same page does not list them.
    """
    response = httpx.get(base + path, timeout=120)
    response.raise_for_status()
    return facets_timed_out_in(response.text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=1, help="kb serve --workers")
    args = parser.parse_args()
    with served(args.db, args.corpus, args.workers) as base:
        result = load(base, args.paths, args.clients, args.requests, args.seconds)
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
