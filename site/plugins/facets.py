"""Facets that stay fast at any size: `kb_column` and `kb_array` (Datasette's `register_facet_classes` hook).

Datasette 0.65's array facet selects `distinct j.value, inner.*`, so every long text column of every
matching row goes through a temporary b-tree; at 50,000 proposals the list page's array facets outlast
`facet_time_limit_ms` and vanish. These facets count the same numbers, with the same links, but:

- with no filter and no search they read the counts the build stored (`facet_counts`, kb.db.facet_counts);
- filtered, the filter runs once per page (not once per facet): the matching primary keys are kept for the
  request, then an array facet counts the narrow `facet_values` rows of those ids (or, for a column the build
  did not count, `json_each` over only the key and the array column) and a column facet reads only its column.

`site/metadata.yml` names them (`kb_column: year`, `kb_array: ministries`); `?_facet_kb_column=` and
`?_facet_kb_array=` add one from the URL, and its ✖ link removes that parameter, as Datasette's do.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from datasette import hookimpl
from datasette.database import Database, QueryInterrupted
from datasette.facets import Facet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args, sqlite3

from kb.db.schema import FACET_COUNTS_TABLE, FACET_VALUES_TABLE

Row = tuple[Any, int]  # (value, count)


def unfiltered(sql: str, params: Any, table: str | None) -> bool:
    """True for the whole table: Datasette's facet SQL is `select … from <table> ` with no where clause."""
    return bool(table) and not params and sql.rstrip().endswith(f" from {escape_sqlite(table or '')}")


def precomputed_sql(limit: int) -> str:
    """The stored counts of some facets of a table, the first `limit` of each in Datasette's order."""
    return (
        "select facet, value, count from (select facet, value, count, row_number() over"
        " (partition by facet order by count desc, value) as n"
        f" from [{FACET_COUNTS_TABLE}] where table_name = :table and facet in (select value from json_each(:facets)))"
        f" where n <= {int(limit)} order by facet, n"
    )


def column_sql(column: str, sql: str, limit: int) -> str:
    """Rows per value of one column of the filtered rows, only that column selected."""
    col = escape_sqlite(column)
    return (
        f"select value, count(*) as count from (select {col} as value from ({sql}))"
        f" where value is not null group by value order by count desc, value limit {int(limit)}"
    )


# What an immutable database says about its own schema, kept per database: each answer is a query that,
# under load, waits in the SQL threads' queue behind every other request's queries.
_SCHEMA_FACTS: WeakKeyDictionary[Database, dict[tuple[str, ...], Any]] = WeakKeyDictionary()


async def schema_fact(db: Database, key: tuple[str, ...], find: Callable[[], Awaitable[Any]]) -> Any:
    """`find()`'s answer, asked once per immutable database (every time for a mutable one)."""
    if db.is_mutable:
        return await find()
    facts = _SCHEMA_FACTS.setdefault(db, {})
    if key not in facts:
        facts[key] = await find()
    return facts[key]


# Foreign-key labels of column facets per immutable database: (table, column) → value → label or None.
_LABELS: WeakKeyDictionary[Database, dict[tuple[str, str], dict[Any, Any]]] = WeakKeyDictionary()

IDS = ":kb_ids"  # JSON array of the primary keys of the filtered rows (`matching_ids`)


def ids_sql(key: str, sql: str) -> str:
    """The primary keys of the filtered rows as one JSON array: the filter runs once for every facet."""
    return f"select json_group_array(kb_key), count(*) from (select {key} as kb_key from ({sql}))"


def column_of_ids_sql(table: str, key: str, column: str, limit: int) -> str:
    """Rows per value of one column among the rows whose keys are in `:kb_ids`."""
    col = escape_sqlite(column)
    return (
        f"select {col} as value, count(*) as count from {escape_sqlite(table)}"
        f" where {key} in (select value from json_each({IDS})) and {col} is not null"
        f" group by {col} order by count desc, value limit {int(limit)}"
    )


def stored_array_of_ids_sql(limit: int) -> str:
    """Rows per array item from the build's `facet_values`, for the proposals whose ids are in `:kb_ids`."""
    return (
        f"select value, count(*) as count from [{FACET_VALUES_TABLE}]"
        f" where facet = :kb_facet and proposal_id in (select value from json_each({IDS}))"
        f" group by value order by count desc, value limit {int(limit)}"
    )


def stored_array_sql(sql: str, limit: int) -> str:
    """Rows per array item from the build's `facet_values`, for the ids of the filtered rows."""
    return (
        f"select value, count(*) as count from [{FACET_VALUES_TABLE}]"
        f" where facet = :kb_facet and proposal_id in (select [id] from ({sql}))"
        f" group by value order by count desc, value limit {int(limit)}"
    )


