"""Ranked full-text search over proposals (bm25 on the bigram index), for the site's search page.

Datasette's table search filters without ranking; this orders by bm25 with the title
weighted above names and body, and quotes snippets from the original text. The normalised
form of each quoted field is rebuilt from what the build stored (`snippet_offsets`,
kb.search.foldmap) rather than normalised per request.
The SQL relies on the `escape_fts` function (query → bigram phrase query, docs/search.md),
defined here with the SQL that uses it; `register_functions` adds it to a connection, and
`site/plugins/japanese_search.py` does so on every connection Datasette opens.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote_plus

from kb.core.paths import file_stamp
from kb.core.vocab import SECTION_ORDER, year_to_era
from kb.db.schema import (
    FACET_COUNTS_TABLE,
    FACET_VALUES_TABLE,
    FTS_TABLE,
    SNIPPET_OFFSETS_TABLE,
)
from kb.search.filters import (
    ARRAY_FACETS,
    COLUMN_FACETS,
    FACET_BY_PARAM,
    FACETS,
    Filters,
    chip_label,
    query_words,
    removing,
    search_url,
    where_sql,
)
from kb.search.foldmap import Folded
from kb.search.snippets import Part, Snippet, best_snippet, highlight, match_spans, plain_snippet
from kb.search.textnorm import fts_phrases, fts_query, name_key, normalize, query_terms

if TYPE_CHECKING:
    from kb.search.facet_index import FacetIndex
    from kb.search.phrases import PhraseScores

# bm25 column weights: title, names (governments, ministries, field, theme), body.
BM25_WEIGHTS = (10.0, 5.0, 1.0)
PER_PAGE = 20
TIE_MARGIN = 50  # hits ranked past the page by the index alone before they meet `proposals` (ranked_sql)

# The opinions in sheet order, as kb.db.rows.opinions_text makes them for the stored offsets.
_OPINIONS_TEXT = """(select group_concat(line, char(10)) from
    (select o.association || '：' || o.text as line from opinions o where o.proposal_id = p.id order by o.position))"""
_COLUMNS = f"""p.id, p.title, p.year, p.era, p.number, p.category, p.policy_field, p.theme, p.stage, p.outcome,
  p.ministries, p.proponents, p.co_proponents, {", ".join(f"p.{k.column}" for k in SECTION_ORDER)},
  {_OPINIONS_TEXT} as opinions_text"""
_FOLD_EDITS = f"(select f.edits from {SNIPPET_OFFSETS_TABLE} f where f.proposal_id = p.id) as fold_edits"
_BM25 = f"bm25({FTS_TABLE}, {', '.join(map(str, BM25_WEIGHTS))})"


_CITED_AS = """(select json_group_array(quote) from (select distinct c.quote from citations c
     where c.proposal_id = p.id and c.statute_id in (select value from json_each(:ids)) limit 3)) as cited_as"""


def ranked_sql(where: str = "1", folded: bool = True, cited: bool = False, by_index: bool = True) -> str:
    """One page of the text hits that pass the filters `where` (on `p`), best bm25 first
    (`cited`: with how each cites the laws `:ids`, for a query naming a law).

    The page's rowids are chosen first and only those 20 rows read in full: SQLite computes a select's
    columns before sorting, so selecting them with the sort would build every hit's opinions and
    stored offsets (≈ 5,000 rows for a common word). Without filters the FTS index ranks alone and
    only its best `limit + offset + TIE_MARGIN` rows are joined to `proposals` to order equal scores
    by id: joining every hit cost as much again as ranking them (9,000 hits at 100,000 proposals:
    54 → 15 ms). Every hit scoring below the last of those is among them, so only those are kept: a page
    that comes out short may end inside a run of equal scores (or be the last page), and `ranked_search`
    asks again with `by_index=False`, the join — the pages are exactly the filtered form's
    (tests/test_search_ranking.py).
    """
    if where == "1" and by_index:  # no filters: the index alone ranks, and only the best few meet `proposals`
        page = f"""top as materialized (
  select rowid as rid, {_BM25} as score from {FTS_TABLE} where {FTS_TABLE} match escape_fts(:q)
  order by score limit :limit + :offset + {TIE_MARGIN}),
cut as materialized (select max(score) as score, count(*) = :limit + :offset + {TIE_MARGIN} as full from top),
page as materialized (
  select top.rid, top.score from top join proposals p on p.rowid = top.rid
  where not (select full from cut) or top.score < (select score from cut)
  order by top.score, p.id
  limit :limit offset :offset)"""
    else:
        page = f"""page as materialized (
  select p.rowid as rid, {_BM25} as score
  from {FTS_TABLE} join proposals p on p.rowid = {FTS_TABLE}.rowid
  where {FTS_TABLE} match escape_fts(:q) and {where}
  order by score, p.id
  limit :limit offset :offset)"""
    return f"""
