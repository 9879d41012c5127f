"""Build step `STEP` (one of `kb.pipeline.STEPS`): `statutes` and `citations` tables, and a `statutes` column on proposals for faceting.

`citations` links both ways — to the proposal it is in and to the statute it resolves
to — so Datasette can go from a proposal to the articles it cites and from a statute
to every proposal that touches it. Positions are offsets in the section text as stored
(the original wording), so the quote can be found again in `proposals.<section>`.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from kb.core.models import Proposal
from kb.db.parallel import map_items
from kb.db.schema import Step
from kb.search.textnorm import name_key
from kb.statutes.egov import law_url
from kb.statutes.extract import PartCitation, extract_proposal
from kb.statutes.lawlist import law_list_path
from kb.statutes.registry import KINDS, Registry, Statute, load_registry, registry_path

if TYPE_CHECKING:  # sqlite-utils is loaded by the build, not by `kb check` (start-up time)
    import sqlite_utils

STATUTE_COLUMN = "statutes"  # on proposals: JSON array of the display names of the statutes cited
KINDS_COLUMN = "statute_kinds"  # on proposals: JSON array of the kinds cited (法律, 政令, 府省令…)


def statute_row(s: Statute, cited: dict[str, tuple[int, set[str]]]) -> dict[str, Any]:
    count, proposals = cited.get(s.id, (0, set()))
    return {
        "id": s.id,
        "name": s.display_name,
        "title": s.title,
        "kind": s.kind,
        "law_number": s.number_label,
        "bill": s.bill,
        "listed": int(s.listed),
        "repealed": s.repealed,
        "egov_id": s.egov_id,
        "egov_url": law_url(s.egov_id),
        "parent_id": s.parent,
        "issuer": s.issuer,
        "aliases": list(s.aliases),
        "note": s.note,
        "checked": s.checked,
        "citation_count": count,
        "proposal_count": len(proposals),
    }


def citation_rows(proposal: Proposal, found: list[PartCitation]) -> list[dict[str, Any]]:
    rows = []
    for position, pc in enumerate(found, start=1):
        c, pin = pc.citation, pc.citation.pinpoint
        rows.append(
            {
                "id": f"{proposal.id}-{position:03d}",
                "proposal_id": proposal.id,
                "position": position,
                "section": pc.part.section,
                "section_label": pc.part.label,
                "association": pc.part.association,
                "statute_id": c.statute_id,
                "title": c.title,
                "kind": c.kind,
                "form": c.form.value,
                "pinpoint": pin.label if pin else None,
                "supplementary": int(pin.supplementary) if pin else None,
                "appendix_table": pin.table_key if pin else None,
                "article": pin.article_key if pin else None,
                "paragraph": pin.paragraph if pin else None,
                "item": pin.item_key if pin else None,
                "part": pin.part if pin else None,
                "law_number": c.law_number,
                "url": c.url,
                "quote": c.quote,
                "quote_start": c.start,
                "quote_end": c.end,
                "unresolved": c.unresolved,
            }
        )
    return rows


def display_names(found: list[PartCitation], registry: Registry) -> list[str]:
    """Statutes a proposal cites, first citation first, for the facet on proposals."""
    ids = dict.fromkeys(pc.citation.statute_id for pc in found if pc.citation.statute_id)
    return [registry.statutes[i].display_name for i in ids]


def cited_kinds(found: list[PartCitation]) -> list[str]:
    """Kinds of what a proposal cites (法律, 政令, 府省令, ガイドライン…), resolved or not, for the facet on proposals."""
    return sorted({pc.citation.kind for pc in found if pc.citation.kind in KINDS}, key=KINDS.index)


def name_rows(registry: Registry) -> list[dict[str, Any]]:
    """Every name a law is written with (title, short name, alias), as written and as search compares it (`key`)."""
    rows: list[dict[str, Any]] = []
    for s in registry.statutes.values():
        spelled = [(s.title, "題名"), *([(s.short, "短い名前")] if s.short else []), *((a, "略称") for a in s.aliases)]
        seen = set()
        for name, how in spelled:
            if name not in seen:
                seen.add(name)
                rows.append({"name": name, "key": name_key(name), "statute_id": s.id, "how": how})
    return rows


def _create_statutes(db: sqlite_utils.Database, registry: Registry) -> None:
    """Every law of e-Gov's list and every entry of statutes.yaml, counts zero until `count_citations`."""
    db.table("statutes").create(
        {
            "id": str, "name": str, "title": str, "kind": str, "law_number": str, "bill": str, "listed": int,
            "repealed": str, "egov_id": str, "egov_url": str, "parent_id": str, "issuer": str, "aliases": str,
            "note": str, "checked": str, "citation_count": int, "proposal_count": int,
        },
        pk="id",
        not_null={"name", "title", "kind"},
        foreign_keys=[("parent_id", "statutes", "id")],
    )  # fmt: skip
    columns, rows = _statute_table_rows(registry)
    _insert_rows(db, "statutes", columns, rows)
    db.table("statutes").create_index(["citation_count"])  # the list's order (most cited first) without a sort
    db.table("statutes").create_index(["parent_id"])  # a statute page's family (its 政令, 省令) without a scan
    db.table("statute_names").create(
        {"name": str, "key": str, "statute_id": str, "how": str}, foreign_keys=[("statute_id", "statutes", "id")]
    )
    _insert_rows(db, "statute_names", ["name", "key", "statute_id", "how"], [tuple(r.values()) for r in name_rows(registry)])
    db.table("statute_names").create_index(["key"])
    db.table("statute_names").create_index(["statute_id"])


