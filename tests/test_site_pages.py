"""The served site's pages: Japanese front page, the proposal page read like the official sheet, links."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlite_utils
from datasette.app import Datasette
from served_site import SiteClient, corpus_site

from kb.core import column_notes
from kb.core.vocab import SectionKey
from kb.serve import load_metadata


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("pages"))
    yield client
    client.close()


def section_headings(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'<section class="kb-section" id="[a-z_]+">\s*<h2>(.*?)</h2>', html)]


def test_front_page_is_japanese_and_links_the_main_views(site: SiteClient) -> None:
    html = site.get("/").text
    assert "<h1>提案募集方式 提案データベース</h1>" in html
    assert "探し方" in html and "1文字" in html
    assert 'action="/search"' in html
    assert "/kb/proposals?_col=title" in html
    assert 'href="/kb/local_governments"' in html and 'href="/kb/ministries"' in html
    assert "提案 <strong>6 件</strong>" in html
    assert "府省別・年別の提案数" in html  # canned queries listed


def test_proposal_page_shows_every_section_in_official_order(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2024-0071").text
    expected = [k.value for k in SectionKey if k is not SectionKey.REVIEW_POINTS]  # this sheet has no 再検討の視点
    assert section_headings(html) == expected
    assert "<h3>全国知事会</h3>" in html
    assert "提案の実現に向けて特に積極的な検討を求める。" in html
    assert "<li>○当市においても提案団体が示すような業務負担が生じている。</li>" in html  # Markdown rendered


def test_proposal_page_shows_the_sheet_header(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2024-0071").text
    assert '<h1 class="kb-sheet-title">都道府県と教育委員会が一つの自治体中間サーバーを利用することを可能とすること</h1>' in html
    assert "令和6年（2024年）" in html
    assert "B 地方に対する規制緩和" in html and "11_総務" in html and "デジタル化" in html
    assert "対応方針に記載なし" in html and "2024-12-24 閣議決定" in html


def test_proposal_page_links_local_governments_ministries_and_sources(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2024-0071").text
    for name in ("宮城県", "岩手県", "花巻市", "熊本市"):
        assert f'<a href="/kb/local_governments/{quote(name).replace("%", "~")}">{name}</a>' in html
    for name in ("デジタル庁", "総務省"):
        assert f'<a href="/kb/ministries/{quote(name).replace("%", "~")}">{name}</a>' in html
    assert "令和6年 地方分権改革に関する提案募集 提案事項 デジタル庁 最終的な調整結果" in html
    assert "proposals/2024/0071.md" in html


def test_local_government_and_ministry_pages_list_their_proposals(site: SiteClient) -> None:
    html = site.get("/kb/local_governments/" + quote("熊本県").replace("%", "~")).text
    assert "関わった提案（2 件）" in html
    assert '<a href="/kb/proposals/2023-0002">農地転用許可の権限移譲</a>' in html
    html = site.get("/kb/ministries/" + quote("デジタル庁").replace("%", "~")).text
    assert '<a href="/kb/proposals/2024-0071">' in html and "回答府省" in html


def test_link_table_records_the_role(site: SiteClient) -> None:
    rows = site.json("/kb/proposal_local_governments.json?_shape=array&local_government_id=" + quote("花巻市"))
    assert rows == [{"proposal_id": "2024-0071", "local_government_id": "花巻市", "role": "追加共同提案団体", "position": 1}]


def test_script_and_javascript_links_in_a_proposal_are_inert(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2023-0005").text
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in html or '&lt;script&gt;alert("xss")&lt;/script&gt;' in html
    assert "<script>alert" not in html
    assert "javascript:alert(1)" not in html
    assert not re.search(r'href="\s*javascript:', html, re.IGNORECASE)
    assert not re.search(r"<img\b", html)  # raw HTML is shown as text, never as an element
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html
    assert "詳細はこちら" in html  # the link text stays, only the link is gone
    assert "javascript:alert(&#39;source&#39;)</span>" in html  # a bad source URL is shown as text


def test_unknown_proposal_is_a_404(site: SiteClient) -> None:
    assert site.get("/kb/proposals/2099-0001").status_code == 404


def test_table_page_has_japanese_title_and_configured_facets(site: SiteClient) -> None:
    html = site.get("/kb/proposals").text
    assert "<h1" in html and "提案" in html
    data = site.json("/kb/proposals.json?_col=title")
    assert set(data["facet_results"]) == {
        "year", "category", "policy_field", "ministries", "outcome", "theme", "proponent_prefectures", "proponent_kinds",
        "statutes", "statute_kinds",
    }


def test_category_facet_shows_the_japanese_label(site: SiteClient) -> None:
    data = site.json("/kb/proposals.json?_col=title")
    labels = {r["label"]: r["count"] for r in data["facet_results"]["category"]["results"]}
    assert labels == {"B 地方に対する規制緩和": 5, "A 権限移譲": 1}


def test_site_menu_has_japanese_links(site: SiteClient) -> None:
    html = site.get("/kb/proposals").text
    assert "全文検索（関連度順）" in html and "地方公共団体" in html


def test_name_lists_in_the_proposal_table_are_links_not_json(site: SiteClient) -> None:
    html = site.get("/kb/proposals?_col=ministries&_col=proponents&id=2024-0071").text
    assert '<a href="/kb/ministries/' in html and ">デジタル庁</a>、<a" in html
    assert '["デジタル庁"' not in html and "[&#34;デジタル庁" not in html


def test_names_with_markup_are_escaped_in_table_cells(tmp_path: Path) -> None:
    client = corpus_site(tmp_path)
    try:
        db = sqlite_utils.Database(tmp_path / "kb.db")  # hostile content put straight into a real database
        db["proposals"].update("2023-0005", {"proponents": json.dumps(["<b>太字市</b>"])})
        db.conn.commit()
        html = client.get("/kb/proposals?_col=proponents&id=2023-0005").text
        assert "&lt;b&gt;太字市&lt;/b&gt;</a>" in html and "<b>太字市</b>" not in html
    finally:
        client.close()


def test_columns_and_facets_have_japanese_labels(site: SiteClient) -> None:
    html = site.get("/kb/proposals?_col=title&_col=year").text
    assert '>提案事項</a>' in html and '<span class="kb-colname">title</span>' in html
    assert "<strong>関係府省" in html and "<strong>年" in html


def test_breadcrumbs_use_japanese_titles(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2024-0071").text
    crumbs = re.sub(r"\s+", " ", html[html.index('class="crumbs"') : html.index("</p>", html.index('class="crumbs"'))])
    assert '<a href="/">トップ</a> / <a href="/kb">提案データベース</a> / <a href="/kb/proposals?_col=title&amp;' in crumbs
    assert crumbs.rstrip().endswith('">提案</a>')


def test_column_descriptions_are_kept_out_of_datasettes_metadata_but_still_label_columns(site: SiteClient) -> None:
    """Datasette deep-copies its metadata on every permission check: the descriptions live in kb.core.column_notes."""
    tables = site.ds.metadata("tables", database="kb") or {}
    assert tables["proposals"].get("title") == "提案" and "columns" not in tables["proposals"]
    assert column_notes.of(site.ds, "kb", "proposals")["title"].startswith("提案事項")
    html = site.get("/kb/proposals?_col=title").text
    assert 'title="提案事項' in html  # the header's tooltip
    plain = Datasette(metadata=load_metadata())  # as `datasette package` / the Dockerfile start it
    assert column_notes.of(plain, "kb", "proposals")["title"].startswith("提案事項")


def test_table_rows_filter_writes_the_cells_datasettes_loop_wrote() -> None:
    """`kb_table_rows` replaces the nested Jinja loop of Datasette's _table.html; the markup must not change."""
    from datasette.utils import to_css_class
    from jinja2 import Environment
    from markupsafe import Markup

    spec = importlib.util.spec_from_file_location("kb_test_pages", Path(__file__).resolve().parent.parent / "site" / "plugins" / "pages.py")
    assert spec is not None and spec.loader is not None
    pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pages)
    table_rows = pages.table_rows

    loop = Environment(autoescape=True)
    loop.filters["to_css_class"] = to_css_class
    template = loop.from_string(
        "{% for row in display_rows %}<tr>{% for cell in row %}"
        '<td class="col-{{ cell.column|to_css_class }} type-{{ cell.value_type }}">{{ cell.value }}</td>'
        "{% endfor %}</tr>{% endfor %}"
    )
    rows = [
        [{"column": "id", "value_type": "pk", "value": Markup('<a href="/kb/proposals/2024-71">2024-71</a>')},
         {"column": "title <x>", "value_type": "str", "value": "<script>alert(1)</script> & 「番号」"},
         {"column": "年 度", "value_type": "int", "value": 2024},
         {"column": "proponents", "value_type": "str", "value": Markup("&nbsp;")}],
        [{"column": "id", "value_type": "pk", "value": Markup("<a>x</a>")},
         {"column": "title <x>", "value_type": "none", "value": None},
         {"column": "年 度", "value_type": "int", "value": 0},
         {"column": "proponents", "value_type": "str", "value": '"quoted"'}],
    ]
    assert str(table_rows(rows)).replace("\n", "") == template.render(display_rows=rows)


