"""Facets and filters on the ranked /search page, through the served site (kb.search.filters, docs/search.md)."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from served_site import SiteClient, corpus_site

from kb.search import query as search
from kb.search.filters import parse_filters, where_sql


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("search-filters"))
    yield client
    client.close()


def page(site: SiteClient, *pairs: tuple[str, str]) -> str:
    response = site.get("/search?" + urlencode(pairs))
    assert response.status_code == 200, response.text[:500]
    return response.text


def ranked(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/kb/proposals/([0-9-]+)"', html)


def facets(html: str) -> dict[str, list[tuple[str, int, str]]]:
    """Facet heading → [(label, count, link)] in the page's order."""
    found: dict[str, list[tuple[str, int, str]]] = {}
    for heading, body in re.findall(r'<section class="kb-facet">\s*<h3>(.*?)</h3>(.*?)</section>', html, re.DOTALL):
        found[heading] = [
            (htmllib.unescape(label), int(count.replace(",", "")), htmllib.unescape(url))
            for url, label, count in re.findall(
                r'<a href="([^"]*)"[^>]*>(.*?)</a> <span class="kb-facet-count">([\d,]+)</span>', body
            )
        ]
    return found


def counts(html: str, heading: str) -> dict[str, int]:
    return {label: count for label, count, _ in facets(html)[heading]}


def test_facets_count_the_results_of_the_query(site: SiteClient) -> None:
    html = page(site, ("q", "連携"))  # 2023-0002, 2023-0004, 2024-0071
    assert counts(html, "府省") == {"デジタル庁": 2, "農林水産省": 1, "総務省": 1}
    assert counts(html, "年") == {"2024年（令和6年）": 1, "2023年（令和5年）": 2}
    assert counts(html, "提案区分") == {"B 地方に対する規制緩和": 2, "A 権限移譲": 1}
    assert counts(html, "分野") == {"総務": 2, "農業・農地": 1}
    assert counts(html, "都道府県") == {"宮城県": 2, "熊本県": 1, "岩手県": 1}
    assert counts(html, "法令") == {"児童福祉法": 1, "番号利用法": 1}
    assert set(facets(html)) == {"年", "提案区分", "分野", "府省", "対応結果", "重点募集テーマ", "都道府県", "団体属性", "法令"}


def test_year_facet_lists_years_newest_first_not_by_count(site: SiteClient) -> None:
    html = page(site, ("q", "の"))  # every proposal: five of 2023, one of 2024
    assert [(label, count) for label, count, _ in facets(html)["年"]] == [("2024年（令和6年）", 1), ("2023年（令和5年）", 5)]


def test_a_facet_link_adds_its_filter_and_gives_the_count_it_showed(site: SiteClient) -> None:
    html = page(site, ("q", "の"))
    for label, count, url in facets(html)["府省"]:
        assert "q=%E3%81%AE" in url and "ministries=" in url
        filtered = site.get(url).text
        assert len(ranked(filtered)) == count, label
        assert f"× 府省：{label}" in filtered  # the removable chip


def test_a_filter_narrows_the_results_and_keeps_their_ranking(site: SiteClient) -> None:
    everything = ranked(page(site, ("q", "連携")))
    assert everything[0] == "2023-0004"
    narrowed = ranked(page(site, ("q", "連携"), ("ministries", "デジタル庁")))
    assert narrowed == [i for i in everything if i in {"2023-0004", "2024-0071"}]
    assert ranked(page(site, ("q", "連携"), ("year", "2023"))) == [i for i in everything if i.startswith("2023")]


def test_two_filters_combine_with_and(site: SiteClient) -> None:
    assert sorted(ranked(page(site, ("q", "の"), ("ministries", "総務省")))) == ["2023-0005", "2024-0071"]
    assert sorted(ranked(page(site, ("q", "の"), ("year", "2023")))) == [f"2023-000{n}" for n in range(1, 6)]
    html = page(site, ("q", "の"), ("ministries", "総務省"), ("year", "2023"))
    assert ranked(html) == ["2023-0005"]
    assert "1 件" in html and "× 2023年" in html and "× 府省：総務省" in html
    assert counts(html, "府省") == {"× 総務省": 1}  # selected: its link takes the filter off
    # each chip removes only its own filter
    chips = dict(re.findall(r'<a class="kb-chip" href="([^"]*)"[^>]*>× (.*?)</a>', html))
    by_label = {label: htmllib.unescape(url) for url, label in chips.items()}
    assert sorted(ranked(site.get(by_label["2023年"]).text)) == ["2023-0005", "2024-0071"]


def test_paging_keeps_the_filters(site: SiteClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "PER_PAGE", 2)
    url = "/search?" + urlencode([("q", "の"), ("year", "2023")])
    seen: list[str] = []
    for _ in range(3):
        html = site.get(url).text
        seen += ranked(html)
        nexts = re.findall(r'<a href="([^"]*)">次のページ →</a>', html)
        if not nexts:
            break
        url = htmllib.unescape(nexts[0])
        assert "year=2023" in url and "page=" in url
    assert sorted(seen) == [f"2023-000{n}" for n in range(1, 6)]  # all five, none twice, never 2024


