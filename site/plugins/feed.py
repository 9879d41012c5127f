"""`/feed.atom`: the Atom feed of new and updated proposals (the 50 newest), announced in every page's head
(templates/base.html).

A proposal's `updated` is the newest of its sources' `retrieved` dates (a re-fetched sheet may carry new text),
its 閣議決定日 and 1 January of its year, the fallback when it has neither (docs/site.md, "Atom feed").
Entries are written by feedgen, which escapes every text; the entry content is HTML made here with markupsafe (names escaped) and sent as
`type="html"`, so a `<script>` in a title reaches a reader as text. The database is immutable: the feed is made
once per database file and site address (links are absolute) and kept; the page cache adds the ETag.
"""

# No `from __future__ import annotations` here: Datasette loads plugins outside sys.modules.
import datetime as dt
import sqlite3
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from datasette import hookimpl
from datasette.app import Datasette
from datasette.utils import tilde_encode
from datasette.utils.asgi import Request, Response
from feedgen.feed import FeedGenerator
from markupsafe import Markup

from kb.core import paths
from kb.db.schema import DB_NAME, json_list

PATH = "/feed.atom"
ENTRIES = 50
JST = dt.timezone(dt.timedelta(hours=9))
PDL_URL = "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0"
# Entry ids do not depend on the host the site is reached by: a reader keeps one entry per proposal.
ID_PREFIX = "tag:bunken-kb,2024:proposals/"


def feed_sql(with_retrieved: bool = True) -> str:
    """The 50 newest proposals: `updated` is the newest of the sources' retrieval dates, the decision date and
    1 January of the year (docs/site.md), ties newest id first.

    Without scanning every proposal: a proposal among the 50 newest by `updated` is among the 50 newest by the
    date that gives its `updated` (50 others newer by that date would be newer by `updated` too), so the
    candidates are the 50 newest by each date, read from indexes (sources.proposal_id, decision_date, id).
    """
    retrieved = "(select max(s.retrieved) from sources s where s.proposal_id = p.id)" if with_retrieved else "null"
    fetched = (
        f"select proposal_id from sources where retrieved is not null group by proposal_id "
        f"order by max(retrieved) desc, proposal_id desc limit {ENTRIES}"
        if with_retrieved
        else "select null where 0"
    )
    return f"""
with candidates(id) as (
  select * from ({fetched})
  union select * from (select id from proposals where decision_date is not null order by decision_date desc, id desc limit {ENTRIES})
  union select * from (select id from proposals order by id desc limit {ENTRIES})
),
dated as (
  select p.id, p.year, p.era, p.number, p.title, coalesce(c.label, p.category) as category, p.stage, p.outcome,
         p.decision_date, p.proponents, p.ministries, {retrieved} as retrieved
  from candidates k join proposals p on p.id = k.id left join categories c on c.id = p.category
)
select *, max(coalesce(retrieved, ''), coalesce(decision_date, ''), year || '-01-01') as updated
from dated order by updated desc, id desc limit {ENTRIES}
"""


FEED_SQL = feed_sql()
FEED_WITHOUT_RETRIEVED_SQL = feed_sql(with_retrieved=False)  # a database built before sources had `retrieved`

# Feed bytes per site, keyed by (database file stamp, site address); a few addresses at most.
_FEEDS: "weakref.WeakKeyDictionary[Datasette, dict[tuple[tuple[object, ...], str], bytes]]" = weakref.WeakKeyDictionary()


def rfc3339(day: str) -> dt.datetime:
    """A stored `YYYY-MM-DD` as midnight in Japan (decisions and fetches are Japanese dates)."""
    return dt.datetime.combine(dt.date.fromisoformat(day[:10]), dt.time(), JST)


def entry_html(row: dict[str, Any]) -> str:
    """The entry's content: the sheet's header facts as a short HTML list, every value escaped."""
    items = [
        ("提案団体", "、".join(json_list(row["proponents"]) or [])),
        ("制度の所管・関係府省", "、".join(json_list(row["ministries"]) or [])),
        ("提案区分", row["category"]),
        ("公表段階", row["stage"]),
        ("対応結果", (row["outcome"] or "") + (f"（{row['decision_date']} 閣議決定）" if row["decision_date"] else "")),
        ("出典の取得日", row["retrieved"]),
    ]
    lines = [Markup("<li>{}：{}</li>").format(label, value) for label, value in items if value]
    return str(Markup("<ul>{}</ul>").format(Markup("").join(lines)))


async def feed_rows(datasette: Datasette) -> list[dict[str, Any]]:
    db = datasette.get_database(DB_NAME)
    try:
        return [dict(r) for r in await db.execute(FEED_SQL)]
    except sqlite3.OperationalError:  # no `retrieved` column yet
        return [dict(r) for r in await db.execute(FEED_WITHOUT_RETRIEVED_SQL)]


def render_feed(datasette: Datasette, request: Request, rows: list[dict[str, Any]]) -> bytes:
    """The Atom document: feed id, title, updated, self and alternate links, author, rights, then the entries."""
    site_title = datasette.metadata("title") or "提案募集方式 提案データベース"
    fg = FeedGenerator()
    fg.id(ID_PREFIX.removesuffix("/"))  # like the entries' ids, the same on every host
    fg.title(f"{site_title}：新着・更新された提案")
    fg.subtitle("地方分権改革に関する提案募集の提案のうち、出典の取得日・閣議決定日（なければ年）が新しい 50 件")
    fg.link(href=datasette.absolute_url(request, datasette.urls.path(PATH)), rel="self", type="application/atom+xml")
    fg.link(href=datasette.absolute_url(request, datasette.urls.instance()), rel="alternate", type="text/html")
    fg.author({"name": site_title})
    fg.language("ja")
    fg.rights(f"出典：内閣府地方分権改革推進室 公表資料（提案募集方式）を加工して作成。公共データ利用規約（PDL1.0）{PDL_URL}")
    newest = max((rfc3339(r["updated"]) for r in rows), default=dt.datetime(2014, 1, 1, tzinfo=JST))
    fg.updated(newest)
    for row in reversed(rows):  # feedgen puts each new entry first: add the oldest first
        url = datasette.absolute_url(request, datasette.urls.row(DB_NAME, "proposals", tilde_encode(row["id"])))
        entry = fg.add_entry()
        entry.id(ID_PREFIX + row["id"])
        entry.title(f"{row['title']}（{row['era']} 管理番号{row['number']}）")
        entry.updated(rfc3339(row["updated"]))
        entry.link(href=url, rel="alternate", type="text/html")
        entry.content(entry_html(row), type="html")
    data: bytes = fg.atom_str(pretty=False)
    return data


def _stamp(datasette: Datasette) -> tuple[object, ...]:
    """The database file's identity: what is computed once per build is recomputed when it changes."""
    return paths.file_stamp(datasette.get_database(DB_NAME).path)


async def feed_view(datasette: Datasette, request: Request) -> Response:
    key = (_stamp(datasette), datasette.absolute_url(request, "/"))
    feeds = _FEEDS.setdefault(datasette, {})
    if key not in feeds:
        if len(feeds) >= 8:  # another database file or many Host headers: start again
            feeds.clear()
        feeds[key] = render_feed(datasette, request, await feed_rows(datasette))
    return Response(feeds[key], content_type="application/atom+xml; charset=utf-8")


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Awaitable[Response]]]]:
    return [(r"^/feed\.atom$", feed_view)]

