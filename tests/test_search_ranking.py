"""The unfiltered ranking (FTS index alone, then id order for equal scores) gives the same pages as the join."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kb.search.query import PER_PAGE, ranked_sql, register_functions


def test_unfiltered_ranking_gives_the_pages_the_filtered_form_gives(synthetic_db: Path) -> None:
    conn = sqlite3.connect(f"file:{synthetic_db}?immutable=1", uri=True)
    register_functions(conn)
    compared = 0
    for query in ["番号", "保育", "農地 介護", "法", "情報連携", "税"]:
        for offset in (0, PER_PAGE, 3 * PER_PAGE):
            params = {"q": query, "limit": PER_PAGE, "offset": offset}
            alone = [(r[0], r[-1]) for r in conn.execute(ranked_sql("1"), params)]
            joined = [(r[0], r[-1]) for r in conn.execute(ranked_sql("1 = 1"), params)]  # any other `where`: the join
            assert alone == joined, (query, offset)
            compared += len(alone)
    conn.close()
    assert compared > 200
