"""Statute pages and the citations on proposal pages (docs/statutes.md).

A statute's page lists the proposals that cite it, by year and outcome, with a link to
e-Gov; a proposal's page lists, under each section, the statutes and articles that
section cites, each linked to the article on e-Gov and to the statute's own page.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import Database
from datasette.utils import tilde_encode, urlsafe_components
from datasette.utils.asgi import Request
from jinja2 import Environment
from markupsafe import Markup, escape

from kb.db.schema import DB_NAME, json_list

# A statute's page lists the newest STATUTE_PAGE_LIMIT citing proposals (a law cited by thousands made a
# page of megabytes); the whole set is one click away in the proposals list, with its facets.
STATUTE_PAGE_LIMIT = 100
# Which proposals: a rarely cited statute's few ids come from the citations index and are sorted; a much
# cited one walks proposals newest first and stops at the limit (sorting thousands of ids costs more).
MUCH_CITED = 1000
_RARE_PICK = "select proposal_id as id from citations where statute_id = :pk group by proposal_id order by proposal_id desc limit :limit"
_MUCH_PICK = """select p.id from proposals p
  where exists (select 1 from citations c where c.statute_id = :pk and c.proposal_id = p.id)
  order by p.id desc limit :limit"""
STATUTE_PROPOSALS_SQL = """
with picked as ({pick})
select p.id, p.title, p.era, p.year, p.number, coalesce(p.outcome, '（未分類）') as outcome,
  count(*) as citations,
  json_group_array(json_object('pinpoint', c.pinpoint, 'url', c.url, 'section', c.section_label)) as places
from picked join proposals p on p.id = picked.id join citations c on c.proposal_id = p.id and c.statute_id = :pk
group by p.id
order by p.year desc, coalesce((select position from outcomes o where o.id = p.outcome), 99), p.number
"""
STATUTE_PROPOSAL_COUNT_SQL = "select count(distinct proposal_id) from citations where statute_id = :pk"
# The 20 most cited articles (ties by number, then as written: 19, 19_10, 19_2), counted by the build
# (`statute_articles`, kb.statutes.step); a database built before that table existed is counted per view.
STATUTE_ARTICLES_SQL = """
select article, citations, proposals from statute_articles
where statute_id = :pk order by citations desc, cast(article as integer), article limit 20
"""
COUNTED_ARTICLES_SQL = """
select article, count(*) as citations, count(distinct proposal_id) as proposals
from citations where statute_id = :pk and article is not null and supplementary = 0
group by article order by citations desc, cast(article as integer), article limit 20
"""
STATUTE_FAMILY_SQL = "select id, name, kind from statutes where parent_id = :pk or id = (select parent_id from statutes where id = :pk)"
PROPOSAL_CITATIONS_SQL = """
select c.section, c.statute_id, s.name, c.title, c.kind, c.pinpoint, c.url, c.quote, c.unresolved
from citations c left join statutes s on s.id = c.statute_id
where c.proposal_id = :pk order by c.position
"""


def group_by_year(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{year, era, outcomes: [{outcome, proposals: [...]}]}] in the order the query gave."""
    years: list[dict[str, Any]] = []
    for r in rows:
        places: dict[str, dict[str, Any]] = {}
        for place in json.loads(r["places"]):
            if place["pinpoint"]:
                places.setdefault(place["pinpoint"], place)  # each place once, first mention first
        r = {**r, "places": list(places.values())}
        if not years or years[-1]["year"] != r["year"]:
            years.append({"year": r["year"], "era": r["era"], "outcomes": []})
        outcomes = years[-1]["outcomes"]
        if not outcomes or outcomes[-1]["outcome"] != r["outcome"]:
            outcomes.append({"outcome": r["outcome"], "proposals": []})
        outcomes[-1]["proposals"].append(r)
    return years


class RowUrls(Protocol):
    """What `statute_proposal_items` needs of `kb_urls` (pages.py's SiteUrls): a row's URL."""

    def row(self, table: str, pk: str) -> str: ...


