"""The proposal page: everything it shows, gathered from the database in sheet order.

The page reads like the official sheet (個票): the header fields, then every published
section in the official order, the associations' opinions inside their section, and the
documents the text was taken from (template: row-kb-proposals.html). Section and opinion
Markdown that needs the parser comes as the HTML the build rendered (tables section_html,
opinion_html); plain paragraphs and lists are written here without a parser (render_plain).
Only a database built before those tables existed has the rest rendered per request.
At the end, 似た提案 and 再提案の経過 come from the similar step's tables (kb/similar, docs/prior-art.md); their
shared words are found in this proposal's own ask (`words_in`), so a reader sees 中間サーバー, not 中間・間サ・サー.
"""

# No `from __future__ import annotations` here: Datasette loads plugins outside sys.modules,
# where dataclasses cannot resolve annotations written as strings.
import json
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import Database
from datasette.utils import tilde_encode, urlsafe_components
from datasette.utils.asgi import Request
from jinja2 import Environment
from markupsafe import Markup, escape

from kb.core.markdown import render_plain
from kb.core.vocab import EMPTY_MARK, SECTION_ORDER, SectionKey
from kb.db.schema import (
    DB_NAME,
    OPINION_HTML_TABLE,
    ROLE_CO_PROPONENT,
    ROLE_PROPONENT,
    SECTION_HTML_TABLE,
)
from kb.similar.terms import ask_text, content_runs, join_runs, words_in

SAFE_SCHEMES = frozenset({"http", "https"})
PROPOSAL_SQL = """
select p.*, c.label as category_label from proposals p left join categories c on c.id = p.category where p.id = :id
"""
SECTION_HTML_SQL = f"select section, html from {SECTION_HTML_TABLE} where proposal_id = :id"
OPINIONS_SQL = f"""
select o.association, o.text, h.html from opinions o
left join {OPINION_HTML_TABLE} h on h.proposal_id = o.proposal_id and h.association = o.association
where o.proposal_id = :id order by o.position
"""
OPINIONS_WITHOUT_HTML_SQL = "select association, text, null as html from opinions where proposal_id = :id order by position"
# The documents the text was taken from, with where and when each was fetched (templates/_kb_sources.html).
SOURCES_SQL = "select stage, ministry, title, url, page, link_text, retrieved from sources where proposal_id = :id order by position"
SOURCES_WITHOUT_PROVENANCE_SQL = """
select stage, ministry, title, url, null as page, null as link_text, null as retrieved from sources where proposal_id = :id order by position
"""


def safe_url(url: str | None) -> str | None:
    """The URL if it is plain http(s), else None (a `javascript:` URL is shown as text, never linked)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in SAFE_SCHEMES and parts.netloc else None


@dataclass
class Section:
    key: SectionKey
    text: str  # Markdown as written; EMPTY_MARK when the sheet printed —
    html: Markup | None = None  # stored or plain (None: neither, the template renders it)

    @property
    def heading(self) -> str:
        return self.key.value

    @property
    def is_empty(self) -> bool:
        return self.text == EMPTY_MARK


@dataclass
class Sheet:
    proposal: dict[str, Any]
    sections: list[Section] = field(default_factory=list)
    opinions: list[dict[str, Any]] = field(default_factory=list)
    proponents: list[str] = field(default_factory=list)
    co_proponents: list[str] = field(default_factory=list)
    ministries: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)


def sections_of(row: dict[str, Any], html: dict[str, str] | None = None) -> list[Section]:
    """Published sections in official order (NULL columns are not published yet and left out)."""
    html = html or {}
    return [
        Section(key, row[key.column], _markup(html.get(key.column), row[key.column]))
        for key in SECTION_ORDER
        if row.get(key.column) is not None
    ]


def _markup(stored: str | None, text: str) -> Markup | None:
    """The HTML kb.core.markdown makes of the text: as the build stored it, or written now when plain."""
    html = stored if stored is not None else render_plain(text) if text != EMPTY_MARK else None
    return None if html is None else Markup(html)


async def _stored(db: Database, sql: str, fallback_sql: str | None, proposal_id: str) -> list[dict[str, Any]]:
    """Rows of a query on the rendered tables; a database built before they existed answers `fallback_sql`."""
    try:
        return [dict(r) for r in await db.execute(sql, {"id": proposal_id})]
    except sqlite3.OperationalError:
        return [] if fallback_sql is None else [dict(r) for r in await db.execute(fallback_sql, {"id": proposal_id})]


async def load_sheet(db: Database, proposal_id: str) -> Sheet | None:
    rows = list(await db.execute(PROPOSAL_SQL, {"id": proposal_id}))
    if not rows:
        return None
    row = dict(rows[0])
    html = {r["section"]: r["html"] for r in await _stored(db, SECTION_HTML_SQL, None, proposal_id)}
    sheet = Sheet(proposal=row, sections=sections_of(row, html))
    links = await db.execute(
        "select local_government_id, role from proposal_local_governments where proposal_id = :id order by role, position",
        {"id": proposal_id},
    )
    for link in links:
        target = sheet.proponents if link["role"] == ROLE_PROPONENT else sheet.co_proponents
        if link["role"] in (ROLE_PROPONENT, ROLE_CO_PROPONENT):
            target.append(link["local_government_id"])
    ministries = await db.execute(
        "select ministry_id from proposal_ministries where proposal_id = :id order by position", {"id": proposal_id}
    )
    sheet.ministries = [m["ministry_id"] for m in ministries]
    opinions = await _stored(db, OPINIONS_SQL, OPINIONS_WITHOUT_HTML_SQL, proposal_id)
    sheet.opinions = [{**o, "html": _markup(o["html"], o["text"])} for o in opinions]
    sources = await _stored(db, SOURCES_SQL, SOURCES_WITHOUT_PROVENANCE_SQL, proposal_id)
    sheet.sources = [{**s, "safe_url": safe_url(s["url"]), "safe_page": safe_url(s["page"])} for s in sources]
    return sheet


SIMILAR_SQL = """
select s.rank, s.similar_id, s.score, s.shared_statutes, s.shared_terms,
       p.year, p.era, p.number, p.title, p.outcome, p.proponents, p.ministries