with {page}
select {_COLUMNS}, {_FOLD_EDITS if folded else "null as fold_edits"}, page.score as score{", " + _CITED_AS if cited else ""}
from page join proposals p on p.rowid = page.rid
order by page.score, p.id
"""


RANKED_SQL = ranked_sql()
# One phrase of a query (kb.search.phrases): every row it matches with its bm25, by rowid.
PHRASE_SQL = f"select rowid, {_BM25} from {FTS_TABLE} where {FTS_TABLE} match ? order by rowid"


def rows_sql(folded: bool = True, cited: bool = False) -> str:
    """The hit rows of a page chosen in memory (`:rids`, a JSON array of rowids in page order; `cited`: with
    how each cites the laws `:ids`, as `ranked_sql`)."""
    return f"""
with page as materialized (select key as pos, value as rid from json_each(:rids))
select page.rid as kb_rid, {_COLUMNS}, {_FOLD_EDITS if folded else "null as fold_edits"}{", " + _CITED_AS if cited else ""}
from page join proposals p on p.rowid = page.rid
order by page.pos
"""
# A query that is the name of a law (its title, short name or an alias such as マイナンバー法) also
# finds the proposals that cite the law under any name: text hits first (bm25), then the others.
STATUTE_NAMES_SQL = """
select s.id, s.name, s.title from statute_names n join statutes s on s.id = n.statute_id
where n.key = :q group by s.id order by s.citation_count desc, s.id
"""
_MATCHED = f"""
select rowid, {_BM25} as score from {FTS_TABLE} where {FTS_TABLE} match escape_fts(:q)
"""
# A proposal cites a law many times (84,000 citations of 番号利用法 in the 5,000-proposal benchmark), so the
# citations are probed per proposal; the other links are few per proposal, and `cross join` keeps the link
# table first (its index on the registry's id finds them). Each arm is skipped, by a constant condition
# SQLite tests once, when its list is empty.
_CITING = (
    "select p.rowid from proposals p where json_array_length(:ids) > 0 and exists (select 1 from citations c"
    " where c.proposal_id = p.id and c.statute_id in (select value from json_each(:ids)))"
)
REGISTRY_SQL = f"""{_CITING}
union select p.rowid from proposal_prefectures pp cross join proposals p on p.id = pp.proposal_id
  where json_array_length(:prefectures) > 0 and pp.prefecture_id in (select value from json_each(:prefectures))
union select p.rowid from proposal_ministries pm cross join proposals p on p.id = pm.proposal_id
  where json_array_length(:ministries) > 0 and pm.ministry_id in (select value from json_each(:ministries))"""


def expanded_sql(where: str = "1", folded: bool = True) -> str:
    """`ranked_sql` for a query naming a law, prefecture or ministry: the text hits, then the proposals
    the registries add (REGISTRY_SQL), by id. The page is chosen first, as in `ranked_sql`."""
    return f"""
with matched as materialized ({_MATCHED}), citing as ({REGISTRY_SQL}),
page as materialized (
  select p.rowid as rid, m.score as score
  from proposals p left join matched m on m.rowid = p.rowid
  where p.rowid in (select rowid from matched union select rowid from citing) and {where}
  order by m.score is null, m.score, p.id
  limit :limit offset :offset)
select {_COLUMNS}, {_FOLD_EDITS if folded else "null as fold_edits"}, page.score as score, {_CITED_AS}
from page join proposals p on p.rowid = page.rid
order by page.score is null, page.score, p.id
"""


EXPANDED_SQL = expanded_sql()


def registry_only_sql(where: str = "1", folded: bool = True) -> str:
    """The proposals the registries add that the text index does not find, by id (they follow the text hits)."""
    return f"""
with page as materialized (
  select p.rowid as rid from proposals p
  where p.rowid in ({REGISTRY_SQL})
    and p.rowid not in (select rowid from {FTS_TABLE} where {FTS_TABLE} match escape_fts(:q)) and {where}
  order by p.id
  limit :limit offset :offset)
