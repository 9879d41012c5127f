"""Prefecture pages: the proposals of a prefecture and of every body in it (docs/registries.md)."""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from datasette.app import Datasette
from datasette.utils import urlsafe_components
from datasette.utils.asgi import Request

from kb.db.schema import DB_NAME

# One row per proposal: which bodies of the prefecture took part, and as what.
PREFECTURE_PROPOSALS_SQL = """
select p.id, p.title, p.era, p.number,
  group_concat(pp.role || '：' || (select group_concat(value, '、') from json_each(pp.local_governments)), ' ／ ')
    as note
from proposal_prefectures pp join proposals p on p.id = pp.proposal_id
where pp.prefecture_id = :pk
group by p.id
order by p.year desc, p.number
limit :limit
"""
COUNT_SQL = "select count(distinct proposal_id) from proposal_prefectures where prefecture_id = :pk"
# The page lists the newest this many; the rest are one link away (the filtered proposal list), as on
# statute pages: 1,800 items made a 0.15 s page at 5,000 proposals, and nobody reads that far down.
SHOWN = 100


@hookimpl
def extra_template_vars(view_name: str, database: str | None, table: str | None, request: Request | None, datasette: Datasette):
    async def inner() -> dict[str, Any]:
        if view_name != "row" or database != DB_NAME or table != "prefectures" or request is None:
            return {}
        pk = urlsafe_components(request.url_vars["pks"])[0]
        db = datasette.get_database(DB_NAME)
        rows = await db.execute(PREFECTURE_PROPOSALS_SQL, {"pk": pk, "limit": SHOWN})
        total = (await db.execute(COUNT_SQL, {"pk": pk})).first()[0]
        return {"kb_prefecture": pk, "kb_prefecture_proposals": [dict(r) for r in rows], "kb_prefecture_total": total}

    return inner
