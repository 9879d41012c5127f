"""Statutes on the real site: tables linked both ways, the statute page, pinpoint links, the facet."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
from datasette.plugins import pm
from served_site import SiteClient, corpus_site

from kb.db.schema import DB_NAME

PROPOSALS = Path(__file__).parent / "fixtures" / "statutes" / "proposals"
MYNUMBER = "425AC0000000027"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("statutes"), PROPOSALS)
    yield client
    client.close()


@pytest.fixture(scope="module")
def db(site: SiteClient) -> sqlite_utils.Database:
    return sqlite_utils.Database(site.ds.get_database(DB_NAME).path)


def test_citations_link_proposals_and_statutes_both_ways(db: sqlite_utils.Database) -> None:
    fks = {(fk.column, fk.other_table, fk.other_column) for fk in db["citations"].foreign_keys}
    assert fks == {("proposal_id", "proposals", "id"), ("statute_id", "statutes", "id")}
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    rows = db.execute("select statute_id, article, item from citations where proposal_id = '2024-0071' and pinpoint = '第19条第11号'").fetchall()
    assert rows == [(MYNUMBER, "19", "11")]


def test_quote_positions_refer_to_the_stored_section_text(db: sqlite_utils.Database) -> None:
    rows = db.execute(
        "select c.quote, substr(p.second_answer, c.quote_start + 1, c.quote_end - c.quote_start) "
        "from citations c join proposals p on p.id = c.proposal_id where c.section = 'second_answer' and p.id = '2024-0071'"
    ).fetchall()
    assert rows and all(quote == stored for quote, stored in rows)


def test_statute_counts_and_facet_column(db: sqlite_utils.Database) -> None:
    assert db["statutes"].get(MYNUMBER)["citation_count"] == 13
    assert db["statutes"].get(MYNUMBER)["proposal_count"] == 1
    facet = {row["id"]: json.loads(row["statutes"]) for row in db["proposals"].rows}
    assert facet == {"2024-0070": ["セキュリティポリシーガイドライン"], "2024-0071": ["番号利用法"]}


def test_statute_page_lists_proposals_by_year_and_outcome_with_egov_link(site: SiteClient) -> None:
    html = site.get(f"/kb/statutes/{MYNUMBER}").text
    assert '<h1 class="kb-sheet-title">番号利用法</h1>' in html
    assert f'href="https://laws.e-gov.go.jp/law/{MYNUMBER}"' in html
    assert "令和6年（2024年）" in html and "<h4>対応方針に記載なし</h4>" in html
    assert 'href="/kb/proposals/2024-0071"' in html
    assert f'href="https://laws.e-gov.go.jp/law/{MYNUMBER}#Mp-At_19-Pr_1-It_11"' in html
    assert "よく引用される条" in html and "第9条" in html


_ARTICLE_ROW = re.compile(r'<tr><td><a href="[^"]*">(第[^<]*)</a></td><td>(\d+)</td><td>(\d+)</td></tr>')


def _copy_of(db: sqlite_utils.Database, path: Path) -> Path:
    """A copy of the site's database file that a test may change."""
    shutil.copy(db.conn.execute("PRAGMA database_list").fetchone()[2], path)
    return path


def _add_citations(path: Path, like_article: str, changes: list[dict[str, object]], verb: str = "insert") -> None:
    """Insert citations of 番号利用法 made from one citing `like_article`, each with `changes` applied."""
    conn = sqlite3.connect(path)
    try:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(citations)")]
        row = conn.execute("select * from citations where statute_id = ? and article = ?", [MYNUMBER, like_article]).fetchone()
        marks = ", ".join("?" * len(columns))
        with conn:
            for change in changes:
                values = {**dict(zip(columns, row)), **change}
                conn.execute(f"{verb} into citations ({', '.join(columns)}) values ({marks})", list(values.values()))
    finally:
        conn.close()


def _drop_table(path: Path, table: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"DROP TABLE {table}")
    finally:
        conn.close()


