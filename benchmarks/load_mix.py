"""Many clients at once on a mix of pages (issue #17): `kb serve` on 127.0.0.1, N clients for S seconds.

The mix is what people do on the site: ranked search, the proposals list filtered by facets or
searched, proposal pages, statute pages, and the same through JSON. Every request is a distinct
URL where the database allows it (a page cache cannot answer the mix from memory), drawn in a
seeded random order. Each client is a closed loop (it asks again once answered), so under
saturation latency ≈ clients ÷ throughput; the clients run in this process on the same cores as
the server, on raw keep-alive sockets (`KeepAlive`: 0.05 of a core, where httpx took 0.45).

    python benchmarks/load_mix.py /tmp/kb-bench/kb-5000.db /tmp/kb-bench/corpus-5000 --clients 64 --seconds 60

Prints one JSON object: the whole run (requests, errors, p50/p95/p99) and the same per kind of page,
every non-200 answer by status, the slowest requests, the clients' CPU and the connections each
server process held. Exit 1 when there are errors or p99 is over --p99-limit-ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_load import SERVER_LOGS, percentile, served  # noqa: E402

SEED = 17
# Words of the synthetic corpus (benchmarks/corpus.py TOPICS) and of the real proposals, from rare to everywhere.
QUERIES = ["保育", "農地", "児童", "番号", "税", "生活保護", "住民票 番号", "介護 医療", "地方税", "図書館", "マイナンバー", "LGWAN"]


@dataclass
class Kind:
    """The latencies of one kind of page."""

    ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, object]:
        ms = sorted(self.ms)
        return {
            "requests": len(ms),
            "errors": sum(self.errors.values()),
            "errors_by_status": dict(self.errors),
            "p50_ms": round(percentile(ms, 50), 1) if ms else None,
            "p95_ms": round(percentile(ms, 95), 1) if ms else None,
            "p99_ms": round(percentile(ms, 99), 1) if ms else None,
            "max_ms": round(ms[-1], 1) if ms else None,
        }


def mix(db: Path, count: int, seed: int = SEED) -> list[tuple[str, str]]:
    """(kind, path) pairs: `count` requests drawn from the database's own ids and facet values."""
    rng = random.Random(seed)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    ids = [r[0] for r in conn.execute("select id from proposals")]
    years = [r[0] for r in conn.execute("select distinct year from proposals")]
    fields = [r[0] for r in conn.execute("select distinct policy_field from proposals where policy_field is not null")]
    ministries = [r[0] for r in conn.execute("select id from ministries")]
    statutes = [r[0] for r in conn.execute("select distinct statute_id from citations where statute_id is not null")]
    conn.close()

    def search() -> str:
        q = rng.choice(QUERIES)
        page = rng.choice(["", "", f"&page={rng.randint(2, 5)}"])
        return f"/search?q={quote(q)}{page}"

    def filtered() -> str:
        params = [("year", rng.choice(years)), ("category", rng.choice(["A", "B"]))]
        if rng.random() < 0.5:
            params.append(("policy_field", rng.choice(fields)))
        if rng.random() < 0.5:
            params.append(("ministries__arraycontains", rng.choice(ministries)))
        if rng.random() < 0.3:
            params.append(("_search", rng.choice(QUERIES).split()[0]))
        return "/kb/proposals?" + urlencode(params)

    def proposal() -> str:
        return f"/kb/proposals/{quote(rng.choice(ids))}"

    def statute() -> str:
        return f"/kb/statutes/{quote(rng.choice(statutes), safe='')}" if statutes else proposal()

    def as_json() -> str:
        choice = rng.random()
        if choice < 0.4:
            return f"/kb/proposals/{quote(rng.choice(ids))}.json"
        if choice < 0.8:
            return "/kb/proposals.json?" + urlencode([("year", rng.choice(years)), ("_shape", "array"), ("_size", "20")])
        return f"/kb/proposals.json?_search={quote(rng.choice(QUERIES).split()[0])}&_facet=year"

    kinds = [("search", search, 3), ("filtered list", filtered, 3), ("proposal page", proposal, 3), ("statute page", statute, 1), ("JSON", as_json, 2)]
    table = [(name, make) for name, make, weight in kinds for _ in range(weight)]
    out = []
    for _ in range(count):
        name, make = rng.choice(table)
        out.append((name, make()))
    return out


