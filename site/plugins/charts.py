"""The 「グラフ」 page for researchers (`/-/charts`, issue #14) and the CSV of every chart's table.

Charts are drawn on the server with pygal as inline SVG: no JavaScript (pygal's own config script is
taken out of the tree, `js=[]` loads none), no request to another host, `viewBox` only so the SVG
scales to the width of the page (390 px phones included). Every chart has its numbers as an HTML
table and as CSV (`/-/charts/<name>.csv`, Japanese headers; `_bom=1` for Excel, added by the wrapper of
site/plugins/exports.py as on every `.csv` answer of the site).

The database is immutable while served, so the counts (four GROUP BY queries) and the rendered SVGs
are made once per database file (path, size, mtime) and kept in memory; a page view only renders the
template. Definitions (「実現」, 「調整対象」) are on the page and in docs/site.md.
"""

# No `from __future__ import annotations` here: Datasette loads plugins outside sys.modules.
import asyncio
import csv
import io
import re
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from math import ceil
from typing import Any, Optional

import pygal
from datasette import hookimpl
from datasette.app import Datasette
from datasette.utils.asgi import NotFound, Request, Response
from markupsafe import Markup
from pygal.etree import etree
from pygal.style import Style

from kb.core import paths
from kb.core.csvcells import safe_cell
from kb.core.vocab import Outcome
from kb.db.schema import DB_NAME

PATH = "/-/charts"
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
UNCLASSIFIED = "（未分類）"  # outcome left empty by the editors (the canned query proposals_per_outcome says the same)
# 「実現」: the two classes the Cabinet Office counts as 実現・対応.
REALISED: tuple[str, ...] = (Outcome.ADOPTED.value, Outcome.POSSIBLE_NOW.value)
# 「調整対象」: proposals the 対応方針 classed as realised or not; 検討区分 itself is not recorded (docs/site.md).
ADJUSTED: tuple[str, ...] = (*REALISED, Outcome.NOT_REALISED.value)
OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
# 団体属性 in the order of the official tallies, then the other kinds (kb/registries/localgov.py KIND_ORDER).
KIND_ORDER: tuple[str, ...] = (
    "都道府県", "指定都市", "中核市", "施行時特例市", "特例市", "一般市", "特別区", "町", "村", "町村",
    "行政区", "広域連合", "一部事務組合", "全国的連合組織", "任意の連合組織",
)  # fmt: skip
# Okabe–Ito colours (told apart by colour-blind readers), one per outcome, in OUTCOMES order, then 未分類.
OUTCOME_COLOURS: dict[str, str] = {
    Outcome.ADOPTED.value: "#009E73",
    Outcome.POSSIBLE_NOW.value: "#0072B2",
    Outcome.NOT_REALISED.value: "#D55E00",
    Outcome.NOT_IN_DECISION.value: "#999999",
    Outcome.UNDECIDED.value: "#E69F00",
    UNCLASSIFIED: "#CFCFCF",
}
SHARE_COLOURS = ("#0072B2", "#CC79A7")
FONT = "'Hiragino Kaku Gothic ProN','Hiragino Sans','Noto Sans CJK JP','Noto Sans JP','Yu Gothic','Meiryo',sans-serif"
LABEL_FONT_SIZE = 15
WIDTH = 560  # the SVG's own units; it is drawn at the page's width (small enough that text stays legible on a phone)

YEAR_SQL = "select year as key, outcome, count(*) as n from proposals group by year, outcome"
MINISTRY_SQL = """
select m.ministry_id as key, p.outcome, count(distinct p.id) as n
from proposal_ministries m join proposals p on p.id = m.proposal_id
group by m.ministry_id, p.outcome"""
PREFECTURE_SQL = """
select pp.prefecture_id as key, p.outcome, count(distinct p.id) as n
from proposal_prefectures pp join proposals p on p.id = pp.proposal_id
where pp.role = '提案団体'
group by pp.prefecture_id, p.outcome"""
PREFECTURE_ORDER_SQL = "select id from prefectures order by position"
KIND_SQL = """
select k.value as key, p.outcome, count(*) as n
from proposals p, json_each(case when json_valid(p.proponent_kinds) then p.proponent_kinds else '[]' end) k
group by k.value, p.outcome"""