def _statute_table_rows(registry: Registry) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The `statutes` rows (counts zero) as tuples, made once per registry and process: every build writes them."""
    found = registry.derived.get("statute rows")
    if found is None:
        dicts = [statute_row(s, {}) for s in registry.statutes.values()]
        columns = list(dicts[0]) if dicts else []
        rows = [tuple(json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v for v in d.values()) for d in dicts]
        found = registry.derived["statute rows"] = (columns, rows)
    return found


def _insert_rows(db: sqlite_utils.Database, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Plain executemany: rows of a known shape (every value str, int or None), without sqlite-utils'
    per-row type checks (250,000 citations: 6 × faster)."""
    marks = ", ".join("?" for _ in columns)
    with db.conn:
        db.conn.executemany(f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) VALUES ({marks})", rows)


def count_citations(db: sqlite_utils.Database) -> None:
    """`citation_count` / `proposal_count` of every statute, from what `citations` holds now."""
    with db.conn:
        db.conn.execute("UPDATE statutes SET citation_count = 0, proposal_count = 0")
        db.conn.execute(
            "UPDATE statutes SET citation_count = c.n, proposal_count = c.p FROM (SELECT statute_id,"
            " count(*) AS n, count(DISTINCT proposal_id) AS p FROM citations WHERE statute_id IS NOT NULL"
            " GROUP BY statute_id) AS c WHERE statutes.id = c.statute_id"
        )


# Per statute and article of its main provisions (附則 left out), how many citations and proposals: a statute's
# page lists its most cited articles from here. Counting them per view read every citation of the statute
# (番号利用法: 84,000 at 5,000 proposals, 18 ms; 460 ms at 100,000).
ARTICLES_TABLE = "statute_articles"


def _counted_article(row: str = "") -> str:
    """The condition for a citation to count in `statute_articles` (`row`: new. or old. in a trigger)."""
    return f"{row}statute_id IS NOT NULL AND {row}article IS NOT NULL AND {row}supplementary = 0"


def count_articles(db: sqlite_utils.Database) -> None:
    """`statute_articles`, from what `citations` holds now (a new database; triggers keep it right after)."""
    db.table(ARTICLES_TABLE).create(
        {"statute_id": str, "article": str, "citations": int, "proposals": int},
        pk=("statute_id", "article"),
        not_null={"citations", "proposals"},
        foreign_keys=[("statute_id", "statutes", "id")],
    )
    with db.conn:
        db.conn.execute(
            f"INSERT INTO [{ARTICLES_TABLE}] (statute_id, article, citations, proposals)"
            " SELECT statute_id, article, count(*), count(DISTINCT proposal_id) FROM citations"
            f" WHERE {_counted_article()} GROUP BY statute_id, article"
        )