def _articles_shown(path: Path) -> list[tuple[str, str, str]]:
    """(label, citations, proposals) of 「よく引用される条」 on 番号利用法's page, served from `path`."""
    client = SiteClient(path)
    try:
        return _ARTICLE_ROW.findall(client.get(f"/kb/statutes/{MYNUMBER}").text)
    finally:
        client.close()


def test_statute_page_lists_its_most_cited_articles_as_counted_from_the_citations(
    site: SiteClient, db: sqlite_utils.Database, tmp_path: Path
) -> None:
    recount = db.execute(
        "select article, count(*), count(distinct proposal_id) from citations where statute_id = ? and article is not null"
        " and supplementary = 0 group by article order by count(*) desc, cast(article as integer), article limit 20",
        [MYNUMBER],
    ).fetchall()
    labels = [f"第{a.replace('_', '条の', 1).replace('_', 'の')}{'' if '_' in a else '条'}" for a, _, _ in recount]
    shown = _ARTICLE_ROW.findall(site.get(f"/kb/statutes/{MYNUMBER}").text)
    assert shown == [(label, str(n), str(p)) for label, (_, n, p) in zip(labels, recount)] and len(shown) > 1
    # a database built before the build counted them (no `statute_articles`): counted per view, the same list
    older = _copy_of(db, tmp_path / "older.db")
    _drop_table(older, "statute_articles")
    assert _articles_shown(older) == shown