def connections_by_process(port: int) -> dict[str, int]:
    """How many established connections each server process holds on `port` (from `ss`), busiest first.

    Kept-alive connections stay with the process that accepted them, so an uneven split at the start
    shows as a long tail for the clients of the busier process.
    """
    try:
        out = subprocess.run(
            ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    pids = Counter(m.group(1) for m in re.finditer(r"pid=(\d+)", out))
    return {f"pid {pid}": n for pid, n in pids.most_common()}


class KeepAlive:
    """One client's HTTP/1.1 connection, kept alive: GET, read the whole body, report status and headers.

    The load generator shares the 2 cores with the server, so it should cost little: httpx took
    0.4–0.5 of a core at ~85 requests a second, a quarter of the machine taken from the server.
    This reads responses with asyncio streams (Content-Length or chunked) and nothing more.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, dict[str, str], int]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode("ascii"))
            head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            status = int(head[0].split(" ", 2)[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
            if "content-length" in headers:
                size = len(await self.reader.readexactly(int(headers["content-length"])))
            else:  # chunked
                size = 0
                while True:
                    chunk = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    size += len(await self.reader.readexactly(chunk + 2)) - 2
                    if chunk == 0:
                        break
            if headers.get("connection", "").lower() == "close":
                self.close()
            return status, headers, size
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _run(base: str, requests: list[tuple[str, str]], clients: int, seconds: float) -> dict[str, object]:
    kinds: dict[str, Kind] = {}
    everything = Kind()
    cache: Counter[str] = Counter()  # the page cache's x-kb-cache answers (site/plugins/page_cache.py)
    issued = 0
    slowest: list[tuple[int, str, str]] = []
    address = urlsplit(base)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    connections = [KeepAlive(host, port) for _ in range(clients)]
    try:
        for _, path in requests[:5]:  # warm up: templates compiled
            await connections[0].get(path)
        start = time.perf_counter()
        client_cpu = time.process_time()  # the load generator's own CPU: it shares the 2 cores with the server
        deadline = start + seconds

        async def worker(client: KeepAlive) -> None:
            nonlocal issued
            while time.perf_counter() < deadline and issued < len(requests):
                kind, path = requests[issued]
                issued += 1
                sent = time.perf_counter()
                try:
                    code, headers, _ = await asyncio.wait_for(client.get(path), timeout=60)
                    status = str(code)
                    cache[headers.get("x-kb-cache", "none")] += 1
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
                    client.close()
                    status = type(exc).__name__
                ms = (time.perf_counter() - sent) * 1000
                slowest.append((round(ms), kind, path))
                for k in (kinds.setdefault(kind, Kind()), everything):
                    k.ms.append(ms)
                    if status != "200":
                        k.errors[f"{status} {path}" if len(k.errors) < 20 else status] += 1

        async def sample() -> dict[str, int]:
            await asyncio.sleep(min(5.0, seconds / 2))
            port = urlsplit(base).port or 80
            return await asyncio.to_thread(connections_by_process, port)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(worker(c) for c in connections))
        split = await sampler
        elapsed = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu
    finally:
        for c in connections:
            c.close()
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "per_second": round(len(everything.ms) / elapsed, 1),
        "distinct_urls": len({p for _, p in requests[:issued]}),
        "page_cache": dict(cache),
        "connections_by_process": split,
        "client_cpu_share": round(client_cpu / elapsed, 2),  # cores the clients used (of 2)
        "slowest": sorted(slowest, reverse=True)[:12],
        **everything.summary(),
        "by_kind": {name: k.summary() for name, k in sorted(kinds.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=1, help="kb serve --workers")
    parser.add_argument("--p99-limit-ms", type=float, default=2000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    with served(args.db, args.corpus, args.workers) as base:
        requests = mix(args.db, 200_000, args.seed)  # more than 64 clients can ask in a minute
        result = asyncio.run(_run(base, requests, args.clients, args.seconds))
    result["workers"] = args.workers
    log = SERVER_LOGS[-1].read_text(encoding="utf-8", errors="replace").splitlines()
    result["server_log"] = {"lines": len(log), "last": log[-5:]}  # worker restarts and SQL errors show here
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if result["errors"] or (result["p99_ms"] or 0) > args.p99_limit_ms:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