def test_proposal_route_serves_what_datasettes_row_view_served(tmp_path: Path) -> None:
    """row_pages.py's route for `/kb/proposals/<id>` skips the row view's generic work; page and headers stay its own.

    (A site of its own: another Datasette made in this process changes what Datasette 0.65's row view puts
    in its footer — its metadata merging shares dicts between instances.)
    """
    from datasette.utils.asgi import Request
    from datasette.views.row import RowView

    site = corpus_site(tmp_path)

    def row_view(pid: str) -> tuple[int, str, dict[str, str]]:
        request = Request.fake(f"/kb/proposals/{pid}", url_vars={"database": "kb", "table": "proposals", "pks": pid, "format": None})
        request.scope["csrftoken"] = lambda: ""
        response = site.loop.run_until_complete(RowView.as_view(site.ds)(request, None))
        body = response.body if isinstance(response.body, str) else response.body.decode()
        return response.status, body, {k.lower(): v for k, v in response.headers.items()}

    timing = re.compile(r"処理時間 [0-9.]+ ms")
    ids = [r["id"] for r in site.json("/kb/proposals.json?_shape=array&_col=id")]  # type: ignore[union-attr]
    assert len(ids) == 6
    for pid in ids:
        status, body, headers = row_view(pid)
        served = site.get(f"/kb/proposals/{pid}")
        assert (served.status_code, timing.sub("", served.text)) == (status, timing.sub("", body)), pid
        for name in ("link", "referrer-policy"):  # (Cache-Control is the page cache's, for both)
            assert served.headers[name] == headers[name], (pid, name)
    assert site.get("/kb/proposals/2099-0001").status_code == 404
    assert site.get("/kb/proposals/2024-0071.json").json()["rows"][0][0] == "2024-0071"  # formats: still the row view
    site.close()


