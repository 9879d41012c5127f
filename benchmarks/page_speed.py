"""Page speed against this machine's floors, side by side in one run (issue #16's "must show").

1. One client, server warm, page cache off, every request a distinct URL where the page allows
   (200 search queries, 200 proposals; the unfiltered table has one URL): p50/p95 of `/search`,
   the proposals table with all its facets, a proposal page and a statute page, each divided by the
   p95 of `/-/versions.json` measured in the same run, the requests interleaved so that noise from
   other processes falls on all of them alike.
2. 16 clients (closed loop, benchmarks/http_load.py's generator) on a mix of the issue's pages (search,
   the table, a proposal page), page cache off, against the same generator on a bare ASGI app
   (benchmarks/servers.py), both from --workers processes: p95 ÷ the bare p95.
3. The same 16 clients on repeat views (the mix's first 40 URLs over and over) with the page cache on.

    python benchmarks/page_speed.py /tmp/kb-bench/kb-5000.db --out /tmp/pages-5000.json

Prints the tables in Markdown; --out keeps the figures as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import socket
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from http_load import load, percentile  # noqa: E402
from servers import HOST, served  # noqa: E402

SEED = 16
# Words of the synthetic corpus (benchmarks/corpus.py TOPICS): one to four characters, rare to everywhere.
WORDS = ["児童", "農地", "保育", "番号", "介護", "道路", "河川", "消防", "医療", "税務", "戸籍", "住民票", "学校", "図書館",
         "公営住宅", "水道", "下水道", "廃棄物", "鳥獣", "森林", "漁港", "観光", "交通", "選挙", "補助金", "障害者", "生活保護",
         "国民健康保険", "地方税", "都市計画", "建築確認", "税", "法", "個人情報", "情報連携", "事務"]


MENU_COLUMNS = ["title", "year", "category", "policy_field", "ministries", "outcome", "stage"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def distinct_urls(db: Path, count: int = 200, seed: int = SEED) -> dict[str, list[str]]:
    """Kind of page → `count` URLs, distinct where the page has that many."""
    rng = random.Random(seed)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    ids = [r[0] for r in conn.execute("select id from proposals order by random() limit ?", (count,))]
    statutes = [r[0] for r in conn.execute(
        "select statute_id from citations where statute_id is not null group by statute_id order by count(*) desc limit ?", (count,)
    )]
    conn.close()
    pairs = [f"{a} {b}" for a, b in itertools.permutations(WORDS, 2)]
    queries = WORDS + rng.sample(pairs, count)
    rng.shuffle(queries)
    return {
        "search": [f"/search?q={quote(q)}" for q in queries[:count]],
        "table, all facets": ["/kb/proposals"],
        # the list as the site's menu opens it (site/plugins/pages.py LIST_COLUMNS), still with every facet
        "table, all facets, menu's columns": ["/kb/proposals?" + "&".join(f"_col={c}" for c in MENU_COLUMNS)],
        "proposal page": [f"/kb/proposals/{quote(i)}" for i in ids],
        "statute page": [f"/kb/statutes/{quote(s, safe='')}" for s in statutes] or ["/kb/statutes"],
    }


def cached_share(db: Path, before_start: float | None, seconds: float = 180) -> dict[str, float | None]:
    """Wait (at most `seconds`) until the database is in the kernel's page cache — the site asks for it at start
    (site/plugins/prewarm.py), as a server that has been up has it — and say how much was there before and after.

    "Server warm" in the issue: the file cached as well as the templates compiled. Measured without this at
    100,000 proposals (5.5 GB), a proposal page's first view read the disk (docs/benchmarks.md)."""
    from kb.core.prewarm import resident_share

    start = time.perf_counter()
    before = share = resident_share(db)
    while share is not None and share < 0.99 and time.perf_counter() - start < seconds:
        time.sleep(0.5)
        share = resident_share(db)
    return {"before start": before_start, "before": before, "after": share, "waited_s": time.perf_counter() - start}


def one_client(base: str, urls: dict[str, list[str]], rounds: int) -> dict[str, dict[str, float]]:
    """Each kind's URLs and /-/versions.json in turn, `rounds` times; latencies per kind."""
    kinds = {"versions": ["/-/versions.json"], **urls}
    ms: dict[str, list[float]] = {k: [] for k in kinds}
    with httpx.Client(base_url=base, timeout=120) as client:
        for kind, paths in kinds.items():  # warm: templates compiled, SQLite pages read
            for path in paths[:3]:
                client.get(path)
        for n in range(rounds):
            for kind, paths in kinds.items():
                path = paths[n % len(paths)]
                start = time.perf_counter()
                response = client.get(path)
                ms[kind].append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {response.status_code}")
    out = {}
    for kind, samples in ms.items():
        s = sorted(samples)
        out[kind] = {"requests": len(s), "p50_ms": percentile(s, 50), "p95_ms": percentile(s, 95)}
    floor = out["versions"]["p95_ms"]
    for kind in out:
        out[kind]["ratio_p95"] = out[kind]["p95_ms"] / floor
    return out