# Keep the counts equal to a recount (`count_citations`) as citations come and go, so that an
# incremental build touches the statutes its proposals cite instead of recounting 250,000 rows.
# A proposal counts once per statute: when its first citation of it comes, when its last one goes
# (the index on (statute_id, proposal_id) answers the EXISTS).
COUNT_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS [citations_counted] AFTER INSERT ON [citations] WHEN new.statute_id IS NOT NULL BEGIN"
    " UPDATE statutes SET citation_count = citation_count + 1, proposal_count = proposal_count + (NOT EXISTS"
    " (SELECT 1 FROM citations WHERE statute_id = new.statute_id AND proposal_id = new.proposal_id AND id <> new.id))"
    " WHERE id = new.statute_id; END",
    "CREATE TRIGGER IF NOT EXISTS [citations_uncounted] AFTER DELETE ON [citations] WHEN old.statute_id IS NOT NULL BEGIN"
    " UPDATE statutes SET citation_count = citation_count - 1, proposal_count = proposal_count - (NOT EXISTS"
    " (SELECT 1 FROM citations WHERE statute_id = old.statute_id AND proposal_id = old.proposal_id))"
    " WHERE id = old.statute_id; END",
    # The same for `statute_articles`: a row appears with its article's first citation and goes with its last
    # (the index on (statute_id, article, proposal_id) answers the EXISTS).
    f"CREATE TRIGGER IF NOT EXISTS [citations_counted_by_article] AFTER INSERT ON [citations]"
    f" WHEN {_counted_article('new.')} BEGIN"
    # (not INSERT OR IGNORE: a conflict clause on the statement that fires the trigger would override it)
    f" INSERT INTO [{ARTICLES_TABLE}] (statute_id, article, citations, proposals) SELECT new.statute_id, new.article, 0, 0"
    f" WHERE NOT EXISTS (SELECT 1 FROM [{ARTICLES_TABLE}] WHERE statute_id = new.statute_id AND article = new.article);"
    f" UPDATE [{ARTICLES_TABLE}] SET citations = citations + 1, proposals = proposals + (NOT EXISTS (SELECT 1 FROM citations"
    " WHERE statute_id = new.statute_id AND article = new.article AND proposal_id = new.proposal_id AND supplementary = 0"
    " AND id <> new.id)) WHERE statute_id = new.statute_id AND article = new.article; END",
    f"CREATE TRIGGER IF NOT EXISTS [citations_uncounted_by_article] AFTER DELETE ON [citations]"
    f" WHEN {_counted_article('old.')} BEGIN"
    f" UPDATE [{ARTICLES_TABLE}] SET citations = citations - 1, proposals = proposals - (NOT EXISTS (SELECT 1 FROM citations"
    " WHERE statute_id = old.statute_id AND article = old.article AND proposal_id = old.proposal_id AND supplementary = 0))"
    " WHERE statute_id = old.statute_id AND article = old.article;"
    f" DELETE FROM [{ARTICLES_TABLE}] WHERE statute_id = old.statute_id AND article = old.article AND citations = 0; END",
)


_TRIGGERS = ("citations_counted", "citations_uncounted", "citations_counted_by_article", "citations_uncounted_by_article")


def _counted_by_triggers(db: sqlite_utils.Database) -> bool:
    marks = ", ".join("?" for _ in _TRIGGERS)
    found = db.execute(f"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})", _TRIGGERS).fetchone()
    return bool(found[0] == len(_TRIGGERS))


# Columns of `citations`, in the order of `citation_rows`' dicts and `_citation_tuples`.
CITATION_COLUMNS: tuple[str, ...] = (
    "id", "proposal_id", "position", "section", "section_label", "association", "statute_id", "title", "kind",
    "form", "pinpoint", "supplementary", "appendix_table", "article", "paragraph", "item", "part", "law_number",
    "url", "quote", "quote_start", "quote_end", "unresolved",
)  # fmt: skip

_AS_TUPLE = operator.itemgetter(*CITATION_COLUMNS)
ProposalCitations = tuple[list[tuple[Any, ...]], str, str]  # citation rows, proposals.statutes, proposals.statute_kinds


def proposal_citations(proposal: Proposal, registry: Registry) -> ProposalCitations:
    """What the step writes for one proposal, made where it is extracted (a worker): citation rows as
    tuples and the two JSON columns of `proposals` — plain values, quick to send back and insert."""
    found = extract_proposal(proposal, registry)
    rows = list(map(_AS_TUPLE, citation_rows(proposal, found)))
    return (
        rows,
        json.dumps(display_names(found, registry), ensure_ascii=False),
        json.dumps(cited_kinds(found), ensure_ascii=False),
    )


FEW_PROPOSALS = 20  # up to this many, names are looked for text by text (`NamesInText`) instead of in one automaton


