"""Japanese table pages and the 「データの説明」 page (issue #14).

- `/-/data` (templates/data_description.html): every table of the database from site/metadata.yml — title,
  description, row count — each column with its Japanese meaning and an example value read from the
  database, and the ready-made queries. Tables hidden in the metadata (or by Datasette: FTS shadow
  tables) are listed apart, folded. It replaces the `CREATE TABLE` dump Datasette prints under each table.
- `extra_template_vars`: the helpers our table.html uses — Japanese operator names (`kb_ops`), the
  Japanese sentence for the rows shown (`kb_table_summary`: conditions and sort order), the data page's
  URL, and the site title for every page (the error pages get no metadata from Datasette).
"""

# No `from __future__ import annotations` here: Datasette loads plugins outside sys.modules.
import re
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from datasette import hookimpl
from datasette.app import Datasette
from datasette.utils import escape_sqlite
from datasette.utils.asgi import Request, Response

from kb.core import column_notes
from kb.db.schema import DB_NAME

DATA_PATH = "/-/data"
EXAMPLE_CHARS = 40  # an example value longer than this is cut and ends in 「…」

# Datasette's filter operators (datasette/filters.py keys), as a clerk reads them in the form.
OPERATORS: dict[str, str] = {
    "exact": "＝（等しい）",
    "not": "≠（等しくない）",
    "contains": "を含む",
    "endswith": "で終わる",
    "startswith": "で始まる",
    "gt": "＞（より大きい）",
    "gte": "≧（以上）",
    "lt": "＜（より小さい）",
    "lte": "≦（以下）",
    "like": "LIKE のパターンに合う",
    "notlike": "LIKE のパターンに合わない",
    "glob": "GLOB のパターンに合う",
    "in": "のどれか（カンマ区切り）",
    "notin": "のどれでもない（カンマ区切り）",
    "arraycontains": "一覧に含む",
    "arraynotcontains": "一覧に含まない",
    "date": "の日付",
    "isnull": "値がない（null）",
    "notnull": "値がある（null でない）",
    "isblank": "空欄",
    "notblank": "空欄でない",
}
# The same operators inside the sentence above the table: {c} the column's label, {v} the value.
CLAUSES: dict[str, str] = {
    "exact": "{c}が「{v}」",
    "not": "{c}が「{v}」以外",
    "contains": "{c}に「{v}」を含む",
    "endswith": "{c}が「{v}」で終わる",
    "startswith": "{c}が「{v}」で始まる",
    "gt": "{c}が {v} より大きい",
    "gte": "{c}が {v} 以上",
    "lt": "{c}が {v} より小さい",
    "lte": "{c}が {v} 以下",
    "like": "{c}が LIKE「{v}」に合う",
    "notlike": "{c}が LIKE「{v}」に合わない",
    "glob": "{c}が GLOB「{v}」に合う",
    "in": "{c}が「{v}」のどれか",
    "notin": "{c}が「{v}」のどれでもない",
    "arraycontains": "{c}に「{v}」を含む",
    "arraynotcontains": "{c}に「{v}」を含まない",
    "date": "{c}が {v} の日付",
    "isnull": "{c}の値がない",
    "notnull": "{c}の値がある",
    "isblank": "{c}が空欄",
    "notblank": "{c}が空欄でない",
}
# Columns whose larger values are later in time: sorted descending they read 「新しい順」.
TIME_COLUMNS = frozenset({"year", "decision_date", "date", "published", "first_year", "last_year"})
TIME_KEYS = {"proposals": "id", "similar_proposals": "proposal_id", "reproposals": "proposal_id"}


def column_label(datasette: Datasette, table: str | None, column: str) -> str:
    """The column's short Japanese label (kb.core.column_notes.short_label, as pages.py's kb_label)."""
    return column_notes.short_label(column_notes.of(datasette, DB_NAME, table).get(column), column)


def sort_phrase(datasette: Datasette, table: str | None, column: str, descending: bool) -> str:
    """「年の新しい順」「提案事項の降順」: how a clerk says a sort order."""
    label = column_label(datasette, table, column)
    if column in TIME_COLUMNS or column.endswith("_date") or TIME_KEYS.get(table or "") == column:
        return f"{label}の{'新しい' if descending else '古い'}順"
    return f"{label}の{'降順' if descending else '昇順'}"


