"""Exports for clerks and researchers: every result of a ranked search as CSV/JSON, and Excel options on CSVs.

- `/search.csv?q=…` and `/search.json?q=…` (same query, filters and ranking as `/search`,
  kb.search.query and kb.search.filters): every matching proposal, streamed in chunks of
  CHUNK_ROWS rows (one SQL query per chunk, never the whole result in memory). CSV headers are
  Japanese (順位, 提案ID, 年, …; `_ja=0` for the English keys), JSON keys English (`_ja=1` for the
  Japanese ones). The score is bm25 turned positive (higher is better) rounded to 2 decimals.
  CSV cells starting with = + - @ (or a tab / CR) get a leading ' so that a spreadsheet shows
  them as text and never runs them as a formula (CSV injection).
- `_bom=1` on these CSVs and on Datasette's own CSVs (`/kb/proposals.csv?_bom=1`): the body
  starts with a UTF-8 BOM, so that Japanese Excel reads it as UTF-8 (without it, Shift_JIS).
  `_ja=1` on a table's CSV: the header row in Japanese, each column's short label from the
  column descriptions in site/metadata.yml (the rule of pages.py's kb_label).

Datasette's CSV is changed by an `asgi_wrapper`: it takes `_bom`/`_ja` off the query string
(Datasette and the page cache see the plain URL, so the cache keeps the plain CSV) and rewrites
the first body bytes on the way out. It is `trylast`, the outermost wrapper: outside
site/plugins/page_cache.py (tryfirst, innermost) and site/plugins/hardening.py.
"""

# No `from __future__ import annotations` here: Datasette loads plugins outside sys.modules.
import csv
import io
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, Optional
from urllib.parse import parse_qsl, unquote

from datasette import hookimpl
from datasette.app import Datasette
from datasette.utils import tilde_decode, tilde_encode
from datasette.utils.asgi import AsgiStream, Request

from kb.core import column_notes
from kb.core.csvcells import safe_cell
from kb.db.schema import DB_NAME, FACET_COUNTS_TABLE, FACET_VALUES_TABLE, FTS_TABLE
from kb.search.filters import Filters, parse_filters, where_sql
from kb.search.query import BM25_WEIGHTS, REGISTRY_SQL, registry_expansion

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BOM = b"\xef\xbb\xbf"
CHUNK_ROWS = 500  # rows per SQL query of an export (`plugins: kb-exports: chunk_rows:` in site/metadata.yml)
PLUGIN = "kb-exports"
OPTION_KEYS = (b"_bom", b"_ja")
SEARCH_PATH = "/search"

# (English key, Japanese header) of the search export's columns, in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("rank", "順位"),
    ("id", "提案ID"),
    ("year", "年"),
    ("era", "和暦"),
    ("number", "管理番号"),
    ("title", "提案事項"),
    ("category", "提案区分"),
    ("policy_field", "分野"),
    ("ministries", "府省"),
    ("proponents", "提案団体"),
    ("stage", "公表段階"),
    ("outcome", "対応結果"),
    ("score", "関連度"),
    ("matched", "一致した場所"),
    ("url", "URL"),
)
# Where a hit was found: in the text (it has a bm25 score), or only through a registry (a law the query
# names is cited, a body of the prefecture or the ministry it names took part: docs/search.md).
MATCHED_TEXT = "本文"
MATCHED_REGISTRY = "登録簿（引用した法令・県内の団体・府省）"
_BM25 = f"bm25({FTS_TABLE}, {', '.join(map(str, BM25_WEIGHTS))})"
_FIELDS = """p.id, p.year, p.era, p.number, p.title,
  coalesce((select c.label from categories c where c.id = p.category), p.category) as category,
  coalesce((select f.name from policy_fields f where f.id = p.policy_field), p.policy_field) as policy_field,
  p.ministries, p.proponents, p.stage, p.outcome"""


def export_sql(expanded: bool, where: str) -> str:
    """A chunk of the search's results in the order of kb.search.query's ranked_sql / expanded_sql."""
    if not expanded:
        return f"""
select {_FIELDS}, {_BM25} as score
from {FTS_TABLE} join proposals p on p.rowid = {FTS_TABLE}.rowid
where {FTS_TABLE} match escape_fts(:q) and {where}
order by score, p.id limit :limit offset :offset"""
    return f"""
with matched as (select rowid, {_BM25} as score from {FTS_TABLE} where {FTS_TABLE} match escape_fts(:q)),
  citing as ({REGISTRY_SQL})
select {_FIELDS}, m.score as score
from proposals p left join matched m on m.rowid = p.rowid
where p.rowid in (select rowid from matched union select rowid from citing) and {where}
order by m.score is null, m.score, p.id limit :limit offset :offset"""


def _truthy(value: Optional[str]) -> bool:
    return value is not None and value.strip().lower() not in ("", "0", "off", "false", "no")