select {_COLUMNS}, {_FOLD_EDITS if folded else "null as fold_edits"}, null as score, {_CITED_AS}
from page join proposals p on p.rowid = page.rid
order by p.id
"""


def _matching(expanded: bool, where: str) -> tuple[str, str]:
    """(CTEs, select of rowids) of the proposals a search finds — text hits, and the ones citing a law
    the query names — that pass the filters `where` (on `p.rowid`)."""
    if expanded:
        return (
            f"matched as (select rowid from {FTS_TABLE} where {FTS_TABLE} match escape_fts(:q)), citing as ({REGISTRY_SQL})",
            (
                "select rid from (select rowid as rid from matched union select rowid from citing)"
                f" where {where.replace('+p.rowid in (', '+rid in (')}"
            ),
        )
    where = where.replace("+p.rowid in (", f"+{FTS_TABLE}.rowid in (")
    return "", f"select rowid as rid from {FTS_TABLE} where {FTS_TABLE} match escape_fts(:q) and {where}"


def matching_rowids_sql(expanded: bool = False, where: str = "1") -> str:
    """The rowids of every proposal a search finds, in one comma-separated string: what the page reads once
    for its count and its facets (counted in memory, kb.search.facet_index)."""
    ctes, select = _matching(expanded, where)
    return f"with {ctes + ', ' if ctes else ''}m as ({select}) select group_concat(rid) from m"


def count_sql(expanded: bool, where: str) -> str:
    ctes, select = _matching(expanded, where)
    return (f"with {ctes} " if ctes else "") + f"select count(*) from ({select})"


_LABELS = {
    "category": "(select c.label from categories c where c.id = category)",
    "policy_field": "(select f.name from policy_fields f where f.id = policy_field)",
}


def facets_sql(expanded: bool, where: str, stored_arrays: bool = True) -> str:
    """(facet, value, count, label) of every facet of the matching proposals, and ('', null, total, null).

    One statement: the matching rowids are found once (a materialised CTE), each column facet scans that
    column's index (value, rowid) keeping the matching rowids, and the array facets read the matching
    proposals' `facet_values` rows by its primary key — or, without that table, the JSON items of the
    matching rows. When more than half the table matches, both are the stored whole-table counts less
    those of the proposals not found.
    """
    ctes, select = _matching(expanded, where)
    head = f"with {ctes + ', ' if ctes else ''}m as materialized ({select})"
    arms = ["select '' as facet, null as value, count(*) as n, null as label from m"]
    # With the stored counts, each column arm runs only when less than half the table is found (below).
    small = " and not (select yes from big)" if stored_arrays else ""
    arms += [
        f"select '{c}', [{c}], count(*), {_LABELS.get(c, 'null')} from proposals"
        f" where +rowid in (select rid from m) and [{c}] is not null{small} group by [{c}]"
        for c in COLUMN_FACETS
    ]
    arrays = ", ".join(f"'{c}'" for c in ARRAY_FACETS)
    columns = ", ".join(f"'{c}'" for c in COLUMN_FACETS)
    if stored_arrays:
        # Most of the table found (a one-character query, a law every proposal cites): the whole table's
        # counts (`facet_counts`) less those of the few proposals not found — for the array facets and the
        # column facets alike. Each arm runs only when its constant condition holds.
        head += (
            ", big as materialized (select count(*) * 2 > (select count(*) from proposals) as yes from m)"
            ", ids as materialized (select id from proposals where +rowid in (select rid from m)"
            " and not (select yes from big))"
            ", rest as materialized (select id, rowid as rid from proposals where +rowid not in (select rid from m)"
            " and (select yes from big))"
        )
        # The found proposals' rows of `facet_values`, by its primary key (proposal_id, facet, value): `cross join`
        # keeps `ids` first, where SQLite would scan every row of the array facets (≈ 50,000 at 5,000 proposals).
        arms.append(
            f"select f.facet, f.value, count(*), null from ids i cross join [{FACET_VALUES_TABLE}] f on f.proposal_id = i.id"
            f" where not (select yes from big) and f.facet in ({arrays})"
            " group by f.facet, f.value"
        )
        arms.append(
            f"select c.facet, c.value, c.count - coalesce(x.n, 0), null from [{FACET_COUNTS_TABLE}] c"
            f" left join (select f.facet, f.value, count(*) as n from rest r cross join [{FACET_VALUES_TABLE}] f"
            f" on f.proposal_id = r.id where f.facet in ({arrays}) group by f.facet, f.value) x"
            " on x.facet = c.facet and x.value = c.value"
            f" where (select yes from big) and c.table_name = 'proposals' and c.facet in ({arrays})"
        )
        rest_columns = " union all ".join(
            f"select '{c}' as facet, [{c}] as value, count(*) as n from proposals"
            f" where +rowid in (select rid from rest) and [{c}] is not null group by [{c}]"
            for c in COLUMN_FACETS
        )
        labels = (
            "when 'category' then (select l.label from categories l where l.id = c.value)"
            " when 'policy_field' then (select l.name from policy_fields l where l.id = c.value)"
        )
        arms.append(
            f"select c.facet, c.value, c.count - coalesce(x.n, 0), case c.facet {labels} end from [{FACET_COUNTS_TABLE}] c"
            f" left join ({rest_columns}) x on x.facet = c.facet and x.value = c.value"
            f" where (select yes from big) and c.table_name = 'proposals' and c.facet in ({columns})"
        )
    else:
        arms += [
            f"select '{c}', j.value, count(distinct p.id), null from proposals p, json_each(p.[{c}]) j"
            f" where p.rowid in (select rid from m) and json_type(p.[{c}]) = 'array' group by j.value"
            for c in ARRAY_FACETS
        ]
    return head + " " + " union all ".join(arms)


# Where a snippet may come from, in sheet order; labels are the sheet's headings.
SNIPPET_FIELDS: list[tuple[str, str]] = [(k.value, k.column) for k in SECTION_ORDER] + [("意見", "opinions_text")]


class Database(Protocol):
    """What the search reads of Datasette's Database."""

    path: str | None
    is_mutable: bool

    async def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any: ...

    async def execute_fn(self, fn: Callable[[sqlite3.Connection], Any]) -> Any: ...


