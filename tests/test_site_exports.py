"""Exports (site/plugins/exports.py) through the served site: every result of a search as CSV/JSON, in the
search's order and filters; the Excel BOM and Japanese headers on those and on Datasette's own table CSV."""

from __future__ import annotations

import csv
import html as htmllib
import io
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from served_site import SiteClient

BOM = b"\xef\xbb\xbf"
HEADERS = ["順位", "提案ID", "年", "和暦", "管理番号", "提案事項", "提案区分", "分野", "府省", "提案団体", "公表段階", "対応結果", "関連度",
           "一致した場所", "URL"]
QUERY = "に関する"  # in every synthetic title: all 120 proposals match


@pytest.fixture(scope="module")
def site(synthetic_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    """The synthetic corpus (120 proposals), one proposal's title made formula-like, exports in chunks of 16 rows."""
    db_path = tmp_path_factory.mktemp("exports") / "kb.db"
    shutil.copy(synthetic_db, db_path)
    conn = sqlite3.connect(db_path)
    with conn:  # the title is stored text; the FTS index keeps the old one, so the proposal is still found
        conn.execute("update proposals set title = '=HYPERLINK(\"http://x\")' || title where id = '2014-0001'")
    conn.close()
    client = SiteClient(db_path)
    # The site's own configuration key (documented in docs/site.md), small so that 120 rows take 8 queries.
    client.ds._metadata_local.setdefault("plugins", {})["kb-exports"] = {"chunk_rows": 16}
    yield client
    client.close()


def ranked_ids(site: SiteClient, *pairs: tuple[str, str]) -> list[str]:
    """The proposal IDs of every page of /search, in order (the page lists 20 a page)."""
    ids: list[str] = []
    page = 1
    while True:
        text = site.get("/search?" + urlencode([*pairs, ("page", str(page))])).text
        found = re.findall(r'<h2><a href="/kb/proposals/([0-9-]+)"', text)
        ids += found
        if 'rel="next"' not in text and "次のページ" not in text:
            return ids
        page += 1


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_search_csv_has_every_result_in_ranking_order_with_japanese_headers(site: SiteClient) -> None:
    response = site.get("/search.csv?" + urlencode({"q": QUERY}))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = csv_rows(response.content)
    assert rows[0] == HEADERS
    assert not response.content.startswith(BOM)  # only on request
    ids = [r[1] for r in rows[1:]]
    assert len(ids) == 120 and len(set(ids)) == 120  # every proposal, over 8 chunks, none twice
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 121))
    assert ids == ranked_ids(site, ("q", QUERY))  # the order of the search page, page after page
    scores = [float(r[12]) for r in rows[1:]]
    assert scores == sorted(scores, reverse=True)  # bm25 turned positive: best first
    assert all(re.fullmatch(r"\d+\.\d{1,2}", r[12]) for r in rows[1:])  # rounded, not raw bm25
    first = rows[1]
    assert first[14] == f"http://localhost/kb/proposals/{first[1]}"
    assert {r[13] for r in rows[1:]} == {"本文"}  # every hit is in the text (no law, prefecture or ministry named)
    assert first[6].startswith(("A ", "B ")) and first[2] == first[1][:4]


def test_search_export_applies_the_filters_of_the_page(site: SiteClient) -> None:
    page_ids = ranked_ids(site, ("q", QUERY), ("year", "2016"))
    rows = csv_rows(site.get("/search.csv?" + urlencode({"q": QUERY, "year": "2016"})).content)[1:]
    assert [r[1] for r in rows] == page_ids and len(page_ids) == 10
    assert {r[2] for r in rows} == {"2016"}
    ministry = rows[0][8].split("、")[0]
    narrowed = csv_rows(site.get("/search.csv?" + urlencode([("q", QUERY), ("year", "2016"), ("ministries", ministry)])).content)[1:]
    assert 0 < len(narrowed) < len(rows)
    assert all(ministry in r[8].split("、") for r in narrowed)
    assert [r[1] for r in narrowed] == [r[1] for r in rows if ministry in r[8].split("、")]