@dataclass
class Crosstab:
    """Counts of proposals by one attribute (rows) × outcome (columns), with totals."""

    name: str  # URL name of its CSV
    title: str
    row_label: str  # heading of the first column
    rows: list[tuple[str, dict[str, int]]]
    columns: list[str]  # the outcomes shown: all five, then 未分類 when any proposal has none
    note: str = ""

    def column_totals(self) -> list[int]:
        return [sum(counts.get(c, 0) for _, counts in self.rows) for c in self.columns]

    def header(self) -> list[str]:
        return [self.row_label, *self.columns, "合計"]

    def body(self) -> list[list[Any]]:
        return [[label, *(counts.get(c, 0) for c in self.columns), sum(counts.values())] for label, counts in self.rows]

    def footer(self) -> list[Any]:
        totals = self.column_totals()
        return ["合計", *totals, sum(totals)]


@dataclass
class ShareRow:
    """One year of the share realised: the numerator and both denominators, so each can be shown."""

    year: str
    all: int
    adjusted: int
    adopted: int
    possible: int

    @property
    def realised(self) -> int:
        return self.adopted + self.possible

    def share(self, denominator: int) -> Optional[float]:
        return None if denominator == 0 else round(100.0 * self.realised / denominator, 1)


SHARE_HEADER = [
    "年", "全提案", "調整対象", "実現", f"うち{Outcome.ADOPTED.value}", f"うち{Outcome.POSSIBLE_NOW.value}",
    "実現の割合（分母＝調整対象）％", "実現の割合（分母＝全提案）％",
]  # fmt: skip


@dataclass
class Charts:
    """Everything the page shows for one database file."""

    by_year: Crosstab
    share: list[ShareRow]
    by_ministry: Crosstab
    by_prefecture: Crosstab
    by_kind: Crosstab
    total: int
    svgs: dict[str, Markup] = field(default_factory=dict)

    def csv_tables(self) -> dict[str, tuple[list[str], list[list[Any]]]]:
        """Header and rows of every chart's table, by CSV name."""
        tables = {
            t.name: (t.header(), [*t.body(), t.footer()])
            for t in (self.by_year, self.by_ministry, self.by_prefecture, self.by_kind)
        }
        tables["share"] = (SHARE_HEADER, [share_cells(r) for r in self.share])
        return tables


def share_cells(row: ShareRow) -> list[Any]:
    return [row.year, row.all, row.adjusted, row.realised, row.adopted, row.possible, row.share(row.adjusted), row.share(row.all)]


