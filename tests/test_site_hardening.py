"""The served site against hostile input (issue #17): SQLite limits and guards, result budget,
security headers, 400 pages for junk parameters, safe section Markdown and `--public` mode.

Everything goes through the real site (kb.serve.make_datasette) on a database built from the
fixture corpus plus one hostile proposal; the figures for the same attacks against a running
server are in docs/reliability.md (benchmarks/sql_probes.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import quote, urlencode

import httpx
import pytest
from datasette.utils import tilde_encode
from served_site import CORPUS, SiteClient, corpus_site
from typer.testing import CliRunner

from kb.cli import app
from kb.core.markdown import render_markdown
from kb.files.disk import MAX_FILE_BYTES
from kb.serve import SITE, make_datasette

HOSTILE = """---
year: 2023
era: 令和5年
number: 6
serial: 6
title: 画像と生の HTML を含む試験用の提案
category: B 地方に対する規制緩和
proponents:
  - 宇和島市
ministries:
  - 総務省
sources:
  - stage: 提案
    title: 試験用の出典
---

## 求める措置の具体的内容

外部の画像 <img src="http://tracker.example/pixel.png"> と <script>alert("x")</script> を含みます。

![図1](https://tracker.example/chart.png) と [出典](https://www.cao.go.jp/) と [危険](javascript:alert(1))。

- 箇条書き一
- 箇条書き二

## 具体的な支障事例

<iframe src="https://evil.example/"></iframe>

## 制度改正による効果

—

## 根拠法令等

—
"""
# A refused call raises inside the SQL function; Datasette turns sqlite3's callback tracebacks on,
# so Python reports each one as an "unraisable" exception (in the server's log; here, a warning).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
ROWS_1000 = "with recursive r(i) as (select 1 union all select i + 1 from r where i < 1000)"


def nested_replace(levels: int, char: str = "x") -> str:
    """10^(levels+1) characters from a few bytes of SQL."""
    sql = f"'{char * 10}'"
    for _ in range(levels):
        sql = f"replace({sql}, '{char}', '{char * 10}')"
    return sql


def sql_url(sql: str, fmt: str = ".json") -> str:
    return f"/kb{fmt}?" + urlencode({"sql": sql})


class PublicClient(SiteClient):
    def __init__(self, db_path: Path) -> None:
        self.ds = make_datasette(db_path, public=True)
        self.loop = asyncio.new_event_loop()


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hardening")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "2023" / "0006.md").write_text(HOSTILE, encoding="utf-8")
    corpus_site(root, corpus).close()  # builds root/kb.db
    return root / "kb.db"


@pytest.fixture(scope="module")
def site(db_path: Path) -> Iterator[SiteClient]:
    client = SiteClient(db_path)
    yield client
    client.close()


@pytest.fixture(scope="module")
def public(db_path: Path) -> Iterator[SiteClient]:
    client = PublicClient(db_path)
    yield client
    client.close()


@pytest.fixture(scope="module")
def hardening() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kb_test_hardening", SITE / "plugins" / "hardening.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def conn(db_path: Path, hardening: ModuleType) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(f"file:{db_path}?immutable=1", uri=True)
    hardening.harden_connection(connection)
    yield connection
    connection.close()


def error_of(response: httpx.Response) -> str:
    if response.headers["content-type"].startswith("application/json"):
        return str(response.json().get("error"))
    return " ".join(re.findall(r'class="message-error[^"]*">(.*?)</p>', response.text, re.S))


# --- SQL: refused or stopped -----------------------------------------------------------------


def test_zeroblob_bomb_is_refused(site: SiteClient) -> None:
    response = site.get(sql_url("select hex(zeroblob(400000000))"))
    assert response.status_code == 400
    assert "zeroblob" in error_of(response)


def test_zeroblob_refusal_is_explained_in_japanese_on_the_query_page(site: SiteClient) -> None:
    response = site.get(sql_url("select zeroblob(10)", fmt=""))
    assert response.status_code == 400
    assert "このサイトで使えない操作" in error_of(response) and "zeroblob()" in error_of(response)
    assert 'id="sql-editor"' in response.text  # the SQL stays editable


def test_randomblob_is_refused(site: SiteClient) -> None:
    response = site.get(sql_url("select length(randomblob(1000000000))"))
    assert response.status_code == 400 and "randomblob" in error_of(response)


def test_value_over_the_length_limit_is_refused(site: SiteClient) -> None:
    doubling = "with recursive r(s) as (select 'x' union all select s || s from r) select length(s) from r"
    response = site.get(sql_url(doubling))
    assert response.status_code == 400
    assert "string or blob too big" in error_of(response)


def test_eight_megabyte_value_is_still_allowed(site: SiteClient) -> None:
    eight_mb = " || ".join([nested_replace(5)] * 8)
    rows = site.json(sql_url(f"select length({eight_mb}) as n") + "&_shape=array")
    assert rows == [{"n": 8_000_000}]


def test_huge_response_is_stopped(site: SiteClient) -> None:
    response = site.get(sql_url(f"{ROWS_1000} select {nested_replace(5)} from r"))  # 1,000 rows of 1 MB
    assert response.status_code == 400
    assert "結果が大きすぎる" in error_of(response)


def test_response_just_under_the_budget_is_answered(site: SiteClient) -> None:
    rows = site.json(sql_url(f"{ROWS_1000} select substr({nested_replace(5)}, 1, 20000) as s from r") + "&_shape=array")
    assert isinstance(rows, list) and len(rows) == 1000 and len(rows[0]["s"]) == 20000


def test_calls_that_sqlite_answers_in_quadratic_time_are_answered_in_linear_time(site: SiteClient) -> None:
    eight_mb = "(" + " || ".join([nested_replace(5, "a")] * 8) + ")"  # SQLite itself: 30–60 s for each of these
    for call, expected in (
        (f"instr({eight_mb}, substr({eight_mb}, 1, 100000) || 'b')", 0),
        (f"length(replace({eight_mb}, substr({eight_mb}, 1, 100000) || 'b', 'x'))", 8_000_000),
        (f"{eight_mb} like '%' || substr({eight_mb}, 1, 990) || 'b'", 0),
    ):
        assert site.json(sql_url(f"select {call} as v") + "&_shape=array") == [{"v": expected}], call


def test_quadratic_calls_without_a_fast_path_are_refused(site: SiteClient) -> None:
    eight_mb = "(" + " || ".join([nested_replace(5, "a")] * 8) + ")"
    for call in (
        f"{eight_mb} glob '*' || substr({eight_mb}, 1, 990) || 'b'",
        f"{eight_mb} like '%' || substr({eight_mb}, 1, 990) || '_b'",
        f"length(trim({eight_mb}, substr({nested_replace(5, 'b')}, 1, 100000) || 'a'))",
    ):
        response = site.get(sql_url(f"select {call}"))
        assert response.status_code == 400, call
        assert "user-defined function raised exception" in error_of(response)


def test_guarded_functions_answer_exactly_like_sqlite(conn: sqlite3.Connection) -> None:
    checks = [
        "select instr('あいう', 'う'), instr(x'0102', x'02'), instr(12345, 34), instr(null, 'a')",
        "select replace('aXbX', 'X', '-'), replace('abc', '', 'z'), replace(null, 'a', 'b')",
        "select trim('xxhixx', 'x'), ltrim('yyhi', 'y'), rtrim('hizz', 'z')",
        r"select 'ABC' like 'abc', 'É' like 'é', 'a%b' like 'a\%b' escape '\', '児童福祉' like '%童%'",
        "select 'LGWAN接続' like '%lgwan%', 'Ｌgwan' like 'ｌ%', 'abc' like 'AB%', 'abc' like '%BC', 'abc' like '', '' like '%'",
        "select 'a_c' like 'a_c', 'abc' like 'a%c%', 12345 like '%34%', null like '%', 'x' like null",
        "select instr('abc', ''), replace('ÀÀ', 'À', 'à'), trim('ああいああ', 'あ'), rtrim(x'6161', 'a')",
        "select 'abc' glob 'a[b-c]?', 'abc' glob 'A*'",
        "select printf('%.1f%% / %5d / %s', 12.345, 42, 'x'), format('%03d', 7)",
    ]
    plain = sqlite3.connect(":memory:")
    for check in checks:
        assert tuple(conn.execute(check).fetchone()) == plain.execute(check).fetchone(), check


def test_printf_with_a_huge_width_is_refused(conn: sqlite3.Connection) -> None:
    for call in ("printf('%.*c', 2000000000, 'x')", "printf('%400000000d', 1)", "format('%.*c', 500000, 'x')"):
        with pytest.raises(sqlite3.OperationalError, match="user-defined function"):
            conn.execute(f"select {call}").fetchone()


def test_runaway_statement_preparation_is_stopped_by_the_heap_limit(site: SiteClient) -> None:
    ctes = ["c0 as (select 1 as x)"] + [f"c{i} as (select a.x from c{i - 1} a, c{i - 1} b)" for i in range(1, 31)]
    response = site.get(sql_url(f"with {', '.join(ctes)} select count(*) from c30"))  # 2^30 copies
    assert response.status_code == 400
    assert "メモリー" in error_of(response)


def test_writes_attach_and_pragma_changes_are_refused_by_the_connection(conn: sqlite3.Connection, tmp_path: Path) -> None:
    for statement in (
        "create temp table t (x)",
        f"attach database '{tmp_path / 'other.db'}' as other",
        "pragma writable_schema = 1",
        "pragma cache_size = 1000000",
        "pragma case_sensitive_like = 1",
        "select * from pragma_max_page_count(1)",
        "select json_patch('{}', '{}')",
    ):
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(statement).fetchall()


def test_schema_reads_and_full_text_search_still_work(conn: sqlite3.Connection) -> None:
    assert conn.execute("pragma table_info(proposals)").fetchall()
    assert conn.execute("select count(*) from pragma_index_list('citations')").fetchone()[0] >= 0
    assert conn.execute("pragma schema_version").fetchone()[0] > 0
    hits = conn.execute("""select rowid from proposals_fts where proposals_fts match '"児童"'""").fetchall()
    assert len(hits) == 2


def test_sql_limits_are_set(conn: sqlite3.Connection) -> None:
    assert conn.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED) == 0
    assert conn.getlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH) == 100_000
    with pytest.raises(sqlite3.DataError):
        conn.execute("select 1" + " " * 100_000)
    with pytest.raises(sqlite3.OperationalError, match="too many terms in compound SELECT"):
        conn.execute(" union all ".join(["select 1"] * 60))


def test_length_limit_leaves_room_over_the_largest_proposal_file(hardening: ModuleType) -> None:
    assert hardening.MAX_VALUE_BYTES >= 4 * MAX_FILE_BYTES


def test_time_limit_is_explained_in_japanese(site: SiteClient) -> None:
    endless = "with recursive r(i) as (select 1 union all select i + 1 from r) select count(*) from r"
    response = site.get(sql_url(endless) + "&_timelimit=20")
    assert response.status_code == 400
    assert "時間の上限" in error_of(response)


# --- Security headers ------------------------------------------------------------------------

HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff"}
REFERRER_POLICIES = {"strict-origin-when-cross-origin", "no-referrer"}  # Datasette's JSON already says no-referrer


@pytest.mark.parametrize(
    "path",
    ["/", "/kb/proposals.json?_col=title", "/kb/proposals.csv?_col=title", "/-/static/app.css", "/static/site.css", "/nope"],
)
def test_security_headers_on_every_kind_of_response(site: SiteClient, path: str) -> None:
    response = site.get(path)
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    assert response.headers.get("referrer-policy") in REFERRER_POLICIES
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "base-uri 'none'" in csp


def test_content_security_policy_allows_no_inline_or_remote_script(site: SiteClient) -> None:
    directives = dict(d.strip().split(" ", 1) for d in site.get("/").headers["content-security-policy"].split(";"))
    script = directives["script-src"].split()
    assert script[0] == "'self'" and all(s.startswith("'sha256-") for s in script[1:])
    assert directives["img-src"] == "'self' data:"  # no remote image, whatever a page contains
    assert "http" not in directives["default-src"] and "*" not in directives["default-src"]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/kb/proposals",
        "/kb/proposals/2024-0071",
        "/search?q=" + quote("児童"),
        "/kb?sql=select+1",
        "/kb/proposals_per_outcome",
        "/kb/statutes/425AC0000000027",
        "/kb",
        "/kb/proposals?_sort=nonexistent",
    ],
)
def test_every_inline_script_of_the_main_pages_is_allowed_by_hash(site: SiteClient, path: str) -> None:
    response = site.get(path)
    allowed = set(response.headers["content-security-policy"].split())
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", response.text, re.S)
    for body in scripts:
        digest = "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        assert digest in allowed, (path, body[:80])


# --- Junk parameters: 400 with a Japanese page, never 500 -----------------------------------

JUNK_VALUES = ["abc", "-1", "99999999999999999999", "\x00", "[", "", "nonexistent,x"]
TABLE_PARAMS = [
    "_sort", "_sort_desc", "_timelimit", "_size", "_facet", "_facet_array", "_facet_date", "_next", "_col", "_nocol",
    "_where", "_through", "_search", "_searchmode", "_shape", "_labels", "_nofacet", "_extra", "id__gt", "id__in",
    "year__arraycontains", "_stream",
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/kb/proposals.json", TABLE_PARAMS),
        ("/kb/proposals.csv", ["_sort", "_timelimit", "_where", "_through", "id__gt", "id__in", "_facet"]),
        ("/kb/proposals", ["_sort", "_timelimit", "_facet", "_where", "_through"]),
        ("/kb/proposals/2024-0071", ["_sort", "_timelimit", "_size", "_extra"]),
        ("/kb.json?sql=select+1", ["_timelimit", "_shape", "_size", "_json", "_nl", "_extra"]),
        ("/kb/proposals_citing_statute.json?statute=x&article=", ["_timelimit", "_shape", "_size", "statute"]),
        ("/search", ["q", "page"]),
    ],
)
def test_junk_parameters_never_give_a_server_error(site: SiteClient, path: str, params: list[str]) -> None:
    for param in params:
        for value in JUNK_VALUES:
            url = f"{path}{'&' if '?' in path else '?'}{quote(param)}={quote(value, safe='')}"
            assert site.get(url).status_code < 500, url


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/kb/proposals?_sort=nonexistent", "この列では並べ替えられません"),
        ("/kb/proposals?_sort_desc=nonexistent", "この列では並べ替えられません"),
        ("/kb/proposals?_timelimit=abc", "_timelimit"),
        ("/kb/proposals?_facet=%00", "NUL"),
        ("/kb/proposals?_through=abc", "読み取れなかった"),
        ("/kb/proposals?id__gt=99999999999999999999", "読み取れなかった"),
        ("/kb/proposals?" + "&".join(["_facet=year"] * 30), "ファセット"),
    ],
)
def test_bad_parameter_gives_a_japanese_400_page(site: SiteClient, path: str, message: str) -> None:
    response = site.get(path)
    assert response.status_code == 400
    assert message in response.text
    assert 'action="/search"' in response.text and 'href="/">トップページへ戻る</a>' in response.text
    assert '<link rel="stylesheet" href="/static/site.css">' in response.text  # the site's own look


def test_bad_parameter_in_a_json_url_answers_json(site: SiteClient) -> None:
    response = site.get("/kb/proposals.json?_sort=nonexistent")
    assert response.status_code == 400
    assert response.json()["ok"] is False and "並べ替え" in response.json()["error"]


def test_unknown_page_is_a_japanese_404(site: SiteClient) -> None:
    response = site.get("/kb/no_such_table")
    assert response.status_code == 404 and "ページが見つかりません" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/kb/statute_articles/425AC0000000027",
        "/kb/proposal_prefectures/2023-0001",
        "/kb/proposal_prefectures/2023-0001,宮城県",
        "/kb/statute_articles/425AC0000000027.json",
        "/kb/statute_articles/425AC0000000027.csv",
    ],
)
def test_row_url_with_too_few_key_values_is_a_404_not_a_server_error(site: SiteClient, path: str) -> None:
    """A table keyed on two columns given one value in its row URL: Datasette's row view fails binding the second."""
    response = site.get(path)
    assert response.status_code == 404
    if path.endswith(".json"):
        assert response.json()["ok"] is False and "主キー" in response.json()["detail"]
    else:
        assert "ページが見つかりません" in response.text and "主キー" in response.text


def test_row_url_with_every_key_value_still_shows_the_row(site: SiteClient) -> None:
    row = site.get("/kb/proposal_prefectures.json?_shape=array&_size=1").json()[0]
    pks = ",".join(tilde_encode(row[c]) for c in ("proposal_id", "prefecture_id", "role"))
    response = site.get(f"/kb/proposal_prefectures/{pks}")
    assert response.status_code == 200 and row["proposal_id"] in response.text


# --- Section Markdown ------------------------------------------------------------------------


def test_raw_html_in_section_markdown_is_shown_as_text(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2023-0006").text
    assert "外部の画像 &lt;img src=&#34;" in html and "&lt;iframe src=&#34;" in html  # the address inside is a plain link
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert not re.search(r"<(img|iframe)\b", html) and '<script>alert("x")' not in html
    assert not re.search(r"\bsrc=\"https?:", html)  # nothing from proposal content is fetched


def test_markdown_images_load_nothing_and_become_links(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2023-0006").text
    assert 'src="https://tracker.example' not in html and 'src="http://tracker.example' not in html
    assert '<a href="https://tracker.example/chart.png" rel="nofollow noopener noreferrer">［画像：図1］</a>' in html
    assert '<a href="https://www.cao.go.jp/" rel="nofollow noopener noreferrer">出典</a>' in html
    assert "javascript:" not in html and "危険" in html  # the unsafe link keeps its text only
    assert "<li>箇条書き一</li>" in html


def test_markdown_keeps_paragraphs_lists_and_tables() -> None:
    text = "一段落目\nの続き。\n\n- 項目一\n- 項目二\n\n1. 番号一\n\n| 年 | 件数 |\n|---|---|\n| 2024 | 3 |\n\n**強調** と `コード`"
    html = render_markdown(text)
    assert html.startswith('<div class="kb-md">') and "<p>一段落目\nの続き。</p>" in html
    assert "<ul>\n<li>項目一</li>\n<li>項目二</li>\n</ul>" in html and "<ol>\n<li>番号一</li>\n</ol>" in html
    assert "<th>年</th>" in html and "<td>2024</td>" in html
    assert "<strong>強調</strong>" in html and "<code>コード</code>" in html


def test_markdown_links_only_http_https_and_mailto() -> None:
    html = render_markdown(
        "[a](https://a.example/) [b](mailto:x@y.jp) [c](javascript:alert(1)) [d](data:text/html,x) [e](/kb) "
        "<https://f.example/> https://g.example/path（注）"
    )
    assert re.findall(r'href="([^"]*)"', html) == ["https://a.example/", "mailto:x@y.jp", "https://f.example/", "https://g.example/path"]
    assert "c" in html and "javascript" not in html and "data:" not in html


def test_markdown_escapes_like_jinja() -> None:
    assert render_markdown('<b onclick="x()">\'') == '<div class="kb-md"><p>&lt;b onclick=&#34;x()&#34;&gt;&#39;</p>\n</div>'
    assert render_markdown(None) == "" and render_markdown("") == ""


# --- kb serve --public -----------------------------------------------------------------------


def test_public_mode_refuses_sql_with_a_japanese_403(public: SiteClient) -> None:
    for path in ("/kb?sql=select+1", "/kb.json?sql=select+1", "/kb?sql=" + quote("insert into t values (1)")):
        response = public.get(path)
        assert response.status_code == 403, path
        assert "任意の SQL の実行を止めています" in error_of(response)
    response = public.get("/kb/proposals?_where=" + quote("1=1"))
    assert response.status_code == 403


def test_public_mode_keeps_canned_queries_tables_and_the_download(public: SiteClient) -> None:
    rows = public.json("/kb/proposals_per_outcome.json?_shape=array")
    assert isinstance(rows, list) and rows
    assert public.json("/search.json?q=" + quote("児童"))["rows"]  # the ranked search's export (the canned `search` was retired)
    assert public.get("/kb/proposals.csv?_col=title").status_code == 200
    download = public.get("/kb.db")
    assert download.status_code == 200 and download.content.startswith(b"SQLite format 3")
    assert 'id="sql-editor"' not in public.get("/kb").text  # no SQL box to type into


def test_kb_serve_has_a_public_option() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert "--public" in result.output


@pytest.mark.parametrize("path", ["/-/versions.json", "/-/versions"])
def test_versions_page_still_answers(path: str, site: SiteClient) -> None:
    """The authorizer refused the FTS5 table Datasette creates in "_memory" to list SQLite's features: a 500.

    The benchmarks' floor is this page."""
    assert site.get(path).status_code == 200


def test_static_name_too_long_for_the_file_system_is_a_404(site: SiteClient) -> None:
    assert site.get("/-/static/" + "a" * 300).status_code == 404


def test_served_connections_read_the_database_through_mmap(hardening: ModuleType, tmp_path: Path) -> None:
    """The immutable database is memory-mapped (#14: list and facet pages read many rows; mmap saved 10–15 %)."""
    conn = sqlite3.connect(tmp_path / "x.db")
    before = conn.execute("PRAGMA mmap_size").fetchone()[0]
    hardening.harden_connection(conn)
    conn.set_authorizer(None)  # to read the setting back
    assert before == 0 and conn.execute("PRAGMA mmap_size").fetchone()[0] > 0
    conn.close()
