"""Every page's footer: the data's as-of line and the PDL1.0 attribution; statute pages without editors' notes (#14)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from served_site import SiteClient, corpus_site

PAGES = ["/", "/kb/proposals", "/kb/proposals/2024-0071", "/search?q=%E5%85%90%E7%AB%A5", "/kb/statutes/425AC0000000027", "/-/prior-art"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("footer"))
    yield client
    client.close()


def _footer(html: str) -> str:
    found = re.search(r"<footer[^>]*>(.*?)</footer>", html, re.S)
    assert found
    return found.group(1)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_says_how_far_the_data_goes_and_credits_the_source_under_pdl(site: SiteClient, path: str) -> None:
    footer = _footer(site.get(path).text)
    newest = site.json("/kb.json?sql=select+max(decision_date)+as+d,+count(*)+as+n+from+proposals&_shape=array")[0]  # type: ignore[index]
    assert f"提案 {newest['n']:,} 件（{newest['d']} の閣議決定まで）" in footer
    assert "PDL1.0" in footer and "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0" in footer
    assert "加工して作成" in footer and "https://www.cao.go.jp/bunken-suishin/" in footer


def test_statute_page_keeps_editors_notes_off_the_page(site: SiteClient) -> None:
    page = site.get("/kb/statutes/mynumber-table2-ordinance").text
    assert "旧い題名の引用を読むために残している" not in page and "備考" not in page
    assert "data/statutes.yaml" not in page
    row = site.json("/kb/statutes/mynumber-table2-ordinance.json?_shape=array")
    assert "旧い題名の引用を読むために残している" in row[0]["note"]  # type: ignore[index]  # still data, for SQL and JSON


def test_a_pages_footer_does_not_depend_on_which_pages_the_process_served_before(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Datasette's table and database views fill the source and licence into the metadata they share with every
    later view (`update_with_inherited_metadata` on the dict itself): the proposal page's footer came without the
    source's link until a table page had been viewed in that process, and with it after."""
    site = corpus_site(tmp_path_factory.mktemp("footer-order"), page_cache=False)  # each view rendered again
    try:
        first = {path: _footer(site.get(path).text) for path in PAGES if path != "/kb/proposals"}
        for path in ("/kb/proposals", "/kb"):
            assert site.get(path).status_code == 200
        for path, footer in first.items():
            again = _footer(site.get(path).text)
            assert re.sub(r"処理時間 [0-9.]+ ms", "", again) == re.sub(r"処理時間 [0-9.]+ ms", "", footer), path
            assert '<a href="https://www.cao.go.jp/bunken-suishin/">' in footer, path  # the source named with its link
    finally:
        site.close()
