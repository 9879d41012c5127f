"""The pages a clerk visits are Japanese (issue #14): no Datasette English UI, no table definitions, a
「データの説明」 page generated from site/metadata.yml, Japanese error pages; payloads stay escaped.

Everything goes through the real site (`corpus_site`: site/ templates and plugins over a built database).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from served_site import SiteClient, corpus_site

SITE = Path(__file__).resolve().parents[1] / "site"
# Datasette's English UI strings, as they appear in its templates' visible text.
ENGLISH = ["Apply", "CREATE TABLE", "sorted by", "This data as", "Advanced export", "Sort by", "- column -", "download file",
           "Custom SQL query", "Run SQL", "Link", "Data source", "Data license", "About:", "Download SQLite DB", "Links from other tables"]
ENGLISH_WORDS = re.compile(r"\brows?\b", re.IGNORECASE)  # "6 rows", "1 row"
CLERK_PAGES = [
    "/",
    "/kb",
    "/kb/proposals",
    "/kb/proposals?year=2023",
    "/kb/statutes",
    "/kb/local_governments",
    "/kb/proposals/2024-0071",
    "/search?q=" + quote("児童"),
    "/search?q=" + quote("宮城県") + "&year=2024",
    "/search?q=" + quote("該当しない語の例"),
    "/-/data",
    "/-/charts",
    "/-/prior-art",
    "/kb/statutes/425AC0000000027",
    "/kb/local_governments/" + quote("川崎市").replace("%", "~"),
    "/kb/prefectures/" + quote("宮城県").replace("%", "~"),
    "/kb/ministries/" + quote("総務省").replace("%", "~"),
    "/kb/ministries",
    "/kb/proposals_of_local_government?name=" + quote("川崎"),
    "/kb/opinions",
    "/kb/sources",
    "/kb/proposals_citing_statute?statute=" + quote("番号利用法") + "&article=",
    "/kb/proposals_per_outcome",
]


class VisibleText(HTMLParser):
    """The text a reader sees: text nodes (not scripts or styles) and the labels of buttons."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        values = dict(attrs)
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def english_ui(html: str) -> list[str]:
    text = visible_text(html)
    return [s for s in ENGLISH if s in text] + ENGLISH_WORDS.findall(text)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("japanese"))
    yield client
    client.close()


def test_the_checker_finds_english_text_but_not_urls_or_attributes() -> None:
    assert english_ui('<h3>6 rows sorted by id descending</h3><input type="submit" value="Apply">') == [
        "Apply", "sorted by", "rows",
    ]  # fmt: skip
    assert english_ui('<a href="/kb?sql=CREATE+TABLE&rows=1" title="Sort by id">提案</a><script>rows</script>') == []