def _grouped(rows: Iterable[Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        key = "（記載なし）" if row["key"] is None else str(row["key"])
        outcome = row["outcome"] if row["outcome"] in OUTCOMES else UNCLASSIFIED
        counts = out.setdefault(key, {})
        counts[outcome] = counts.get(outcome, 0) + row["n"]
    return out


def _columns(*groups: dict[str, dict[str, int]]) -> list[str]:
    unclassified = any(UNCLASSIFIED in counts for g in groups for counts in g.values())
    return [*OUTCOMES, *([UNCLASSIFIED] if unclassified else [])]


def _ordered(grouped: dict[str, dict[str, int]], order: Sequence[str]) -> list[tuple[str, dict[str, int]]]:
    """Rows in a fixed order first (those present), then the rest by count, largest first."""
    known = [(k, grouped[k]) for k in order if k in grouped]
    rest = sorted((k for k in grouped if k not in order), key=lambda k: (-sum(grouped[k].values()), k))
    return known + [(k, grouped[k]) for k in rest]


async def count(datasette: Datasette) -> Charts:
    """The counts behind every chart: four GROUP BY queries over the whole database."""
    db = datasette.get_database(DB_NAME)
    years = _grouped(await db.execute(YEAR_SQL))
    ministries = _grouped(await db.execute(MINISTRY_SQL))
    prefectures = _grouped(await db.execute(PREFECTURE_SQL))
    kinds = _grouped(await db.execute(KIND_SQL))
    prefecture_order = [r["id"] for r in await db.execute(PREFECTURE_ORDER_SQL)]
    columns = _columns(years)
    year_rows = [(k, years[k]) for k in sorted(years)]
    total = sum(sum(c.values()) for c in years.values())
    share = [
        ShareRow(
            year=k,
            all=sum(c.values()),
            adjusted=sum(c.get(o, 0) for o in ADJUSTED),
            adopted=c.get(Outcome.ADOPTED.value, 0),
            possible=c.get(Outcome.POSSIBLE_NOW.value, 0),
        )
        for k, c in year_rows
    ]
    return Charts(
        by_year=Crosstab("year-outcome", "年別・対応結果別の提案数", "年", year_rows, columns),
        share=share,
        by_ministry=Crosstab(
            "ministry",
            "府省別・対応結果別の提案数",
            "府省",
            _ordered(ministries, ()),
            columns,
            note="「制度の所管・関係府省」ごとに数えます。1件の提案が複数の府省に数えられるため、合計は提案数を超えることがあります。",
        ),
        by_prefecture=Crosstab(
            "prefecture",
            "都道府県別・対応結果別の提案数",
            "都道府県",
            _ordered(prefectures, prefecture_order),
            columns,
            note="提案団体が所在する都道府県ごとに数えます（市区町村・広域連合の提案はその都道府県に。"
            "追加共同提案団体は数えません）。共同提案は都道府県ごとに1回数えるため、合計は提案数を超えることがあります。",
        ),
        by_kind=Crosstab(
            "kind",
            "団体属性別・対応結果別の提案数",
            "団体属性",
            _ordered(kinds, KIND_ORDER),
            columns,
            note="提案団体の団体属性（提案の年の4月1日時点）ごとに数えます。属性の違う団体の共同提案は属性ごとに1回数えるため、"
            "合計は提案数を超えることがあります。",
        ),
        total=total,
    )


# --- Drawing (pygal) ----------------------------------------------------------------------------------


def _style(colours: Sequence[str]) -> Style:
    return Style(
        font_family=FONT,
        colors=tuple(colours),
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#222222",
        foreground_strong="#111111",
        foreground_subtle="#d0d0d0",
        opacity="1",
        opacity_hover="0.85",
        title_font_size=20,
        legend_font_size=16,
        label_font_size=LABEL_FONT_SIZE,
        major_label_font_size=LABEL_FONT_SIZE,
        value_font_size=14,
        tooltip_font_size=14,
    )


def _config(colours: Sequence[str], **options: Any) -> dict[str, Any]:
    """pygal options shared by every chart; one series per colour."""
    return {
        "style": _style(colours),
        "js": [],  # no script from anywhere (pygal's default loads one from another host)
        "disable_xml_declaration": True,
        "explicit_size": False,  # viewBox only: CSS draws it at the page's width
        "width": WIDTH,
        "legend_at_bottom": True,
        "truncate_legend": -1,
        "truncate_label": -1,
        "print_values": False,
        "show_minor_y_labels": True,
        "margin": 8,
        "no_data_text": "データがありません",
        # pygal reserves floor(series / columns) legend rows: only a column count that divides the series fits.
        "legend_at_bottom_columns": 2 if len(colours) % 2 == 0 else 1,
        **options,
    }


def xml_text(label: str) -> str:
    """A label XML can hold: control characters (which lxml refuses, failing the page) become spaces."""
    return XML_INVALID.sub(" ", label)


def to_inline_svg(chart: Any, label: str) -> Markup:
    """The chart as inline SVG for an HTML page: pygal's config <script>, its comments and tooltip data removed.

    pygal always writes a `<script>` with its configuration (for its tooltip JavaScript, which we do not
    load); the CSP would refuse it anyway. The text is serialised by the XML library, so every label is
    escaped.
    """
    root = chart.render_tree()
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag if isinstance(child.tag, str) else ""
            local = tag.rsplit("}", 1)[-1]
            if not tag or local in ("script", "desc"):
                parent.remove(child)
    root.set("role", "img")
    root.set("aria-label", label)
    root.set("class", "pygal-chart kb-chart-svg")
    return Markup(etree.tostring(root, encoding="unicode"))


def _stacked(chart_type: Any, table: Crosstab, height: int, rows: Sequence[tuple[str, dict[str, int]]], **options: Any) -> Markup:
    colours = [OUTCOME_COLOURS[c] for c in table.columns]
    chart = chart_type(**_config(colours, height=height, title=table.title, **options))
    chart.x_labels = [xml_text(label) for label, _ in rows]
    for column in table.columns:
        chart.add(column, [counts.get(column) or None for _, counts in rows])
    return to_inline_svg(chart, table.title)


def _horizontal(table: Crosstab) -> Markup:
    """Rows top to bottom in the table's order (pygal draws the first label at the bottom).

    pygal sizes the label column for Latin text (0.6 em a character); a Japanese character is 1 em,
    so the left margin gets the difference for the longest label.
    """
    height = 240 + 26 * max(len(table.rows), 1)
    longest = max((len(label) for label, _ in table.rows), default=0)
    extra = ceil(0.45 * LABEL_FONT_SIZE * longest)
    return _stacked(pygal.HorizontalStackedBar, table, height, table.rows[::-1], margin_left=8 + extra)


def draw(charts: Charts) -> dict[str, Markup]:
    """Every chart of the page as inline SVG (CPU only: run in a worker thread)."""
    svgs = {"year-outcome": _stacked(pygal.StackedBar, charts.by_year, 560, charts.by_year.rows)}
    share = pygal.Bar(
        **_config(
            SHARE_COLOURS,
            height=440,
            title="年別の実現の割合（％）",
            range=(0, 100),
            legend_at_bottom_columns=1,
            value_formatter=lambda v: f"{v:g}%",
        )
    )
    share.x_labels = [r.year for r in charts.share]
    share.add("分母＝調整対象（3分類の提案）", [r.share(r.adjusted) for r in charts.share])
    share.add("分母＝全提案（すべての提案）", [r.share(r.all) for r in charts.share])
    svgs["share"] = to_inline_svg(share, "年別の実現の割合。分母は調整対象と全提案の2通り")
    for table in (charts.by_ministry, charts.by_prefecture, charts.by_kind):
        svgs[table.name] = _horizontal(table)
    return svgs


# --- Cache: one Charts per site and database file -----------------------------------------------------

_CACHE: "weakref.WeakKeyDictionary[Datasette, tuple[tuple[Any, ...], Charts]]" = weakref.WeakKeyDictionary()
_LOCKS: "weakref.WeakKeyDictionary[Datasette, asyncio.Lock]" = weakref.WeakKeyDictionary()


def file_stamp(datasette: Datasette) -> tuple[Any, ...]:
    return paths.file_stamp(datasette.get_database(DB_NAME).path)


async def charts_for(datasette: Datasette) -> Charts:
    """The counts and SVGs of the database being served, made on first use and when its file changes."""
    stamp = file_stamp(datasette)
    cached = _CACHE.get(datasette)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    lock = _LOCKS.setdefault(datasette, asyncio.Lock())
    async with lock:
        cached = _CACHE.get(datasette)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        charts = await count(datasette)
        charts.svgs = await asyncio.to_thread(draw, charts)
        _CACHE[datasette] = (stamp, charts)
        return charts


# --- Routes -------------------------------------------------------------------------------------------


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: empty for None, the site's formula rule (kb.core.csvcells)."""
    return "" if value is None else safe_cell(value)


def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_csv_cell(v) for v in row] for row in rows])
    return out.getvalue()


