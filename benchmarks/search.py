"""Search inside one process, without HTTP: where a search page's time goes, and the unigram alternative.

- FTS match: `count(*)` of the bigram index for a query (`escape_fts`, as the site registers it);
- ranked SQL: the `/search` page's query (bm25 order, 20 rows with their text) — `kb.search.query.RANKED_SQL`;
- unigram alternative for 1-character queries: a second FTS table with one token per character
  (not built by `kb build`; measured here only, in a separate database file, to show what it would cost).

`benchmarks/run.py` calls these for docs/benchmarks.md; alone, it prints them for one database:

    python benchmarks/search.py /tmp/kb-bench/kb-10000.db 税 保育 生活保護 "保育 農地"
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.db.schema import FTS_TABLE, FTS_TOKENIZER  # noqa: E402
from kb.search.query import PER_PAGE, RANKED_SQL  # noqa: E402
from kb.search.textnorm import fts_query, normalize, runs  # noqa: E402

REPEAT = 20
UNIGRAM_COLUMNS = ("title", "measures", "problems", "effects", "first_answer", "second_answer")


def median_ms(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def connect(db_path: Path) -> sqlite3.Connection:
    """Read-only connection with the site's `escape_fts` (query → bigram phrases)."""
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    conn.create_function("escape_fts", 1, fts_query)
    return conn


def query_times(db_path: Path, query: str) -> dict[str, float]:
    """Hits, FTS match ms and ranked-SQL ms (medians) for one query."""
    conn = connect(db_path)
    count = f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH escape_fts(?)"
    hits = conn.execute(count, (query,)).fetchone()[0]
    ranked = {"q": query, "limit": PER_PAGE, "offset": 0}
    out = {
        "hits": hits,
        "match_ms": median_ms(lambda: conn.execute(count, (query,)).fetchone()),
        "ranked_ms": median_ms(lambda: conn.execute(RANKED_SQL, ranked).fetchall(), 5),
    }
    conn.close()
    return out


def unigram_comparison(db_path: Path, chars: list[str]) -> dict[str, object]:
    """Size of a unigram index over the main text columns, and 1-character query times on both designs."""
    conn = connect(db_path)
    with tempfile.TemporaryDirectory() as tmp:
        conn.execute("ATTACH DATABASE ? AS uni", (str(Path(tmp) / "unigram.db"),))
        conn.execute(f"CREATE VIRTUAL TABLE uni.unigrams USING fts5(body, tokenize='{FTS_TOKENIZER}', content='')")
        rows = conn.execute(f"SELECT rowid, {', '.join(UNIGRAM_COLUMNS)} FROM proposals")
        conn.executemany(
            "INSERT INTO uni.unigrams (rowid, body) VALUES (?, ?)",
            ((rowid, " ".join(ch for run in runs(normalize("\n".join(t for t in texts if t))) for ch in run)) for rowid, *texts in rows),
        )
        conn.commit()
        size = conn.execute("SELECT sum(length(block)) FROM uni.unigrams_data").fetchone()[0]
        bigram_size = conn.execute(f"SELECT sum(length(block)) FROM {FTS_TABLE}_data").fetchone()[0]
        times = {}
        for ch in chars:
            prefix = f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
            uni = "SELECT count(*) FROM uni.unigrams WHERE unigrams MATCH ?"
            times[ch] = {
                "bigram_prefix_ms": median_ms(lambda: conn.execute(prefix, (fts_query(ch),)).fetchone()),
                "unigram_ms": median_ms(lambda: conn.execute(uni, (f'"{ch}"',)).fetchone()),
            }
        conn.execute("DETACH DATABASE uni")
    conn.close()
    return {"unigram_mb": size / 1e6, "bigram_mb": bigram_size / 1e6, "times": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("queries", nargs="+")
    parser.add_argument("--unigram", action="store_true", help="also build and time the unigram alternative")
    args = parser.parse_args()
    out: dict[str, object] = {q: query_times(args.db, q) for q in args.queries}
    if args.unigram:
        out["unigram"] = unigram_comparison(args.db, [q for q in args.queries if len(q) == 1])
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