@pytest.mark.parametrize("path", CLERK_PAGES)
def test_clerk_pages_show_no_datasette_english(site: SiteClient, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 200, path
    assert english_ui(response.text) == [], path


def test_not_found_page_is_japanese_with_search_and_ways_back(site: SiteClient) -> None:
    response = site.get("/kb/no_such_table")
    assert response.status_code == 404
    assert english_ui(response.text) == []
    assert "<title>ページが見つかりません - 提案募集方式 提案データベース</title>" in response.text
    assert 'action="/search"' in response.text and "トップページへ戻る" in response.text
    assert 'href="/kb/proposals?_col=title&amp;_col=year' in response.text and '提案の一覧を見る' in response.text and 'href="/-/data"' in response.text


def test_sql_error_in_the_url_is_a_japanese_page(site: SiteClient) -> None:
    response = site.get("/kb/proposals?_sort=no_such_column")
    assert response.status_code == 400
    assert english_ui(response.text) == [] and "トップページへ戻る" in response.text


def test_table_page_says_count_conditions_and_order_in_japanese(site: SiteClient) -> None:
    html = site.get("/kb/proposals?year=2023&_sort_desc=year").text
    db = sqlite3.connect(site.ds.databases["kb"].path)
    count = db.execute("select count(*) from proposals where year = 2023").fetchone()[0]
    assert f"<title>提案一覧 — {count} 件・年が「2023」 - 提案募集方式 提案データベース</title>" in html
    text = visible_text(html)
    assert f"{count} 件 （条件：年が「2023」） 並び順：年の新しい順" in text
    assert "絞り込む" in text and "- 列 -" in text and "- 条件を外す -" in text
    assert "を含む" in text and "一覧に含む" in text and "空欄でない" in text  # operators
    assert "このデータを CSV / JSON で" in text and "書き出しの設定" in text


def test_streamed_export_link_when_there_is_more_than_one_page(site: SiteClient) -> None:
    html = site.get("/kb/prefectures?_size=10").text  # 47 rows: five pages
    match = re.search(r'<a href="([^"]+)">すべての行を CSV でダウンロード</a>', html)
    assert match is not None
    response = site.get(match.group(1).replace("&amp;", "&"))
    assert response.status_code == 200 and "attachment" in response.headers.get("content-disposition", "")
    db = sqlite3.connect(site.ds.databases["kb"].path)
    assert response.text.count("\n") == db.execute("select count(*) from prefectures").fetchone()[0] + 1


def test_table_pages_link_the_data_page_instead_of_the_definition(site: SiteClient) -> None:
    for table in ("proposals", "statutes", "local_governments"):
        html = site.get(f"/kb/{table}").text
        assert f'<a href="/-/data#table-{table}">データの説明</a>' in html
        assert "CREATE TABLE" not in html


def test_data_page_lists_every_table_column_and_query_of_the_metadata(site: SiteClient) -> None:
    html = site.get("/-/data").text
    kb = yaml.safe_load((SITE / "metadata.yml").read_text(encoding="utf-8"))["databases"]["kb"]
    db = sqlite3.connect(site.ds.databases["kb"].path)
    public, internal = html.split('<details class="kb-data-internal"')
    for name, table in kb["tables"].items():
        part = internal if table.get("hidden") else public
        assert f'id="table-{name}"' in part, name
        count = db.execute(f'select count(*) from "{name}"').fetchone()[0]
        assert f"{table['title']}</a> <span class=\"kb-note\">（{count:,} 件" in part, name
        section = part[part.index(f'id="table-{name}"') :].split("</section>")[0]
        for column in table.get("columns", {}):
            assert f"<code>{column}</code>" in section, (name, column)
    for query in kb["queries"].values():
        assert query["title"] in public
    assert "<code>year</code> <span class=\"kb-note\">integer</span>" in public  # SQL types for researchers


def test_data_page_examples_are_the_first_non_empty_values(site: SiteClient) -> None:
    html = site.get("/-/data").text
    db = sqlite3.connect(site.ds.databases["kb"].path)
    title = db.execute("select title from proposals where title != '' order by rowid limit 1").fetchone()[0]
    section = html[html.index('id="table-proposals"') :].split("</section>")[0]
    row = re.search(r"<code>title</code>.*?</th>\s*<td>[^<]*</td>\s*<td[^>]*>([^<]*)</td>", section, re.DOTALL)
    assert row is not None and row.group(1) == (title if len(title) <= 40 else title[:40] + "…")


def test_payloads_are_escaped_in_cells_filters_and_sentences(site: SiteClient) -> None:
    html = site.get("/kb/proposals?_col=measures&id=2023-0005").text
    assert "&lt;script&gt;alert" in html and "<script>alert" not in html
    payload = '<script>alert("x")</script>'
    html = site.get("/kb/proposals?title__contains=" + quote(payload)).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html  # form value and the count sentence
    assert "提案事項に「&lt;script&gt;" in html


def test_links_to_the_proposal_list_open_it_with_the_menus_columns(site: SiteClient) -> None:
    """The bare table shows all 35 columns (every long text): a clerk's links open the 7-column list."""
    for path in ("/kb/proposals/2024-0071", "/kb", "/kb/no_such_table"):
        html = site.get(path).text
        assert 'href="/kb/proposals"' not in html, path
        assert 'href="/kb/proposals?_col=title&amp;_col=year' in html, path
