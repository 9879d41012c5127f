"""Data and URL helpers for the Japanese front page, the proposal page and the site menu."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import urlencode
from weakref import WeakKeyDictionary

from datasette import hookimpl
from datasette.app import Datasette
from datasette.utils import tilde_encode, to_css_class, urlsafe_components
from datasette.utils.asgi import Request, Response
from jinja2 import Environment
from markupsafe import Markup, escape

from kb.core import column_notes, paths
from kb.db.schema import DB_NAME, json_list

# Columns the proposal list shows by default: the long section texts are on each proposal's page.
LIST_COLUMNS = ["title", "year", "category", "policy_field", "ministries", "outcome", "stage"]

STATS_SQL = """
select count(*) as proposals, min(year) as first_year, max(year) as last_year,
  (select count(*) from local_governments) as local_governments,
  (select count(*) from ministries) as ministries
from proposals
"""


class SiteUrls:
    """URLs of our own pages, encoded the way Datasette expects (tilde-encoded keys)."""

    def __init__(self, datasette: Datasette):
        self.ds = datasette

    def row(self, table: str, pk: str) -> str:
        return self.ds.urls.row(DB_NAME, table, tilde_encode(str(pk)))

    def table(self, table: str, **filters: Any) -> str:
        """A table's list; the proposals' opens with the menu's columns, not all 35 (every long text)."""
        if table == "proposals":
            return self.proposals(*filters.items())
        return self.ds.urls.table(DB_NAME, table) + (f"?{urlencode(filters)}" if filters else "")

    def proposals(self, *pairs: tuple[str, Any]) -> str:
        """The proposal list with our default columns and the given filters (key, value) pairs."""
        args = [("_col", c) for c in LIST_COLUMNS] + list(pairs)
        return self.ds.urls.table(DB_NAME, "proposals") + "?" + urlencode(args)

    def search(self, query: str = "") -> str:
        return self.ds.urls.path("/search") + (f"?{urlencode({'q': query})}" if query else "")

    def query(self, name: str) -> str:
        return self.ds.urls.query(DB_NAME, name)


# Proposals linked to a local government / ministry row, for the list on that row's page.
RELATED_SQL: dict[str, str] = {
    "local_governments": """
        select p.id, p.title, p.era, p.number, l.role as note from proposal_local_governments l
        join proposals p on p.id = l.proposal_id where l.local_government_id = :pk order by p.year desc, p.number
        limit :limit""",
    "ministries": """
        select p.id, p.title, p.era, p.number, case m.answers_sheet when 1 then '回答府省' else '' end as note
        from proposal_ministries m join proposals p on p.id = m.proposal_id where m.ministry_id = :pk
        order by p.year desc, p.number limit :limit""",
}
RELATED_COUNT_SQL = {
    "local_governments": "select count(distinct proposal_id) from proposal_local_governments where local_government_id = :pk",
    "ministries": "select count(*) from proposal_ministries where ministry_id = :pk",
}
# A row page lists the newest this many proposals and links the rest (a ministry has thousands: the
# whole list made a 100 KB page, the slowest a clerk met), as statute and prefecture pages do.
RELATED_SHOWN = 100
# Japanese name of what a row page is about, for its <title> (Datasette's is "kb: prefectures").
ROW_KINDS = {"local_governments": "地方公共団体", "ministries": "府省", "prefectures": "都道府県"}


def _labeller(datasette: Datasette) -> Callable[[str | None, str], str]:
    def kb_label(table: str | None, column: str) -> str:
        columns = column_notes.of(datasette, DB_NAME, table)
        if column == "Link" and column not in columns:  # Datasette's column of row links (rowid or compound keys)
            return "行へのリンク"
        return column_notes.short_label(columns.get(column), column)

    return kb_label


def _crumb_namer(datasette: Datasette) -> Callable[[str, int], str]:
    """Breadcrumb labels: position 0 is the site, 1 a database, 2 a table (Datasette passes raw names)."""

    def kb_crumb(label: str, position: int) -> str:
        if position == 0:
            return "トップ"
        if position == 1:
            return datasette.metadata("title", database=label, fallback=False) or label
        return datasette.table_metadata(DB_NAME, label).get("title") or label

    return kb_crumb