from similar_proposals s join proposals p on p.id = s.similar_id
where s.proposal_id = :id order by s.rank
"""
# Every earlier round of this proposal and every later one, each with the link to its previous round.
CHAIN_SQL = """
with recursive
  back(id, depth) as (select :id, 0 union select r.earlier_id, back.depth + 1 from reproposals r join back on r.proposal_id = back.id where back.depth < 30),
  forth(id, depth) as (select :id, 0 union select r.proposal_id, forth.depth + 1 from reproposals r join forth on r.earlier_id = forth.id where forth.depth < 30)
select p.id, p.year, p.era, p.number, p.title, p.outcome, p.proponents, r.earlier_id, r.kind, r.evidence
from (select id from back union select id from forth) m
join proposals p on p.id = m.id
left join reproposals r on r.proposal_id = p.id
order by p.year, p.number
"""
ASK_SQL = "select title, measures, problems, effects from proposals where id = :id"


def _names(value: str | None) -> list[str]:
    return json.loads(value) if value else []


async def statute_names(db: Database, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    marks = ", ".join(f":s{i}" for i in range(len(ids)))
    rows = await db.execute(f"select id, name from statutes where id in ({marks})", {f"s{i}": v for i, v in enumerate(sorted(ids))})
    return {r["id"]: r["name"] for r in rows}


async def load_similar(db: Database, proposal_id: str) -> dict[str, Any]:
    """`kb_similar` (ranked similar proposals) and `kb_chain` (the re-proposal timeline, empty when alone)."""
    try:
        similar = [dict(r) for r in await db.execute(SIMILAR_SQL, {"id": proposal_id})]
        chain = [dict(r) for r in await db.execute(CHAIN_SQL, {"id": proposal_id})]
    except sqlite3.OperationalError:  # built before the similar step
        return {"kb_similar": [], "kb_chain": []}
    ask_rows = list(await db.execute(ASK_SQL, {"id": proposal_id}))
    runs = join_runs(content_runs(ask_text(*ask_rows[0])) if ask_rows else [])  # once: every neighbour's words are found in it
    names = await statute_names(db, {s for r in similar for s in json.loads(r["shared_statutes"])})
    for r in similar:
        r["proponents"], r["ministries"] = _names(r["proponents"]), _names(r["ministries"])
        r["statutes"] = [(sid, names.get(sid, sid)) for sid in json.loads(r["shared_statutes"])]
        r["words"] = words_in(runs, json.loads(r["shared_terms"]), limit=5)
    for r in chain:
        r["proponents"] = _names(r["proponents"])
        r["current"] = r["id"] == proposal_id
    return {"kb_similar": similar, "kb_chain": chain if len(chain) > 1 else []}


# --- The page's lists, written in Python ---------------------------------------------------------------
# The <li>s of 再提案の経過, 似た提案 and each section's 引用法令, as the Jinja loops of _kb_similar.html and
# _kb_citations.html wrote them, byte for byte (tests/test_site_similar.py renders both). An async Jinja
# loop resumes a generator per output piece (~730 a page): with these filters the page's Jinja time went
# from 5.5 to 4.0 ms (p50, 5,000 proposals; _kb_citations.html's per-section include became a macro too).


class RowUrls(Protocol):
    """What the filters need of `kb_urls` (pages.py's SiteUrls): a row's URL."""

    def row(self, table: str, pk: str) -> str: ...


def _row_url(urls: RowUrls, table: str) -> Callable[[Any], str]:
    """`kb_urls.row(table, pk)`, escaped for an attribute, with the table's prefix asked once.

    SiteUrls.row is Datasette's `urls.row(db, table, tilde_encode(pk))`, the prefix plus the encoded key;
    a tilde-encoded key holds no character HTML escapes, so only the prefix needs escaping.
    """
    prefix = str(escape(str(urls.row(table, ""))))
    return lambda pk: prefix + tilde_encode(str(pk))


def _joined(values: Any) -> Markup:
    """`{{ values|join('、') }}` under autoescape (the values are plain strings from JSON, never Markup)."""
    return escape("、".join(map(str, values)))


def chain_items(chain: list[dict[str, Any]], urls: RowUrls) -> Markup:
    """The <li>s of 再提案の経過 (`kb_chain`), with the whitespace the template's loop wrote around each."""
    proposal_url = _row_url(urls, "proposals")
    out = []
    for r in chain:
        if r["current"]:
            opening, title = '<li class="kb-current" aria-current="true">', f"<strong>{escape(r['title'])}</strong>（この提案）"
        else:
            opening, title = "<li>", f'<a href="{proposal_url(r["id"])}">{escape(r["title"])}</a>'
        kind = f" ・ 前回とのつながり：{escape(r['kind'])}（{escape(r['evidence'])}）" if r["kind"] else ""
        out.append(
            f"\n    {opening}\n"
            f'      <span class="kb-timeline-year">{escape(r["era"])}（{escape(r["year"])}年） 管理番号{escape(r["number"])}</span>\n'
            f"      {title}\n"
            f'      <span class="kb-note">提案団体：{_joined(r["proponents"])} ・ 対応結果：{escape(r["outcome"] or "未確定")}{kind}</span>\n'
            "    </li>\n  "
        )
    return Markup("".join(out))


def similar_items(similar: list[dict[str, Any]], urls: RowUrls) -> Markup:
    """The <li>s of 似た提案 (`kb_similar`): link, era and number, who asked, and the statutes and words shared."""
    proposal_url, statute_url = _row_url(urls, "proposals"), _row_url(urls, "statutes")
    out = []
    for r in similar:
        statutes, words = r["statutes"], r["words"]
        shared = ""
        if statutes or words:
            links = "、".join(f'<a href="{statute_url(sid)}">{escape(name)}</a>' for sid, name in statutes)
            shared = (
                '<span class="kb-shared">'
                + (f"共通の法令：{links}" if statutes else "")
                + (" ・ " if statutes and words else "")
                + (f"共通する語：{_joined(words)}" if words else "")
                + "</span>"
            )
        out.append(
            "\n    <li>\n"
            f'      <a href="{proposal_url(r["similar_id"])}">{escape(r["title"])}</a>\n'
            f'      <span class="kb-note">{escape(r["era"])} 管理番号{escape(r["number"])} ・ {_joined(r["proponents"])}'
            f' ・ {_joined(r["ministries"])} ・ 対応結果：{escape(r["outcome"] or "未確定")}</span>\n'
            f"      {shared}\n"
            "    </li>\n  "
        )
    return Markup("".join(out))


def citation_items(cites: list[dict[str, Any]], urls: RowUrls) -> Markup:
    """The <li>s of a section's 引用法令: the statute (or the unresolved title) and the cited place, linked to e-Gov."""
    statute_url = _row_url(urls, "statutes")
    out = []
    for c in cites:
        if c["statute_id"]:
            cited = f'<a href="{statute_url(c["statute_id"])}">{escape(c["name"])}</a>'
        else:
            cited = f'<span class="kb-unresolved" title="{escape(c["unresolved"])}">{escape(c["title"])}</span>'
        if c["pinpoint"]:
            place = escape(c["pinpoint"])
            if c["url"]:
                place = Markup(
                    f'<a class="kb-egov" href="{escape(c["url"])}" rel="noopener" title="e-Gov 法令検索で条文を見る">{place}</a>'
                )
            cited += f" {place}"
        elif c["url"]:
            cited += f' <a class="kb-egov" href="{escape(c["url"])}" rel="noopener" title="e-Gov 法令検索で見る">e-Gov</a>'
        out.append(f"\n    <li>{cited}</li>\n  ")
    return Markup("".join(out))


@hookimpl
def prepare_jinja2_environment(env: Environment) -> None:
    env.filters["kb_chain_items"] = chain_items
    env.filters["kb_similar_items"] = similar_items
    env.filters["kb_citation_items"] = citation_items


@hookimpl
def extra_template_vars(
    view_name: str, database: str | None, table: str | None, request: Request | None, datasette: Datasette
) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def inner() -> dict[str, Any]:
        if view_name != "row" or database != DB_NAME or table != "proposals" or request is None:
            return {}
        pk = urlsafe_components(request.url_vars["pks"])[0]
        db = datasette.get_database(DB_NAME)
        return {"sheet": await load_sheet(db, pk), **await load_similar(db, pk)}

    return inner
