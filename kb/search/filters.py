"""Filters of the ranked search page (`/search?q=…&year=2023&ministries=総務省`): pure functions.

A filter is a (parameter, value) pair from the URL; the parameters are the facets below, each a
column of `proposals` (one value per proposal) or a JSON-array column whose items the build wrote to
`facet_values` (kb.db.facet_counts). Filters combine with AND — across facets and within one (two
府省 mean proposals answered by both) — so a facet value's count is always the number of results that
clicking it gives. Values only ever reach SQL as parameters; column names come from `FACETS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from kb.db.schema import FACET_VALUES_TABLE

MAX_FILTERS = 20  # more is a crafted URL: the rest are ignored
MAX_VALUE_LENGTH = 200


@dataclass(frozen=True)
class FacetSpec:
    param: str  # URL parameter = column of `proposals` = `facet_values.facet`
    label: str
    array: bool  # a JSON-array column (counted from `facet_values`)
    by_year: bool = False  # values listed newest first, not by count


FACETS: tuple[FacetSpec, ...] = (
    FacetSpec("year", "年", False, by_year=True),
    FacetSpec("category", "提案区分", False),
    FacetSpec("policy_field", "分野", False),
    FacetSpec("ministries", "府省", True),
    FacetSpec("outcome", "対応結果", False),
    FacetSpec("theme", "重点募集テーマ", False),
    FacetSpec("proponent_prefectures", "都道府県", True),
    FacetSpec("proponent_kinds", "団体属性", True),
    FacetSpec("statutes", "法令", True),
)
FACET_BY_PARAM = {f.param: f for f in FACETS}
COLUMN_FACETS = tuple(f.param for f in FACETS if not f.array)
ARRAY_FACETS = tuple(f.param for f in FACETS if f.array)

Filters = tuple[tuple[str, str], ...]  # (parameter, value) in URL order, without repeats


def parse_filters(pairs: Iterable[tuple[str, str]]) -> Filters:
    """The filters among a request's query parameters: known facets, non-empty values, years as digits."""
    found: list[tuple[str, str]] = []
    for param, raw in pairs:
        value = raw.strip()
        if param not in FACET_BY_PARAM or not value or len(value) > MAX_VALUE_LENGTH:
            continue
        if param == "year" and not (value.isascii() and value.isdigit() and len(value) <= 4):
            continue
        if (param, value) not in found:
            found.append((param, value))
        if len(found) == MAX_FILTERS:
            break
    return tuple(found)


def where_sql(filters: Filters, stored_arrays: bool = True, rowid: str = "p.rowid") -> tuple[str, dict[str, Any]]:
    """SQL condition on the `proposals` rowid `rowid` for the filters, and its parameters (`kb_f0`, …).

    Each filter is a set of rowids read from an index — `proposals`' index of the column, or
    `facet_values` (facet, value, proposal_id) and the primary key of `proposals` for an array item —
    so filtering reads no row of `proposals`. `stored_arrays=False` reads the JSON column instead
    (a database built without `facet_values`).
    """
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for i, (param, value) in enumerate(filters):
        spec = FACET_BY_PARAM[param]  # KeyError for a filter parse_filters would not give
        name = f"kb_f{i}"
        if spec.array and stored_arrays:
            rows = (
                f"select kb_p.rowid from [{FACET_VALUES_TABLE}] kb_v join proposals kb_p on kb_p.id = kb_v.proposal_id"
                f" where kb_v.facet = '{spec.param}' and kb_v.value = :{name}"
            )
        elif spec.array:
            rows = (
                f"select kb_p.rowid from proposals kb_p where exists"
                f" (select 1 from json_each(kb_p.[{spec.param}]) j where j.value = :{name})"
            )
        else:
            rows = f"select kb_p.rowid from proposals kb_p where kb_p.[{spec.param}] = :{name}"
        clauses.append(f"+{rowid} in ({rows})")  # `+`: checked on the hits, never driving the search
        params[name] = int(value) if spec.by_year else value
    return (" and ".join(clauses) or "1"), params


def adding(filters: Filters, param: str, value: Any) -> Filters:
    pair = (param, str(value))
    return filters if pair in filters else (*filters, pair)


def removing(filters: Filters, param: str, value: Any) -> Filters:
    return tuple(f for f in filters if f != (param, str(value)))


def search_url(base: str, query: str, filters: Filters = (), page: int = 1) -> str:
    """The search page's URL for a query, its filters and a page (page 1 left out)."""
    pairs: list[tuple[str, Any]] = [("q", query)] if query else []
    pairs += list(filters)
    if page > 1:
        pairs.append(("page", page))
    return base + (f"?{urlencode(pairs)}" if pairs else "")


def table_pairs(filters: Filters) -> list[tuple[str, str]]:
    """The same filters as Datasette's table page takes them (arrays as `__arraycontains`)."""
    return [(f"{p}__arraycontains" if FACET_BY_PARAM[p].array else p, v) for p, v in filters]


def chip_label(param: str, value: str, label: str | None = None) -> str:
    """How a selected filter reads on its chip: 「2023年」, 「府省：総務省」."""
    if FACET_BY_PARAM[param].by_year:
        return f"{value}年"
    return f"{FACET_BY_PARAM[param].label}：{label or value}"


def query_words(query: str) -> list[str]:
    """The words of a query as the search takes them (split at spaces, full-width ones too), without repeats."""
    words: list[str] = []
    for word in query.split():
        if word not in words:
            words.append(word)
    return words