# Facet arrays per database file: path → (file stamp, index, or None for a database without `facet_values`).
_FACET_INDEXES: dict[str, tuple[tuple[object, ...], FacetIndex | None]] = {}
# Scores of the phrases searched so far, per database file: path → (file stamp, scores).
_PHRASE_SCORES: dict[str, tuple[tuple[object, ...], PhraseScores]] = {}


def phrase_scores(db: Database) -> PhraseScores:
    """The phrase scores kept for an immutable database file (kb.search.phrases), new when the file is replaced."""
    from kb.search.phrases import PhraseScores

    assert db.path and not db.is_mutable
    stamp = file_stamp(db.path)
    cached = _PHRASE_SCORES.get(db.path)
    if cached is None or cached[0] != stamp:
        cached = _PHRASE_SCORES[db.path] = (stamp, PhraseScores(PHRASE_SQL))
    return cached[1]


async def facet_index(db: Database) -> FacetIndex | None:
    """The facet arrays of an immutable database, read once per file (kb.search.facet_index); None: count by SQL."""
    from kb.search.facet_index import FacetIndex  # numpy: loaded by the site's first search, not by every `kb` command

    if db.is_mutable or not db.path:
        return None
    stamp = file_stamp(db.path)
    cached = _FACET_INDEXES.get(db.path)
    if cached is None or cached[0] != stamp:
        try:
            index = await db.execute_fn(FacetIndex.read)
        except sqlite3.OperationalError as exc:  # a database built without `facet_values` (or no proposals at all)
            if "no such table" not in str(exc):
                raise
            index = None
        cached = _FACET_INDEXES[db.path] = (stamp, index)
    return cached[1]


@dataclass
class Hit:
    id: str
    title: list[Part]
    year: int
    era: str
    number: int
    category: str
    outcome: str | None
    stage: str
    ministries: list[str]
    proponents: list[str]
    snippet: Snippet | None
    cited_as: list[str] = field(default_factory=list)  # how the proposal cites the law the query names
    co_proponents: list[str] = field(default_factory=list)
    policy_field: str | None = None
    theme: str | None = None
    in_text: bool = True  # found by the text index (False: through a registry only)
    reasons: list[str] = field(default_factory=list)  # where it matched, when not in the title or snippet


@dataclass
class NamedStatute:
    """A law the query is a name of (マイナンバー法 → 番号利用法)."""

    id: str
    name: str
    title: str


@dataclass
class NamedMinistry:
    """A ministry the query names by its registry name or short name (農水省 → 農林水産省)."""

    id: str
    name: str  # the name the query used


@dataclass
class Expansion:
    """What the registries add to a query that is, as a whole, the name of a law, a prefecture or a ministry."""

    statutes: list[NamedStatute] = field(default_factory=list)
    prefectures: list[str] = field(default_factory=list)
    ministries: list[NamedMinistry] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.statutes or self.prefectures or self.ministries)

    @property
    def params(self) -> dict[str, str]:
        """The parameters of REGISTRY_SQL."""
        return {
            "ids": json.dumps([s.id for s in self.statutes]),
            "prefectures": json.dumps(self.prefectures),
            "ministries": json.dumps([m.id for m in self.ministries]),
        }