# Breadcrumbs of anonymous visitors per site: (database, table) → Datasette's crumb items.
_CRUMBS: WeakKeyDictionary[Datasette, dict[tuple[str | None, str | None], list[dict[str, str]]]] = WeakKeyDictionary()


async def crumb_items(
    datasette: Datasette, request: Request | None = None, database: str | None = None, table: str | None = None
) -> list[dict[str, str]]:
    """Datasette's breadcrumbs, kept per site for visitors without an actor.

    Datasette checks view permission on the instance, the database and the table for every page's
    crumbs, and its table check deep-copies the whole metadata (about 1 ms, a tenth of a proposal
    page). Without an actor the answer depends only on the metadata and the plugins, both fixed while
    the site runs; a signed-in actor is asked about each time.
    """
    if request is not None and request.actor is not None:
        return list(await datasette._crumb_items(request=request, database=database, table=table))
    known = _CRUMBS.setdefault(datasette, {})
    if (database, table) not in known:
        known[(database, table)] = list(await datasette._crumb_items(request=request, database=database, table=table))
    return known[(database, table)]


def _stamp(datasette: Datasette) -> tuple[object, ...]:
    """The database file's identity: what is computed once per build is recomputed when it changes."""
    return paths.file_stamp(datasette.get_database(DB_NAME).path)


_FRONT: WeakKeyDictionary[Datasette, tuple[tuple[object, ...], dict[str, Any]]] = WeakKeyDictionary()


async def _front_page(datasette: Datasette) -> dict[str, Any]:
    """Counts and years of the front page, once per database file (it is immutable while served)."""
    stamp = _stamp(datasette)
    cached = _FRONT.get(datasette)
    if cached is None or cached[0] != stamp:
        db = datasette.get_database(DB_NAME)
        stats = dict((await db.execute(STATS_SQL)).first())
        years = await db.execute("select year, era, count(*) as n from proposals group by year, era order by year desc")
        queries = (datasette.metadata("queries", database=DB_NAME) or {}).items()
        cached = _FRONT[datasette] = (stamp, {
            "kb_stats": stats,
            "kb_years": [dict(r) for r in years],
            "kb_queries": [(name, q.get("title") or name, q.get("description")) for name, q in queries],
        })
    return cached[1]


async def front_page(datasette: Datasette, request: Request) -> Response:
    """`/` without Datasette's index view, which checks view permission on every table to list them.

    The front page lists no tables; Datasette 0.65 deep-copies the whole metadata for each of those
    68 checks (about 100 ms). `/.json` is still Datasette's own.
    """
    await datasette.ensure_permissions(request.actor, ["view-instance"])
    context = {"metadata": datasette.metadata(), "databases": [], "homepage_columns": []}
    html = await datasette.render_template("index.html", context, request=request, view_name="index")
    return Response.html(html)


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Awaitable[Response]]]]:
    return [(r"^/$", front_page)]


# The data's as-of line of every page's footer, per site and database file (its mtime): one scan per build.
_AS_OF: WeakKeyDictionary[Datasette, tuple[tuple[object, ...], dict[str, Any]]] = WeakKeyDictionary()
AS_OF_SQL = "select max(decision_date) as decided, max(year) as year, count(*) as n from proposals"


async def data_as_of(datasette: Datasette) -> dict[str, Any]:
    """The newest 閣議決定 date and year in the data, and the number of proposals (for the footer)."""
    db = datasette.get_database(DB_NAME)
    stamp = _stamp(datasette)
    cached = _AS_OF.get(datasette)
    if cached is None or cached[0] != stamp:
        try:
            row = dict((await db.execute(AS_OF_SQL)).first())
        except sqlite3.OperationalError:
            row = {}
        cached = _AS_OF[datasette] = (stamp, row)
    return cached[1]


_CSS_CLASSES: dict[str, str] = {}  # column name → Datasette's CSS class for it (a regex and a hash per call)


def table_rows(display_rows: Any) -> Markup:
    """The <tr>s of Datasette's result table in one Python pass.

    The same markup `_table.html`'s nested loops wrote, but an async Jinja loop costs a few generator
    resumptions a cell, and the proposals table shows 35 columns × 20 rows: half its time went there.
    """
    out = []
    for row in display_rows:
        out.append("<tr>")
        for cell in row:
            column = cell["column"]
            css = _CSS_CLASSES.get(column)
            if css is None:
                css = _CSS_CLASSES[column] = to_css_class(column)
            out.append(f'<td class="col-{css} type-{escape(cell["value_type"])}">{escape(cell["value"])}</td>')
        out.append("</tr>")
    return Markup("\n".join(out))


