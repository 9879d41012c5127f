"""Each phrase's bm25 kept in memory (kb.search.phrases): the same scores as FTS5's, and the same search pages."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from kb.search.filters import Filters, where_sql
from kb.search.phrases import ENTRY_BYTES, PhraseScores
from kb.search.query import (
    _PHRASE_SCORES,
    PER_PAGE,
    PHRASE_SQL,
    SearchPage,
    count_sql,
    expanded_sql,
    facets_sql,
    phrase_scores,
    ranked_search,
    ranked_sql,
    registry_expansion,
)
from kb.search.textnorm import fts_phrases
from kb.serve import make_datasette

# One phrase, several, a 1-character prefix, a phrase twice, a word found nowhere, punctuation only.
QUERIES = ["番号", "保育", "情報連携", "介護 医療", "保育 農地 児童", "法", "番号 法", "保育 保育", "存在しない語句", "、。"]


def fts5_scores(synthetic_conn: sqlite3.Connection, query: str) -> dict[int, float]:
    sql = "select rowid, bm25(proposals_fts, 10.0, 5.0, 1.0) from proposals_fts where proposals_fts match escape_fts(?)"
    return dict(synthetic_conn.execute(sql, (query,)).fetchall())


def test_summed_phrase_scores_are_fts5_bm25_bit_for_bit(synthetic_conn: sqlite3.Connection) -> None:
    """What the module rests on: bm25 of ANDed phrases = the phrases' own scores added in query order."""
    scores = PhraseScores(PHRASE_SQL)
    compared = 0
    for query in QUERIES:
        scored = scores.query(synthetic_conn, fts_phrases(query))
        assert dict(zip(scored.rowids.tolist(), scored.scores.tolist(), strict=True)) == fts5_scores(synthetic_conn, query), query
        assert scored.rowids.tolist() == sorted(scored.rowids.tolist())
        compared += len(scored.rowids)
    assert compared > 300  # the comparison is not of empty results


def test_phrase_scores_keep_within_their_budget_and_answer_the_same(synthetic_conn: sqlite3.Connection) -> None:
    whole = PhraseScores(PHRASE_SQL)
    tight = PhraseScores(PHRASE_SQL, budget=whole.phrase(synthetic_conn, '"番号"').nbytes + 1)  # room for about one phrase
    for query in QUERIES * 2:
        expected = whole.query(synthetic_conn, fts_phrases(query))
        found = tight.query(synthetic_conn, fts_phrases(query))
        assert found.rowids.tolist() == expected.rowids.tolist() and found.scores.tolist() == expected.scores.tolist()
        assert sum(s.nbytes for s in tight._kept.values()) <= tight.budget
    assert len(tight) <= 2 < len(whole)


def search(db_path: Path, query: str, page: int = 1) -> tuple[SearchPage, Any]:
    ds = make_datasette(db_path, page_cache=False)
    db = ds.get_database("kb")

    async def run() -> SearchPage:
        return await ranked_search(db, query, page=page)

    return asyncio.run(run()), db


def test_search_page_counts_and_facets_every_row_the_phrases_match(synthetic_db: Path, synthetic_conn: sqlite3.Connection) -> None:
    """The page's total and facets come from the rows scored in memory: those of FTS5's own match and counts."""
    for query in QUERIES:
        page, db = search(synthetic_db, query)
        assert page.total == len(fts5_scores(synthetic_conn, query)), query
        where, params = where_sql(())
        rows = synthetic_conn.execute(facets_sql(False, where), {"q": query, **params}).fetchall()
        expected = {(f, str(v)): n for f, v, n, _ in rows if f and v is not None and n > 0}
        assert {(g.param, v.value): v.count for g in page.facets for v in g.values} == expected, query
        db.close()


