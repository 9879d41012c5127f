"""似た提案 and 再提案の経過 on the proposal page, served for real (site/plugins/sheet.py).

Corpus: tests/fixtures/similar/ — the two real 令和6年 proposals, two synthetic earlier rounds of
2024-0071 (2022-0012 names 2021-0031 in its text) and an unrelated synthetic proposal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from served_site import SiteClient, corpus_site

CORPUS = Path(__file__).parent / "fixtures" / "similar"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("similar-site"), CORPUS)
    yield client
    client.close()


def _section(html: str, section_id: str) -> str:
    found = re.search(rf'<section class="[^"]*" id="{section_id}">(.*?)</section>', html, re.S)
    assert found, section_id
    return found.group(1)


def test_proposal_page_lists_similar_proposals_with_what_they_share(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2024-0071").text
    similar = _section(html, "similar")
    links = re.findall(r'href="/kb/proposals/([0-9-]+)"', similar)
    assert links[0] == "2021-0031" and "2022-0012" in links
    assert "令和3年 管理番号31" in similar and "宮城県、仙台市" in similar and "対応結果：現行規定により対応可能" in similar
    assert re.search(r"共通する語：[^<]*中間サーバー", similar)


def test_proposal_page_shows_the_rounds_of_the_same_ask_in_year_order(site: SiteClient) -> None:
    chain = _section(site.get("/kb/proposals/2024-0071").text, "reproposals")
    years = re.findall(r"（(\d{4})年） 管理番号", chain)
    assert years == ["2021", "2024"]
    assert 'aria-current="true"' in chain and "推定" in chain and "共通の提案団体: 宮城県、仙台市" in chain
    named = _section(site.get("/kb/proposals/2022-0012").text, "reproposals")
    assert "明示" in named and "令和3年の提案(管理番号31)" in named


def test_a_proposal_without_earlier_or_later_rounds_shows_no_timeline(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2023-0002").text
    assert 'id="reproposals"' not in html


def test_similar_and_chain_tables_are_json_for_tools(site: SiteClient) -> None:
    rows = site.json("/kb/similar_proposals.json?_shape=array&proposal_id=2024-0071&_sort=rank")
    assert isinstance(rows, list) and rows[0]["similar_id"] == "2021-0031" and rows[0]["rank"] == 1
    chain = site.json("/kb/reproposal_chain.json?_shape=array&id=2024-0071")
    assert [r["提案ID"] for r in chain] == ["2021-0031", "2024-0071"]  # type: ignore[index]
