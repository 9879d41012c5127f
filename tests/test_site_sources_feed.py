"""The proposal page's 出典 (links to each source file with stage, ministry, link text, retrieval date and the page
it was found on, and the PDL1.0 attribution) and the Atom feed of new and updated proposals (issue #14).

One site built once from tests/fixtures/sources_feed (see its README); for the feed's limit, a copy of its
database with 50 more proposals, so the feed has 56 to choose from.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from datasette.utils import tilde_encode
from served_site import SiteClient, corpus_site
from test_site_japanese import english_ui

FIXTURE = Path(__file__).parent / "fixtures" / "sources_feed"
ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
GENERATED = 50  # proposals of 2022 with no date: older than every fixture proposal
ALTERNATE = re.compile(r'<link rel="alternate" type="application/atom\+xml" title="[^"]+" href="/feed\.atom">')


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("sources_feed"), FIXTURE)
    yield client
    client.close()


@pytest.fixture(scope="module")
def crowded_site(site: SiteClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    """The built database with 50 more proposals of 2022 (rows of 2023-0002 under new ids, no dates): 56 to choose from.

    The rows are added to a copy with SQL because building 50 more files takes seconds; the feed reads only
    `proposals`, `sources` and `categories`.
    """
    built = site.ds.get_database("kb").path
    assert built is not None
    path = tmp_path_factory.mktemp("sources_feed_crowded") / "kb.db"
    shutil.copyfile(built, path)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    template = dict(conn.execute("select * from proposals where id = '2023-0002'").fetchone())
    for number in range(1, GENERATED + 1):
        row = {**template, "id": f"2022-{number:04d}", "year": 2022, "era": "令和4年", "number": number, "serial": number}
        conn.execute(f"insert into proposals ({', '.join(row)}) values ({', '.join('?' * len(row))})", list(row.values()))
    conn.commit()
    conn.close()
    client = SiteClient(path)
    yield client
    client.close()


@pytest.fixture(scope="module")
def page(site: SiteClient) -> str:
    response = site.get("/kb/proposals/2024-0071")
    assert response.status_code == 200
    return response.text


def _sources(html: str) -> str:
    found = re.search(r'<section class="kb-sources".*?</section>', html, re.S)
    assert found, "no 出典 section"
    return found.group(0)


@pytest.fixture(scope="module")
def feed(site: SiteClient) -> tuple[str, ET.Element]:
    response = site.get("/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    return response.text, ET.fromstring(response.content)


def test_each_source_file_is_a_link_with_stage_ministry_link_text_and_retrieval_date(page: str) -> None:
    sources = _sources(page)
    final = "https://www.cao.go.jp/bunken-suishin/teianbosyu/doc/tb_r6fu_kekka_17digi.pdf"
    assert f'<a href="{final}" rel="noopener">令和6年 地方分権改革に関する提案募集 提案事項 デジタル庁 最終的な調整結果</a>' in sources
    assert '<span class="kb-source-stage">最終的な調整結果・デジタル庁</span>' in sources
    assert '<span class="kb-source-stage">第1次回答・デジタル庁</span>' in sources
    assert "取得日 2026-11-30" in sources and "取得日 2025-01-10" in sources
    assert "リンク表示「デジタル庁 個票" in sources
    found_on = "https://www.cao.go.jp/bunken-suishin/teianbosyu/r6/kekka.html"
    assert f'掲載ページ <a class="kb-url" href="{found_on}" rel="noopener">{found_on}</a>' in sources
    # The order of the file: 第1次回答 before 最終的な調整結果.
    assert sources.index("第1次回答・デジタル庁") < sources.index("最終的な調整結果・デジタル庁")


def test_a_page_url_that_is_not_http_is_shown_as_text_not_linked(page: str) -> None:
    sources = _sources(page)
    assert '掲載ページ <span class="kb-url">javascript:alert(&#39;page&#39;)</span>' in sources
    assert 'href="javascript' not in page


def test_a_source_url_that_is_not_http_is_text_and_the_title_stays_escaped(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2023-0005").text
    sources = _sources(html)
    assert '試験用の出典 <span class="kb-url">javascript:alert(&#39;source&#39;)</span>' in sources
    assert "『試験用の出典』を加工して作成" in sources  # no URL to cite: none printed
    assert "href=\"javascript" not in html
    assert "<script>alert('title')" not in html and "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html


def test_link_text_is_escaped(page: str) -> None:
    assert "<script>alert('link')" not in page
    assert "デジタル庁 個票&lt;script&gt;alert(&#39;link&#39;)&lt;/script&gt;(PDF形式:312KB)" in _sources(page)


def test_sources_carry_the_pdl_attribution_with_each_document_and_url(page: str) -> None:
    sources = _sources(page)
    assert (
        "出典：内閣府地方分権改革推進室"
        "『令和6年 地方分権改革に関する提案募集 提案事項 デジタル庁 第1次回答』"
        "（https://www.cao.go.jp/bunken-suishin/teianbosyu/doc/tb_r6fu_1ji_17digi.pdf）、"
        "『令和6年 地方分権改革に関する提案募集 提案事項 デジタル庁 最終的な調整結果』"
        "（https://www.cao.go.jp/bunken-suishin/teianbosyu/doc/tb_r6fu_kekka_17digi.pdf）を加工して作成"
    ) in sources
    assert 'rel="license">公共データ利用規約（PDL1.0）</a>' in sources


def test_a_proposal_without_sources_says_so_in_japanese(site: SiteClient) -> None:
    sources = _sources(site.get("/kb/proposals/2023-0002").text)
    assert "この提案には出典（個票などの公表資料）が記録されていません。" in sources
    assert "加工して作成" not in sources and "<ul" not in sources


def test_the_proposal_page_has_no_english_datasette_ui(page: str) -> None:
    assert english_ui(page) == []


def test_the_feed_is_atom_with_the_required_elements(feed: tuple[str, ET.Element]) -> None:
    _, root = feed
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert (root.findtext(f"{ATOM}{name}") or "").strip(), name
    assert root.findtext(f"{ATOM}title") == "提案募集方式 提案データベース：新着・更新された提案"
    assert RFC3339.match(root.findtext(f"{ATOM}updated") or "")
    rels = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert urlsplit(rels["self"] or "").path == "/feed.atom" and urlsplit(rels["alternate"] or "").path == "/"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 6
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert (entry.findtext(f"{ATOM}{name}") or "").strip(), name
        assert RFC3339.match(entry.findtext(f"{ATOM}updated") or ""), entry.findtext(f"{ATOM}updated")
        assert entry.find(f"{ATOM}link") is not None
        assert entry.find(f"{ATOM}content").get("type") == "html"  # type: ignore[union-attr]
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids)
    newest = max(dt.datetime.fromisoformat(e.findtext(f"{ATOM}updated") or "") for e in entries)
    assert dt.datetime.fromisoformat(root.findtext(f"{ATOM}updated") or "") == newest


def test_feed_is_newest_first_by_retrieval_decision_or_year(feed: tuple[str, ET.Element]) -> None:
    _, root = feed
    entries = [(e.findtext(f"{ATOM}id") or "", (e.findtext(f"{ATOM}updated") or "")[:10]) for e in root.findall(f"{ATOM}entry")]
    # 2024-0071: newest retrieval (2026-11-30) beats its decision (2024-12-24) and its older source (2025-01-10);
    # 2023-0001: decision date; the rest: 1 January of the year, higher 管理番号 first.
    assert entries[:6] == [
        ("tag:bunken-kb,2024:proposals/2024-0071", "2026-11-30"),
        ("tag:bunken-kb,2024:proposals/2023-0001", "2023-12-22"),
        ("tag:bunken-kb,2024:proposals/2023-0005", "2023-01-01"),
        ("tag:bunken-kb,2024:proposals/2023-0004", "2023-01-01"),
        ("tag:bunken-kb,2024:proposals/2023-0003", "2023-01-01"),
        ("tag:bunken-kb,2024:proposals/2023-0002", "2023-01-01"),
    ]


def test_feed_keeps_the_50_newest(crowded_site: SiteClient) -> None:
    root = ET.fromstring(crowded_site.get("/feed.atom").content)
    ids = [(e.findtext(f"{ATOM}id") or "").rsplit("/", 1)[1] for e in root.findall(f"{ATOM}entry")]
    assert len(ids) == 50
    assert ids[:2] == ["2024-0071", "2023-0001"]
    assert ids[6:] == [f"2022-{n:04d}" for n in range(GENERATED, GENERATED - 44, -1)]  # 2022-0001…0006 left out


def test_feed_titles_are_japanese_and_entries_link_to_the_proposal_page(site: SiteClient, feed: tuple[str, ET.Element]) -> None:
    _, root = feed
    first = root.findall(f"{ATOM}entry")[0]
    assert first.findtext(f"{ATOM}title") == "都道府県と教育委員会が一つの自治体中間サーバーを利用することを可能とすること（令和6年 管理番号71）"
    link = first.find(f"{ATOM}link")
    assert link is not None and urlsplit(link.get("href") or "").path == "/kb/proposals/2024-0071"
    assert site.get(urlsplit(link.get("href") or "").path).status_code == 200
    content = first.findtext(f"{ATOM}content") or ""
    assert "<li>提案団体：宮城県、岩手県、宮城県後期高齢者医療広域連合</li>" in content
    assert "<li>出典の取得日：2026-11-30</li>" in content


def test_feed_escapes_markup_in_titles_and_content(feed: tuple[str, ET.Element]) -> None:
    text, root = feed
    assert "<script" not in text
    titles = {e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")}
    assert "危険な入力を含む試験用の提案<script>alert('title')</script>（令和5年 管理番号5）" in titles  # text, not markup


@pytest.mark.parametrize(
    "path",
    # our own base-extending pages, a table page, a Datasette row template (default:row.html), an error page
    ["/", "/kb/proposals/2024-0071", "/kb/local_governments/" + tilde_encode("宮城県"), "/kb/proposals?year=2023", "/-/data", "/no-such-page"],
)
def test_every_page_announces_the_feed_in_its_head(site: SiteClient, path: str) -> None:
    html = site.get(path).text
    head = html[: html.index("</head>")]
    assert len(ALTERNATE.findall(head)) == 1, path