def test_search_csv_bom_for_excel_and_cells_never_formulas(site: SiteClient) -> None:
    response = site.get("/search.csv?" + urlencode({"q": QUERY, "_bom": "1"}))
    assert response.content.startswith(BOM)
    text = response.content.decode("utf-8-sig")  # what Excel does with a BOM
    assert text.startswith("順位,提案ID,")
    titles = {r[1]: r[5] for r in csv_rows(response.content)[1:]}
    assert titles["2014-0001"].startswith("'=HYPERLINK(")  # shown as text, never run
    assert not any(t.startswith(("=", "+", "-", "@")) for t in titles.values())
    english = csv_rows(site.get("/search.csv?" + urlencode({"q": QUERY, "_ja": "0"})).content)
    assert english[0][:3] == ["rank", "id", "year"]


def test_search_json_is_valid_json_with_every_result(site: SiteClient) -> None:
    response = site.get("/search.json?" + urlencode({"q": QUERY, "year": "2016"}))
    assert response.headers["content-type"].startswith("application/json")
    data: dict[str, Any] = json.loads(response.text)
    assert data["query"] == QUERY and data["filters"] == [{"param": "year", "value": "2016"}]
    assert data["count"] == len(data["rows"]) == 10
    row = data["rows"][0]
    assert row["rank"] == 1 and isinstance(row["ministries"], list) and row["year"] == 2016
    everything = json.loads(site.get("/search.json?" + urlencode({"q": QUERY})).text)
    assert [r["id"] for r in everything["rows"]] == ranked_ids(site, ("q", QUERY))
    formula = next(r for r in everything["rows"] if r["id"] == "2014-0001")
    assert formula["title"].startswith("=HYPERLINK(")  # JSON keeps the data as it is
    japanese = json.loads(site.get("/search.json?" + urlencode({"q": QUERY, "_ja": "1"})).text)
    assert list(japanese["rows"][0]) == HEADERS
    empty = json.loads(site.get("/search.json?q=").text)
    assert empty["rows"] == [] and empty["count"] == 0


def test_search_page_links_to_the_exports_with_its_query_and_filters(site: SiteClient) -> None:
    text = site.get("/search?" + urlencode({"q": QUERY, "year": "2016"})).text
    links = [htmllib.unescape(u) for u in re.findall(r'<a class="kb-export" href="([^"]*)"', text)]
    assert len(links) == 3 and "Excel 用（BOM 付き）" in text
    for link in links:
        assert "year=2016" in link
        response = site.get(link)
        assert response.status_code == 200
    assert site.get(links[1]).content.startswith(BOM)


def test_table_csv_gets_a_bom_and_japanese_headers_on_request(site: SiteClient) -> None:
    plain = site.get("/kb/proposals.csv?_size=3")
    assert plain.content.startswith(b"id,year,")
    both = site.get("/kb/proposals.csv?_size=3&_bom=1&_ja=1&_labels=on")
    assert both.content.startswith(BOM)
    rows = csv_rows(both.content)
    assert rows[0][:6] == ["提案ID", "年", "和暦", "管理番号", "整理番号", "提案事項"]
    assert "提案区分（名称）" in rows[0]
    assert rows[1:] == csv_rows(site.get("/kb/proposals.csv?_size=3&_labels=on").content)[1:]  # same data
    streamed = site.get("/kb/proposals.csv?_stream=on&_bom=1&_size=50")
    assert streamed.content.startswith(BOM + b"id,year,")
    assert len(csv_rows(streamed.content)) == 121  # every row, streamed past the page size
    assert site.get("/kb/proposals.csv?_bom=0&_size=1").content.startswith(b"id,")


def test_table_page_offers_the_excel_csv(site: SiteClient) -> None:
    text = site.get("/kb/proposals").text
    link = htmllib.unescape(re.findall(r'<a class="kb-excel-csv" href="([^"]*)"', text)[0])
    response = site.get(link)
    assert response.status_code == 200 and response.content.startswith(BOM)
    assert csv_rows(response.content)[0][0] == "提案ID"
    assert len(csv_rows(response.content)) == 121  # _stream=on: every row, not the page's


@pytest.mark.parametrize("path", ["/kb/proposals_per_outcome.csv", "/-/charts/year-outcome.csv"])
def test_japanese_headers_option_keeps_the_header_on_its_own_line_in_any_csv(site: SiteClient, path: str) -> None:
    """Reported in review: `_ja=1` on a CSV that is not a table's joined its header line to the first row."""
    plain = site.get(path).text.splitlines()
    japanese = site.get(path + "?_ja=1&_bom=1").text.lstrip("\ufeff").splitlines()
    assert len(japanese) == len(plain) > 1 and japanese[1:] == plain[1:]