async def charts_page(datasette: Datasette, request: Request) -> Response:
    charts = await charts_for(datasette)
    context = {
        "kb_charts": charts,
        "kb_share_header": SHARE_HEADER,
        "kb_share_cells": share_cells,
        "kb_realised": REALISED,
        "kb_adjusted": ADJUSTED,
        "kb_outcomes": OUTCOMES,
        "kb_unclassified": UNCLASSIFIED,
        "kb_csv_url": lambda name: datasette.urls.path(f"{PATH}/{name}.csv"),
    }
    html = await datasette.render_template("charts.html", context, request=request)
    return Response.html(html)


async def chart_csv(datasette: Datasette, request: Request) -> Response:
    name = request.url_vars["name"]
    tables = (await charts_for(datasette)).csv_tables()
    if name not in tables:
        raise NotFound(f"「{name}」という表はありません。グラフのページ（{PATH}）から CSV を選んでください。")
    header, rows = tables[name]
    # `_bom=1` and `_ja=1` are exports.py's wrapper's, as for every .csv of the site
    return Response(
        _csv_text(header, rows),
        content_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="kb-{name}.csv"'},
    )


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Awaitable[Response]]]]:
    return [(r"^/-/charts$", charts_page), (r"^/-/charts/(?P<name>[a-z-]+)\.csv$", chart_csv)]


@hookimpl
def menu_links(datasette: Datasette) -> list[dict[str, str]]:
    return [{"href": datasette.urls.path(PATH), "label": "グラフ（年別・府省別・都道府県別の集計）"}]
