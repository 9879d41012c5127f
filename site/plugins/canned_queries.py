"""Result cells of the query pages (ready-made queries and /kb?sql=…) as links and readable names (issue #14).

Datasette renders a query's cells with `table=None`, so the proposal list's own rendering
(site/plugins/pages.py ARRAY_COLUMN_TABLES, site/plugins/statutes.py) does not apply there. The
queries name their columns in Japanese (`p.proponents as 提案団体`); this hook maps those names back
to the proposal list's columns and asks the render_cell hook again as if the cell were on the
proposals table, so names get exactly the links and the 「、」 of the proposal list:

- proposal IDs (提案ID, 前回の提案, or any `2024-0071`-like value in a column whose name contains 提案)
  link to the proposal page; statute IDs (法令ID, or an e-Gov law ID in a column naming 法令) to the
  statute page;
- names of local governments, ministries, prefectures and statutes, one name or a JSON array of them,
  become links joined with 「、」;
- any other JSON array of names is shown as the names joined with 「、」 (escaped, no links).

CSV and JSON exports are untouched: they carry the raw values. The labels of the query forms are in
site/metadata.yml (`kb_params` under each query) and the page is site/templates/query-kb.html.
"""

# No `from __future__ import annotations` here: Datasette loads plugins outside sys.modules.
import json
import re
from typing import Any, Optional
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.app import Datasette
from datasette.plugins import pm
from datasette.utils import await_me_maybe, tilde_encode
from datasette.utils.asgi import Request
from markupsafe import Markup

from kb.db.schema import DB_NAME

PROPOSAL_ID = re.compile(r"\d{4}-\d{4}")
# e-Gov law IDs: era-year digits, a kind code, ten characters (425AC0000000027, 335M50000002046).
STATUTE_ID = re.compile(r"\d{3}[A-Z][A-Z0-9]\d{10}")
PROPOSAL_COLUMNS = frozenset({"提案ID", "前回の提案", "後の回の提案", "似た提案", "以前の提案"})
STATUTE_COLUMNS = frozenset({"法令ID"})
# Japanese column names of query results → the column of `proposals` holding the same kind of names
# (whose rendering, by pages.py or statutes.py, links each name to its page).
NAME_COLUMNS = {
    "提案団体": "proponents",
    "追加共同提案団体": "co_proponents",
    "団体": "proponents",
    "団体名": "proponents",
    "府省": "ministries",
    "関係府省": "ministries",
    "制度の所管・関係府省": "ministries",
    "回答府省": "ministries",
    "都道府県": "proponent_prefectures",
    "法令": "statutes",
}


def _link(datasette: Datasette, table: str, key: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(datasette.urls.row(DB_NAME, table, tilde_encode(key)), key)


def _names(value: Any) -> Optional[list[Any]]:
    """The items of a JSON array cell of names (strings or numbers), or None for any other value."""
    if not isinstance(value, str) or not value.startswith("["):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list) or not all(isinstance(i, (str, int, float)) and not isinstance(i, bool) for i in items):
        return None
    return items


async def _as_on_proposals(datasette: Datasette, row: Any, value: str, column: str) -> Optional[Markup]:
    """The cell rendered by the other plugins as the proposal list's `column` (first answer wins, as in Datasette)."""
    for candidate in pm.hook.render_cell(
        row=row, value=value, column=column, table="proposals", database=DB_NAME, datasette=datasette
    ):
        rendered = await await_me_maybe(candidate)
        if rendered is not None:
            return Markup(rendered)
    return None


def _is_proposal_column(column: str, value: str) -> bool:
    return column in PROPOSAL_COLUMNS or ("提案" in column and PROPOSAL_ID.fullmatch(value) is not None)


def _is_statute_column(column: str, value: str) -> bool:
    return column in STATUTE_COLUMNS or ("法令" in column and STATUTE_ID.fullmatch(value) is not None)


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: Optional[str], database: Optional[str], datasette: Datasette) -> Any:
    if table is not None or database != DB_NAME or not isinstance(value, str) or not value:
        return None  # decided before anything else: this hook sees every cell of every query
    if _is_proposal_column(column, value):
        return _link(datasette, "proposals", value)
    if _is_statute_column(column, value):
        return _link(datasette, "statutes", value)
    names = _names(value)
    if column in NAME_COLUMNS:
        as_list = value if names is not None else json.dumps([value], ensure_ascii=False)

        async def linked() -> Optional[Markup]:
            rendered = await _as_on_proposals(datasette, row, as_list, NAME_COLUMNS[column])
            if rendered is None and names is not None:
                return Markup("、").join(str(n) for n in names)
            return rendered

        return linked
    if names is not None:
        return Markup("、").join(str(n) for n in names)
    return None


PAGE_SIZE = 50  # rows a page of the paged queries (`page` in site/metadata.yml; their SQL says 50 too)
MAX_PAGES = 20  # as far as the pages go: 1,000 rows, the most a query's CSV holds (and deep OFFSETs get slow)
_PAGE = re.compile(r"[1-9][0-9]?")  # the SQL reads `page` by the same rule: 1–99, ASCII digits, else page 1


def page_number(text: Optional[str]) -> int:
    """`page` as the SQL reads it: 1–20 (larger ones are page 20), anything else page 1."""
    return min(int(text), MAX_PAGES) if text and _PAGE.fullmatch(text) else 1


def page_links(request: Optional[Request], shown: int) -> dict[str, Any]:
    """Where this page of a paged query starts, and links to the previous / next page and to every row.

    A paged query shows 50 rows: Datasette renders every cell of a query's result before the
    template sees it, so a 1,000-row answer costs a third of a second; CSV and JSON take `page=all`.
    """
    if request is None:
        return {}
    args = [(k, v) for k in request.args.keys() if k != "page" for v in request.args.getlist(k)]
    everything = request.args.get("page") == "all"
    page = 1 if everything else page_number(request.args.get("page"))

    def url(value: Any, path: str = request.path) -> str:
        return path + "?" + urlencode([*args, ("page", str(value))])

    more = shown > PAGE_SIZE and not everything  # the SQL reads one row past the page to know
    shown = shown if everything else min(shown, PAGE_SIZE)
    return {
        "first": (page - 1) * PAGE_SIZE + 1,
        "last": (page - 1) * PAGE_SIZE + shown,
        "shown": shown,
        "page": page,
        "previous": url(page - 1) if page > 1 else None,
        "next": url(page + 1) if more and page < MAX_PAGES else None,
        "capped": more and page == MAX_PAGES,  # there are more than the pages show
        "size": PAGE_SIZE,
        "first_page": url(1),
        "csv": url("all", request.path + ".csv") + "&_size=max",
        "json": url("all", request.path + ".json") + "&_shape=array",
    }


@hookimpl
def extra_template_vars() -> dict[str, Any]:
    return {"kb_page_links": page_links}