@hookimpl
def prepare_jinja2_environment(env: Environment) -> None:
    env.filters["kb_table_rows"] = table_rows


@hookimpl
def extra_template_vars(
    template: str, database: str | None, table: str | None, view_name: str, request: Request | None, datasette: Datasette
) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def inner() -> dict[str, Any]:
        found: dict[str, Any] = {
            "kb_urls": SiteUrls(datasette),
            "kb_label": _labeller(datasette),
            "kb_column_note": lambda table, column: column_notes.of(datasette, DB_NAME, table).get(column),
            "kb_crumb": _crumb_namer(datasette),
            "kb_crumb_items": partial(crumb_items, datasette),
            "kb_as_of": await data_as_of(datasette),
            # the footer's attribution: the site's own source, not the page's `metadata` (Datasette's table and
            # database views fill the instance's source into table metadata dicts shared with later views)
            "kb_source": datasette.metadata("source"),
            "kb_source_url": datasette.metadata("source_url"),
        }
        if template == "index.html":
            found.update(await _front_page(datasette))
        elif view_name == "row" and database == DB_NAME and table in RELATED_SQL and request is not None:
            pk = urlsafe_components(request.url_vars["pks"])[0]
            db = datasette.get_database(DB_NAME)
            rows = await db.execute(RELATED_SQL[table], {"pk": pk, "limit": RELATED_SHOWN})
            found["kb_related"] = [dict(r) for r in rows]
            found["kb_related_total"] = (await db.execute(RELATED_COUNT_SQL[table], {"pk": pk})).first()[0]
            found["kb_related_more"] = (
                SiteUrls(datasette).query("proposals_of_local_government") + "?" + urlencode({"name": pk})
                if table == "local_governments"
                else SiteUrls(datasette).proposals(("ministries__arraycontains", pk))
            )
        if view_name == "row" and database == DB_NAME and table in ROW_KINDS and request is not None:
            name = urlsafe_components(request.url_vars["pks"])[0]
            found["kb_row_title"] = f"{name}（{ROW_KINDS[table]}） - {datasette.metadata('title') or ''}"
        return found

    return inner


# Linked names by (table, name), per site: the links depend only on the name and the site's base URL.
_NAME_LINKS: WeakKeyDictionary[Datasette, dict[tuple[str, Any], Markup]] = WeakKeyDictionary()
# JSON-array columns of `proposals` shown as linked names instead of raw JSON.
ARRAY_COLUMN_TABLES = {"ministries": "ministries", "proponents": "local_governments", "co_proponents": "local_governments"}
ARRAY_COLUMN_TABLES.update({"proponent_prefectures": "prefectures", "co_proponent_prefectures": "prefectures"})


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str | None, datasette: Datasette) -> Markup | None:
    if column not in ARRAY_COLUMN_TABLES or table != "proposals" or database != DB_NAME:
        return None  # decided before parsing: this hook sees every cell of every table
    names = json_list(value)
    if names is None:
        return None
    links = _NAME_LINKS.setdefault(datasette, {})  # a list page links the same few names hundreds of times
    target = ARRAY_COLUMN_TABLES[column]
    out = []
    for name in names:
        key = (target, name if isinstance(name, str) else repr(name))
        if key not in links:
            links[key] = Markup('<a href="{}">{}</a>').format(SiteUrls(datasette).row(target, name), name)
        out.append(links[key])
    return Markup("、").join(out)


@hookimpl
def menu_links(datasette: Datasette) -> list[dict[str, str]]:
    urls = SiteUrls(datasette)
    return [
        {"href": datasette.urls.instance(), "label": "トップページ"},
        {"href": urls.search(), "label": "全文検索（関連度順）"},
        {"href": urls.proposals(), "label": "提案の一覧（絞り込み）"},
        {"href": urls.table("local_governments"), "label": "地方公共団体"},
        {"href": urls.table("ministries"), "label": "府省"},
        {"href": datasette.urls.database(DB_NAME), "label": "すべての表と集計（SQL）"},
    ]