FACET_SHOWN = 10  # values of a facet listed before 「もっと見る」


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    url: str  # the search with this value added to the filters, or taken off when selected
    selected: bool = False


@dataclass
class FacetGroup:
    param: str
    label: str
    values: list[FacetValue]

    @property
    def shown(self) -> list[FacetValue]:
        return self.values[:FACET_SHOWN]

    @property
    def more(self) -> list[FacetValue]:
        return self.values[FACET_SHOWN:]


@dataclass
class ActiveFilter:
    """A filter in force, shown as a chip that removes it (「× 2023年」)."""

    param: str
    value: str
    label: str
    remove_url: str
    count_without: int | None = None  # results without this filter (counted only when none are found)


@dataclass
class SearchPage:
    query: str
    page: int
    total: int = 0
    hits: list[Hit] = field(default_factory=list)
    statutes: list[NamedStatute] = field(default_factory=list)
    prefectures: list[str] = field(default_factory=list)
    ministries: list[NamedMinistry] = field(default_factory=list)
    filters: list[ActiveFilter] = field(default_factory=list)
    facets: list[FacetGroup] = field(default_factory=list)
    words: list[tuple[str, str]] = field(default_factory=list)  # (word, URL) of a query of several words
    base: str = "/search"
    filter_pairs: Filters = ()

    @property
    def start(self) -> int:
        """Rank of the first hit on this page (for the numbered list)."""
        return (self.page - 1) * PER_PAGE + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))

    def page_url(self, page: int) -> str:
        return search_url(self.base, self.query, self.filter_pairs, page)

    @property
    def clear_url(self) -> str:
        """The same query without any filter."""
        return search_url(self.base, self.query)


def hit_from_row(row: dict[str, Any], query: str) -> Hit:
    """One result: title and a snippet marked where the query matched, both from the original text."""
    fields = [(label, row.get(column)) for label, column in SNIPPET_FIELDS]
    stored = row.get("fold_edits")
    edits: dict[str, Any] | None = json.loads(stored) if stored is not None else None

    def folded(column: str) -> Folded | None:
        """The stored normalised form (None when the database has none: normalised on the spot)."""
        text = row.get(column)
        return None if edits is None or not text else Folded.stored(text, edits.get(column, []))

    return Hit(
        id=row["id"],
        title=highlight(row["title"], query, folded("title")),
        year=row["year"],
        era=row["era"],
        number=row["number"],
        category=row["category"],
        outcome=row["outcome"],
        stage=row["stage"],
        ministries=json.loads(row["ministries"] or "[]"),
        proponents=json.loads(row["proponents"] or "[]"),
        snippet=best_snippet(fields, query, folded=[folded(column) for _, column in SNIPPET_FIELDS]),
        cited_as=json.loads(row.get("cited_as") or "[]"),
        co_proponents=json.loads(row.get("co_proponents") or "[]"),
        policy_field=row.get("policy_field"),
        theme=row.get("theme"),
        in_text=row.get("score") is not None,
    )


# The name fields of the index's `names` column, with the label a reason shows (docs/search.md).
NAME_FIELDS = (("proponents", "提案団体"), ("co_proponents", "追加共同提案団体"), ("ministries", "府省"))


def name_reasons(hit: Hit, query: str) -> list[str]:
    """「提案団体: 鹿児島市」: the names holding a word of the query that neither the title nor the snippet shows.

    The index's `names` column (governments, ministries, field, theme) is searched but never quoted,
    so a hit found there would otherwise show no reason.
    """
    shown = [text for text, matched in hit.title if matched]
    if hit.snippet:
        shown += [text for text, matched in hit.snippet.parts if matched]
    seen = normalize("".join(shown))
    hidden = [t for t in query_terms(query) if t not in seen]
    if not hidden:
        return []
    names: list[tuple[str, str]] = [(label, n) for attr, label in NAME_FIELDS for n in getattr(hit, attr)]
    names += [("分野", hit.policy_field or ""), ("重点募集テーマ", hit.theme or "")]
    return list(dict.fromkeys(f"{label}: {name}" for label, name in names if name and match_spans(name, hidden)))


