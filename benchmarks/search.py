"""Build time, database size and search latency on a synthetic corpus (results go in docs/benchmarks.md).

    python benchmarks/search.py 4250          # about the size of all years (H26–R7)
    python benchmarks/search.py 10000 --real tests/fixtures/corpus

Also compares the two ways of answering a 1-character query: a prefix query on the bigram
index (what the site does) against a separate unigram index (not built; measured here only).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import generate  # noqa: E402

from kb.build import FTS_TOKENIZER, build  # noqa: E402
from kb.search import ranked_search  # noqa: E402
from kb.serve import DB_NAME, make_datasette  # noqa: E402
from kb.textnorm import fts_query, normalize, runs  # noqa: E402

QUERIES = ["畑", "童", "児童", "農地", "番号", "待機児童", "情報連携", "保育 農地", "ＬＧＷＡＮ", "国民健康保険"]
REPEAT = 20


def _ms(fn, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def unigram_table(conn: sqlite3.Connection) -> int:
    """The alternative design for 1-char queries: one token per character. Returns its size in bytes."""
    conn.execute(f"create virtual table uni using fts5(body, tokenize='{FTS_TOKENIZER}', content='')")
    rows = conn.execute("select rowid, title, measures, problems, effects, first_answer, second_answer from proposals")
    data = []
    for rowid, *texts in rows:
        text = "\n".join(t for t in texts if t)
        data.append((rowid, " ".join(ch for run in runs(normalize(text)) for ch in run)))
    conn.executemany("insert into uni (rowid, body) values (?, ?)", data)
    conn.commit()
    return conn.execute("select sum(length(block)) from uni_data").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--real", type=Path, default=Path(__file__).resolve().parent.parent / "proposals")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "corpus"
        start = time.perf_counter()
        generate(args.n, out, args.real)
        print(f"generated {args.n} files in {time.perf_counter() - start:.1f} s")
        db_path = Path(tmp) / "kb.db"
        start = time.perf_counter()
        result = build(db_path, [out])
        print(f"kb build: {time.perf_counter() - start:.1f} s, {result.counts['proposals']} proposals")
        conn = sqlite3.connect(db_path)
        total = db_path.stat().st_size
        fts = conn.execute("select sum(length(block)) from proposals_fts_data").fetchone()[0]
        text = conn.execute("select sum(length(cast(measures as blob)) + length(cast(problems as blob))) from proposals")
        print(f"database {total / 1e6:.1f} MB, of which bigram FTS index {fts / 1e6:.1f} MB")
        print(f"(measures+problems text alone: {text.fetchone()[0] / 1e6:.1f} MB)")
        conn.create_function("escape_fts", 1, fts_query)
        print("\n| query | hits | FTS match (ms) | table page with 6 facets (ms) | ranked /search page (ms) |")
        print("|---|---|---|---|---|")
        ds = make_datasette(db_path)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(ds.client.get("/"))
        db = ds.get_database(DB_NAME)
        for q in QUERIES:
            sql = "select count(*) from proposals_fts where proposals_fts match escape_fts(?)"
            hits = conn.execute(sql, (q,)).fetchone()[0]
            match_ms = _ms(lambda: conn.execute(sql, (q,)).fetchone())
            path = f"/kb/proposals.json?_search={quote(q)}&_col=title"
            page_ms = _ms(lambda: loop.run_until_complete(ds.client.get(path)), 5)
            search_ms = _ms(lambda: loop.run_until_complete(ranked_search(db, q)), 5)
            print(f"| {q} | {hits} | {match_ms:.1f} | {page_ms:.0f} | {search_ms:.0f} |")
        size = unigram_table(conn)
        print(f"\nunigram index (alternative for 1-char queries): {size / 1e6:.1f} MB extra")
        for q in ["畑", "童"]:
            prefix = _ms(lambda: conn.execute("select count(*) from proposals_fts where proposals_fts match ?", (fts_query(q),)).fetchone())
            uni = _ms(lambda: conn.execute("select count(*) from uni where uni match ?", (f'"{q}"',)).fetchone())
            print(f"1-char {q}: bigram prefix {prefix:.1f} ms, unigram table {uni:.1f} ms")
        loop.close()


if __name__ == "__main__":
    main()
