"""Ready-made queries as Japanese forms (issue #14): labelled inputs, linked IDs and names, 「、」-joined
name lists, the SQL folded in a <details>, Japanese counts, exports and errors; payloads escaped.

Through the real site (`corpus_site`: site/templates/query-kb.html, site/plugins/canned_queries.py).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from html import escape
from urllib.parse import quote, urlencode

import pytest
from served_site import SiteClient, corpus_site
from test_site_japanese import english_ui, visible_text

from kb.db.schema import DB_NAME
from kb.serve import load_metadata

QUERIES = load_metadata()["databases"][DB_NAME]["queries"]
SAMPLE = {"q": "児童", "name": "宮城", "statute": "番号利用法", "article": "", "id": "2024-0071", "page": ""}
# Datasette's query page English, besides the table pages' (test_site_japanese.ENGLISH).
QUERY_ENGLISH = ["Custom SQL query", "Query parameters", "Edit SQL", "Run SQL", "Format SQL", "results", "hide", "show"]


def parameters(sql: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"(?<![:\w]):(\w+)", sql)))


def query_url(query: str, **params: str) -> str:
    args = {p: params.get(p, SAMPLE[p]) for p in parameters(QUERIES[query]["sql"])}
    return f"/{DB_NAME}/{query}" + (f"?{urlencode(args)}" if args else "")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("queries"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def db(site: SiteClient) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(site.ds.databases[DB_NAME].path)
    yield connection
    connection.close()


def test_every_query_parameter_has_a_japanese_label_with_an_example() -> None:
    for name, query in QUERIES.items():
        labels = query.get("kb_params", {})
        assert sorted(labels) == sorted(parameters(query["sql"])), name
        for param, label in labels.items():
            if label.get("hidden"):  # the page number of a paged query: links, not an input
                continue
            assert re.search(r"[ぁ-んァ-ン一-龥]", label["label"]) and label["example"], (name, param)


def test_every_query_page_is_a_japanese_form(site: SiteClient) -> None:
    for name, query in QUERIES.items():
        response = site.get(query_url(name))
        assert response.status_code == 200, name
        html, text = response.text, visible_text(response.text)
        assert english_ui(html) == [] and [s for s in QUERY_ENGLISH if re.search(rf"\b{s}\b", text)] == [], name
        assert f"<h1>{escape(query['title'])}</h1>" in html and "このデータを CSV / JSON で" in text
        assert re.search(r"<h2 class=\"kb-count\">[\d,]+(〜[\d,]+)? 件", html), name  # every sample returns rows
        assert re.search(r'<details class="kb-query-sql">\s*<summary>SQLを表示</summary>\s*<pre id="sql-query">', html), name
        assert "<textarea" not in html and "codemirror" not in html.lower(), name  # no editor, no script
        assert 'type="submit" value="表示する"' in html
        for index, (param, label) in enumerate(query.get("kb_params", {}).items(), start=1):
            if label.get("hidden"):
                assert f'name="{param}"' not in html
                continue
            value = escape(SAMPLE[param], quote=True)
            assert f'<label for="qp{index}">{escape(label["label"])}（例：{escape(label["example"])}）</label>' in html
            assert f'<input type="text" id="qp{index}" name="{param}" value="{value}"' in html  # the value is kept


def test_result_ids_link_to_their_proposal_pages(site: SiteClient, db: sqlite3.Connection) -> None:
    earlier = db.execute("select proposal_id, earlier_id from reproposals order by proposal_id limit 1").fetchone()
    ids = [earlier[1], earlier[0]] if earlier else ["2024-0071"]
    html = site.get(query_url("reproposal_chain", id=ids[-1])).text
    for proposal in ids:
        assert f'<a href="/kb/proposals/{proposal}">{proposal}</a>' in html
    if earlier:  # 前回の提案 column
        assert re.search(rf'<td class="col-[^"]*">\s*<a href="/kb/proposals/{earlier[1]}">', html)
    assert site.get(f"/kb/proposals/{ids[-1]}").status_code == 200


def test_json_array_cells_show_linked_names_joined_with_touten(site: SiteClient, db: sqlite3.Connection) -> None:
    cell = db.execute(
        "select local_governments from proposal_prefectures where json_array_length(local_governments) > 1 limit 1"
    ).fetchone()[0]
    names = json.loads(cell)
    prefecture = db.execute("select prefecture_id from proposal_prefectures where local_governments = ?", (cell,)).fetchone()[0]
    html = site.get(query_url("proposals_of_prefecture", name=prefecture)).text
    assert "、".join(names) in visible_text(html).replace(" ", "")
    assert '["' not in visible_text(html) and "&#34;" not in html.split("<tbody>")[1]
    for local_government in names:
        assert re.search(rf'<a href="/kb/local_governments/[^"]+">{re.escape(local_government)}</a>', html)
    # Single names link too: 府省 of the per-ministry count, to the ministry's page.
    ministry = db.execute("select ministry_id from proposal_ministries limit 1").fetchone()[0]
    page = site.get(query_url("proposals_per_ministry_year")).text
    match = re.search(rf'<a href="(/kb/ministries/[^"]+)">{re.escape(ministry)}</a>', page)
    assert match and site.get(match.group(1)).status_code == 200


def test_query_error_is_japanese_with_the_technical_detail(site: SiteClient) -> None:
    response = site.get(query_url("proposals_of_local_government", name="市" * 3000))  # LIKE pattern over the limit
    assert response.status_code == 400
    assert english_ui(response.text) == []
    error = re.search(r'<p class="message-error kb-sql-error">([^<]+)</p>', response.text)
    assert error and re.search(r"[ぁ-ん]", error.group(1))
    assert "詳細：" in visible_text(response.text) and 'value="表示する"' in response.text  # the form stays


def test_arbitrary_sql_keeps_the_editor_with_japanese_labels(site: SiteClient, db: sqlite3.Connection) -> None:
    statute = db.execute("select id from statutes where id glob '[0-9][0-9][0-9][A-Z]*' limit 1").fetchone()[0]
    sql = f"select id as 法令ID, :x as 入力 from statutes where id = '{statute}'"
    html = site.get(f"/kb?sql={quote(sql)}&x=1").text
    assert english_ui(html) == [] and [s for s in QUERY_ENGLISH if re.search(rf"\b{s}\b", visible_text(html))] == []
    assert '<textarea id="sql-editor" name="sql"' in html and 'value="SQL を実行"' in html and "パラメータ" in html
    assert f'<a href="/kb/statutes/{statute}">{statute}</a>' in html
    error = site.get(f"/kb?sql={quote('select no_such_column from proposals')}")
    assert error.status_code == 400 and "SQL を実行できませんでした" in error.text and english_ui(error.text) == []


def test_payloads_are_escaped(site: SiteClient) -> None:
    payload = '"><script>alert(1)</script>'
    html = site.get(query_url("proposals_of_local_government", name=payload)).text
    assert "<script>alert" not in html and 'value="&#34;&gt;&lt;script&gt;' in html
    cells = json.dumps([payload, "<b>x</b>"], ensure_ascii=False)
    sql = "select :p as 提案ID, :p as 前回の提案, :a as 団体, :a as 一覧, :p as 府省"
    page = site.get(f"/kb?sql={quote(sql)}&p={quote(payload)}&a={quote(cells)}").text
    assert "<script>alert" not in page and "<b>x" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "、" in visible_text(page)


@pytest.fixture(scope="module")
def many_rows_site(site: SiteClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    """The built corpus plus 150 synthetic proponents 試験市001… of one proposal, added by SQL (test data only)."""
    path = tmp_path_factory.mktemp("paged") / "kb.db"
    source = sqlite3.connect(site.ds.databases[DB_NAME].path)
    source.backup(target := sqlite3.connect(path))
    source.close()
    target.executemany(
        "insert into proposal_local_governments (proposal_id, local_government_id, role, position) values ('2024-0071', ?, '提案団体', ?)",
        [(f"試験市{n:03d}", 100 + n) for n in range(1, 151)],
    )
    target.commit()
    target.close()
    client = SiteClient(path)
    yield client
    client.close()


def test_a_long_answer_is_shown_50_rows_a_page_with_links_and_every_row_in_csv(many_rows_site: SiteClient) -> None:
    """A 1,000-row answer took a third of a second to render: the list queries page it (site/metadata.yml `page`)."""
    first = many_rows_site.get(query_url("proposals_of_local_government", name="試験市"))
    assert first.status_code == 200
    assert '<h2 class="kb-count">1〜50 件目</h2>' in first.text and first.text.count("試験市") >= 50
    assert "試験市050" in first.text and "試験市051" not in first.text
    nxt = re.search(r'<a href="([^"]+)" rel="next">次の50件 →</a>', first.text)
    assert nxt and 'rel="prev"' not in first.text
    second = many_rows_site.get(nxt.group(1).replace("&amp;", "&"))
    assert '<h2 class="kb-count">51〜100 件目</h2>' in second.text and "試験市100" in second.text
    assert 'rel="prev">← 前の50件</a>' in second.text
    third = many_rows_site.get(re.search(r'<a href="([^"]+)" rel="next">', second.text).group(1).replace("&amp;", "&"))
    assert '<h2 class="kb-count">101〜150 件目</h2>' in third.text and 'rel="next"' not in third.text  # 150: no empty page 4
    csv_link = re.search(r'<a href="([^"]+\.csv\?[^"]+)">CSV</a>', first.text)
    assert csv_link and "page=all" in csv_link.group(1)
    rows = many_rows_site.get(csv_link.group(1).replace("&amp;", "&")).text.strip().splitlines()
    assert len(rows) == 1 + 150  # the header and every row


@pytest.mark.parametrize(
    ("page", "first_id"),
    [("2abc", "試験市001"), ("２", "試験市001"), ("-1", "試験市001"), ("99999999999999999999", "試験市001"), ("2", "試験市051"),
     ("21", None)],
)
def test_odd_page_values_agree_with_the_rows_shown(many_rows_site: SiteClient, page: str, first_id: str | None) -> None:
    """Reported in review: 「2abc」 showed the second page's rows under 「1〜」, and a huge page was an SQL error."""
    response = many_rows_site.get(query_url("proposals_of_local_government", name="試験市", page=page))
    assert response.status_code == 200
    if first_id is None:  # read as page 20, past the last of these 150 rows: an empty page that says so
        assert "には結果がありません" in response.text and "最初のページへ" in response.text
        return
    heading = re.search(r'<h2 class="kb-count">([\d,]+)〜', response.text)
    rows = re.findall(r"試験市\d{3}", response.text)
    assert heading and rows[0] == first_id and int(heading.group(1)) == int(first_id[-3:])


def test_all_rows_in_html_have_no_page_links(many_rows_site: SiteClient) -> None:
    html = many_rows_site.get(query_url("proposals_of_local_government", name="試験市", page="all")).text
    assert 'rel="next"' not in html and 'rel="prev"' not in html and "試験市150" in html