async def ranked_search(
    db: Database,
    query: str,
    page: int = 1,
    filters: Filters = (),
    base: str = "/search",
    time_limit_ms: float | None = None,
) -> SearchPage:
    """One page of results that pass the filters, best bm25 first, with the facets of every result.

    An empty query returns an empty page (its filters are kept, to search within them). `time_limit_ms`:
    how long the phrases may be scored in memory (the site's `sql_time_limit_ms`; statements run through
    `db.execute` have Datasette's own); past it sqlite3.OperationalError "interrupted" is raised.
    """
    query = query.strip()
    result = SearchPage(query=query, page=max(1, page), base=base, filter_pairs=filters)
    result.filters = [
        ActiveFilter(p, v, chip_label(p, v), search_url(base, query, removing(filters, p, v))) for p, v in filters
    ]
    if not query:
        return result
    expansion = await registry_expansion(db, query)
    result.statutes, result.prefectures, result.ministries = expansion.statutes, expansion.prefectures, expansion.ministries
    expanded = expansion.active
    params: dict[str, Any] = {
        "q": query,
        "limit": PER_PAGE,
        "offset": (result.page - 1) * PER_PAGE,
    }
    if expanded:
        params.update(expansion.params)
    stored = True
    where, filter_params = where_sql(filters)
    params.update(filter_params)
    index = await facet_index(db)
    if index is not None:  # every hit found, counted and ordered in memory
        await _search_in_memory(db, index, result, params, filters, expansion, time_limit_ms)
        return result
    # The SQL alone: a database opened mutable, or built without `facet_values`.
    try:
        rows = await db.execute(facets_sql(expanded, where), params)
    except sqlite3.OperationalError as exc:  # a database built without `facet_values` and `facet_counts`
        if FACET_VALUES_TABLE not in str(exc) and FACET_COUNTS_TABLE not in str(exc):
            raise
        stored = False
        where, filter_params = where_sql(filters, stored_arrays=False)
        params.update(filter_params)
        rows = await db.execute(facets_sql(expanded, where, stored_arrays=False), params)
    result.total = _read_facets(result, [tuple(r) for r in rows])
    hits = [dict(r) for r in await _hits(db, lambda folded: ranked_sql(where, folded, cited=expanded), params)]
    if where == "1" and len(hits) < PER_PAGE:  # a short page from the index alone: the join decides (ranked_sql)
        hits = [dict(r) for r in await _hits(db, lambda folded: ranked_sql(where, folded, cited=expanded, by_index=False), params)]
    if expanded and len(hits) < PER_PAGE and result.total > params["offset"] + len(hits):
        # The text hits end on this page (or before it): the registry-only hits fill the rest. Found in
        # two steps so that a full page of text hits never sorts the whole expanded set (expanded_sql does).
        text_total = params["offset"] + len(hits) if hits else (await db.execute(count_sql(False, where), params)).first()[0]
        more = {**params, "limit": PER_PAGE - len(hits), "offset": max(0, params["offset"] - text_total)}
        hits += [dict(r) for r in await _hits(db, lambda folded: registry_only_sql(where, folded), more)]
    result.hits = [hit_from_row(r, query) for r in hits]
    for hit in result.hits:
        hit.reasons = name_reasons(hit, query)
    if expanded:
        await _registry_reasons(db, result, expansion, query)
    if not result.total:
        await _suggest(db, result, params, expanded, stored)
    return result