def test_search_pages_reuse_the_phrases_scored_for_an_earlier_search(synthetic_db: Path) -> None:
    _PHRASE_SCORES.clear()
    first, db = search(synthetic_db, "番号 農地")
    kept = phrase_scores(db)
    assert len(kept) == 2 and first.total > 0
    second, db = search(synthetic_db, "番号", page=2)  # a phrase already scored, another page
    assert phrase_scores(db) is kept and len(kept) == 2
    assert [h.id for h in second.hits] and second.start == 21
    db.close()


def test_phrase_scores_are_dropped_when_the_database_file_is_replaced(synthetic_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "kb.db"
    copy.write_bytes(synthetic_db.read_bytes())
    page, db = search(copy, "保育")
    kept = phrase_scores(db)
    assert len(kept) == 1
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # what a rebuild renamed into place changes
    assert phrase_scores(db) is not kept
    db.close()


def test_filtered_search_pages_are_those_the_sql_gives(
    synthetic_db: Path, synthetic_conn: sqlite3.Connection, search_filter_sets: list[Filters]
) -> None:
    """With filters the hits are scored in memory too: pages, totals and facets as the SQL join gives them."""
    ds = make_datasette(synthetic_db, page_cache=False)
    db = ds.get_database("kb")

    async def pages(query: str, filters: Filters) -> list[SearchPage]:
        return [await ranked_search(db, query, page=n, filters=filters) for n in (1, 2)]

    compared = 0
    try:
        for query in ["番号", "保育", "介護 医療", "法"]:
            for filters in search_filter_sets:
                where, params = where_sql(filters)
                sql = ranked_sql(where, by_index=False)
                found = asyncio.run(pages(query, filters))
                for n, page in enumerate(found):
                    expected = [r[0] for r in synthetic_conn.execute(sql, {"q": query, "limit": PER_PAGE, "offset": n * PER_PAGE, **params})]
                    assert [h.id for h in page.hits] == expected, (query, filters, n)
                    compared += len(expected)
                total = synthetic_conn.execute(count_sql(False, where), {"q": query, **params}).fetchone()[0]
                assert found[0].total == total, (query, filters)
                rows = synthetic_conn.execute(facets_sql(False, where), {"q": query, **params}).fetchall()
                counted = {(f, str(v)): n for f, v, n, _ in rows if f and v is not None and n > 0}
                assert {(g.param, v.value): v.count for g in found[0].facets for v in g.values} == counted, (query, filters)
    finally:
        db.close()
    assert compared > 200


def test_searches_naming_a_registry_give_the_pages_the_sql_gives(
    synthetic_db: Path, synthetic_conn: sqlite3.Connection, search_filter_sets: list[Filters]
) -> None:
    """A law's name or alias, a prefecture, a ministry's short name: text hits by bm25, then the proposals the
    registries add by id — every page, the total and the facets as `expanded_sql` gives them."""
    ds = make_datasette(synthetic_db, page_cache=False)
    db = ds.get_database("kb")
    short = synthetic_conn.execute("select short_name from ministries where short_name is not null and short_name <> id order by id").fetchone()[0]
    queries = ["番号利用法", "マイナンバー法", "宮城県", short]

    async def run(query: str, filters: Filters) -> tuple[dict[str, str], list[SearchPage]]:
        params = (await registry_expansion(db, query)).params
        return params, [await ranked_search(db, query, page=n, filters=filters) for n in range(1, 8)]

    registry_only = 0
    try:
        for query in queries:
            for filters in search_filter_sets:
                expansion, found = asyncio.run(run(query, filters))
                where, params = where_sql(filters)
                params = {"q": query, **expansion, **params}
                sql = expanded_sql(where)
                for n, page in enumerate(found):
                    expected = [r[0] for r in synthetic_conn.execute(sql, {**params, "limit": PER_PAGE, "offset": n * PER_PAGE})]
                    assert [h.id for h in page.hits] == expected, (query, filters, n)
                    registry_only += sum(not h.in_text for h in page.hits)
                assert found[0].total == synthetic_conn.execute(count_sql(True, where), params).fetchone()[0], (query, filters)
                rows = synthetic_conn.execute(facets_sql(True, where), params).fetchall()
                counted = {(f, str(v)): n for f, v, n, _ in rows if f and v is not None and n > 0}
                assert {(g.param, v.value): v.count for g in found[0].facets for v in g.values} == counted, (query, filters)
    finally:
        db.close()
    assert registry_only > 20  # the pages where the registry-only hits follow the text hits were compared


def test_scoring_phrases_stops_at_the_time_limit(synthetic_conn: sqlite3.Connection) -> None:
    """Scored in memory, the phrases' statements run outside `db.execute`: they carry the site's time limit themselves."""
    scores = PhraseScores(PHRASE_SQL)
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        scores.query(synthetic_conn, fts_phrases("番号 保育"), time_limit_ms=0.001)
    assert len(scores) == 0  # nothing half-read is kept
    assert len(scores.query(synthetic_conn, fts_phrases("番号 保育"), time_limit_ms=60_000).rowids) > 0  # the handler is gone after


def test_search_past_the_time_limit_answers_in_japanese(synthetic_db: Path) -> None:
    ds = make_datasette(synthetic_db, page_cache=False)
    ds._settings["sql_time_limit_ms"] = 1  # what a slow search meets on a large database
    _PHRASE_SCORES.clear()

    async def get() -> Any:
        return await ds.client.get("/search?q=" + quote("番号 事務 保育 農地 介護 医療 児童 情報連携 個人情報 学校"))

    response = asyncio.run(get())
    assert response.status_code == 400
    assert "時間の上限" in response.text


def test_phrases_found_nowhere_count_against_the_budget(synthetic_conn: sqlite3.Connection) -> None:
    """Review fault: a phrase matching nothing took 0 bytes, so such phrases were kept without end."""
    scores = PhraseScores(PHRASE_SQL, budget=50 * ENTRY_BYTES)
    for i in range(400):
        scores.query(synthetic_conn, [f'"{chr(0x4E00 + 2 * i)}{chr(0x4E01 + 2 * i)}"'])
    assert 0 < len(scores) <= 50


def test_a_phrase_is_not_scored_once_the_others_match_nothing(synthetic_conn: sqlite3.Connection) -> None:
    scores = PhraseScores(PHRASE_SQL)
    assert not len(scores.query(synthetic_conn, fts_phrases("存在しない語句")).rowids)
    assert not len(scores.query(synthetic_conn, fts_phrases("保育 存在しない語句")).rowids)
    assert not scores.holds(fts_phrases("保育")[0])  # the kept phrase went first and matched nothing


def test_kept_phrases_stop_intersecting_at_the_time_limit(synthetic_conn: sqlite3.Connection) -> None:
    scores = PhraseScores(PHRASE_SQL)
    scores.query(synthetic_conn, fts_phrases("番号 保育"))
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        scores.query(synthetic_conn, fts_phrases("番号 保育"), time_limit_ms=0.001)


def test_an_index_row_without_its_proposal_is_not_a_hit(synthetic_db: Path, tmp_path: Path) -> None:
    """Review fault: a row of the search index whose proposal is gone (the SQL's join drops it) made /search fail."""
    copy = tmp_path / "kb.db"
    copy.write_bytes(synthetic_db.read_bytes())
    before, db = search(copy, "番号")
    db.close()
    conn = sqlite3.connect(copy)
    last = conn.execute("select max(rowid) from proposals").fetchone()[0]
    with conn:
        conn.execute("insert into proposals_fts (rowid, title, names, body) values (?, '番号', '', '番号')", (last + 5,))
    conn.close()
    _PHRASE_SCORES.clear()
    after, db = search(copy, "番号")
    db.close()
    assert after.total == before.total
    assert [h.id for h in after.hits] == [h.id for h in before.hits]
