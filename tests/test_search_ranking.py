"""The unfiltered ranking (FTS index alone, then id order for equal scores) gives the pages the join gives."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import sqlite_utils

from kb.db.schema import FTS_TOKENIZER
from kb.pipeline import build
from kb.search.index import stored_texts
from kb.search.query import PER_PAGE, TIE_MARGIN, ranked_search, ranked_sql, register_functions
from kb.serve import make_datasette


def pages_by_search(db_path: Path, query: str, pages: int) -> list[list[str]]:
    """Hit ids of pages 1…`pages` of `/search` as the site makes them (kb.search.query.ranked_search)."""
    ds = make_datasette(db_path, page_cache=False)
    db = ds.get_database("kb")

    async def run() -> list[list[str]]:
        return [[h.id for h in (await ranked_search(db, query, page=n)).hits] for n in range(1, pages + 1)]

    try:
        return asyncio.run(run())
    finally:
        db.close()


def pages_by_join(db_path: Path, query: str, pages: int) -> list[list[str]]:
    """The same pages from the form that joins every hit to `proposals` (what a filtered search runs)."""
    conn = sqlite3.connect(f"file:{db_path}?immutable=1", uri=True)
    register_functions(conn)
    sql = ranked_sql("1", by_index=False)
    found = [[r[0] for r in conn.execute(sql, {"q": query, "limit": PER_PAGE, "offset": n * PER_PAGE})] for n in range(pages)]
    conn.close()
    return found


def test_unfiltered_ranking_gives_the_pages_the_join_gives(synthetic_db: Path) -> None:
    compared = 0
    for query in ["番号", "保育", "農地 介護", "法", "情報連携", "税"]:
        by_search = pages_by_search(synthetic_db, query, 4)
        assert by_search == pages_by_join(synthetic_db, query, 4), query
        compared += sum(map(len, by_search))
    assert compared > 200


def test_unfiltered_ranking_keeps_id_order_when_more_hits_tie_than_the_margin(tmp_path: Path) -> None:
    """Review fault: with more than TIE_MARGIN equal scores and rowids out of id order (an incremental build
    re-inserts changed proposals last), pages showed some hits twice and others never."""
    source = (Path(__file__).parent / "fixtures" / "corpus" / "2023" / "0001.md").read_text(encoding="utf-8")
    corpus = tmp_path / "corpus" / "2023"
    corpus.mkdir(parents=True)
    count = TIE_MARGIN + 2 * PER_PAGE + 5  # identical texts: every hit scores the same

    def write(number: int, date: str = "2023-12-22") -> None:
        text = re.sub(r"(?m)^(number|serial): 1$", rf"\g<1>: {number}", source).replace("date: 2023-12-22", f"date: {date}")
        (corpus / f"{number:04d}.md").write_text(text, encoding="utf-8")

    for number in range(1, count + 1):
        write(number)
    db_path = tmp_path / "kb.db"
    build(db_path, [tmp_path / "corpus"])
    for number in (2, 3, 4, 5):  # re-inserted: their rowids now come after every other
        write(number, "2023-12-21")
    assert build(db_path, [tmp_path / "corpus"]).mode == "incremental"
    pages = -(-count // PER_PAGE)
    by_search = pages_by_search(db_path, "保育", pages)
    assert by_search == pages_by_join(db_path, "保育", pages)
    shown = [i for page in by_search for i in page]
    assert shown == sorted(shown) and len(set(shown)) == count


def test_one_character_queries_read_a_prefix_index_with_the_same_hits(synthetic_db: Path, tmp_path: Path) -> None:
    """`prefix='1'` (kb.search.index.create_index) makes `"法"*` one list read instead of a merge of every bigram
    starting with 法; the hits must be those of the same text in a table without it."""
    conn = sqlite3.connect(synthetic_db)
    declared = conn.execute("select sql from sqlite_master where name = 'proposals_fts'").fetchone()[0]
    assert "prefix='1'" in declared
    texts = stored_texts(sqlite_utils.Database(conn), [r[0] for r in conn.execute("select id from proposals")])
    plain = sqlite3.connect(tmp_path / "plain.db")
    plain.execute(f"create virtual table f using fts5(title, names, body, tokenize='{FTS_TOKENIZER}', content='')")
    plain.executemany("insert into f (rowid, title, names, body) values (?, ?, ?, ?)", [(r, *t) for r, t in texts.items()])
    register_functions(conn)
    register_functions(plain)
    for query in ["法", "税", "児", "番 法", "保育 法"]:
        with_prefix = conn.execute("select rowid from proposals_fts where proposals_fts match escape_fts(?) order by rowid", (query,))
        without = plain.execute("select rowid from f where f match escape_fts(?) order by rowid", (query,))
        found = [r[0] for r in with_prefix]
        assert found == [r[0] for r in without], query
        assert found, query