class NamesInText:
    """The registry's names for a few proposals (an incremental build): per text, only the names that text holds.

    Building the automaton of all ~9,600 names costs 0.2 s, more than extracting the citations of
    one proposal (a few ms). A leftmost-longest match can only be a name that occurs in the text, so an
    automaton of those names alone finds exactly what the whole one finds (the candidates are the
    names whose first two characters occur in the text and that occur in it whole).
    Duck-types `kb.statutes.find.KnownNames` for `NameMatcher`.
    """

    def __init__(self, registry: Registry):
        self.is_name = registry.is_name
        self.titles = registry.title_names
        self._by_start: dict[str, list[str]] = {}
        for name in registry.names():
            self._by_start.setdefault(name[:2], []).append(name)

    def longest_at(self, text: str) -> dict[int, int]:
        import ahocorasick_rs

        starts = {text[i : i + 2] for i in range(len(text))} | set(text) | {""}
        found = [name for key in starts & self._by_start.keys() for name in self._by_start[key] if name in text]
        if not found:
            return {}
        automaton = ahocorasick_rs.AhoCorasick(found, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
        return {start: end - start for _, start, end in automaton.find_matches_as_indexes(text)}


def _extract_all(proposals: list[Proposal], registry: Registry) -> list[ProposalCitations]:
    """`proposal_citations` of every proposal: on every core with the whole automaton, or here, name by name, for a few."""
    if len(proposals) > FEW_PROPOSALS or "known" in registry.derived:
        registry.known_names()  # built once here, inherited by the forked workers
        return map_items(partial(proposal_citations, registry=registry), proposals)
    registry.derived["known"] = NamesInText(registry)
    try:
        return [proposal_citations(p, registry) for p in proposals]
    finally:
        del registry.derived["known"]  # the registry is shared: later users get the whole automaton


def write_statute_tables(db: sqlite_utils.Database, proposals: list[Proposal], registry: Registry | None = None) -> None:
    """The build step: extract the proposals' citations (on every core) and write them.

    Also runs on a previous database with only new and changed proposals (incremental build), so
    tables are created only when missing; the counts on `statutes` are taken from `citations` in a new
    database, and kept right by triggers (`COUNT_TRIGGERS`) from then on.
    """
    registry = registry or load_registry()
    per_proposal = _extract_all(proposals, registry)
    if not db.table("statutes").exists():
        _create_statutes(db, registry)
    counted = _counted_by_triggers(db)  # a previous database's: its counts follow every insert and delete
    db.table("citations").create(
        {
            "id": str, "proposal_id": str, "position": int, "section": str, "section_label": str,
            "association": str, "statute_id": str, "title": str, "kind": str, "form": str, "pinpoint": str,
            "supplementary": int, "appendix_table": str, "article": str, "paragraph": int, "item": str,
            "part": str, "law_number": str, "url": str, "quote": str, "quote_start": int, "quote_end": int,
            "unresolved": str,
        },
        pk="id",
        not_null={"proposal_id", "section", "title", "kind", "form", "quote"},
        foreign_keys=[("proposal_id", "proposals", "id"), ("statute_id", "statutes", "id")],
        if_not_exists=True,
    )  # fmt: skip
    _insert_rows(db, "citations", list(CITATION_COLUMNS), (row for rows, _, _ in per_proposal for row in rows))
    for column in (STATUTE_COLUMN, KINDS_COLUMN):
        if column not in db.table("proposals").columns_dict:
            db.table("proposals").add_column(column, str)
    with db.conn:
        db.conn.executemany(
            f"UPDATE proposals SET {STATUTE_COLUMN} = ?, {KINDS_COLUMN} = ? WHERE id = ?",
            [(names, kinds, p.id) for p, (_, names, kinds) in zip(proposals, per_proposal)],
        )
    db.table("citations").create_index(["statute_id", "article", "proposal_id"], if_not_exists=True)  # also by article
    db.table("citations").create_index(["statute_id", "proposal_id"], if_not_exists=True)  # counts from the index alone
    if not counted:  # a new database (full build): count once, then the triggers keep the counts
        count_citations(db)
        count_articles(db)
        with db.conn:
            for sql in COUNT_TRIGGERS:
                db.conn.execute(sql)


def _run(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    write_statute_tables(db, proposals)


STEP = Step("statutes", _run, tables=("citations",), input_files=lambda: [registry_path(), law_list_path()], preload=load_registry)
