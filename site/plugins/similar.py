"""The proposal page's 似た提案 and 再提案の経過: read from the tables the build's similar step wrote.

The shared words shown are found in this proposal's own ask (`kb.similar.terms.words_in`), from the
bigrams the build stored for the pair, so a reader sees 中間サーバー, not 中間・間サ・サー.
A database built before the step existed simply shows neither section.
"""

import json
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import Database
from datasette.utils import urlsafe_components
from datasette.utils.asgi import Request

from kb.db.schema import DB_NAME
from kb.similar.terms import ask_text, content_runs, words_in

SIMILAR_SQL = """
select s.rank, s.similar_id, s.score, s.shared_statutes, s.shared_terms,
       p.year, p.era, p.number, p.title, p.outcome, p.proponents, p.ministries
from similar_proposals s join proposals p on p.id = s.similar_id
where s.proposal_id = :id order by s.rank
"""
# Every earlier round of this proposal and every later one, each with the link to its previous round.
CHAIN_SQL = """
with recursive
  back(id, depth) as (select :id, 0 union select r.earlier_id, back.depth + 1 from reproposals r join back on r.proposal_id = back.id where back.depth < 30),
  forth(id, depth) as (select :id, 0 union select r.proposal_id, forth.depth + 1 from reproposals r join forth on r.earlier_id = forth.id where forth.depth < 30)
select p.id, p.year, p.era, p.number, p.title, p.outcome, p.proponents, r.earlier_id, r.kind, r.evidence
from (select id from back union select id from forth) m
join proposals p on p.id = m.id
left join reproposals r on r.proposal_id = p.id
order by p.year, p.number
"""
ASK_SQL = "select title, measures, problems, effects from proposals where id = :id"


def _names(value: str | None) -> list[str]:
    return json.loads(value) if value else []


async def statute_names(db: Database, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    marks = ", ".join(f":s{i}" for i in range(len(ids)))
    rows = await db.execute(f"select id, name from statutes where id in ({marks})", {f"s{i}": v for i, v in enumerate(sorted(ids))})
    return {r["id"]: r["name"] for r in rows}


async def load_similar(db: Database, proposal_id: str) -> dict[str, Any]:
    """`kb_similar` (ranked similar proposals) and `kb_chain` (the re-proposal timeline, empty when alone)."""
    try:
        similar = [dict(r) for r in await db.execute(SIMILAR_SQL, {"id": proposal_id})]
        chain = [dict(r) for r in await db.execute(CHAIN_SQL, {"id": proposal_id})]
    except sqlite3.OperationalError:  # built before the similar step
        return {"kb_similar": [], "kb_chain": []}
    ask_rows = list(await db.execute(ASK_SQL, {"id": proposal_id}))
    runs = content_runs(ask_text(*ask_rows[0])) if ask_rows else []  # once: every neighbour's words are found in it
    names = await statute_names(db, {s for r in similar for s in json.loads(r["shared_statutes"])})
    for r in similar:
        r["proponents"], r["ministries"] = _names(r["proponents"]), _names(r["ministries"])
        r["statutes"] = [(sid, names.get(sid, sid)) for sid in json.loads(r["shared_statutes"])]
        r["words"] = words_in(runs, json.loads(r["shared_terms"]), limit=5)
    for r in chain:
        r["proponents"] = _names(r["proponents"])
        r["current"] = r["id"] == proposal_id
    return {"kb_similar": similar, "kb_chain": chain if len(chain) > 1 else []}


@hookimpl
def extra_template_vars(
    view_name: str, database: str | None, table: str | None, request: Request | None, datasette: Datasette
) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def inner() -> dict[str, Any]:
        if view_name != "row" or database != DB_NAME or table != "proposals" or request is None:
            return {}
        pk = urlsafe_components(request.url_vars["pks"])[0]
        return await load_similar(datasette.get_database(DB_NAME), pk)

    return inner
