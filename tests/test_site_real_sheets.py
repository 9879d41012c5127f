"""The real sheets 令和6年 管理番号70 and 71, built and served: every section shown, searches that clerks would type."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest
from served_site import SiteClient, corpus_site

from kb.core.models import Proposal
from kb.files.parse import parse_file

REAL = Path(__file__).parent / "fixtures" / "real"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("real"), REAL)
    yield client
    client.close()


def _proposal(number: int) -> Proposal:
    return parse_file(REAL / "2024" / f"{number:04d}.md")


def _visible_text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def _ids(site: SiteClient, query: str) -> set[str]:
    rows = site.json(f"/kb/proposals.json?_shape=array&_col=title&_search={quote(query)}")
    return {r["id"] for r in rows}


@pytest.mark.parametrize("number", [70, 71])
def test_proposal_page_shows_every_section_of_the_real_sheet_in_order(site: SiteClient, number: int) -> None:
    proposal = _proposal(number)
    html = site.get(f"/kb/proposals/{proposal.id}").text
    headings = [unescape(h) for h in re.findall(r'<section class="kb-section" id="[a-z_]+">\s*<h2>(.*?)</h2>', html)]
    assert headings == [key.value for key in proposal.sections]
    text = _visible_text(html)
    for key, body in proposal.sections.items():
        for line in (body or "").splitlines():
            words = re.sub(r"^[-*]\s+|\*\*|[`#>]", "", line).strip()
            if words:
                assert words[:30] in text, (key.value, words[:30])
    for association, opinion in proposal.opinions.items():
        assert f"<h3>{association.value}</h3>" in html
        assert (opinion or "—")[:30] in text


def test_two_character_word_inside_a_compound_is_found(site: SiteClient) -> None:
    assert _ids(site, "児童") == {"2024-0070"}  # only as 児童手当


def test_half_and_full_width_find_the_same_real_sheet(site: SiteClient) -> None:
    assert _ids(site, "LGWAN") == _ids(site, "ＬＧＷＡＮ") == {"2024-0070"}


def test_word_in_both_sheets_gives_facet_counts_over_both(site: SiteClient) -> None:
    data = site.json(f"/kb/proposals.json?_col=title&_search={quote('番号')}")
    assert {r[0] for r in data["rows"]} == {"2024-0070", "2024-0071"}
    ministries = {r["value"]: r["count"] for r in data["facet_results"]["ministries"]["results"]}
    assert ministries == {"総務省": 2, "デジタル庁": 1}


def test_ranked_search_quotes_the_real_sheet(site: SiteClient) -> None:
    html = site.get("/search?q=" + quote("中間サーバー")).text
    assert re.findall(r'<h2><a href="/kb/proposals/([0-9-]+)"', html) == ["2024-0071"]
    assert "<mark>中間サーバー</mark>" in html


def test_local_government_page_lists_both_real_sheets(site: SiteClient) -> None:
    html = site.get("/kb/local_governments/" + quote("宮城県").replace("%", "~")).text
    assert "関わった提案（2 件）" in html
    assert 'href="/kb/proposals/2024-0070"' in html and 'href="/kb/proposals/2024-0071"' in html