def _names(value: Any) -> list[str]:
    try:
        items = json.loads(value) if isinstance(value, str) else []
    except ValueError:
        return [value]
    return [str(i) for i in items] if isinstance(items, list) else [str(items)]


class SearchExport:
    """The rows of one search, as dicts with the English keys of COLUMNS, chunk by chunk."""

    def __init__(self, datasette: Datasette, request: Request):
        self.datasette = datasette
        self.request = request
        self.query = request.args.get("q", "").strip()
        self.filters: Filters = parse_filters(parse_qsl(request.query_string))

    async def prepare(self) -> None:
        """The first chunk, read before the answer starts: a failing query is an error page, not a cut-off file."""
        self.first: list[Any] = []
        self.size = max(1, int((self.datasette.plugin_config(PLUGIN) or {}).get("chunk_rows", CHUNK_ROWS)))
        if not self.query:
            return
        self.db = self.datasette.get_database(DB_NAME)
        expansion = await registry_expansion(self.db, self.query)  # a law, prefecture or ministry named
        statutes = expansion.active
        self.params: dict[str, Any] = {"q": self.query, "limit": self.size, "offset": 0, **expansion.params}
        where, filter_params = where_sql(self.filters)
        self.params.update(filter_params)
        try:
            self.first = list(await self.db.execute(export_sql(bool(statutes), where), self.params))
        except sqlite3.OperationalError as exc:  # a database built without `facet_values`
            if FACET_VALUES_TABLE not in str(exc) and FACET_COUNTS_TABLE not in str(exc):
                raise
            where, filter_params = where_sql(self.filters, stored_arrays=False)
            self.params.update(filter_params)
            self.first = list(await self.db.execute(export_sql(bool(statutes), where), self.params))
        self.sql = export_sql(bool(statutes), where)

    async def rows(self) -> AsyncIterator[dict[str, Any]]:
        """Every result, ranked: the first chunk, then one query per chunk (immutable data: the order holds)."""
        rows, rank = self.first, 0
        while True:
            for row in rows:
                rank += 1
                yield self.record(rank, dict(row))
            if len(rows) < self.size:
                return
            rows = list(await self.db.execute(self.sql, {**self.params, "offset": rank}))

    def record(self, rank: int, row: dict[str, Any]) -> dict[str, Any]:
        score = row["score"]
        path = self.datasette.urls.row(DB_NAME, "proposals", tilde_encode(str(row["id"])))
        return {
            "rank": rank,
            "id": row["id"],
            "year": row["year"],
            "era": row["era"],
            "number": row["number"],
            "title": row["title"],
            "category": row["category"],
            "policy_field": row["policy_field"],
            "ministries": _names(row["ministries"]),
            "proponents": _names(row["proponents"]),
            "stage": row["stage"],
            "outcome": row["outcome"],
            "score": None if score is None else round(-score, 2) + 0.0,  # + 0.0: never -0.0
            "matched": MATCHED_TEXT if score is not None else MATCHED_REGISTRY,
            "url": self.datasette.absolute_url(self.request, path),
        }


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        value = "、".join(value)
    return "" if value is None else safe_cell(value)


async def search_export(datasette: Datasette, request: Request) -> AsgiStream:
    """/search.csv and /search.json: every result of the search, streamed."""
    export = SearchExport(datasette, request)
    await export.prepare()
    as_csv = request.url_vars["format"] == "csv"
    japanese = _truthy(request.args.get("_ja", "1" if as_csv else "0"))
    keys = [ja if japanese else en for en, ja in COLUMNS]
    headers = {"access-control-allow-origin": "*"}

    async def stream_csv(writer: Any) -> None:
        await writer.write(("\ufeff" if _truthy(request.args.get("_bom")) else "") + _csv_line(keys))
        lines: list[str] = []
        async for record in export.rows():
            lines.append(_csv_line([_csv_value(v) for v in record.values()]))
            if len(lines) == 100:
                await writer.write("".join(lines))
                lines = []
        if lines:
            await writer.write("".join(lines))

    async def stream_json(writer: Any) -> None:
        head = {"query": export.query, "filters": [{"param": p, "value": v} for p, v in export.filters]}
        await writer.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "rows": [')
        count = 0
        parts: list[str] = []
        async for record in export.rows():
            parts.append(("," if count else "") + "\n" + json.dumps(dict(zip(keys, record.values())), ensure_ascii=False))
            count += 1
            if len(parts) == 100:
                await writer.write("".join(parts))
                parts = []
        await writer.write("".join(parts) + f'\n], "count": {count}}}\n')

    if as_csv:
        headers["content-disposition"] = 'attachment; filename="kb-search.csv"'
        return AsgiStream(stream_csv, headers=headers, content_type="text/csv; charset=utf-8")
    return AsgiStream(stream_json, headers=headers, content_type="application/json; charset=utf-8")


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Awaitable[Any]]]]:
    return [(r"^/search\.(?P<format>csv|json)$", search_export)]


