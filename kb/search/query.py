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
from dataclasses import dataclass, field
from typing import Any, Protocol

from kb.core.vocab import SECTION_ORDER
from kb.db.schema import FTS_TABLE, SNIPPET_OFFSETS_TABLE
from kb.search.foldmap import Folded
from kb.search.snippets import Part, Snippet, best_snippet, highlight, plain_snippet
from kb.search.textnorm import fts_query, name_key

# bm25 column weights: title, names (governments, ministries, field, theme), body.
BM25_WEIGHTS = (10.0, 5.0, 1.0)
PER_PAGE = 20

# The opinions in sheet order, as kb.db.rows.opinions_text makes them for the stored offsets.
_OPINIONS_TEXT = """(select group_concat(line, char(10)) from
    (select o.association || '：' || o.text as line from opinions o where o.proposal_id = p.id order by o.position))"""
_COLUMNS = f"""p.id, p.title, p.year, p.era, p.number, p.category, p.policy_field, p.theme, p.stage, p.outcome,
  p.ministries, p.proponents, {", ".join(f"p.{k.column}" for k in SECTION_ORDER)},
  {_OPINIONS_TEXT} as opinions_text"""
_FOLD_EDITS = f"(select f.edits from {SNIPPET_OFFSETS_TABLE} f where f.proposal_id = p.id) as fold_edits"
_BM25 = f"bm25({FTS_TABLE}, {', '.join(map(str, BM25_WEIGHTS))})"
RANKED_SQL = f"""
select {_COLUMNS}, {_FOLD_EDITS}, {_BM25} as score
from {FTS_TABLE} join proposals p on p.rowid = {FTS_TABLE}.rowid
where {FTS_TABLE} match escape_fts(:q)
order by score, p.id
limit :limit offset :offset
"""
COUNT_SQL = f"select count(*) from {FTS_TABLE} where {FTS_TABLE} match escape_fts(:q)"
# A query that is the name of a law (its title, short name or an alias such as マイナンバー法) also
# finds the proposals that cite the law under any name: text hits first (bm25), then the others.
STATUTE_NAMES_SQL = """
select s.id, s.name, s.title from statute_names n join statutes s on s.id = n.statute_id
where n.key = :q group by s.id order by s.citation_count desc, s.id
"""
_MATCHED = f"""
select rowid, {_BM25} as score from {FTS_TABLE} where {FTS_TABLE} match escape_fts(:q)
"""
_CITING = "select distinct p.rowid from citations c join proposals p on p.id = c.proposal_id where c.statute_id in (select value from json_each(:ids))"
EXPANDED_SQL = f"""
with matched as ({_MATCHED}), citing as ({_CITING})
select {_COLUMNS}, {_FOLD_EDITS}, m.score as score,
  (select json_group_array(quote) from (select distinct c.quote from citations c
     where c.proposal_id = p.id and c.statute_id in (select value from json_each(:ids)) limit 3)) as cited_as
from proposals p left join matched m on m.rowid = p.rowid
where p.rowid in (select rowid from matched union select rowid from citing)
order by m.score is null, m.score, p.id
limit :limit offset :offset
"""
EXPANDED_COUNT_SQL = f"""
with matched as ({_MATCHED}), citing as ({_CITING})
select count(*) from (select rowid from matched union select rowid from citing)
"""
# The same for a database built before `snippet_offsets` existed (snippets then normalise per request).
UNFOLDED_SQL = {sql: sql.replace(_FOLD_EDITS, "null as fold_edits") for sql in (RANKED_SQL, EXPANDED_SQL)}
# Where a snippet may come from, in sheet order; labels are the sheet's headings.
SNIPPET_FIELDS: list[tuple[str, str]] = [(k.value, k.column) for k in SECTION_ORDER] + [("意見", "opinions_text")]


class Database(Protocol):
    async def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any: ...


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


@dataclass
class NamedStatute:
    """A law the query is a name of (マイナンバー法 → 番号利用法)."""

    id: str
    name: str
    title: str


@dataclass
class SearchPage:
    query: str
    page: int
    total: int = 0
    hits: list[Hit] = field(default_factory=list)
    statutes: list[NamedStatute] = field(default_factory=list)

    @property
    def start(self) -> int:
        """Rank of the first hit on this page (for the numbered list)."""
        return (self.page - 1) * PER_PAGE + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


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
    )


async def ranked_search(db: Database, query: str, page: int = 1) -> SearchPage:
    """One page of results, best bm25 first; an empty query returns an empty page."""
    query = query.strip()
    result = SearchPage(query=query, page=max(1, page))
    if not query:
        return result
    result.statutes = await named_statutes(db, query)
    params: dict[str, Any] = {"q": query, "limit": PER_PAGE, "offset": (result.page - 1) * PER_PAGE}
    if result.statutes:
        params["ids"] = json.dumps([s.id for s in result.statutes])
        result.total = (await db.execute(EXPANDED_COUNT_SQL, params)).first()[0]
        rows = await _hits(db, EXPANDED_SQL, params)
    else:
        result.total = (await db.execute(COUNT_SQL, params)).first()[0]
        rows = await _hits(db, RANKED_SQL, params)
    result.hits = [hit_from_row(dict(r), query) for r in rows]
    return result


async def _hits(db: Database, sql: str, params: dict[str, Any]) -> Any:
    try:
        return await db.execute(sql, params)
    except sqlite3.OperationalError as exc:
        if SNIPPET_OFFSETS_TABLE not in str(exc):
            raise
        return await db.execute(UNFOLDED_SQL[sql], params)


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
