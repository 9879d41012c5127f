"""Speed of the ranked search page with facets and filters (docs/search.md, 「絞り込み」).

One client, server warm (one pass first), page cache off: 22 search URLs — queries from one character
(found in almost every proposal) to rare words, alone and with one or two filters — requested 5 times
each, through Datasette's in-process client.

    .venv/bin/python benchmarks/search_filters.py /tmp/kb-bench/kb-5000.db
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from urllib.parse import urlencode

from kb.serve import make_datasette

QUERIES: list[list[tuple[str, str]]] = [
    [("q", "税")],
    [("q", "法")],
    [("q", "児童")],
    [("q", "農地")],
    [("q", "保育")],
    [("q", "情報連携")],
    [("q", "国民健康保険")],
    [("q", "番号利用法")],  # a law's name: text hits and the proposals citing it
    [("q", "マイナンバー法")],  # an alias of the same law
    [("q", "宮城県")],  # a prefecture: text hits and its municipalities' proposals
    [("q", "児童 保育")],
    [("q", "存在しない語句")],  # no result: the suggestions count each filter off
    [("q", "税"), ("year", "2023")],
    [("q", "法"), ("ministries", "総務省")],
    [("q", "児童"), ("year", "2020"), ("ministries", "総務省")],
    [("q", "農地"), ("proponent_prefectures", "熊本県")],
    [("q", "保育"), ("outcome", "提案の趣旨を踏まえ対応")],
    [("q", "事務"), ("category", "B"), ("proponent_kinds", "都道府県")],
    [("q", "番号利用法"), ("year", "2024")],
    [("q", "情報連携"), ("statutes", "番号利用法"), ("page", "2")],
    [("q", "介護"), ("year", "2019"), ("ministries", "厚生労働省"), ("category", "A")],
    [("q", "存在しない語句"), ("year", "2023"), ("ministries", "総務省")],
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(db: Path, runs: int, per_url: bool = False) -> dict[str, float]:
    ds = make_datasette(db, page_cache=False)
    urls = ["/search?" + urlencode(q) for q in QUERIES]
    for url in urls:  # warm: connections, templates, SQLite's page cache
        assert (await ds.client.get(url)).status_code == 200, url
    times: list[float] = []
    cpu: list[float] = []  # the process's CPU time per request: what a busy shared machine does not inflate
    by_url: dict[str, list[float]] = {url: [] for url in urls}
    for _ in range(runs):
        for url in urls:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = await ds.client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
            by_url[url].append(cpu[-1])
            assert response.status_code == 200, url
    if per_url:  # which URLs make the p95
        for url, spent in sorted(by_url.items(), key=lambda item: -statistics.median(item[1])):
            print(f"{statistics.median(spent):7.1f} ms CPU  {url}")
    return {
        "requests": len(times),
        "p50_ms": statistics.median(times),
        "p95_ms": percentile(times, 95),
        "max_ms": max(times),
        "cpu_p50_ms": statistics.median(cpu),
        "cpu_p95_ms": percentile(cpu, 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--per-url", action="store_true", help="also print each URL's median, slowest first")
    args = parser.parse_args()
    figures = asyncio.run(measure(args.db, args.runs, args.per_url))
    print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