def search_match_floor(db: Path, paths: list[str], passes: int = 2) -> dict[str, float]:
    """What FTS5 alone costs a search: the rowids of every match (kb.search.query's matching SQL), what any
    count and facets need, in process — no ranking, snippets, page or HTTP.
    The last of `passes` passes over the page's queries is kept (the first reads the index into memory)."""
    from kb.search.query import matching_rowids_sql, register_functions

    queries = [parse_qs(urlsplit(path).query)["q"][0] for path in paths]
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    register_functions(conn)
    sql = matching_rowids_sql()
    try:
        for _ in range(passes):
            samples = []
            for q in queries:
                start = time.perf_counter()
                conn.execute(sql, {"q": q}).fetchone()
                samples.append((time.perf_counter() - start) * 1000)
    finally:
        conn.close()
    samples.sort()
    return {"queries": len(samples), "p50_ms": percentile(samples, 50), "p95_ms": percentile(samples, 95)}


def mixed(urls: dict[str, list[str]]) -> list[str]:
    """The issue's three pages in turn: search, the proposals table with all facets, a proposal page.

    The statute page is measured with one client only: in the synthetic corpus two statutes take every
    citation (each cited by every proposal), a page no real statute makes.
    """
    lists = [urls["search"], urls["table, all facets"] * 200, urls["proposal page"]]
    return [u for group in zip(*lists) for u in group]


def many_clients(db: Path, urls: dict[str, list[str]], clients: int, requests: int, seconds: float, workers: int) -> dict[str, object]:
    """The bare app and the site, each from `workers` processes (kb serve --workers), under the same clients."""
    mix = mixed(urls)
    with served("bare", free_port(), workers=workers) as base:
        bare = load(base, ["/"], clients, requests * 4, seconds)
    with served("site", free_port(), db, page_cache=False, workers=workers) as base:
        site = load(base, mix, clients, requests, seconds)
    with served("site", free_port(), db, page_cache=True, workers=workers) as base:
        repeat_urls = mix[:40]
        load(base, repeat_urls, 1, len(repeat_urls), seconds)  # fill the cache
        cached = load(base, repeat_urls, clients, requests * 4, seconds)
    return {
        "clients": clients,
        "workers": workers,
        "bare ASGI app": bare.__dict__,
        "site, mix, page cache off": {**site.__dict__, "ratio_p95": site.p95_ms / bare.p95_ms},
        "site, repeat views, page cache on": {**cached.__dict__, "ratio_p95": cached.p95_ms / bare.p95_ms},
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [f"{result['proposals']:,} proposals, one client, page cache off ({result['rounds']} rounds):", "",
             "| page | requests | p50 ms | p95 ms | p95 ÷ versions p95 |", "| --- | ---: | ---: | ---: | ---: |"]
    for kind, r in result["one client"].items():
        lines.append(f"| {kind} | {r['requests']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['ratio_p95']:.2f} × |")
    if result.get("database cached"):
        c = result["database cached"]
        share = lambda v: "unknown" if v is None else f"{v:.0%}"  # noqa: E731
        lines += ["", (
            f"The database in the kernel's page cache when measuring: {share(c['after'])} ({share(c.get('before start'))} before "
            f"the server started, {share(c['before'])} when it answered; then waited {c['waited_s']:.1f} s for the site's prewarm)."
        )]
    if "search match floor" in result:
        f = result["search match floor"]
        lines += ["", (
            f"FTS5's match alone for the same {f['queries']} searches (in process: the rowids of every match, what a count and facets need; "
            f"no ranking, snippets, page or HTTP): p50 {f['p50_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms — "
            f"{f['ratio_p95']:.2f} × the versions p95."
        )]
    if "many clients" in result:
        m = result["many clients"]
        lines += ["", f"{m['clients']} clients (closed loop), each server from {m.get('workers', 1)} process(es):", "", "| server | requests | p50 ms | p95 ms | p99 ms | requests/s | errors | p95 ÷ bare p95 |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name in ("bare ASGI app", "site, mix, page cache off", "site, repeat views, page cache on"):
            r = m[name]
            ratio = f"{r['ratio_p95']:.2f} ×" if "ratio_p95" in r else "1"
            lines.append(f"| {name} | {r['requests']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['per_second']:.1f} | {r['errors']} | {ratio} |")
    return "\n".join(lines)


def measure(
    db: Path, rounds: int = 200, many: bool = True, clients: int = 16, requests: int = 800, seconds: float = 30, workers: int = 2
) -> dict[str, Any]:
    """Both measurements on one database (benchmarks/run.py --parts pages calls this)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    proposals = conn.execute("select count(*) from proposals").fetchone()[0]
    conn.close()
    urls = distinct_urls(db)
    result: dict[str, Any] = {"proposals": proposals, "rounds": rounds, "measured": time.strftime("%Y-%m-%d %H:%M")}
    from kb.core.prewarm import resident_share

    before_start = resident_share(db)
    with served("site", free_port(), db, page_cache=False) as base:
        result["database cached"] = cached_share(db, before_start)
        result["one client"] = one_client(base, urls, rounds)
    floor = search_match_floor(db, urls["search"])
    result["search match floor"] = {**floor, "ratio_p95": floor["p95_ms"] / result["one client"]["versions"]["p95_ms"]}
    if many:
        result["many clients"] = many_clients(db, urls, clients, requests, seconds, workers)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=800, help="most requests per many-client run")
    parser.add_argument("--seconds", type=float, default=30, help="most seconds per many-client run")
    parser.add_argument("--no-many", action="store_true", help="only the one-client table")
    parser.add_argument("--workers", type=int, default=2, help="processes of each server under many clients (kb serve --workers)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = measure(args.db, args.rounds, not args.no_many, args.clients, args.requests, args.seconds, args.workers)
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