def test_proposal_page_and_its_crumbs_follow_the_permissions_of_the_metadata(tmp_path: Path) -> None:
    """The route and the breadcrumbs keep anonymous answers per site; a table closed by `allow` stays closed."""
    client = corpus_site(tmp_path)
    try:
        tables = client.ds._metadata_local["databases"]["kb"]["tables"]
        tables["statutes"]["allow"] = {"id": "editor"}  # no visitor here is that actor
        html = client.get("/kb/statutes").text
        assert client.get("/kb/statutes").status_code == 403 and 'href="/kb/statutes"' not in html
        tables["proposals"]["allow"] = {"id": "editor"}
        assert client.get("/kb/proposals/2024-0071").status_code == 403
        assert client.get("/kb/proposals/2024-0071").status_code == 403  # refused again: a refusal is not kept
    finally:
        client.close()


def test_proposal_route_answers_odd_requests_as_the_row_view_did(site: SiteClient) -> None:
    """Review faults of the proposal route: a non-ASCII digit in `_ttl` was a 500, any method got the page,
    and the JSON links lost the query string."""
    assert site.get("/kb/proposals/2024-0071?_ttl=%C2%B2").status_code == 200  # "²".isdigit(), yet no int
    post = site.loop.run_until_complete(site.ds.client.post("/kb/proposals/2024-0071"))
    assert (post.status_code, post.text) == (405, "Method not allowed")
    options = site.loop.run_until_complete(site.ds.client.options("/kb/proposals/2024-0071"))
    assert (options.status_code, options.text) == (200, "ok")
    shaped = site.get("/kb/proposals/2024-0071?_shape=array")
    assert shaped.headers["link"].startswith("http://localhost/kb/proposals/2024-0071.json?_shape=array;")
    assert 'href="/kb/proposals/2024-0071.json?_shape=array"' in shaped.text


def test_forbidden_proposal_page_says_what_the_row_view_said(tmp_path: Path) -> None:
    client = corpus_site(tmp_path)
    try:
        client.ds._metadata_local["databases"]["kb"]["tables"]["proposals"]["allow"] = {"id": "editor"}
        page = client.get("/kb/proposals/2024-0071")
        assert page.status_code == 403 and "You do not have permission to view this table" in page.text
    finally:
        client.close()