async def _search_in_memory(
    db: Database,
    index: FacetIndex,
    result: SearchPage,
    params: dict[str, Any],
    filters: Filters,
    expansion: Expansion,
    time_limit_ms: float | None = None,
) -> None:
    """`ranked_search` from arrays: the text hits with their bm25 from each phrase's kept scores
    (kb.search.phrases), the registries' proposals, the filters and facets from the facet arrays
    (kb.search.facet_index); SQL reads only the page's rows. The same pages, totals and facets as the SQL
    (tests/test_search_phrases.py): text hits by bm25 then id, then the registry-only hits by id."""
    import numpy as np

    query, offset, limit = result.query, params["offset"], PER_PAGE
    scores = phrase_scores(db)
    phrases = fts_phrases(query)
    text = await db.execute_fn(lambda conn: scores.query(conn, phrases, time_limit_ms))
    # Only proposals of the facet arrays' file: an index row without its proposal is not a hit (as the SQL's
    # join to `proposals` drops it), nor one read from a file another build has since replaced.
    passing = index.passing(filters) if filters else index.rowids
    text = text.within(passing)
    others = np.zeros(0, dtype=np.int64)  # found through a registry only, ascending
    if expansion.active:
        named = index.named([s.id for s in expansion.statutes], expansion.prefectures, [m.id for m in expansion.ministries])
        others = np.setdiff1d(named, text.rowids)
        others = others[np.isin(others, passing, assume_unique=True)]
    result.total = _read_facets(result, index.counts(np.concatenate([text.rowids, others])))
    at = text.candidates(offset, limit)
    at = at[np.lexsort((index.by_id(text.rowids[at]), text.scores[at]))][offset : offset + limit]
    page: list[int] = text.rowids[at].tolist()
    page_scores: list[float | None] = list(text.scores[at].tolist())
    wanted = limit - len(page)
    if wanted > 0 and len(others):  # the text hits end on this page: the registry-only hits follow, by id
        skip = max(0, offset - len(text.rowids))
        ranks = index.by_id(others)
        first = np.arange(len(others)) if len(others) <= skip + wanted else np.argpartition(ranks, skip + wanted - 1)[: skip + wanted]
        chosen = first[np.argsort(ranks[first])][skip : skip + wanted]
        page += others[chosen].tolist()
        page_scores += [None] * len(chosen)
    extra = expansion.params if expansion.active else {}
    rows = [dict(r) for r in await _hits(db, lambda folded: rows_sql(folded, cited=expansion.active), {"rids": json.dumps(page), **extra})] if page else []
    score_of = dict(zip(page, page_scores, strict=True))
    for row in rows:
        row["score"] = score_of[row["kb_rid"]]
    result.hits = [hit_from_row(r, query) for r in rows]
    for hit in result.hits:
        hit.reasons = name_reasons(hit, query)
    if expansion.active:
        await _registry_reasons(db, result, expansion, query)
    if not result.total:
        await _suggest(db, result, params, expansion.active, True)


def _read_facets(result: SearchPage, rows: list[tuple[Any, ...]]) -> int:
    """`result.facets` from the rows of `facets_sql`; returns the total."""
    total = 0
    found: dict[str, list[tuple[Any, int, Any]]] = {}
    for facet, value, count, label in rows:
        if facet == "":
            total = count
        elif value is not None and count > 0:
            found.setdefault(facet, []).append((value, count, label))
    labels: dict[tuple[str, str], str] = {}
    here = search_url(result.base, result.query, result.filter_pairs)
    joiner = "&" if "?" in here else "?"
    for spec in FACETS:
        values = found.get(spec.param, [])
        if spec.by_year:
            values.sort(key=lambda v: -int(v[0]))
        else:
            values.sort(key=lambda v: (-v[1], str(v[0])))
        group = FacetGroup(spec.param, spec.label, [])
        for value, count, label in values:
            text = str(value)
            if spec.by_year:
                label = _era(int(value))
            shown = f"{text}年（{label}）" if spec.by_year and label else str(label or text)
            labels[(spec.param, text)] = str(label or text)
            selected = (spec.param, text) in result.filter_pairs
            # search_url(…, adding(…)) is this page's URL and one more pair: made once, not per value
            url = (
                search_url(result.base, result.query, removing(result.filter_pairs, spec.param, text))
                if selected
                else f"{here}{joiner}{spec.param}={quote_plus(text)}"
            )
            group.values.append(FacetValue(text, shown, count, url, selected))
        if group.values:
            result.facets.append(group)
    for active in result.filters:
        if not FACET_BY_PARAM[active.param].by_year and (active.param, active.value) in labels:
            active.label = chip_label(active.param, active.value, labels[(active.param, active.value)])
    return total


def _era(year: int) -> str | None:
    try:
        return year_to_era(year)
    except ValueError:
        return None


async def _suggest(
    db: Database,
    result: SearchPage,
    params: dict[str, Any],
    expanded: bool,
    stored: bool,
) -> None:
    """What to try when nothing is found: each word alone, each filter taken off (with its count)."""
    words = query_words(result.query)
    if len(words) > 1:
        result.words = [(w, search_url(result.base, w, result.filter_pairs)) for w in words]
    for active in result.filters:
        others = removing(result.filter_pairs, active.param, active.value)
        where, filter_params = where_sql(others, stored)
        base = {k: v for k, v in params.items() if not k.startswith("kb_f")}
        active.count_without = (await db.execute(count_sql(expanded, where), {**base, **filter_params})).first()[0]


async def _hits(db: Database, sql: Callable[[bool], str], params: dict[str, Any]) -> Any:
    """Run `sql(folded)`; without the stored offsets (an older database), `sql(False)`."""
    try:
        return await db.execute(sql(True), params)
    except sqlite3.OperationalError as exc:
        if SNIPPET_OFFSETS_TABLE not in str(exc):
            raise
        return await db.execute(sql(False), params)