def statute_proposal_items(proposals: list[dict[str, Any]], urls: RowUrls) -> Markup:
    """The <li>s of one outcome on a statute's page (`group_by_year`'s proposals), byte for byte as the
    template's Jinja loop wrote them (tests/test_statutes_site.py renders both): 100 proposals with ~17
    places each were ~3,000 loop steps of async Jinja, half the page's time for a much cited law."""
    out = []
    for r in proposals:
        places = ""
        if r["places"]:
            links = [
                f'<a href="{escape(pl["url"])}" rel="noopener" title="{escape(pl["section"])}">{escape(pl["pinpoint"])}</a>'
                if pl["url"]
                else f'<span title="{escape(pl["section"])}">{escape(pl["pinpoint"])}</span>'
                for pl in r["places"]
            ]
            places = f'<span class="kb-pinpoints">{"、".join(links)}</span>'
        out.append(
            f'\n    <li><a href="{escape(urls.row("proposals", r["id"]))}">{escape(r["title"])}</a>'
            f' <span class="kb-note">管理番号{escape(r["number"])} ・ 引用 {escape(r["citations"])} 件</span>\n'
            f"      {places}\n"
            "    </li>\n    "
        )
    return Markup("".join(out))


@hookimpl
def prepare_jinja2_environment(env: Environment) -> None:
    env.filters["kb_statute_proposal_items"] = statute_proposal_items


def by_section(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Citations of one proposal keyed by section column, duplicates (same statute and place) merged."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        seen = out.setdefault(r["section"], [])
        key = (r["statute_id"] or r["title"], r["pinpoint"])
        if not any((s["statute_id"] or s["title"], s["pinpoint"]) == key for s in seen):
            seen.append(r)
    return out


@hookimpl
def extra_template_vars(view_name: str, database: str | None, table: str | None, request: Request | None, datasette: Datasette):
    async def inner() -> dict[str, Any]:
        if view_name != "row" or database != DB_NAME or request is None or table not in ("statutes", "proposals"):
            return {}
        db = datasette.get_database(DB_NAME)
        if not await db.table_exists("citations"):
            return {}
        pk = urlsafe_components(request.url_vars["pks"])[0]
        if table == "proposals":
            rows = await db.execute(PROPOSAL_CITATIONS_SQL, {"pk": pk})
            return {"kb_citations": by_section([dict(r) for r in rows])}
        statute = (await db.execute("select * from statutes where id = :pk", {"pk": pk})).first()
        if statute is None:
            return {}
        stored = statute["proposal_count"] if "proposal_count" in statute.keys() else None  # the build counts them
        count = stored if stored is not None else (await db.execute(STATUTE_PROPOSAL_COUNT_SQL, {"pk": pk})).first()[0]
        sql = STATUTE_PROPOSALS_SQL.format(pick=_MUCH_PICK if count > MUCH_CITED else _RARE_PICK)
        proposals = [dict(r) for r in await db.execute(sql, {"pk": pk, "limit": STATUTE_PAGE_LIMIT})]
        return {
            "kb_statute": {**dict(statute), "aliases": json.loads(statute["aliases"] or "[]")},
            "kb_statute_years": group_by_year(proposals),
            "kb_statute_proposal_count": count,
            "kb_statute_shown": len(proposals),
            "kb_statute_articles": await most_cited_articles(db, pk),
            "kb_statute_family": [dict(r) for r in await db.execute(STATUTE_FAMILY_SQL, {"pk": pk})],
        }

    return inner


async def most_cited_articles(db: Database, pk: str) -> list[dict[str, Any]]:
    """(article, citations, proposals) of the statute's 20 most cited articles, most cited first."""
    sql = STATUTE_ARTICLES_SQL if await db.table_exists("statute_articles") else COUNTED_ARTICLES_SQL
    return [dict(r) for r in await db.execute(sql, {"pk": pk})]


# Statute name → id, read once per immutable database (the site's): it cannot change while served.
_STATUTE_IDS: WeakKeyDictionary[Database, dict[str, str]] = WeakKeyDictionary()


async def statute_ids(db: Database) -> dict[str, str]:
    """Every statute's id by its short name; one query per database instead of one per table cell."""
    ids = _STATUTE_IDS.get(db)
    if ids is None:
        ids = {r["name"]: r["id"] for r in await db.execute("select id, name from statutes")}
        if not db.is_mutable:  # a mutable database (tests, `datasette` by hand) may change: read it each time
            _STATUTE_IDS[db] = ids
    return ids


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str | None, datasette: Datasette):
    """proposals.statutes (JSON array of names) as links to the statute pages; every other cell untouched, unparsed."""
    if column != "statutes" or table != "proposals" or database != DB_NAME:
        return None
    names = json_list(value)
    if names is None:
        return None

    async def inner() -> Markup:
        ids = await statute_ids(datasette.get_database(DB_NAME))
        links = [
            f'<a href="{escape(datasette.urls.row(DB_NAME, "statutes", tilde_encode(ids[n])))}">{escape(n)}</a>' if n in ids else str(escape(n))
            for n in names
        ]
        return Markup("、".join(links))

    return inner