# --- Options on Datasette's own CSV ------------------------------------------------------------------


def split_options(query_string: bytes) -> tuple[bytes, dict[str, str]]:
    """The query string without `_bom`/`_ja` (the rest byte for byte), and their values."""
    kept: list[bytes] = []
    options: dict[str, str] = {}
    for part in query_string.split(b"&"):
        key, _, value = part.partition(b"=")
        if unquote(key.decode("latin-1")).encode("latin-1") in OPTION_KEYS:
            options[unquote(key.decode("latin-1"))] = unquote(value.decode("latin-1").replace("+", " "))
        elif part:
            kept.append(part)
    return b"&".join(kept), options


def japanese_headings(datasette: Datasette, path: str, line: str) -> str:
    """The CSV header line of a table's CSV with each column's Japanese label (others unchanged)."""
    parts = path.rstrip("/").split("/")
    if len(parts) < 3 or tilde_decode(parts[-2]) != DB_NAME:
        return line
    table = tilde_decode(parts[-1][: -len(".csv")])
    described: dict[str, str] = column_notes.of(datasette, DB_NAME, table)
    if not described:
        return line
    headings = next(csv.reader([line]), [])
    labels = []
    for heading in headings:
        if heading in described:
            labels.append(column_notes.short_label(described[heading], heading))
        elif heading.endswith("_label") and heading[: -len("_label")] in described:
            base = heading[: -len("_label")]
            labels.append(column_notes.short_label(described[base], base) + "（名称）")
        else:
            labels.append(heading)
    return _csv_line(labels)


class CsvOptions:
    """The `send` of one Datasette CSV answer: BOM and/or Japanese headers on its first bytes."""

    def __init__(self, datasette: Datasette, path: str, bom: bool, japanese: bool, send: Send) -> None:
        self.datasette = datasette
        self.path = path
        self.bom = bom
        self.japanese = japanese
        self.downstream = send
        self.start: Optional[Message] = None
        self.held = b""
        self.done = False  # the first bytes are sent: everything else passes as it is

    async def send(self, message: Message) -> None:
        if self.done:
            await self.downstream(message)
        elif message["type"] == "http.response.start":
            content_type = next((v for k, v in message.get("headers", []) if bytes(k).lower() == b"content-type"), b"")
            if message["status"] != 200 or not bytes(content_type).startswith((b"text/plain", b"text/csv")):
                self.done = True
                await self.downstream(message)
            else:
                self.start = message
        elif message["type"] == "http.response.body":
            self.held += bytes(message.get("body", b""))
            more = message.get("more_body", False)
            if more and b"\n" not in self.held:
                return
            await self._flush(more)
        else:
            await self.downstream(message)

    async def _flush(self, more: bool) -> None:
        assert self.start is not None
        body = self.held
        if self.japanese and body:
            line, newline, rest = body.partition(b"\n")
            if newline:
                text = japanese_headings(self.datasette, self.path, line.decode("utf-8").rstrip("\r"))
                if not text.endswith("\n"):  # a CSV that is not a table's comes back as it was: end its line again
                    text += "\r\n" if line.endswith(b"\r") else "\n"
                body = text.encode("utf-8") + rest
        if self.bom:
            body = BOM + body
        headers = []
        for key, value in self.start.get("headers", []):
            if bytes(key).lower() == b"content-length":
                value = str(int(value) + len(body) - len(self.held)).encode("ascii")
            headers.append((key, value))
        self.done = True
        await self.downstream({**self.start, "headers": headers})
        await self.downstream({"type": "http.response.body", "body": body, "more_body": more})


@hookimpl(trylast=True)
def asgi_wrapper(datasette: Datasette) -> Callable[[ASGIApp], ASGIApp]:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def with_options(scope: Scope, receive: Receive, send: Send) -> None:
            path = str(scope.get("path", ""))
            query_string = bytes(scope.get("query_string", b""))
            if (
                scope["type"] != "http"
                or not path.endswith(".csv")
                or path in (SEARCH_PATH + ".csv", datasette.urls.path(SEARCH_PATH + ".csv"))
                or not any(key in query_string for key in OPTION_KEYS)
            ):
                await app(scope, receive, send)
                return
            kept, options = split_options(query_string)
            bom, japanese = _truthy(options.get("_bom")), _truthy(options.get("_ja"))
            scope = {**scope, "query_string": kept}
            if japanese and "_header=off" in kept.decode("latin-1"):
                japanese = False
            if not (bom or japanese):
                await app(scope, receive, send)
                return
            await app(scope, receive, CsvOptions(datasette, path, bom, japanese, send).send)

        return with_options

    return wrap

