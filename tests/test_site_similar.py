"""似た提案 and 再提案の経過 on the proposal page, served for real (site/plugins/sheet.py).

Corpus: tests/fixtures/similar/ — the two real 令和6年 proposals, two synthetic earlier rounds of
2024-0071 (2022-0012 names 2021-0031 in its text) and an unrelated synthetic proposal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from datasette.plugins import pm
from jinja2 import Template
from served_site import SiteClient, corpus_site

CORPUS = Path(__file__).parent / "fixtures" / "similar"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("similar-site"), CORPUS)
    yield client
    client.close()


def _section(html: str, section_id: str) -> str:
    found = re.search(rf'<section class="[^"]*" id="{section_id}">(.*?)</section>', html, re.S)
    assert found, section_id
    return found.group(1)


def test_proposal_page_lists_similar_proposals_with_what_they_share(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2024-0071").text
    similar = _section(html, "similar")
    links = re.findall(r'href="/kb/proposals/([0-9-]+)"', similar)
    assert links[0] == "2021-0031" and "2022-0012" in links
    assert "令和3年 管理番号31" in similar and "宮城県、仙台市" in similar and "対応結果：現行規定により対応可能" in similar
    assert re.search(r"共通する語：[^<]*中間サーバー", similar)


def test_proposal_page_shows_the_rounds_of_the_same_ask_in_year_order(site: SiteClient) -> None:
    chain = _section(site.get("/kb/proposals/2024-0071").text, "reproposals")
    years = re.findall(r"（(\d{4})年） 管理番号", chain)
    assert years == ["2021", "2024"]
    assert 'aria-current="true"' in chain and "推定" in chain and "共通の提案団体: 宮城県、仙台市" in chain
    named = _section(site.get("/kb/proposals/2022-0012").text, "reproposals")
    assert "明示" in named and "令和3年の提案(管理番号31)" in named


def test_a_proposal_without_earlier_or_later_rounds_shows_no_timeline(site: SiteClient) -> None:
    html = site.get("/kb/proposals/2023-0002").text
    assert 'id="reproposals"' not in html


def test_similar_and_chain_tables_are_json_for_tools(site: SiteClient) -> None:
    rows = site.json("/kb/similar_proposals.json?_shape=array&proposal_id=2024-0071&_sort=rank")
    assert isinstance(rows, list) and rows[0]["similar_id"] == "2021-0031" and rows[0]["rank"] == 1
    chain = site.json("/kb/reproposal_chain.json?_shape=array&id=2024-0071")
    assert [r["提案ID"] for r in chain] == ["2021-0031", "2024-0071"]  # type: ignore[index]


# The templates as they were before sheet.py's filters wrote their <li>s (#16), kept verbatim: the page must not change.
OLD_SIMILAR_TEMPLATE = """{# On the proposal page: the re-proposal timeline (when this ask came in other years) and the 10 most similar proposals. #}
{% if kb_chain %}
<section class="kb-chain" id="reproposals">
  <h2>再提案の経過（{{ kb_chain|length }} 回）</h2>
  <p class="kb-note">同じ趣旨の提案が年をまたいで出されたもの（kb build が本文の名指し、または似た内容・同じ提案団体などから推定）。</p>
  <ol class="kb-timeline">
  {% for r in kb_chain %}
    <li{% if r.current %} class="kb-current" aria-current="true"{% endif %}>
      <span class="kb-timeline-year">{{ r.era }}（{{ r.year }}年） 管理番号{{ r.number }}</span>
      {% if r.current %}<strong>{{ r.title }}</strong>（この提案）{% else %}<a href="{{ kb_urls.row('proposals', r.id) }}">{{ r.title }}</a>{% endif %}
      <span class="kb-note">提案団体：{{ r.proponents|join('、') }} ・ 対応結果：{{ r.outcome or '未確定' }}{% if r.kind %} ・ 前回とのつながり：{{ r.kind }}（{{ r.evidence }}）{% endif %}</span>
    </li>
  {% endfor %}
  </ol>
</section>
{% endif %}
{% if kb_similar %}
<section class="kb-similar" id="similar">
  <h2>似た提案（{{ kb_similar|length }} 件）</h2>
  <p class="kb-note">求める措置・支障事例などの言葉と引用している法令が似ている順（計算の方法は <a href="{{ kb_urls.table('similar_proposals') }}">similar_proposals 表</a>の説明を参照）。</p>
  <ol class="kb-similar-list">
  {% for r in kb_similar %}
    <li>
      <a href="{{ kb_urls.row('proposals', r.similar_id) }}">{{ r.title }}</a>
      <span class="kb-note">{{ r.era }} 管理番号{{ r.number }} ・ {{ r.proponents|join('、') }} ・ {{ r.ministries|join('、') }} ・ 対応結果：{{ r.outcome or '未確定' }}</span>
      {% if r.statutes or r.words %}<span class="kb-shared">{% if r.statutes %}共通の法令：{% for sid, name in r.statutes %}<a href="{{ kb_urls.row('statutes', sid) }}">{{ name }}</a>{{ "、" if not loop.last }}{% endfor %}{% endif %}{% if r.statutes and r.words %} ・ {% endif %}{% if r.words %}共通する語：{{ r.words|join('、') }}{% endif %}</span>{% endif %}
    </li>
  {% endfor %}
  </ol>
</section>
{% endif %}
"""
OLD_CITATIONS_TEMPLATE = """{# Under a section of the proposal page: the statutes and articles it cites, linked to e-Gov. #}
{% set cites = (kb_citations or {}).get(s.key.column) %}
{% if cites %}
<aside class="kb-citations" aria-label="この節が引用している法令">
  <span class="kb-citations-label">引用法令</span>
  <ul>
  {% for c in cites %}
    <li>{% if c.statute_id %}<a href="{{ kb_urls.row('statutes', c.statute_id) }}">{{ c.name }}</a>{% else %}<span class="kb-unresolved" title="{{ c.unresolved }}">{{ c.title }}</span>{% endif %}{% if c.pinpoint %} {% if c.url %}<a class="kb-egov" href="{{ c.url }}" rel="noopener" title="e-Gov 法令検索で条文を見る">{{ c.pinpoint }}</a>{% else %}{{ c.pinpoint }}{% endif %}{% elif c.url %} <a class="kb-egov" href="{{ c.url }}" rel="noopener" title="e-Gov 法令検索で見る">e-Gov</a>{% endif %}</li>
  {% endfor %}
  </ul>
</aside>
{% endif %}
"""
NASTY = '<b>"題名" & \'引用\'</b>'


def _chain() -> list[dict[str, object]]:
    row = {"year": 2021, "era": "令和3年", "number": 31, "outcome": None, "kind": None, "evidence": None, "current": False}
    return [
        {**row, "id": "2021/0031 旧", "title": NASTY, "proponents": ["宮城県", "<仙台市>"], "kind": None},
        {**row, "id": "2022-0012", "title": "中間サーバー & 連携", "proponents": [], "outcome": "対応不可",
         "kind": "明示", "evidence": '本文に "令和3年の提案" & <31>'},
        {**row, "id": "2024-0071", "title": "この提案 <今回>", "proponents": ["A&B"], "current": True, "kind": "推定",
         "evidence": "共通の提案団体: 宮城県"},
    ]


def _similar() -> list[dict[str, object]]:
    row = {"era": "令和6年", "number": 7, "outcome": "提案の趣旨を踏まえ対応", "proponents": ["宮城県"], "ministries": ["総務省"]}
    return [
        {**row, "similar_id": "2021/0031 旧", "title": NASTY, "statutes": [("STAT&1", "地方自治法 <抄>"), ("s2", '"住民" 基本台帳法')],
         "words": ["中間サーバー", "<番号>"]},
        {**row, "similar_id": "2022-0012", "title": "法令だけ", "statutes": [("s3", "行政手続法")], "words": [], "outcome": None},
        {**row, "similar_id": "2023-0002", "title": "語だけ", "statutes": [], "words": ["A&B"], "proponents": [], "ministries": []},
        {**row, "similar_id": "2023-0003", "title": "共通なし", "statutes": [], "words": []},
    ]


def _citations() -> list[dict[str, object]]:
    cite = {"statute_id": None, "name": None, "title": None, "pinpoint": None, "url": None, "unresolved": None}
    return [
        {**cite, "statute_id": "322AC0000000067", "name": "地方自治法", "pinpoint": "第2条第9項",
         "url": "https://laws.e-gov.go.jp/law/322AC0000000067#Mp-At_2?a=1&b=\"2\""},
        {**cite, "statute_id": "S/2 x", "name": "<告示> & '通知'", "pinpoint": "第3条"},
        {**cite, "statute_id": "S3", "name": "行政手続法", "url": "https://laws.e-gov.go.jp/law/405AC0000000088"},
        {**cite, "statute_id": "S4", "name": "住民基本台帳法"},
        {**cite, "title": "○○法施行規則 <仮>", "unresolved": '法令名が "一覧" にない & 略称', "pinpoint": "第1条",
         "url": "https://laws.e-gov.go.jp/?q=1&r=2"},
        {**cite, "title": "未解決の通知", "unresolved": "見つからない"},
        {**cite, "title": "理由なし"},  # Jinja writes None as "None"; so must the filter
    ]


def test_similar_chain_and_citation_filters_write_the_markup_the_jinja_loops_wrote(site: SiteClient) -> None:
    """sheet.py's kb_chain_items / kb_similar_items / kb_citation_items replaced per-item Jinja loops (#16), and a
    macro replaced the per-section include of _kb_citations.html: the page's bytes must not change."""
    site.loop.run_until_complete(site.ds.invoke_startup())  # where Datasette calls prepare_jinja2_environment
    env = site.ds.jinja_env  # the site's own environment: autoescape, and the filters from sheet.py
    pages = pm.get_plugin("pages.py")
    assert pages is not None
    kb_urls = pages.SiteUrls(site.ds)

    def render(template: Template, **context: object) -> str:
        return site.loop.run_until_complete(template.render_async(kb_urls=kb_urls, **context))

    new_similar, old_similar = env.get_template("_kb_similar.html"), env.from_string(OLD_SIMILAR_TEMPLATE)
    for chain, similar in ((_chain(), _similar()), ([], []), (_chain()[:1], [])):
        page = render(new_similar, kb_chain=chain, kb_similar=similar)
        assert page == render(old_similar, kb_chain=chain, kb_similar=similar)
    full = render(new_similar, kb_chain=_chain(), kb_similar=_similar())
    assert full.count("<li") == 7 and "&lt;b&gt;&#34;題名&#34; &amp; &#39;引用&#39;&lt;/b&gt;" in full
    assert 'href="/kb/proposals/2021~2F0031+~E6~97~A7"' in full and 'href="/kb/statutes/STAT~261"' in full

    # row-kb-proposals.html calls the macro where it included the old template, once per section
    new_cites = env.from_string(
        '{% from "_kb_citations.html" import section_citations %}'
        "{{ section_citations((kb_citations or {}).get(s.key.column), kb_urls) }}"
    )
    old_cites = env.from_string(OLD_CITATIONS_TEMPLATE)
    section = {"key": {"column": "measures"}}
    cases: list[dict[str, list[dict[str, object]]] | None] = [{"measures": _citations()}, {"measures": []}, {"problems": _citations()}, None]
    for cites in cases:
        assert render(new_cites, kb_citations=cites, s=section) == render(old_cites, kb_citations=cites, s=section)
    listed = render(new_cites, kb_citations={"measures": _citations()}, s=section)
    assert listed.count("<li>") == 7 and listed.count("kb-unresolved") == 3 and listed.count("kb-egov") == 3