async def _registry_reasons(db: Database, result: SearchPage, expansion: Expansion, query: str) -> None:
    """Why each hit the text index did not find is a result: 「法令: 番号利用法（マイナンバー法）を引用」,
    「提案団体: 多賀城市（宮城県）」, 「府省: 農林水産省（農水省）」 (one query for the page)."""
    others = [h for h in result.hits if not h.in_text]
    if not others:
        return
    ids = json.dumps([h.id for h in others])
    found: dict[str, list[str]] = {}
    if expansion.statutes:
        rows = await db.execute(
            "select distinct proposal_id, statute_id from citations where proposal_id in (select value from json_each(:p))"
            " and statute_id in (select value from json_each(:ids))",
            {"p": ids, "ids": expansion.params["ids"]},
        )
        statutes = {s.id: s for s in expansion.statutes}
        said = name_key(query)
        for r in rows:
            statute = statutes[r["statute_id"]]
            name = statute.name
            alias = "" if said in (name_key(name), name_key(statute.title)) else f"（{query}）"
            found.setdefault(r["proposal_id"], []).append(f"法令: {name}{alias}を引用")
    if expansion.prefectures:
        rows = await db.execute(
            "select proposal_id, prefecture_id, role, local_governments from proposal_prefectures"
            " where proposal_id in (select value from json_each(:p)) and prefecture_id in (select value from json_each(:pr))"
            " order by proposal_id, role = '追加共同提案団体', prefecture_id",
            {"p": ids, "pr": expansion.params["prefectures"]},
        )
        for r in rows:
            for government in json.loads(r["local_governments"] or "[]"):
                where = "" if government == r["prefecture_id"] else f"（{r['prefecture_id']}）"
                found.setdefault(r["proposal_id"], []).append(f"{r['role']}: {government}{where}")
    if expansion.ministries:
        rows = await db.execute(
            "select proposal_id, ministry_id from proposal_ministries where proposal_id in (select value from json_each(:p))"
            " and ministry_id in (select value from json_each(:m))",
            {"p": ids, "m": expansion.params["ministries"]},
        )
        said_as = {m.id: m.name for m in expansion.ministries}
        for r in rows:
            alias = "" if said_as[r["ministry_id"]] == r["ministry_id"] else f"（{said_as[r['ministry_id']]}）"
            found.setdefault(r["proposal_id"], []).append(f"府省: {r['ministry_id']}{alias}")
    for hit in others:
        hit.reasons = list(dict.fromkeys([*found.get(hit.id, []), *hit.reasons]))


async def registry_expansion(db: Database, query: str) -> Expansion:
    """The laws, prefectures and ministries the whole query names (each empty when the database lacks the table).

    Names are compared as `name_key` (normalised, no spaces): a law by its title, short name or alias
    (statute_names), a prefecture by its name (宮城県), a ministry by its registry name or short name (農水省).
    """
    key = name_key(query)
    expansion = Expansion(statutes=await named_statutes(db, query))
    if not key:
        return expansion
    try:
        expansion.prefectures = [r[0] for r in await db.execute("select id from prefectures where id = :k", {"k": key})]
    except sqlite3.OperationalError:  # a database built without the registries step
        pass
    try:
        # By its full name a ministry is found in the index's `names` already; only a short name adds proposals.
        rows = await db.execute("select id from ministries where short_name = :k and id <> :k order by id", {"k": key})
        expansion.ministries = [NamedMinistry(r[0], query) for r in rows]
    except sqlite3.OperationalError:
        pass
    return expansion


async def named_statutes(db: Database, query: str) -> list[NamedStatute]:
    """The laws the whole query names (compared as `statute_names.key`); none when the database has no statute tables."""
    try:
        rows = await db.execute(STATUTE_NAMES_SQL, {"q": name_key(query)})
    except sqlite3.OperationalError:  # a database built without the statutes step
        return []
    return [NamedStatute(r["id"], r["name"], r["title"]) for r in rows]


def escape_fts(query: str | None) -> str:
    """SQL function: a user's words → an FTS5 query of bigram phrases."""
    return fts_query(query or "")


def search_snippet(text: str | None, query: str | None) -> str | None:
    """SQL function: a plain-text snippet of `text` around the query's words."""
    return plain_snippet(text, query or "")


def register_functions(conn: sqlite3.Connection) -> None:
    """Add `escape_fts` and `search_snippet` to a connection (replacing Datasette's own `escape_fts`)."""
    conn.create_function("escape_fts", 1, escape_fts, deterministic=True)
    conn.create_function("search_snippet", 2, search_snippet, deterministic=True)