def json_array_sql(column: str, key: str | None, sql: str, limit: int) -> str:
    """Rows per array item by `json_each` over the primary key and the array column only.

    `key` is the SQL naming a row (the primary key, or rowid); without one (a view) each row counts
    once per item as it is listed. Cells that are not JSON arrays are skipped, not an error.
    """
    count = "count(distinct i.kb_key)" if key else "count(*)"
    return (
        f"select j.value as value, {count} as count"
        f" from (select {key or 'null'} as kb_key, {escape_sqlite(column)} as kb_array from ({sql})) i,"
        " json_each(i.kb_array) j where json_type(i.kb_array) = 'array'"
        f" group by j.value order by count desc, value limit {int(limit)}"
    )


class KbFacet(Facet):
    """What both facets share: configs, the stored counts, timeouts and Datasette's result shape."""

    type = "kb"

    def columns(self) -> list[tuple[str, str]]:
        """(column, source) of each configured facet, once per column (metadata before the URL)."""
        seen: dict[str, str] = {}
        for item in self.get_configs():
            config = item["config"]
            seen.setdefault(config.get("column") or config["simple"], item["source"])
        return list(seen.items())

    async def execute(self, sql: str, params: Any) -> list[Row]:
        results = await self.ds.execute(
            self.database,
            sql,
            params,
            truncate=False,
            custom_time_limit=self.ds.setting("facet_time_limit_ms"),
        )
        return [(row[0], row[1]) for row in results.rows]

    async def stored_counts(self, columns: Sequence[str], limit: int) -> dict[str, list[Row]]:
        """Counts the build stored for the whole table; {} when filtered or when the database has none."""
        if not columns or not unfiltered(self.sql, self.params, self.table):
            return {}
        try:
            rows = (
                await self.ds.execute(
                    self.database,
                    precomputed_sql(limit),
                    {"table": self.table, "facets": json.dumps(list(columns))},
                    truncate=False,
                    custom_time_limit=self.ds.setting("facet_time_limit_ms"),
                )
            ).rows
        except (QueryInterrupted, sqlite3.OperationalError):  # no such table: a database built without it
            return {}
        found: dict[str, list[Row]] = {}
        for facet, value, count in rows:
            found.setdefault(facet, []).append((value, count))
        return found

    async def row_key(self) -> str | None:
        """SQL naming one row of the table: its primary key (as JSON when compound), rowid, or None for a view."""
        if not self.table:
            return None
        db = self.ds.databases[self.database]
        if self.table in await schema_fact(db, ("views",), db.view_names):
            return None
        table = self.table
        pks: list[str] = await schema_fact(db, ("primary keys", table), lambda: db.primary_keys(table))
        if not pks:
            return "rowid"
        if len(pks) == 1:
            return str(escape_sqlite(pks[0]))
        return "json_array(" + ", ".join(escape_sqlite(pk) for pk in pks) + ")"

    async def matching_ids(self) -> str | None:
        """JSON array of the keys of the filtered rows, found once per request and shared by every facet.

        None when the table's rows have no single-column key (views, compound keys) or when finding them
        took too long: each facet then runs the filter itself, as Datasette's do.
        """
        key = await self.row_key()
        if key is None or key.startswith("json_array("):
            return None
        shared: dict[tuple[str, str], asyncio.Future[str | None]] = self.request.scope.setdefault("kb_facet_ids", {})
        wanted = (self.sql, json.dumps(self.params, sort_keys=True, default=str))
        if wanted not in shared:
            shared[wanted] = asyncio.ensure_future(self._find_ids(key))
        return await shared[wanted]

    async def _find_ids(self, key: str) -> str | None:
        try:
            rows = await self.execute(ids_sql(key, self.sql), self.params)
        except QueryInterrupted:
            return None
        return str(rows[0][0])

    async def count(self, column: str, limit: int) -> list[Row]:
        raise NotImplementedError

    def value_parameter(self, column: str) -> str:
        raise NotImplementedError

    async def labels(self, column: str, values: list[Any]) -> dict[Any, Any]:
        return {}

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        size = self.get_facet_size()
        configured = self.columns()
        stored = await self.stored_counts([c for c, _ in configured], size + 1)
        results, timed_out = [], []
        for column, source in configured:
            try:
                rows = stored[column] if column in stored else await self.count(column, size + 1)
            except QueryInterrupted:
                timed_out.append(column)
                continue
            results.append(await self.result(column, source, rows, size))
        return results, timed_out

    def url_adding(self, parameter: str, value: Any) -> str:
        """The page's absolute URL with `parameter=value` added: what Datasette's facets write, built without
        re-parsing and re-encoding the whole query string for each of a page's ~200 facet values."""
        base: tuple[str, str] | None = getattr(self, "_kb_url_base", None)
        if base is None:
            path = path_with_added_args(self.request, {})
            joiner = "&" if urllib.parse.parse_qsl(self.request.query_string) else "?"
            base = (self.ds.absolute_url(self.request, self.ds.urls.path(path)), joiner)
            self._kb_url_base = base
        return base[0] + base[1] + urllib.parse.urlencode([(parameter, value)])

    async def result(self, column: str, source: str, rows: list[Row], size: int) -> dict[str, Any]:
        """One facet as Datasette's own facets give it (the template and the JSON API read this shape)."""
        shown = rows[:size]
        labels = await self.labels(column, [value for value, _ in shown])
        parameter = self.value_parameter(column)
        pairs = self.get_querystring_pairs()
        values = []
        for value, count in shown:
            selected = (parameter, str(value)) in pairs
            if selected:
                path = path_with_removed_args(self.request, {parameter: str(value)})
                toggle_url = self.ds.absolute_url(self.request, self.ds.urls.path(path))
            else:
                toggle_url = self.url_adding(parameter, value)
            values.append(
                {
                    "value": value,
                    "label": labels.get(value, value),
                    "count": count,
                    "toggle_url": toggle_url,
                    "selected": selected,
                }
            )
        return {
            "name": column,
            "type": self.type,
            "hideable": source != "metadata",
            "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {f"_facet_{self.type}": column})),
            "results": values,
            "truncated": len(rows) > size,
        }


