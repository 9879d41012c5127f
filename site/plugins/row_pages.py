"""The proposal and statute pages as routes: Datasette's row view, without its generic work.

`/kb/proposals/<id>` and `/kb/statutes/<id>` are rendered with the same template, context and headers
as Datasette's row view (tests/test_site_pages.py and tests/test_statutes_site.py compare them), but
the row view also reads the whole row for its table of cells (every column through every `render_cell`
hook), asks SQLite for every table's foreign keys on each view, and counts the rows of every table
that point at the row — 1.7 million citations for the law every synthetic proposal cites at 100,000
proposals (125 ms), a number the statute page does not even show. Here the foreign keys are asked once
per database file and a statute's citations are the count the build keeps (`statutes.citation_count`).
What each page shows comes from the other plugins' `extra_template_vars` (sheet.py, statutes.py), which
Datasette calls for these routes as for its own view. `.json` and the other formats stay Datasette's
(the routes take no extension), and so does a statute page of a database built without citations (its
template then shows the row view's own body).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any
from weakref import WeakKeyDictionary

from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import Database
from datasette.utils import add_cors_headers, escape_sqlite, urlsafe_components
from datasette.utils.asgi import Forbidden, NotFound, Request, Response
from datasette.version import __version__ as datasette_version
from datasette.views.row import RowView

from kb.core.paths import file_stamp
from kb.db.schema import DB_NAME

ROUTED = ("proposals", "statutes")
# Counts of referring rows the build keeps on the row itself: (table, referring table, its column) → SQL.
STORED_COUNTS = {("statutes", "citations", "statute_id"): "(select citation_count from statutes where id = :id)"}

# Per database file and table: the foreign keys that point at the table, and its columns (the database
# is immutable while served; a mutable one is asked each time).
_SCHEMA: dict[tuple[str, str], tuple[tuple[object, ...], list[dict[str, Any]], list[str]]] = {}


async def _schema(db: Database, table: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(incoming foreign keys, column names) of `table`, asked once per database file."""
    stamp = file_stamp(db.path)
    cached = _SCHEMA.get((str(db.path), table))
    if cached is None or cached[0] != stamp or db.is_mutable:
        keys = (await db.get_all_foreign_keys())[table]["incoming"]
        cached = _SCHEMA[(str(db.path), table)] = (stamp, keys, await db.table_columns(table))
    return cached[1], cached[2]


async def foreign_key_tables(datasette: Datasette, db: Database, table: str, pk: str) -> list[dict[str, Any]]:
    """What Datasette's row view lists as the rows of other tables that point at this one, with their counts."""
    keys, _ = await _schema(db, table)
    if not keys:
        return []
    counts = (
        await db.execute(
            "select "
            + ", ".join(
                STORED_COUNTS.get(
                    (table, k["other_table"], k["other_column"]),
                    f"(select count(*) from {escape_sqlite(k['other_table'])} where {escape_sqlite(k['other_column'])} = :id)",
                )
                for k in keys
            ),
            {"id": pk},
        )
    ).first()
    tables = []
    for key, count in zip(keys, counts, strict=True):
        column = key["other_column"] + ("__exact" if key["other_column"].startswith("_") else "")
        link = f"{datasette.urls.table(DB_NAME, key['other_table'])}?{column}={pk}"
        tables.append({**key, "count": count or 0, "link": link})
    return tables


# Tables an anonymous visitor may view, per site (the row view's permission answer, kept).
_ANONYMOUS_MAY_VIEW: WeakKeyDictionary[Datasette, set[str]] = WeakKeyDictionary()


async def _ensure_viewable(datasette: Datasette, request: Request, table: str) -> None:
    """The row view's permission check; for a visitor without an actor, its answer is kept per site and table.

    The table check deep-copies Datasette's whole metadata (about 1 ms); without an actor the answer
    depends only on the metadata and the plugins, fixed while the site runs.
    """
    if request.actor is None and table in _ANONYMOUS_MAY_VIEW.get(datasette, ()):
        return
    permissions = [("view-table", (DB_NAME, table)), ("view-database", DB_NAME), "view-instance"]  # as the row view checks
    visible, _ = await datasette.check_visibility(request.actor, permissions=permissions)
    if not visible:  # nothing is kept: asked again next time
        raise Forbidden("You do not have permission to view this table")  # the row view's words
    if request.actor is None:
        _ANONYMOUS_MAY_VIEW.setdefault(datasette, set()).add(table)


async def _row_view(datasette: Datasette, request: Request) -> Response:
    """Datasette's own row view for this request."""
    scope = dict(request.scope)
    scope["url_route"] = {"kwargs": {**request.url_vars, "database": DB_NAME, "format": None}}
    return await RowView.as_view(datasette)(Request(scope, request.receive), None)


async def row_page(datasette: Datasette, request: Request) -> Response:
    """`/kb/<proposals|statutes>/<id>`: the row view's page and headers, made without its generic work."""
    if request.method == "OPTIONS":  # as Datasette's data views answer it (CORS preflight)
        answer = Response.text("ok")
        if datasette.cors:
            add_cors_headers(answer.headers)
        return answer
    if request.method not in ("GET", "HEAD"):
        return Response.text("Method not allowed", status=405)
    start = time.perf_counter()
    table = request.url_vars["table"]
    await _ensure_viewable(datasette, request, table)
    keys = urlsafe_components(request.url_vars["pks"])
    pk = keys[0]
    db = datasette.get_database(DB_NAME)
    if table == "statutes" and not await db.table_exists("citations"):
        return await _row_view(datasette, request)  # row-kb-statutes.html shows the row view's body
    if (await db.execute(f"select 1 from {escape_sqlite(table)} where id = :id", {"id": pk})).first() is None:
        raise NotFound("Record not found")
    json_url = datasette.urls.row(DB_NAME, table, request.url_vars["pks"]) + ".json"
    if request.query_string:  # the JSON of this same request (Datasette's path_with_format keeps the query)
        json_url += "?" + request.query_string
    alternate = datasette.absolute_url(request, json_url)
    _, columns = await _schema(db, table)
    context = {
        "database": DB_NAME,
        "table": table,
        "primary_key_values": keys,
        "foreign_key_tables": await foreign_key_tables(datasette, db, table, pk) if len(keys) == 1 else [],
        "renderers": {"json": json_url},
        "alternate_url_json": alternate,
        "metadata": (datasette.metadata("databases") or {}).get(DB_NAME, {}).get("tables", {}).get(table, {}),
        "select_templates": [f"*row-kb-{table}.html", "row.html"],
        "datasette_version": datasette_version,
        "columns": columns,
        "query_ms": (time.perf_counter() - start) * 1000,
    }
    html = await datasette.render_template([f"row-kb-{table}.html"], context, request=request, view_name="row")
    response = Response.html(html, headers={"Link": f'{alternate}; rel="alternate"; type="application/json+datasette"'})
    given = request.args.get("_ttl")
    ttl = int(given) if given and given.isascii() and given.isdigit() else int(datasette.setting("default_cache_ttl"))
    if datasette.cache_headers:
        response.headers["Cache-Control"] = f"max-age={ttl}" if ttl else "no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    if datasette.cors:
        add_cors_headers(response.headers)
    return response


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Awaitable[Response]]]]:
    return [(rf"^/{DB_NAME}/(?P<table>{'|'.join(ROUTED)})/(?P<pks>[^/.]+)$", row_page)]
