"""提案前チェック served for real (site/plugins/prior_art.py): the form, its CSRF, the ranked answer page and the JSON.

The database is built once from the two real sheets (tests/fixtures/real); the drafts are the hand-written
restatements of tests/fixtures/prior_art, each labelled with the proposal it restates.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlite_utils
from served_site import SiteClient, corpus_site

from kb.similar.check import MAX_DRAFT

FIXTURES = Path(__file__).parent / "fixtures"
REAL = FIXTURES / "real"
DRAFTS = FIXTURES / "prior_art"
PAGE = "/-/prior-art"
JSON_PATH = "/-/prior-art.json"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("prior_art"), REAL)
    yield client
    client.close()


@pytest.fixture(scope="module")
def db(site: SiteClient) -> sqlite_utils.Database:
    path = site.ds.get_database("kb").path
    assert path is not None
    return sqlite_utils.Database(path)


def draft(name: str) -> tuple[str, str]:
    """(the proposal it restates, the draft's text) of tests/fixtures/prior_art/<name>.md."""
    text = (DRAFTS / f"{name}.md").read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    restates = re.search(r"^restates:\s*(\S+)", front, re.M)
    assert restates is not None
    return restates.group(1), body.strip()


def post(site: SiteClient, path: str, **kwargs: Any) -> httpx.Response:
    return site.loop.run_until_complete(site.ds.client.post(path, **kwargs))


def form_session(site: SiteClient) -> tuple[str, str]:
    """(cookie header, form token) as a browser has them after opening the page."""
    response = site.get(PAGE)
    token = re.search(r'<input type="hidden" name="csrftoken" value="([^"]+)">', response.text)
    assert token is not None
    cookie = response.cookies.get("ds_csrftoken")
    assert cookie
    return f"ds_csrftoken={cookie}", token.group(1)


def submit(site: SiteClient, text: str) -> httpx.Response:
    """The form as a browser sends it: cookie, token, CRLF line ends."""
    cookie, token = form_session(site)
    return post(site, PAGE, data={"csrftoken": token, "draft": text.replace("\n", "\r\n")}, headers={"cookie": cookie})


def textarea(html: str) -> str:
    found = re.search(r'<textarea id="kb-draft" name="draft"[^>]*>\n?(.*?)</textarea>', html, re.S)
    assert found is not None
    return unescape(found.group(1))


def matches(html: str) -> list[str]:
    return re.findall(r'<li class="kb-prior-art-match">\s*<h2><span class="kb-rank">\d+</span><a href="/kb/proposals/([\d-]+)">', html)


def visible(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def assert_scripts_allowed(response: httpx.Response) -> None:
    """Every inline script of the page is allowed by the CSP's hashes, and the CSP is the site's."""
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    allowed = set(csp.split())
    for body in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", response.text, re.S):
        assert "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'" in allowed, body[:80]


# --- The form ---------------------------------------------------------------------------------------


def test_form_is_japanese_posts_with_a_csrf_token_and_says_nothing_is_kept(site: SiteClient) -> None:
    response = site.get(PAGE)
    assert response.status_code == 200
    html = response.text
    assert "<title>提案前チェック - 提案募集方式 提案データベース</title>" in html
    assert "<h1>提案前チェック</h1>" in html
    assert '<p class="crumbs"><a href="/">トップ</a> / 提案前チェック</p>' in html
    assert '<form class="kb-prior-art" action="/-/prior-art" method="post">' in html
    assert '<label for="kb-draft">提案の下書き（求める措置・支障事例など。提案シート全体を貼り付けても構いません）</label>' in html
    assert '<button type="submit">調べる</button>' in html
    assert "保存も記録（ログ）もしません" in visible(html)
    assert textarea(html) == ""
    token = re.search(r'name="csrftoken" value="([^"]*)"', html)
    assert token is not None and len(token.group(1)) > 20
    assert "提案募集方式 提案データベース</a>" in html  # the site footer, as on every page
    assert_scripts_allowed(response)


def test_front_page_and_menu_link_to_the_page(site: SiteClient) -> None:
    html = site.get("/").text
    assert '<a href="/-/prior-art">提案前チェック（過去の似た提案を探す）</a>' in html
    assert '<a href="/-/prior-art">提案前チェック（過去の似た提案）</a>' in html  # the site menu


def test_form_post_without_the_token_is_refused(site: SiteClient) -> None:
    cookie, _ = form_session(site)
    _, text = draft("01_pref_board_one_server")
    response = post(site, PAGE, data={"draft": text}, headers={"cookie": cookie})
    assert response.status_code == 403
    assert "kb-prior-art-match" not in response.text


# --- The answer page ----------------------------------------------------------------------------------


def test_draft_restating_0071_ranks_it_first_with_summary_statutes_and_answer(site: SiteClient, db: sqlite_utils.Database) -> None:
    restates, text = draft("01_pref_board_one_server")
    assert restates == "2024-0071"
    response = submit(site, text)
    assert response.status_code == 200
    html = response.text
    assert textarea(html) == text  # shown again, line ends as typed
    ranked = matches(html)
    assert ranked[0] == "2024-0071"
    # The summary line counts the matches marked 同趣旨の可能性 (score ≥ SAME_AIM) by their outcome.
    summary = re.search(r"同趣旨の可能性がある提案 (\d+) 件（提案の趣旨を踏まえ対応 (\d+) 件・現行規定により対応可能 (\d+) 件・実現できなかったもの (\d+) 件）", html)
    assert summary is not None
    n, realised, possible, other = map(int, summary.groups())
    alike = [pid for pid, same in zip(ranked, re.findall(r'<li class="kb-prior-art-match">(.*?)</li>', html, re.S), strict=True) if "kb-same-aim" in same]
    assert alike and alike[0] == "2024-0071"
    outcomes = [db["proposals"].get(pid)["outcome"] for pid in alike]
    assert n == len(alike) == realised + possible + other
    assert realised == outcomes.count("提案の趣旨を踏まえ対応") and possible == outcomes.count("現行規定により対応可能")
    # The draft writes 番号法; the registry resolves it to the statute's page, named as the database names it.
    statute = db["statutes"].get("425AC0000000027")
    cited = html.split('<p class="kb-prior-art-statutes">', 1)[1].split("</p>", 1)[0]
    assert f'<a href="/kb/statutes/425AC0000000027">{statute["name"]}</a>' in cited
    first = html.split('<li class="kb-prior-art-match">')[1].split("</li>", 1)[0]
    row = db["proposals"].get("2024-0071")
    assert f"{row['era']}（2024年） 管理番号71" in first
    assert row["title"] in visible(first)
    assert "提案団体：" + "、".join(json.loads(row["proponents"])) in visible(first)
    assert "、".join(json.loads(row["ministries"])) in visible(first)
    assert f"対応結果：{row['outcome']}" in visible(first)
    assert f'共通する法令：<a href="/kb/statutes/425AC0000000027">{statute["name"]}</a>' in first
    words = re.search(r"共通する語：([^<\n]+)", first)
    assert words is not None and any("中間サーバー" in w for w in words.group(1).split("、"))
    # The last ministry answer, with matched words marked, taken from the stored text.
    label = re.search(r'<span class="kb-snippet-label">([^<]+)</span>(.*?)</p>', first, re.S)
    assert label is not None and label.group(1) in ("対応方針（閣議決定）記載内容", "各府省からの第2次回答", "各府省からの第1次回答")
    marked = re.findall(r"<mark>(.*?)</mark>", label.group(2))
    assert marked and all(unescape(m) in words.group(1) for m in marked)
    column = {"対応方針（閣議決定）記載内容": "decision_text", "各府省からの第2次回答": "second_answer", "各府省からの第1次回答": "first_answer"}
    excerpt = visible(label.group(2)).strip("…")
    assert excerpt in row[column[label.group(1)]]
    assert response.headers["cache-control"] == "no-store" or "no-store" in response.headers["cache-control"]
    assert response.headers.get("x-kb-cache") == "bypass"  # POST answers are never cached
    assert_scripts_allowed(response)


def test_an_html_payload_in_the_draft_comes_back_escaped(site: SiteClient) -> None:
    _, text = draft("09_short_one_holder")
    payload = '</textarea><script>alert("x")</script><img src=x onerror=alert(1)>'
    html = submit(site, text + payload).text
    assert "<script>alert" not in html and "<img src=x" not in html and "</textarea><script>" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert textarea(html) == text + payload
    assert matches(html)  # the rest of the draft was still checked


def test_empty_draft_gives_the_form_with_a_gentle_message(site: SiteClient) -> None:
    response = submit(site, "  \n ")
    assert response.status_code == 200
    assert "提案の下書きを貼り付けてから「調べる」を押してください。" in response.text
    assert "同趣旨の可能性がある提案" not in response.text


def test_over_long_draft_is_refused_with_the_message_and_the_form_kept(site: SiteClient) -> None:
    _, text = draft("01_pref_board_one_server")
    long = (text * (MAX_DRAFT // len(text) + 2))[: MAX_DRAFT + 1]
    response = submit(site, long)
    assert response.status_code == 400
    message = re.search(r'<p class="message-error kb-prior-art-error" role="alert">(.*?)</p>', response.text)
    assert message is not None
    assert unescape(message.group(1)) == f"貼り付けた文が長すぎます（{MAX_DRAFT + 1:,} 文字）。{MAX_DRAFT:,} 文字以内にしてください。"
    assert textarea(response.text) == long
    assert "kb-prior-art-match" not in response.text


def test_draft_of_exactly_the_limit_with_crlf_line_ends_is_accepted(site: SiteClient) -> None:
    _, text = draft("01_pref_board_one_server")
    lines = (text + "\n") * (MAX_DRAFT // (len(text) + 1) + 1)
    response = submit(site, lines[:MAX_DRAFT])  # sent with CRLF: more than MAX_DRAFT characters on the wire
    assert response.status_code == 200
    assert matches(response.text)[0] == "2024-0071"


def test_a_body_far_over_the_limit_is_refused_unread(site: SiteClient) -> None:
    cookie, token = form_session(site)
    response = post(site, PAGE, data={"csrftoken": token, "draft": "あ" * 200_000}, headers={"cookie": cookie})
    assert response.status_code == 400
    assert "送られた内容が大きすぎます" in response.text


def test_draft_sharing_nothing_suggests_shorter_words_or_keyword_search(site: SiteClient) -> None:
    response = submit(site, "ゴルフ場の芝刈機を歩道で使えるようにしてほしい。")
    assert response.status_code == 200
    assert "同趣旨の可能性がある提案 0 件" in response.text
    assert not matches(response.text)
    assert "似た提案は見つかりませんでした" in response.text and '<a href="/search">キーワード検索</a>' in response.text


def test_nothing_pasted_is_printed(site: SiteClient, capfd: pytest.CaptureFixture[str]) -> None:
    secret = "機密の下書き番号ＸＹＺ九九九"
    _, text = draft("02_executive_bodies_merge")
    submit(site, text + secret)
    post(site, JSON_PATH, json={"draft": text + secret})
    out, err = capfd.readouterr()
    assert secret not in out and secret not in err


# --- JSON ---------------------------------------------------------------------------------------------


def test_json_post_needs_no_csrf_token_and_ranks_the_restated_proposal_first(site: SiteClient, db: sqlite_utils.Database) -> None:
    restates, text = draft("31_short_guideline")
    assert restates == "2024-0070"
    cookie, _ = form_session(site)  # a cookie makes Datasette check CSRF: JSON from tools is let through
    response = post(site, JSON_PATH, json={"draft": text}, headers={"cookie": cookie})
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["cache-control"]
    body = response.json()
    first = body["matches"][0]
    assert first["proposal_id"] == restates
    row = db["proposals"].get(restates)
    assert (first["year"], first["era"], first["number"], first["title"]) == (row["year"], row["era"], row["number"], row["title"])
    assert first["outcome"] == row["outcome"]
    assert first["proponents"] == json.loads(row["proponents"]) and first["ministries"] == json.loads(row["ministries"])
    assert first["url"] == "http://localhost/kb/proposals/2024-0070"
    assert isinstance(first["score"], float) and first["shared_words"]
    assert isinstance(first["answer_excerpt"], str) and "<mark>" not in first["answer_excerpt"]
    assert first["answer_heading"] in ("対応方針（閣議決定）記載内容", "各府省からの第2次回答", "各府省からの第1次回答")
    counts = body["counts"]
    alike = [m for m in body["matches"] if m["same_aim"]]
    assert counts["matches"] == len(body["matches"]) and counts["same_aim"] == len(alike) >= 1
    assert counts["same_aim"] == counts["realised"] + counts["possible_under_current_rules"] + counts["not_realised"]
    assert body["summary"].startswith(f"同趣旨の可能性がある提案 {counts['same_aim']} 件")
    scores = [m["score"] for m in body["matches"]]
    assert scores == sorted(scores, reverse=True)


def test_json_gives_the_statutes_by_name(site: SiteClient) -> None:
    _, text = draft("08_synonyms_mynumber_law")
    body = post(site, JSON_PATH, json={"draft": text}).json()
    assert {"id": "425AC0000000027", "name": "番号利用法"}.items() <= body["statutes"][0].items()
    assert body["statutes"][0]["url"] == "http://localhost/kb/statutes/425AC0000000027"
    assert any(s["id"] == "425AC0000000027" for s in body["matches"][0]["shared_statutes"])


def test_json_from_a_form_body_works_too(site: SiteClient) -> None:
    restates, text = draft("01_pref_board_one_server")
    response = post(site, JSON_PATH, data={"draft": text}, headers=FORM)
    assert response.status_code == 200
    assert response.json()["matches"][0]["proposal_id"] == restates


def test_json_form_body_with_a_cookie_still_needs_the_token(site: SiteClient) -> None:
    cookie, _ = form_session(site)
    response = post(site, JSON_PATH, data={"draft": "番号法"}, headers={"cookie": cookie, **FORM})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("content", "headers", "error"),
    [
        (b"{not json", {"content-type": "application/json"}, "JSON として読み取れませんでした"),
        (b'["draft"]', {"content-type": "application/json"}, "JSON として読み取れませんでした"),
        (b'{"draft": 5}', {"content-type": "application/json"}, '"draft" には文字列'),
        (b"draft=%FF%FE", FORM, "フォームの内容を読み取れませんでした"),
        (b"draft", {"content-type": "text/plain"}, "Content-Type は"),
    ],
)
def test_json_malformed_input_is_a_400_with_an_error(site: SiteClient, content: bytes, headers: dict[str, str], error: str) -> None:
    response = post(site, JSON_PATH, content=content, headers=headers)
    assert response.status_code == 400
    assert error in response.json()["error"]


def test_json_over_long_draft_is_a_400_with_the_message(site: SiteClient) -> None:
    response = post(site, JSON_PATH, json={"draft": "番" * (MAX_DRAFT + 5)})
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": f"貼り付けた文が長すぎます（{MAX_DRAFT + 5:,} 文字）。{MAX_DRAFT:,} 文字以内にしてください。"}


def test_json_get_explains_to_post(site: SiteClient) -> None:
    response = site.get(JSON_PATH)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "POST" in response.json()["usage"]
