"""What the build renders once instead of every request (issue #16): section HTML and snippet offsets.

The stored HTML must be exactly what the per-request renderer made (same safety), and snippets from
the stored offsets exactly what normalising per request gave — on the real proposals, the fixture
corpus with hostile Markdown, synthetic proposals (benchmarks/corpus.py) and random text.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from datasette.tracer import capture_traces
from served_site import CORPUS, SiteClient

from kb.core.markdown import (
    plain_html,
    render_markdown,
    render_markdown_it,
    render_plain,
)
from kb.core.models import Proposal
from kb.core.vocab import EMPTY_MARK, SECTION_ORDER
from kb.db.rows import opinion_rows, proposal_row, rendered_rows
from kb.db.schema import OPINION_HTML_TABLE, SECTION_HTML_TABLE, SNIPPET_OFFSETS_TABLE
from kb.files.disk import list_proposal_files
from kb.files.parse import parse_file
from kb.pipeline import build
from kb.search.foldmap import Folded, fold_edits
from kb.search.query import SNIPPET_FIELDS, hit_from_row
from kb.search.snippets import best_snippet, highlight
from kb.search.textnorm import normalize_with_offsets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from corpus import TOPICS, generate

RENDER = Path(__file__).parent / "fixtures" / "render_markdown"
REAL = [ROOT / "proposals", Path(__file__).parent / "fixtures" / "real"]
QUERIES = [*TOPICS, "lgwan", "ＬＧＷＡＮ", "高崎", "サービス", "ガイドライン", "株", "番号 法", "(", "機関", "の"]


def _proposals(*dirs: Path) -> list[Proposal]:
    return [parse_file(path) for path in list_proposal_files(dirs).files]


def _markdown_texts(proposals: list[Proposal]) -> list[str]:
    """Every section and opinion text the proposal page shows as Markdown."""
    texts = []
    for proposal in proposals:
        row = proposal_row(proposal)
        texts += [row[k.column] for k in SECTION_ORDER if row[k.column] not in (None, EMPTY_MARK)]
        texts += [o["text"] for o in opinion_rows(proposal) if o["text"] != EMPTY_MARK]
    return texts


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """240 synthetic proposals (benchmarks/corpus.py; not real proposals)."""
    out = tmp_path_factory.mktemp("synthetic") / "corpus"
    generate(240, out, ROOT / "proposals", seed=5)
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus plus the proposal full of hostile and plain Markdown."""
    root = tmp_path_factory.mktemp("render")
    shutil.copytree(CORPUS, root / "corpus", ignore=shutil.ignore_patterns("README.md"))
    shutil.copy(RENDER / "2023" / "0006.md", root / "corpus" / "2023" / "0006.md")
    return root / "corpus"


