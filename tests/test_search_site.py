"""Japanese search through the served site: the table search box, its facets, and the ranked /search page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from served_site import SiteClient, corpus_site

from kb.search import query as search


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("search"))
    yield client
    client.close()


def table_search(site: SiteClient, query: str, extra: str = "") -> dict:
    return site.json(f"/kb/proposals.json?_search={quote(query)}&_shape=objects&_col=title{extra}")


def found_ids(site: SiteClient, query: str) -> set[str]:
    return {row["id"] for row in table_search(site, query)["rows"]}


def facet_counts(data: dict, facet: str) -> dict:
    return {r["value"]: r["count"] for r in data["facet_results"][facet]["results"]}


def test_escape_fts_override_is_active(site: SiteClient) -> None:
    rows = site.json("/kb.json?sql=" + quote("select escape_fts('待機児童') as q") + "&_shape=array")
    assert rows == [{"q": '"待機 機児 児童"'}]  # Datasette's own escape_fts would give "待機児童"


def test_two_character_query_finds_words_inside_longer_words(site: SiteClient) -> None:
    assert found_ids(site, "児童") == {"2023-0001", "2023-0004"}  # 待機児童, 児童福祉法
    assert found_ids(site, "農地") == {"2023-0002", "2023-0003"}
    assert found_ids(site, "保育") == {"2023-0001", "2023-0003"}


def test_one_character_query_finds_the_character_anywhere(site: SiteClient) -> None:
    assert found_ids(site, "畑") == {"2023-0002", "2023-0003"}  # 0002 has 畑 only before 「。」


def test_four_character_query_needs_the_characters_in_a_row(site: SiteClient) -> None:
    assert found_ids(site, "情報連携") == {"2023-0004", "2024-0071"}  # 0002's 「情報の連携」 does not count


def test_two_word_query_needs_both_words_and_facets_count_only_those(site: SiteClient) -> None:
    data = table_search(site, "保育 農地", "&_facet=year")
    assert [r["id"] for r in data["rows"]] == ["2023-0003"]
    assert facet_counts(data, "year") == {2023: 1}
    assert facet_counts(data, "ministries") == {"農林水産省": 1, "こども家庭庁": 1}
    assert facet_counts(data, "policy_field") == {"02_農業・農地": 1}


def test_facets_count_the_filtered_results_of_a_search(site: SiteClient) -> None:
    data = table_search(site, "情報連携")
    assert facet_counts(data, "year") == {2023: 1, 2024: 1}
    assert facet_counts(data, "theme") == {"デジタル化": 2}
    assert facet_counts(data, "ministries") == {"デジタル庁": 2, "総務省": 1}


def test_full_width_and_half_width_spellings_find_the_same_proposals(site: SiteClient) -> None:
    assert found_ids(site, "ＬＧＷＡＮ") == found_ids(site, "LGWAN") == found_ids(site, "lgwan") == {
        "2023-0001",
        "2023-0004",
    }


def test_variant_characters_find_each_other(site: SiteClient) -> None:
    assert found_ids(site, "高崎") == found_ids(site, "髙﨑") == {"2023-0003"}


def test_names_of_local_governments_are_searchable(site: SiteClient) -> None:
    assert found_ids(site, "熊本県") == {"2023-0002", "2023-0003"}


def test_search_can_be_combined_with_a_facet_filter(site: SiteClient) -> None:
    data = table_search(site, "児童", "&outcome=" + quote("提案の趣旨を踏まえ対応"))
    assert [r["id"] for r in data["rows"]] == ["2023-0001"]


def test_table_json_api_returns_plain_arrays(site: SiteClient) -> None:
    rows = site.json("/kb/proposals.json?_shape=array&_col=title&_col=year&_sort=id")
    assert rows[0] == {"id": "2023-0001", "title": "保育所における待機児童対策のための面積基準の特例", "year": 2023}
    assert len(rows) == 6


def test_search_page_ranks_a_title_match_first(site: SiteClient) -> None:
    html = site.get("/search?q=" + quote("連携")).text
    ranked = re.findall(r'<h2><a href="/kb/proposals/([0-9-]+)"', html)
    assert ranked[0] == "2023-0004"
    assert sorted(ranked) == ["2023-0002", "2023-0004", "2024-0071"]
    assert "3 件" in html


def test_search_page_quotes_the_original_text_in_snippets(site: SiteClient) -> None:
    html = site.get("/search?q=lgwan").text
    assert "<mark>ＬＧＷＡＮ</mark>を通じた情報連携" in html
    assert "<mark>LGWAN</mark>経由" in html
    assert "lg gw" not in html  # never the bigram text


def test_search_page_explains_an_empty_result(site: SiteClient) -> None:
    html = site.get("/search?q=" + quote("存在しない語句")).text
    assert "0 件" in html and "見つかりませんでした" in html


def test_search_page_pages_through_results_without_repeats(site: SiteClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "PER_PAGE", 2)
    pages = [
        re.findall(r'<h2><a href="/kb/proposals/([0-9-]+)"', site.get(f"/search?q=%E3%81%AE&page={n}").text)
        for n in (1, 2, 3, 4)
    ]
    everything = found_ids(site, "の")
    assert len(everything) == 6  # every proposal has の
    assert [len(p) for p in pages] == [2, 2, len(everything) - 4, 0]
    assert sorted(sum(pages, [])) == sorted(everything)
    assert site.get("/search?q=x&page=abc").status_code == 200


def test_ranked_search_exports_json_and_the_retired_canned_query_leads_there(site: SiteClient) -> None:
    response = site.get("/kb/search.json?_shape=array&q=" + quote("農地"))
    assert response.status_code == 301 and response.headers["location"] == "/search.json?q=" + quote("農地")
    data = site.json(response.headers["location"])
    assert isinstance(data, dict) and {r["id"] for r in data["rows"]} == {"2023-0002", "2023-0003"}


def test_script_in_a_proposal_is_inert_in_search_results(site: SiteClient) -> None:
    for path in ("/search?q=" + quote("危険"), "/kb/proposals?_search=" + quote("危険")):
        html = site.get(path).text
        assert "2023-0005" in html
        assert "<script>alert" not in html
        assert 'alert("xss")</script>' not in html
        assert "&lt;script&gt;" in html


def test_query_text_is_escaped_on_the_search_page(site: SiteClient) -> None:
    html = site.get("/search?q=" + quote('"><script>alert(1)</script>')).text
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_a_page_number_past_any_result_is_an_empty_page_not_an_error(site) -> None:
    """Reported in review: /search?q=児&page=99999999999999999999 was a 500 (SQLite integer overflow)."""
    for page in ("99999999999999999999", "99999"):
        response = site.get("/search?q=" + quote("児") + "&page=" + page)
        assert response.status_code == 200, page