def table_summary(
    datasette: Datasette, table: str | None, request: Request | None, filters: Any, sort: Any, sort_desc: Any
) -> dict[str, Any]:
    """The conditions and the sort order of a table page, in Japanese (replaces human_description_en)."""
    conditions = []
    search = request.args.get("_search") if request is not None else None
    if search:
        conditions.append(f"キーワード「{search}」を含む")
    if filters is not None:
        for column, lookup, value in filters.selections():
            clause = CLAUSES.get(lookup)
            if clause is not None:
                conditions.append(clause.format(c=column_label(datasette, table, column), v=value))
    wheres = request.args.getlist("_where") if request is not None else []
    if wheres:
        conditions.append(f"SQL の条件 {len(wheres)} 件")
    order = ""
    if sort_desc:
        order = sort_phrase(datasette, table, str(sort_desc), True)
    elif sort and sort != "rowid":
        order = sort_phrase(datasette, table, str(sort), False)
    return {"conditions": conditions, "order": order}


def shorten(value: Any, limit: int = EXAMPLE_CHARS) -> str:
    """An example value on one line, cut to `limit` characters."""
    if isinstance(value, bytes):
        return f"（バイナリ {len(value):,} バイト）"
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text if len(text) <= limit else text[:limit] + "…"


async def describe_table(datasette: Datasette, name: str, hidden: bool) -> dict[str, Any]:
    db = datasette.get_database(DB_NAME)
    meta = datasette.table_metadata(DB_NAME, name)
    count = (await db.execute(f"select count(*) from {escape_sqlite(name)}")).single_value()
    described = column_notes.of(datasette, DB_NAME, name)
    columns = []
    for column in await db.table_column_details(name):
        quoted = escape_sqlite(column.name)
        # The first non-empty value in the table's own order (rowid): one short scan per column.
        example = (
            await db.execute(
                f"select {quoted} from {escape_sqlite(name)} where {quoted} is not null and {quoted} != '' limit 1"
            )
        ).first()
        columns.append(
            {
                "name": column.name,
                "type": column.type or "",
                "is_pk": bool(column.is_pk),
                "label": column_label(datasette, name, column.name),
                "meaning": described.get(column.name, ""),
                "example": shorten(example[0]) if example is not None else "",
            }
        )
    return {
        "name": name,
        "title": meta.get("title") or name,
        "description": meta.get("description") or "",
        "count": count,
        "hidden": hidden,
        "url": datasette.urls.table(DB_NAME, name),
        "columns": columns,
    }


async def describe(datasette: Datasette) -> dict[str, Any]:
    """Everything the data page shows (the database is immutable: computed once per site)."""
    db = datasette.get_database(DB_NAME)
    names = await db.table_names()
    ordered = list(datasette.metadata("tables", database=DB_NAME) or {})
    names = [n for n in ordered if n in names] + sorted(n for n in names if n not in ordered)
    shadow = set(await db.hidden_table_names())
    tables = []
    for name in names:
        hidden = name in shadow or bool(datasette.table_metadata(DB_NAME, name).get("hidden"))
        tables.append(await describe_table(datasette, name, hidden))
    queries = [
        {
            "name": name,
            "title": query.get("title") or name,
            "description": query.get("description") or "",
            "url": datasette.urls.query(DB_NAME, name),
            "parameters": re.findall(r"(?<![:\w]):(\w+)", query.get("sql", "")),
        }
        for name, query in (datasette.metadata("queries", database=DB_NAME) or {}).items()
    ]
    for query in queries:
        query["parameters"] = list(dict.fromkeys(query["parameters"]))
    return {
        "kb_tables": [t for t in tables if not t["hidden"]],
        "kb_internal_tables": [t for t in tables if t["hidden"]],
        "kb_queries": queries,
    }


_DESCRIBED: "weakref.WeakKeyDictionary[Datasette, dict[str, Any]]" = weakref.WeakKeyDictionary()


async def data_page(datasette: Datasette, request: Request) -> Response:
    if datasette not in _DESCRIBED:
        _DESCRIBED[datasette] = await describe(datasette)
    html = await datasette.render_template("data_description.html", dict(_DESCRIBED[datasette]), request=request)
    return Response.html(html)


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Awaitable[Response]]]]:
    return [(r"^/-/data$", data_page)]


@hookimpl
def extra_template_vars(datasette: Datasette, table: str | None) -> dict[str, Any]:
    def kb_table_summary(request: Request | None, filters: Any, sort: Any, sort_desc: Any) -> dict[str, Any]:
        return table_summary(datasette, table, request, filters, sort, sort_desc)

    return {
        "kb_ops": OPERATORS,
        "kb_table_summary": kb_table_summary,
        "kb_data_url": datasette.urls.path(DATA_PATH),
        "kb_site_title": datasette.metadata("title") or "",
    }
