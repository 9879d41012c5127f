"""/search through the registries: a law's alias, a prefecture's name and a ministry's short name find the
proposals linked to them, text hits rank first, and every hit found outside the text says where it matched.

The site is built once from tests/fixtures/search_registries/ (synthetic, see its README).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from served_site import SiteClient, corpus_site

from kb.search import query as search

CORPUS = Path(__file__).parent / "fixtures" / "search_registries"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("search-registries"), CORPUS)
    yield client
    client.close()


def hits(site: SiteClient, query: str, page: int = 1) -> list[tuple[str, list[str]]]:
    """(proposal id, reasons shown) of each result, in rank order."""
    response = site.get("/search?q=" + quote(query) + (f"&page={page}" if page > 1 else ""))
    assert response.status_code == 200
    found = []
    for item in re.findall(r'<li class="kb-hit">(.*?)</li>\n', response.text, re.S):
        pid = re.search(r"（(\d{4}-\d{4})）", item)
        assert pid, item
        reasons = [unescape(r) for r in re.findall(r'<span class="kb-reason">([^<]*)</span>', item)]
        found.append((pid.group(1), reasons))
    return found


def test_law_alias_finds_the_citing_proposal_and_says_it_cites_the_law(site: SiteClient) -> None:
    # 0001 writes only 「番号法第9条」: neither マイナンバー法 nor the law's title is in its text.
    assert hits(site, "マイナンバー法") == [("2023-0001", ["法令: 番号利用法（マイナンバー法）を引用"])]
    title = "行政手続における特定の個人を識別するための番号の利用等に関する法律"
    assert hits(site, title) == [("2023-0001", ["法令: 番号利用法を引用"])]
    html = site.get("/search?q=" + quote("マイナンバー法")).text
    assert "その法令を引用している提案" in html and "/kb/statutes/425AC0000000027" in html


def test_prefecture_finds_its_municipalities_proposals_after_the_text_hits(site: SiteClient) -> None:
    assert hits(site, "宮城県") == [
        ("2023-0003", []),  # 鹿児島市's text mentions 宮城県: a direct hit, first, its snippet shows why
        ("2023-0001", ["提案団体: 多賀城市（宮城県）"]),
        ("2023-0002", ["提案団体: 仙台市（宮城県）"]),
    ]
    html = site.get("/search?q=" + quote("宮城県")).text
    assert "都道府県の団体が提案した" in html and "<strong>3 件</strong>" in html


def test_registry_hits_page_after_the_text_hits(site: SiteClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # Queries spelled differently (spaces around the name) give URLs no earlier test asked for: the site caches pages.
    monkeypatch.setattr(search, "PER_PAGE", 2)  # page 1: the text hit and the first registry hit; page 2: the other
    assert [[pid for pid, _ in hits(site, " 宮城県", page)] for page in (1, 2, 3)] == [
        ["2023-0003", "2023-0001"],
        ["2023-0002"],
        [],
    ]
    monkeypatch.setattr(search, "PER_PAGE", 1)  # pages after the last text hit: the text hits are counted
    assert [[pid for pid, _ in hits(site, "宮城県 ", page)] for page in (1, 2, 3)] == [["2023-0003"], ["2023-0001"], ["2023-0002"]]


def test_prefecture_counts_additional_co_proposers(site: SiteClient) -> None:
    assert hits(site, "福島県") == [("2023-0002", ["追加共同提案団体: 川内村（福島県）"])]


def test_hit_only_in_a_name_says_which_name_matched(site: SiteClient) -> None:
    # 「児」 is nowhere in 0003's text, only in 鹿児島市; 0004's body has 児童 (its snippet shows it, no reason).
    assert dict(hits(site, "児")) == {"2023-0003": ["提案団体: 鹿児島市"], "2023-0004": []}
    assert hits(site, "デジタル") == [("2023-0001", ["府省: デジタル庁", "重点募集テーマ: デジタル化"])]


def test_ministry_short_name_finds_the_ministrys_proposals(site: SiteClient) -> None:
    assert hits(site, "農水省") == [("2023-0004", ["府省: 農林水産省（農水省）"])]


def json_object(site: SiteClient, path: str) -> dict[str, Any]:
    data = site.json(path)
    assert isinstance(data, dict)
    return data


def test_export_follows_the_same_expansion_and_order(site: SiteClient) -> None:
    data = json_object(site, "/search.json?q=" + quote("宮城県"))
    assert [r["id"] for r in data["rows"]] == ["2023-0003", "2023-0001", "2023-0002"]
    assert data["rows"][1]["score"] is None  # found through the registry only: no text score
    assert [r["matched"] for r in data["rows"]] == ["本文", "登録簿（引用した法令・県内の団体・府省）", "登録簿（引用した法令・県内の団体・府省）"]


def test_registry_filters_apply_to_the_expanded_set(site: SiteClient) -> None:
    response = site.get("/search?q=" + quote("宮城県") + "&policy_field=" + quote("11_総務"))
    assert "<strong>1 件</strong>" in response.text and "（2023-0001）" in response.text


def test_reasons_are_escaped(site: SiteClient) -> None:
    html = site.get("/search?q=" + quote("<b>宮城県")).text
    assert "<b>宮城県" not in html.replace("&lt;b&gt;宮城県", "")


def test_retired_canned_query_redirects_to_the_ranked_search(site: SiteClient) -> None:
    for old, new in (
        ("/kb/search?q=" + quote("宮城県"), "/search?q=" + quote("宮城県")),
        ("/kb/search.csv?q=" + quote("児") + "&_size=max", "/search.csv?q=" + quote("児")),
        ("/kb/search", "/search"),
    ):
        response = site.get(old)
        assert (response.status_code, response.headers["location"]) == (301, new)
    assert "search" not in [q["name"] for q in json_object(site, "/kb.json")["queries"]]


def facet_counts(html: str) -> dict[str, dict[str, int]]:
    """Facet heading → {value label: count} as the search page shows them."""
    found: dict[str, dict[str, int]] = {}
    for heading, body in re.findall(r"<h3>(.*?)</h3>(.*?)</section>", html, re.S):
        pairs = re.findall(r'<a href="[^"]*"[^>]*>(.*?)</a> <span class="kb-facet-count">([\d,]+)</span>', body)
        found[heading] = {unescape(label): int(count.replace(",", "")) for label, count in pairs}
    return found


def test_facets_of_a_query_matching_most_proposals_leave_out_the_rest(site: SiteClient) -> None:
    # 「化」 finds 0001–0003 (デジタル化, 弾力化, 簡素化), not 0004: more than half the table, so the facets are the
    # stored whole-table counts less 0004's (2023, B, 農業・農地, 農林水産省, 神奈川県) — which must then be absent.
    found = facet_counts(site.get("/search?q=" + quote("化")).text)
    assert found["年"] == {"2023年（令和5年）": 3}
    assert found["提案区分"] == {"B 地方に対する規制緩和": 3}
    assert found["分野"] == {"総務": 1, "教育・文化": 1, "環境・衛生": 1}
    assert found["府省"] == {"デジタル庁": 1, "文部科学省": 1, "環境省": 1}
    assert found["都道府県"] == {"宮城県": 2, "鹿児島県": 1}
