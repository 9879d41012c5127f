"""Japanese full-text search for Datasette: bigram `escape_fts`, a ranked search page, snippet SQL function.

Registered `trylast` so that our `escape_fts` is created after Datasette's own on each
connection and replaces it: the table page's search box (`?_search=`) and its facets then
match bigram phrases, which finds 1- and 2-character Japanese words (docs/search.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import QueryInterrupted
from datasette.utils.asgi import Request, Response
from jinja2 import Environment
from markupsafe import Markup, escape

from kb.db.schema import DB_NAME
from kb.search.filters import parse_filters, table_pairs
from kb.search.query import FacetValue, facet_index, ranked_search, register_functions


@hookimpl(trylast=True)
def prepare_connection(conn: sqlite3.Connection) -> None:
    register_functions(conn)


MAX_PAGE = 10_000  # 200,000 results: beyond every corpus; a larger number overflowed SQLite's integers


def _page_number(value: str | None) -> int:
    return max(1, min(int(value), MAX_PAGE)) if value and value.isdigit() and len(value) < 30 else 1


async def search_view(datasette: Datasette, request: Request) -> Response:
    """/search?q=…&year=2023&ministries=総務省: results ranked by bm25, snippets from the original text,
    facets of every result and the filters in force (kb.search.filters)."""
    filters = parse_filters(parse_qsl(request.query_string))  # in the URL's order: chips as they were added
    try:
        result = await ranked_search(
            datasette.get_database(DB_NAME),
            request.args.get("q", ""),
            _page_number(request.args.get("page")),
            filters,
            base=datasette.urls.path("/search"),
            time_limit_ms=datasette.setting("sql_time_limit_ms"),
        )
    except sqlite3.OperationalError as exc:  # the phrases scored in memory past the time limit: as any slow query
        if "interrupted" not in str(exc):
            raise
        raise QueryInterrupted(exc, "", {}) from exc
    context = {
        "result": result,
        "database": DB_NAME,
        "metadata": datasette.metadata(),
        "table_pairs": table_pairs(filters),
        "prior_art_url": datasette.urls.path("/-/prior-art"),
    }
    html = await datasette.render_template("search.html", context, request=request)
    return Response.html(html)


async def retired_search_query(datasette: Datasette, request: Request) -> Response:
    """/kb/search, /kb/search.json, /kb/search.csv — the retired canned query `search` — → /search (.json, .csv).

    One ranked search instead of two that disagree: /search has the filters, the registries (a law's alias,
    a prefecture) and the reasons, and its export gives every row (docs/search.md, 「旧・全文検索クエリ」).
    """
    suffix = f".{request.url_vars['format']}" if request.url_vars.get("format") else ""
    query = request.args.get("q", "").strip()
    target = datasette.urls.path("/search" + suffix) + (f"?{urlencode({'q': query})}" if query else "")
    return Response.redirect(target, status=301)


def facet_list(values: list[FacetValue]) -> Markup:
    """A facet's values as a <ul>, in one Python pass: an async Jinja loop cost a few generator resumptions a
    value, and a search page lists 80 or more of them (a fifth of the page's time)."""
    out = ["<ul>"]
    for v in values:
        on = (' class="kb-facet-on"', ' title="この条件を外す"', "× ") if v.selected else ("", "", "")
        out.append(
            f'  <li{on[0]}><a href="{escape(v.url)}"{on[1]}>{on[2]}{escape(v.label)}</a>'
            f' <span class="kb-facet-count">{v.count:,}</span></li>'
        )
    out.append("</ul>")
    return Markup("\n".join(out))


@hookimpl
def startup(datasette: Datasette) -> Callable[[], Awaitable[None]]:
    async def inner() -> None:
        """Read the search's facet arrays before the first search asks for them (2.4–3.6 s at 100,000 proposals)."""
        if DB_NAME in datasette.databases:
            await facet_index(datasette.get_database(DB_NAME))

    return inner


def marked(parts: list[tuple[str, bool]]) -> Markup:
    """A title's or snippet's parts, the matched ones in <mark> (one call instead of a Jinja loop per part)."""
    return Markup("".join(f"<mark>{escape(text)}</mark>" if matched else str(escape(text)) for text, matched in parts))


@hookimpl
def prepare_jinja2_environment(env: Environment) -> None:
    env.filters["kb_facet_list"] = facet_list
    env.filters["kb_marked"] = marked


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Awaitable[Response]]]]:
    return [
        (r"^/search$", search_view),
        (rf"^/{DB_NAME}/search(\.(?P<format>json|csv))?$", retired_search_query),
    ]
