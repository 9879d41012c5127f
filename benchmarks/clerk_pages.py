"""Every page a clerk meets, one client, server warm, page cache off: p50/p95 against ≤ 100 ms (#14).

Each kind of page gets distinct URLs where it has many (proposals, statutes, local governments,
search words, query inputs), so SQLite's and Datasette's caches cannot make one URL look cheap.
`/-/versions.json` is measured in the same interleaved rounds as this machine's floor.

    python benchmarks/clerk_pages.py /tmp/kb-bench/kb-5000.db --out /tmp/clerk-5000.json

Prints a Markdown table; --out keeps the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from datasette.utils import tilde_encode  # noqa: E402  row URLs are tilde-encoded; %-encoded ones redirect
from page_speed import MENU_COLUMNS, WORDS, free_port, one_client  # noqa: E402
from servers import served  # noqa: E402

TARGET_MS = 100.0
MENU = "&".join(f"_col={c}" for c in MENU_COLUMNS)
SEED = 14


def _column(conn: sqlite3.Connection, sql: str, count: int) -> list[str]:
    return [str(r[0]) for r in conn.execute(sql, (count,))]


def clerk_urls(db: Path, count: int = 100, seed: int = SEED) -> dict[str, list[str]]:
    """Kind of clerk page → URLs (distinct where the page has that many)."""
    rng = random.Random(seed)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    ids = _column(conn, "select id from proposals order by random() limit ?", count)
    statutes = _column(
        conn, "select statute_id from citations where statute_id is not null group by statute_id order by count(*) desc limit ?", count
    )
    governments = _column(
        conn,
        "select distinct local_government_id from proposal_local_governments"
        " where local_government_id not in (select id from prefectures) order by random() limit ?",
        count,
    )
    ministries = _column(conn, "select distinct ministry_id from proposal_ministries limit ?", count)
    prefectures = _column(conn, "select id from prefectures limit ?", count)
    years = _column(conn, "select distinct year from proposals limit ?", count)
    conn.close()
    words = list(WORDS)
    rng.shuffle(words)
    q = lambda s: quote(s, safe="")  # noqa: E731
    return {
        "トップ /": ["/"],
        "検索 /search": [f"/search?q={q(w)}" for w in words],
        "検索＋絞り込み": [f"/search?q={q(w)}&year={y}" for w, y in zip(words, years * len(words))],
        "検索（該当なし）": [f"/search?q={q(w + '存在しない語')}" for w in words],
        "検索（登録簿で広げる: 都道府県・府省の略称・法令の別名）": [f"/search?q={q(p)}" for p in prefectures]
        + ["/search?q=" + q("農水省"), "/search?q=" + q("マイナンバー法"), "/search?q=" + q("番号利用法")],
        # as the site's menu opens it (the columns of site/plugins/pages.py LIST_COLUMNS); a facet link keeps them
        "提案の一覧（メニューから）": [f"/kb/proposals?{MENU}"],
        "提案の一覧（年で絞り込み）": [f"/kb/proposals?{MENU}&year={y}" for y in years],
        "提案の一覧（35 列すべて、研究者向け）": ["/kb/proposals"],
        "提案のページ": [f"/kb/proposals/{tilde_encode(i)}" for i in ids],
        "法令のページ": [f"/kb/statutes/{tilde_encode(s)}" for s in statutes],
        "団体のページ": [f"/kb/local_governments/{tilde_encode(g)}" for g in governments],
        "府省のページ": [f"/kb/ministries/{tilde_encode(m)}" for m in ministries],
        "都道府県のページ": [f"/kb/prefectures/{tilde_encode(p)}" for p in prefectures],
        "法令の一覧": ["/kb/statutes"],
        "クエリ: 法令から探す": [f"/kb/proposals_citing_statute?statute={q(s)}&article=" for s in statutes],
        "クエリ: 法令から探す（10ページ目、最も深いページ）": [f"/kb/proposals_citing_statute?statute={q(s)}&article=&page=10" for s in statutes],
        "クエリ: 団体名から探す": [f"/kb/proposals_of_local_government?name={q(g)}" for g in governments],
        "クエリ: 都道府県から探す": [f"/kb/proposals_of_prefecture?name={q(p)}" for p in prefectures],
        "クエリ: 再提案の経過": [f"/kb/reproposal_chain?id={q(i)}" for i in ids],
        "クエリ: 府省別・年別": ["/kb/proposals_per_ministry_year"],
        "クエリ: 対応結果別": ["/kb/proposals_per_outcome"],
        "クエリ: 実現の割合": ["/kb/realisation_rate_per_year"],
        "クエリ: 分野別・年別": ["/kb/proposals_per_field_year"],
        "クエリ: 団体別の提案数": ["/kb/proposals_per_local_government"],
        "データの説明 /-/data": ["/-/data"],
        "すべての表と SQL /kb": ["/kb"],
        "提案前チェック /-/prior-art": ["/-/prior-art"],
        "グラフ /-/charts": ["/-/charts"],
        "新着フィード /feed.atom": ["/feed.atom"],
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['proposals']:,} proposals, one client, server warm, page cache off, {result['rounds']} rounds "
        f"({result['measured']}):",
        "",
        "| page | requests | p50 ms | p95 ms | ≤ 100 ms |",
        "| --- | ---: | ---: | ---: | :---: |",
    ]
    for kind, r in result["one client"].items():
        ok = "○" if r["p95_ms"] <= TARGET_MS else "×"
        lines.append(f"| {kind} | {r['requests']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {ok} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--only", action="append", default=[], help="only kinds containing this text (repeatable)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    proposals = conn.execute("select count(*) from proposals").fetchone()[0]
    conn.close()
    urls = clerk_urls(args.db)
    if args.only:
        urls = {k: v for k, v in urls.items() if any(o in k for o in args.only)}
    result: dict[str, Any] = {"proposals": proposals, "rounds": args.rounds, "measured": time.strftime("%Y-%m-%d %H:%M")}
    with served("site", free_port(), args.db, page_cache=False) as base:
        result["one client"] = one_client(base, urls, args.rounds)
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