class KbColumnFacet(KbFacet):
    """Rows per value of a column (as Datasette's `column` facet, labels of foreign keys included)."""

    type = "kb_column"

    def value_parameter(self, column: str) -> str:
        return f"{column}__exact" if column.startswith("_") else column

    async def count(self, column: str, limit: int) -> list[Row]:
        ids, key = await self.matching_ids(), await self.row_key()
        if ids is not None and key is not None and self.table:
            return await self.execute(column_of_ids_sql(self.table, key, column, limit), {"kb_ids": ids})
        return await self.execute(column_sql(column, self.sql, limit), self.params)

    async def labels(self, column: str, values: list[Any]) -> dict[Any, Any]:
        """The labels of foreign-key values (category A → 「A 権限移譲」), looked up once per immutable database."""
        if not self.table or not values:
            return {}
        db = self.ds.databases[self.database]
        known: dict[Any, Any] = {} if db.is_mutable else _LABELS.setdefault(db, {}).setdefault((self.table, column), {})
        missing = [v for v in values if v not in known]
        if missing:
            expanded = await self.ds.expand_foreign_keys(self.database, self.table, column, missing)
            known.update({value: label for (_, value), label in expanded.items()})
            known.update({v: None for v in missing if v not in known})  # no label: the value shows as it is
        return {v: known[v] for v in values if known.get(v) is not None}


class KbArrayFacet(KbFacet):
    """Rows per item of a JSON-array column, each row once per item (as Datasette's `array` facet)."""

    type = "kb_array"

    def value_parameter(self, column: str) -> str:
        return f"{column}__arraycontains"

    async def stored_items(self, column: str) -> bool:
        """Whether the build wrote this column's items to `facet_values` (only for its own table)."""
        if self.table != "proposals":
            return False

        async def find() -> bool:
            try:
                found = await self.execute(
                    f"select exists(select 1 from [{FACET_VALUES_TABLE}] where facet = :facet), 0", {"facet": column}
                )
            except sqlite3.OperationalError:
                return False
            return bool(found[0][0])

        return bool(await schema_fact(self.ds.databases[self.database], ("stored items", column), find))

    async def count(self, column: str, limit: int) -> list[Row]:
        if await self.stored_items(column):
            ids = await self.matching_ids()
            if ids is not None:
                return await self.execute(stored_array_of_ids_sql(limit), {"kb_facet": column, "kb_ids": ids})
            params = dict(self.params or {})
            params["kb_facet"] = column
            return await self.execute(stored_array_sql(self.sql, limit), params)
        return await self.execute(json_array_sql(column, await self.row_key(), self.sql, limit), self.params)

    async def labels(self, column: str, values: list[Any]) -> dict[Any, Any]:
        return {value: str(value) for value in values}


@hookimpl
def register_facet_classes() -> list[type[Facet]]:
    return [KbColumnFacet, KbArrayFacet]
