"""The search's facet counts from arrays in memory (kb.search.facet_index) equal the SQL counts (facets_sql)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import numpy as np

from kb.search.facet_index import FacetIndex, rowids_of
from kb.search.filters import Filters, where_sql
from kb.search.query import REGISTRY_SQL, _matching, facets_sql

QUERIES = ["番号", "保育", "農地", "児童", "介護 医療", "保育 農地", "税", "情報連携", "法", "存在しない語句"]


def by_sql(conn: sqlite3.Connection, query: str, filters: Filters) -> list[tuple[Any, ...]]:
    where, params = where_sql(filters)
    rows = conn.execute(facets_sql(False, where), {"q": query, **params}).fetchall()
    return sorted(((f, str(v), n, label) for f, v, n, label in rows if f == "" or (v is not None and n > 0)), key=str)


def by_index(conn: sqlite3.Connection, index: FacetIndex, query: str, filters: Filters) -> list[tuple[Any, ...]]:
    where, params = where_sql(filters)
    _, select = _matching(False, where)
    text = conn.execute(f"select group_concat(rid) from ({select})", {"q": query, **params}).fetchone()[0]
    return sorted(((f, str(v), n, label) for f, v, n, label in index.counts(rowids_of(text))), key=str)


def test_facet_index_counts_what_the_sql_counts_for_every_query_and_filter(
    synthetic_conn: sqlite3.Connection, search_filter_sets: list[Filters]
) -> None:
    index = FacetIndex.read(synthetic_conn)
    compared = 0
    for query in QUERIES:
        for filters in search_filter_sets:
            expected = by_sql(synthetic_conn, query, filters)
            assert by_index(synthetic_conn, index, query, filters) == expected, (query, filters)
            compared += expected[0][2] > 0
    assert compared > 30  # most combinations find something: the counts were compared, not two empty lists


def test_facet_index_ignores_repeated_and_unknown_rowids(synthetic_conn: sqlite3.Connection) -> None:
    index = FacetIndex.read(synthetic_conn)
    first, last = int(index.rowids[0]), int(index.rowids[-1])
    once = index.counts(np.array([first, last], dtype=np.int64))
    assert once[0] == ("", None, 2, None)
    assert index.counts(np.array([last, first, first, last + 10, -1, 0], dtype=np.int64)) == once
    assert index.counts(rowids_of(None)) == [("", None, 0, None)]


def test_facet_index_passes_the_proposals_the_filters_sql_selects(synthetic_conn: sqlite3.Connection, search_filter_sets: list[Filters]) -> None:
    index = FacetIndex.read(synthetic_conn)
    compared = 0
    for filters in search_filter_sets:
        where, params = where_sql(filters)
        expected = [r[0] for r in synthetic_conn.execute(f"select p.rowid from proposals p where {where} order by p.rowid", params)]
        assert index.passing(filters).tolist() == expected, filters
        compared += len(expected)
    assert compared > 120


def test_facet_index_names_the_proposals_registry_sql_finds(synthetic_conn: sqlite3.Connection) -> None:
    """Each law, prefecture and ministry, alone and together: the rowids the search's REGISTRY_SQL selects."""
    index = FacetIndex.read(synthetic_conn)
    statutes = [r[0] for r in synthetic_conn.execute("select id from statutes order by citation_count desc, id limit 5")]
    prefectures = [r[0] for r in synthetic_conn.execute("select distinct prefecture_id from proposal_prefectures order by 1")]
    ministries = [r[0] for r in synthetic_conn.execute("select distinct ministry_id from proposal_ministries order by 1")]
    cases = [([s], [], []) for s in statutes] + [([], [p], []) for p in prefectures] + [([], [], [m]) for m in ministries]
    cases += [(statutes[-1:], prefectures[:2], ministries[:1]), ([], [], []), (["存在しない法令"], ["存在しない県"], [])]
    found = 0
    for ids, prefs, mins in cases:
        params = {"ids": json.dumps(ids), "prefectures": json.dumps(prefs), "ministries": json.dumps(mins)}
        expected = sorted(r[0] for r in synthetic_conn.execute(REGISTRY_SQL, params))
        assert index.named(ids, prefs, mins).tolist() == expected, (ids, prefs, mins)
        found += len(expected)
    assert found > 200 and len(cases) > 20