def test_no_results_page_suggests_what_to_try(site: SiteClient) -> None:
    html = page(site, ("q", "存在しない 語句"), ("year", "2023"))
    assert "0 件" in html and "見つかりませんでした" in html
    words = re.findall(r'<a class="kb-word" href="([^"]*)">(.*?)</a>', html)
    assert [w for _, w in words] == ["存在しない", "語句"]
    assert all("year=2023" in htmllib.unescape(u) for u, _ in words)
    assert 'href="/-/prior-art"' in html
    drops = re.findall(r'<a class="kb-drop-filter" href="([^"]*)">「(.*?)」の条件を外す</a>（([\d,]+) 件）', html)
    assert [(label, n) for _, label, n in drops] == [("2023年", "0")]


def test_no_results_because_of_a_filter_offers_to_remove_it(site: SiteClient) -> None:
    html = page(site, ("q", "児童"), ("ministries", "総務省"))
    assert ranked(html) == []
    drops = re.findall(r'<a class="kb-drop-filter" href="([^"]*)">「(.*?)」の条件を外す</a>（([\d,]+) 件）', html)
    assert [(label, n) for _, label, n in drops] == [("府省：総務省", "2")]
    assert sorted(ranked(site.get(htmllib.unescape(drops[0][0])).text)) == ["2023-0001", "2023-0004"]
    assert 'class="kb-word"' not in html  # one word: nothing to split


def test_empty_query_with_filters_keeps_them_for_the_next_search(site: SiteClient) -> None:
    html = page(site, ("year", "2023"), ("ministries", "総務省"))
    assert ranked(html) == []
    assert '<input type="hidden" name="year" value="2023">' in html
    assert '<input type="hidden" name="ministries" value="総務省">' in html
    assert "ministries__arraycontains=" in html  # the same filters on the list page, without a keyword


def test_filter_values_are_escaped_and_only_ever_sql_parameters(site: SiteClient) -> None:
    payloads = ['"><script>alert(1)</script>', "総務省' OR '1'='1", "x'); drop table proposals; --"]
    for payload in payloads:
        html = page(site, ("q", "の"), ("ministries", payload), ("theme", payload))
        assert ranked(html) == []  # no proposal has that ministry: the quote did not widen the search
        assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page(site, ("q", "の"), ("ministries", payloads[0]))
    assert len(ranked(page(site, ("q", "の")))) == 6  # the table is still there
    sql, params = where_sql(parse_filters([("ministries", payloads[2]), ("year", "2023 or 1=1"), ("nope", "1")]))
    assert payloads[2] not in sql and list(params.values()) == [payloads[2]]  # a year that is not digits is dropped


def test_facet_list_and_marked_filters_write_what_the_template_loops_wrote() -> None:
    """`kb_facet_list` and `kb_marked` replaced Jinja loops in search.html; the markup (escaping included) must not change."""
    import importlib.util
    from pathlib import Path

    from jinja2 import Environment

    spec = importlib.util.spec_from_file_location("kb_test_japanese_search", Path(__file__).resolve().parent.parent / "site" / "plugins" / "japanese_search.py")
    assert spec is not None and spec.loader is not None
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    loop = Environment(autoescape=True).from_string(
        '<ul>\n{% for v in values %}  <li{% if v.selected %} class="kb-facet-on"{% endif %}><a href="{{ v.url }}"'
        '{% if v.selected %} title="この条件を外す"{% endif %}>{% if v.selected %}× {% endif %}{{ v.label }}</a>'
        ' <span class="kb-facet-count">{{ "{:,}".format(v.count) }}</span></li>\n{% endfor %}</ul>'
    )
    values = [
        search.FacetValue("2023", "2023年（令和5年）", 12345, "/search?q=a&year=2023"),
        search.FacetValue("<b>", '<script>"x"</script> & 府省', 1, "/search?q=%3Cb%3E&ministries=<b>&x=\"", selected=True),
    ]
    assert str(plugin.facet_list(values)) == loop.render(values=values)
    parts = [("番号", False), ("<利用>", True), (" & ", False), ('"法"', True)]
    parts_loop = Environment(autoescape=True).from_string(
        "{% for text, matched in parts %}{% if matched %}<mark>{{ text }}</mark>{% else %}{{ text }}{% endif %}{% endfor %}"
    )
    assert str(plugin.marked(parts)) == parts_loop.render(parts=parts) and str(plugin.marked([])) == ""


def test_facet_links_are_the_search_url_with_one_filter_added(site: SiteClient) -> None:
    from urllib.parse import parse_qsl, urlsplit

    from kb.search.filters import search_url

    html = page(site, ("q", "連携 の"), ("year", "2023"))
    checked = 0
    for values in facets(html).values():
        for label, _, url in values:
            pairs = parse_qsl(urlsplit(url).query)
            if label.startswith("× "):
                assert pairs == [("q", "連携 の")], label  # the selected year's link takes it off
                continue
            assert pairs[:2] == [("q", "連携 の"), ("year", "2023")] and len(pairs) == 3, url
            assert url == search_url("/search", "連携 の", (("year", "2023"), pairs[2])), url
            checked += 1
    assert checked > 10