def test_articles_cited_equally_often_are_listed_in_one_order_however_the_counts_were_made(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    # 19, 19_2, 19_3 and 19_10 all sort as 19: a full build stores them in article order, the triggers of an
    # incremental build add a newly cited one at the end; the page must list them the same way either way
    copy = _copy_of(db, tmp_path / "ties.db")
    cited = db.execute("select count(*) from citations where statute_id = ? and article = '19' and supplementary = 0", [MYNUMBER])
    _add_citations(copy, "19", [{"id": f"tie-{n}", "article": a} for n, a in enumerate(["19_10", "19_3", "19_2"] * cited.fetchone()[0])])
    shown = _articles_shown(copy)
    _drop_table(copy, "statute_articles")
    assert _articles_shown(copy) == shown
    ties = [label for label, n, _ in shown if label.startswith("第19条")]
    assert ties == ["第19条", "第19条の10", "第19条の2", "第19条の3"], shown


def test_article_counts_survive_a_statement_with_a_conflict_clause(db: sqlite_utils.Database, tmp_path: Path) -> None:
    # a conflict clause on the statement that fires a trigger overrides those inside it: the trigger must not rely on one
    copy = _copy_of(db, tmp_path / "replace.db")
    _add_citations(copy, "19", [{"id": "conflict-0", "article": "77"}, {"id": "conflict-1", "article": "77"}])
    _add_citations(copy, "19", [{"id": "conflict-2", "article": "77"}], verb="insert or replace")
    _add_citations(copy, "19", [{"id": "conflict-3", "article": "77"}], verb="insert or fail")
    stored = sqlite3.connect(copy).execute("select citations, proposals from statute_articles where statute_id = ? and article = '77'", [MYNUMBER])
    assert stored.fetchall() == [(4, 1)]


def test_each_listed_article_links_to_the_citations_it_counts(db: sqlite_utils.Database, tmp_path: Path) -> None:
    # 附則第9条 is stored as article 9 too (supplementary = 1); the list counts the main provisions' article only
    copy = _copy_of(db, tmp_path / "supplementary.db")
    _add_citations(copy, "9", [{"id": "suppl-1", "supplementary": 1, "pinpoint": "附則第9条"}])
    client = SiteClient(copy)
    try:
        html = client.get(f"/kb/statutes/{MYNUMBER}").text
        links = re.findall(r'<tr><td><a href="([^"]*)">(第[^<]*)</a></td><td>(\d+)</td>', html)
        assert any(label == "第9条" for _, label, _ in links)
        for href, label, count in links:
            listed = client.json(href.replace("&amp;", "&").replace("/kb/citations?", "/kb/citations.json?") + "&_size=max")
            assert listed["filtered_table_rows_count"] == int(count), (label, href)  # type: ignore[index]
    finally:
        client.close()


def test_statute_route_serves_what_datasettes_row_view_served(tmp_path: Path) -> None:
    """row_pages.py's route for `/kb/statutes/<id>` skips the row view's generic work (and its count of the
    statute's citations, kept by the build); page and headers stay the row view's, with or without citations.

    (A site of its own: another Datasette made in this process changes what Datasette 0.65's row view puts
    in its footer — its metadata merging shares dicts between instances.)
    """
    from datasette.utils.asgi import Request
    from datasette.views.row import RowView

    timing = re.compile(r"処理時間 [0-9.]+ ms")

    def same_as_row_view(client: SiteClient, pks: list[str]) -> None:
        client.loop.run_until_complete(client.ds.invoke_startup())  # the site's filters, before the row view renders
        for pk in pks:
            request = Request.fake(f"/kb/statutes/{pk}", url_vars={"database": "kb", "table": "statutes", "pks": pk, "format": None})
            request.scope["csrftoken"] = lambda: ""
            response = client.loop.run_until_complete(RowView.as_view(client.ds)(request, None))
            body = response.body if isinstance(response.body, str) else response.body.decode()
            served = client.get(f"/kb/statutes/{pk}")
            assert (served.status_code, timing.sub("", served.text)) == (response.status, timing.sub("", body)), pk
            headers = {k.lower(): v for k, v in response.headers.items()}
            for name in ("link", "referrer-policy"):
                assert served.headers[name] == headers[name], (pk, name)

    client = corpus_site(tmp_path / "site", PROPOSALS)
    try:
        db_path = Path(client.ds.get_database(DB_NAME).path)
        family = sqlite_utils.Database(db_path).execute("select id from statutes where parent_id is not null limit 1").fetchone()[0]
        pks = [MYNUMBER, "security-policy-guideline", "322AC0000000067", family]
        same_as_row_view(client, pks)
        assert "ほかの表でこの行を指しているもの" not in client.get(f"/kb/statutes/{MYNUMBER}").text  # counted, not shown
        assert client.get("/kb/statutes/nonexistent-law").status_code == 404
        assert client.get(f"/kb/statutes/{MYNUMBER}.json").json()["rows"][0][0] == MYNUMBER  # formats: still the row view
    finally:
        client.close()
    without = tmp_path / "without-citations.db"
    shutil.copy(db_path, without)
    _drop_table(without, "citations")
    client = SiteClient(without)
    try:
        same_as_row_view(client, [MYNUMBER])
        assert "ほかの表でこの行を指しているもの" in client.get(f"/kb/statutes/{MYNUMBER}").text  # the row view's own body
    finally:
        client.close()


def test_guideline_page_says_it_is_not_a_statute(site: SiteClient) -> None:
    html = site.get("/kb/statutes/security-policy-guideline").text
    assert "法令ではありません" in html
    assert 'href="/kb/proposals/2024-0070"' in html


def test_uncited_statute_page_says_so(site: SiteClient) -> None:
    html = site.get("/kb/statutes/322AC0000000067").text
    assert "この法令を引用している提案はまだありません。" in html


def test_proposal_page_links_each_pinpoint_to_the_article(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2024-0071").text
    first_answer = html[html.index('id="first_answer"') : html.index('id="proponent_view"')]
    assert "引用法令" in first_answer
    assert f'href="/kb/statutes/{MYNUMBER}"' in first_answer
    assert f'href="https://laws.e-gov.go.jp/law/{MYNUMBER}#Mp-At_9-Pr_1"' in first_answer
    assert ">第9条第1項</a>" in first_answer


def test_proposals_have_a_statute_facet(site: SiteClient) -> None:
    data = site.json("/kb/proposals.json?_col=title")
    values = {v["value"]: v["count"] for v in data["facet_results"]["statutes"]["results"]}
    assert values == {"番号利用法": 1, "セキュリティポリシーガイドライン": 1}
    filtered = site.json("/kb/proposals.json?_shape=array&_col=title&statutes__arraycontains=番号利用法")
    assert [r["id"] for r in filtered] == ["2024-0071"]


def test_statute_column_links_to_statute_pages(site: SiteClient) -> None:
    html = site.get("/kb/proposals?_col=statutes").text
    assert f'<a href="/kb/statutes/{MYNUMBER}">番号利用法</a>' in html


def test_query_finds_proposals_citing_an_article_by_any_name(site: SiteClient) -> None:
    for name in ("番号法", "番号利用法", MYNUMBER, "行政手続における特定の個人を識別するための番号の利用等に関する法律"):
        rows = site.json(f"/kb/proposals_citing_statute.json?_shape=array&statute={name}&article=19")
        assert [(r["提案ID"], r["条項"]) for r in rows] == [("2024-0071", "第19条第11号")], name


def test_every_listed_law_has_a_page_with_its_number_and_egov_link(site: SiteClient, db: sqlite_utils.Database) -> None:
    assert db["statutes"].count >= 8945
    html = site.get("/kb/statutes/335CO0000000270").text  # 道路交通法施行令: only in e-Gov's list
    assert "道路交通法施行令" in html and "昭和35年政令第270号" in html
    assert 'href="https://laws.e-gov.go.jp/law/335CO0000000270"' in html


def test_proposals_and_statutes_have_a_kind_facet(site: SiteClient) -> None:
    data = site.json("/kb/proposals.json?_col=title")
    values = {v["value"]: v["count"] for v in data["facet_results"]["statute_kinds"]["results"]}
    assert values == {"法律": 1, "ガイドライン": 1}
    kinds = {v["value"]: v["count"] for v in site.json("/kb/statutes.json?_col=name&listed=1")["facet_results"]["kind"]["results"]}
    assert (kinds["法律"], kinds["政令"], kinds["府省令"]) == (2078, 2314, 4292)


def test_search_for_an_alias_finds_the_proposals_citing_the_law(site: SiteClient) -> None:
    """「マイナンバー法」 is nowhere in the text: the proposal is found because it cites 番号利用法 (as 番号法)."""
    html = site.get("/search?q=マイナンバー法").text
    assert f'href="/kb/statutes/{MYNUMBER}"' in html
    assert 'href="/kb/proposals/2024-0071"' in html and 'href="/kb/proposals/2024-0070"' not in html
    hit = html[html.index('href="/kb/proposals/2024-0071"') :]
    assert '<span class="kb-snippet-label">引用</span><mark>' in hit[: hit.index("</li>")]


def test_search_for_a_word_that_names_no_law_is_plain_text_search(site: SiteClient) -> None:
    html = site.get("/search?q=番号制度").text
    assert "kb-statute-note" not in html


def test_statute_names_table_maps_every_name_to_its_law(db: sqlite_utils.Database) -> None:
    rows = db.execute("select name, statute_id, how from statute_names where name in ('マイナンバー法', '番号利用法', '道路交通法施行令')").fetchall()
    assert set(rows) == {("マイナンバー法", MYNUMBER, "略称"), ("番号利用法", MYNUMBER, "短い名前"), ("道路交通法施行令", "335CO0000000270", "題名")}


def test_search_for_a_title_typed_with_ascii_brackets_finds_the_law(site: SiteClient) -> None:
    """e-Gov writes （） in 306 titles; a clerk types () or full-width digits: the name is compared normalised."""
    html = site.get("/search?q=明治二十二年法律第三十四号(決闘罪ニ関スル件)").text
    assert 'href="/kb/statutes/122AC0000000034"' in html


def test_page_of_a_much_cited_statute_lists_the_latest_and_links_to_all(synthetic_db: Path) -> None:
    # every synthetic proposal (benchmarks/corpus.py, not real) cites 番号利用法: the page once listed all
    # of them (2 MB and 2.7 s at 5,000), now the newest STATUTE_PAGE_LIMIT and a link to the full list
    client = SiteClient(synthetic_db)
    try:
        citing = sqlite_utils.Database(synthetic_db).execute(
            "select count(distinct proposal_id) from citations where statute_id = ?", [MYNUMBER]
        ).fetchone()[0]
        assert citing > 100
        html = client.get(f"/kb/statutes/{MYNUMBER}").text
    finally:
        client.close()
    listed = html.count('<li><a href="/kb/proposals/')
    assert listed == 100, listed
    assert f"この法令を引用している提案（{citing} 件）" in html
    assert "新しい順に 100 件" in html
    newest = sqlite_utils.Database(synthetic_db).execute(
        "select max(proposal_id) from citations where statute_id = ?", [MYNUMBER]
    ).fetchone()[0]
    assert f'href="/kb/proposals/{newest}"' in html
    assert "statutes__arraycontains=%E7%95%AA%E5%8F%B7%E5%88%A9%E7%94%A8%E6%B3%95" in html


# The loop of row-kb-statutes.html before statutes.py's filter wrote its <li>s (#16), kept verbatim: the page must not change.
OLD_PROPOSALS_LOOP = """  <ul>
    {% for r in o.proposals %}
    <li><a href="{{ kb_urls.row('proposals', r.id) }}">{{ r.title }}</a> <span class="kb-note">管理番号{{ r.number }} ・ 引用 {{ r.citations }} 件</span>
      {% if r.places %}<span class="kb-pinpoints">{% for pl in r.places %}{% if pl.url %}<a href="{{ pl.url }}" rel="noopener" title="{{ pl.section }}">{{ pl.pinpoint }}</a>{% else %}<span title="{{ pl.section }}">{{ pl.pinpoint }}</span>{% endif %}{% if not loop.last %}、{% endif %}{% endfor %}</span>{% endif %}
    </li>
    {% endfor %}
  </ul>"""
NEW_PROPOSALS_LOOP = """  <ul>
    {{ o.proposals|kb_statute_proposal_items(kb_urls) }}
  </ul>"""


def test_statute_page_filter_writes_the_markup_the_jinja_loop_wrote(site: SiteClient) -> None:
    site.loop.run_until_complete(site.ds.invoke_startup())  # where Datasette calls prepare_jinja2_environment
    env = site.ds.jinja_env  # the site's own: autoescape, and the filter from statutes.py
    pages = pm.get_plugin("pages.py")
    assert pages is not None
    template = (Path(__file__).parent.parent / "site" / "templates" / "row-kb-statutes.html").read_text(encoding="utf-8")
    assert NEW_PROPOSALS_LOOP in template
    place = {"pinpoint": "第9条第1項", "url": "https://laws.e-gov.go.jp/law/425AC0000000027#Mp-At_9?a=1&b=\"2\"", "section": "求める措置の具体的内容"}
    proposals = [
        {"id": "2024/0071 旧", "title": '<b>"題名" & \'引用\'</b>', "number": 71, "citations": 3,
         "places": [place, {**place, "url": None, "section": "<支障事例>"}, {**place, "pinpoint": "別表第二 & 表", "section": None}]},
        {"id": "2023-0002", "title": "場所なし", "number": 2, "citations": 1, "places": []},
        {"id": "2023-0003", "title": "一つだけ", "number": 3, "citations": 1, "places": [{**place, "url": ""}]},
    ]
    context = {"kb_urls": pages.SiteUrls(site.ds)}
    for listed in (proposals, proposals[:1], []):
        new, old = (
            site.loop.run_until_complete(env.from_string(t).render_async(o={"proposals": listed}, **context))
            for t in (NEW_PROPOSALS_LOOP, OLD_PROPOSALS_LOOP)
        )
        assert new == old
    full = site.loop.run_until_complete(env.from_string(NEW_PROPOSALS_LOOP).render_async(o={"proposals": proposals}, **context))
    assert full.count("<li>") == 3 and 'href="/kb/proposals/2024~2F0071+~E6~97~A7"' in full
    assert "&lt;b&gt;&#34;題名&#34; &amp; &#39;引用&#39;&lt;/b&gt;" in full and 'title="None"' in full