@pytest.fixture(scope="module")
def db_path(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "kb.db"
    build(path, [corpus])
    return path


@pytest.fixture(scope="module")
def site(db_path: Path) -> Iterator[SiteClient]:
    client = SiteClient(db_path)
    yield client
    client.close()


def _untimed(html: str) -> str:
    """A page without the time it took (the footer's 処理時間)."""
    return re.sub(r"処理時間 [\d.,]+ ms", "", html)


def _copy_without(db_path: Path, target: Path, tables: tuple[str, ...]) -> Path:
    """The database as a build before these tables existed would have left it."""
    shutil.copy(db_path, target)
    with sqlite3.connect(target) as conn:
        for table in tables:
            conn.execute(f"DROP TABLE [{table}]")
    return target


# --- Markdown: the short way writes what markdown-it writes ------------------------------------


def test_plain_markdown_is_written_as_markdown_it_writes_it_on_random_text() -> None:
    pieces = ["a", "あ", "漢", "　", " ", "\n", "\n\n", "- ", "-", "1", "2.", ")", "#", ">", "=", '"', "'", "\u00a0",
              "\u2003", ":", "!", "~", "+", "0", "\v", "\x1c", "\u0085", "。", "（", "- 項目", "\n- ", "---", "\u3099"]  # fmt: skip
    rng = random.Random(16)
    plain = 0
    for _ in range(30_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        html = plain_html(text)
        if html is not None:
            plain += 1
            assert html == render_markdown_it(text), repr(text)
    assert plain > 5_000  # the short way was taken often enough to mean something


def test_section_html_is_the_same_either_way_on_real_fixture_and_synthetic_proposals(synthetic: Path) -> None:
    texts = _markdown_texts(_proposals(*REAL, CORPUS, RENDER, synthetic))
    assert len(texts) > 1_000
    for text in texts:
        assert render_markdown(text) == (f'<div class="kb-md">{render_markdown_it(text)}</div>' if text else "")
    assert sum(plain_html(t) is not None for t in texts) > 0.9 * len(texts)  # most real-shaped text is plain


def test_loose_and_tight_lists_and_paragraphs_take_the_short_way() -> None:
    text = "　段落\n二行目　\n\n- 一\n\n- 二\n\n段落\n\n- 三\n- 四"
    assert plain_html(text) == (
        "<p>段落\n二行目</p>\n<ul>\n<li>\n<p>一</p>\n</li>\n<li>\n<p>二</p>\n</li>\n</ul>\n"
        "<p>段落</p>\n<ul>\n<li>三</li>\n<li>四</li>\n</ul>\n"
    )
    for other in ["<b>x</b>", "[a](b)", "1. 番号", "# 見出し", "a\n- b", "| a |", "https://x.example/", "*強調*", "    code"]:
        assert plain_html(other) is None, other


# --- The build stores the HTML; the page shows it ------------------------------------------------


def test_build_stores_the_html_of_every_text_that_needs_the_parser(db_path: Path, corpus: Path) -> None:
    conn = sqlite3.connect(db_path)
    sections = {(p, s): h for p, s, h in conn.execute(f"select proposal_id, section, html from {SECTION_HTML_TABLE}")}
    opinions = {(p, a): h for p, a, h in conn.execute(f"select proposal_id, association, html from {OPINION_HTML_TABLE}")}
    want_sections, want_opinions = {}, {}
    for proposal in _proposals(corpus):
        row = proposal_row(proposal)
        for key in SECTION_ORDER:
            text = row[key.column]
            if text not in (None, EMPTY_MARK) and render_plain(text) is None:
                want_sections[(proposal.id, key.column)] = render_markdown(text)
        for o in opinion_rows(proposal):
            if o["text"] != EMPTY_MARK and render_plain(o["text"]) is None:
                want_opinions[(proposal.id, o["association"])] = render_markdown(o["text"])
    assert sections == want_sections and opinions == want_opinions
    assert {("2023-0006", "measures"), ("2023-0006", "residents_views"), ("2023-0006", "effects")} <= set(sections)
    assert ("2023-0006", "problems") not in sections  # plain paragraphs and lists: written by the page
    assert set(opinions) == {("2023-0006", "全国知事会")}


def test_proposal_page_shows_the_stored_html(db_path: Path, tmp_path: Path) -> None:
    changed = tmp_path / "kb.db"
    shutil.copy(db_path, changed)
    with sqlite3.connect(changed) as conn:
        conn.execute(f"update {SECTION_HTML_TABLE} set html = '<p>保存された HTML</p>' where proposal_id = '2023-0006' and section = 'measures'")
        conn.execute(f"update {OPINION_HTML_TABLE} set html = '<p>保存された意見</p>' where proposal_id = '2023-0006' and association = '全国知事会'")
    client = SiteClient(changed)
    try:
        html = client.get("/kb/proposals/2023-0006").text
        assert "<p>保存された HTML</p>" in html and "<p>保存された意見</p>" in html
    finally:
        client.close()


def test_proposal_pages_are_the_same_as_when_rendered_per_request(db_path: Path, corpus: Path, tmp_path: Path, site: SiteClient) -> None:
    old = SiteClient(_copy_without(db_path, tmp_path / "old.db", (SECTION_HTML_TABLE, OPINION_HTML_TABLE)))
    try:
        for proposal in _proposals(corpus):
            page = site.get(f"/kb/proposals/{proposal.id}")
            assert page.status_code == 200
            assert _untimed(page.text) == _untimed(old.get(f"/kb/proposals/{proposal.id}").text), proposal.id
    finally:
        old.close()


def test_stored_html_is_as_safe_as_before(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2023-0006").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and "&lt;b&gt;積極的な&lt;/b&gt;" in html
    assert not re.search(r"<(img|iframe|script)\b[^>]*(tracker|evil|alert)", html)
    assert "javascript:" not in html and '<a href="https://www.cao.go.jp/" rel="nofollow noopener noreferrer">' in html
    assert "<li>\n<p>○一つ目の項目（ＬＧＷＡＮ）</p>\n</li>" in html and "<li>項目Ａ</li>" in html


# --- Snippets from stored offsets -----------------------------------------------------------------


def test_stored_edits_rebuild_normalize_with_offsets_on_random_text() -> None:
    pieces = ["a", "A", "あ", "ｶ", "ﾞ", "ｶﾞ", "㈱", "㍻", "①", "Ａ", "１", "（", "）", "-", "－", "ー", "ア", "\u3099",
              "e\u0301", "\n", " ", "髙", "ヶ", "—", "～", "ﬁ", "ß", "İ", "\u0301" * 35]  # fmt: skip
    rng = random.Random(17)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        edits = json.loads(json.dumps(fold_edits(text), ensure_ascii=False))  # as stored and read back
        folded = Folded.stored(text, edits)
        normalized, offsets = normalize_with_offsets(text)
        assert (folded.text, list(folded.offsets)) == (normalized, offsets), repr(text)


def test_snippets_from_stored_offsets_are_the_same_on_real_fixture_and_synthetic_proposals(synthetic: Path) -> None:
    compared = 0
    for proposal in _proposals(*REAL, CORPUS, RENDER, synthetic):
        edits = json.loads(rendered_rows(proposal)[SNIPPET_OFFSETS_TABLE][0]["edits"])
        row = proposal_row(proposal)
        row["opinions_text"] = "\n".join(f"{o['association']}：{o['text']}" for o in opinion_rows(proposal)) or None
        fields = [(label, row[column]) for label, column in SNIPPET_FIELDS]
        folded = [Folded.stored(text, edits.get(column, [])) if text else None for (_, column), (_, text) in zip(SNIPPET_FIELDS, fields)]
        title = Folded.stored(row["title"], edits.get("title", []))
        for query in QUERIES:
            assert best_snippet(fields, query, folded=folded) == best_snippet(fields, query), (proposal.id, query)
            assert highlight(row["title"], query, title) == highlight(row["title"], query), (proposal.id, query)
            compared += 1
    assert compared > 5_000


def test_search_hits_are_the_same_as_when_normalised_per_request(db_path: Path) -> None:
    """Through the site's own SQL: the opinions text the search reads is the one the build made offsets for."""
    from kb.search.query import RANKED_SQL, register_functions

    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    register_functions(conn)
    seen = 0
    for query in ["保育", "LGWAN", "番号", "全国知事会", "積極的", "ガイドライン", "サービス", "高崎", "デジタル"]:
        for r in conn.execute(RANKED_SQL, {"q": query, "limit": 100, "offset": 0}):
            row = dict(r)
            assert row["fold_edits"] is not None
            assert hit_from_row(row, query) == hit_from_row({**row, "fold_edits": None}, query), (row["id"], query)
            seen += 1
    assert seen > 10


def test_search_page_is_the_same_with_a_database_built_before_the_offsets(db_path: Path, tmp_path: Path, site: SiteClient) -> None:
    old = SiteClient(_copy_without(db_path, tmp_path / "old.db", (SNIPPET_OFFSETS_TABLE,)))
    try:
        for query in ["保育", "lgwan", "高崎", "積極的", "番号利用法", "サービス"]:
            page = site.get(f"/search?q={query}")
            assert page.status_code == 200 and "<mark" in page.text, query
            assert _untimed(page.text) == _untimed(old.get(f"/search?q={query}").text), query
    finally:
        old.close()


# --- Table cells: no query per row -------------------------------------------------------------


async def _queries(client: SiteClient, path: str) -> list[str]:
    traces: list[dict[str, object]] = []
    with capture_traces(traces):
        response = await client.ds.client.get(path)
    assert response.status_code == 200
    return [str(t["sql"]) for t in traces]


def test_statute_links_in_the_proposal_list_read_the_statutes_once_per_database(site: SiteClient) -> None:
    runs = [site.loop.run_until_complete(_queries(site, "/kb/proposals?_col=statutes&_col=ministries")) for _ in range(2)]
    statute_reads = [sql for queries in runs for sql in queries if "from statutes" in sql]
    assert len(statute_reads) <= 1
    html = site.get("/kb/proposals?_col=statutes").text
    assert re.search(r'<a href="/kb/statutes/[^"]+">[^<]+</a>', html)
