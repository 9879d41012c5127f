"""Where the time goes: cProfile's top functions for each page type and for a build (issue #16).

Pages are asked through Datasette's own client in this process (no HTTP), page cache off, after two
warm-up requests; each is asked --requests times over distinct URLs where the page allows. The build is a
full build on one process (`--jobs 1`, so the parse workers are profiled too) of --build-corpus.

    python benchmarks/profiles.py --db /tmp/kb-bench/kb-10000.db --build-corpus /tmp/corpus-500 --top 10

Run it on a checkout of an older commit (PYTHONPATH=that checkout) to get the "before" side.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sqlite3
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

PAGE_TYPES = {
    "search (/search?q=…)": lambda ids: [f"/search?q={quote(w)}" for w in ("保育", "農地", "番号", "生活保護", "児童 介護")],
    "proposals table, all facets": lambda ids: ["/kb/proposals"],
    "proposals table, filtered": lambda ids: ["/kb/proposals?year=2020&category=A", "/kb/proposals?year=2018&category=B"],
    "proposal page": lambda ids: [f"/kb/proposals/{quote(i)}" for i in ids],
}


def top(profile: cProfile.Profile, n: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(n)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return "\n".join([lines[0].strip(), *lines[start:]])


def profile_pages(db: Path, requests: int, n: int) -> None:
    from kb.serve import make_datasette

    try:
        ds = make_datasette(db, page_cache=False)
    except TypeError:  # a commit before the page cache
        ds = make_datasette(db)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    ids = [r[0] for r in conn.execute("select id from proposals order by random() limit 50")]
    conn.close()

    async def ask(paths: list[str], count: int) -> None:
        for i in range(count):
            response = await ds.client.get(paths[i % len(paths)])
            if response.status_code != 200:
                raise SystemExit(f"{paths[i % len(paths)]}: HTTP {response.status_code}")

    loop = asyncio.new_event_loop()
    for name, make in PAGE_TYPES.items():
        paths = make(ids)
        loop.run_until_complete(ask(paths, 2))
        profile = cProfile.Profile()
        profile.enable()
        loop.run_until_complete(ask(paths, requests))
        profile.disable()
        print(f"\n### {name} ({requests} requests)\n\n```\n{top(profile, n)}\n```")
    loop.close()


def profile_build(corpus: Path, n: int) -> None:
    from kb.pipeline import build

    with tempfile.TemporaryDirectory() as tmp:
        profile = cProfile.Profile()
        profile.enable()
        build(Path(tmp) / "kb.db", [corpus], full=True, jobs=1)
        profile.disable()
    print(f"\n### full build, one process ({corpus})\n\n```\n{top(profile, n)}\n```")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--build-corpus", type=Path)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    if args.db:
        profile_pages(args.db, args.requests, args.top)
    if args.build_corpus:
        profile_build(args.build_corpus, args.top)
    if not (args.db or args.build_corpus):
        parser.error("give --db, --build-corpus or both")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
