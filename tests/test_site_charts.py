"""The 「グラフ」 page (`/-/charts`, site/plugins/charts.py): counts equal to SQL, both denominators of the
share realised, CSVs with Japanese headers and the BOM on request, Japanese only, payloads escaped, SVG inline.

Through the real site (`served_site`: site/ templates and plugins over a database built from
tests/fixtures/corpus). Two names the registries would refuse are written into the built database
before it is served, standing for hostile data: a ministry and a 団体属性 carrying markup.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from served_site import CORPUS, SiteClient
from test_site_japanese import english_ui

from kb.pipeline import build

HOSTILE_MINISTRY = '<script>alert("kb-ministry")</script>省\x07'  # a control character lxml refuses
HOSTILE_KIND = "=1+1<img src=x onerror=alert(1)>市"  # also a spreadsheet formula
OUTCOMES = ["提案の趣旨を踏まえ対応", "現行規定により対応可能", "実現できなかったもの", "対応方針に記載なし", "未決定"]
UNCLASSIFIED = "（未分類）"
CSV_NAMES = ["year-outcome", "share", "ministry", "prefecture", "kind"]


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("charts") / "kb.db"
    build(path, [CORPUS])
    with sqlite3.connect(path) as conn:
        conn.execute("insert into ministries (id) values (?)", (HOSTILE_MINISTRY,))
        conn.execute("update proposal_ministries set ministry_id = ? where proposal_id = '2023-0005'", (HOSTILE_MINISTRY,))
        conn.execute("update proposals set proponent_kinds = json_array(?) where id = '2023-0005'", (HOSTILE_KIND,))
    return path


@pytest.fixture(scope="module")
def site(db_path: Path) -> Iterator[SiteClient]:
    client = SiteClient(db_path)
    yield client
    client.close()


@pytest.fixture(scope="module")
def page(site: SiteClient) -> str:
    response = site.get("/-/charts")
    assert response.status_code == 200, response.text[:500]
    return response.text


class Tables(HTMLParser):
    """Every <table id=…> of a page as rows of cell texts (header row included)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.current: list[list[str]] | None = None
        self.cell: list[str] | None = None
        self.in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.current = self.tables.setdefault(dict(attrs).get("id") or "", [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []
        elif tag == "caption":
            self.in_caption = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.current is not None and self.cell is not None:
            self.current[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.current = None
        elif tag == "caption":
            self.in_caption = False

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.in_caption:
            self.cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def as_counts(table: list[list[str]]) -> dict[str, dict[str, int]]:
    """{row label: {column heading: number}} of a cross-tab (totals row and column included)."""
    header, *rows = table
    return {row[0]: {h: int(v.replace(",", "")) for h, v in zip(header[1:], row[1:])} for row in rows}


def sql_counts(db_path: Path, sql: str) -> dict[str, dict[str, int]]:
    """The same cross-tab counted by SQL here, with totals, outcomes as the page names them."""
    out: dict[str, dict[str, int]] = {}
    with sqlite3.connect(db_path) as conn:
        for key, outcome, n in conn.execute(sql):
            row = out.setdefault(str(key), {})
            column = outcome if outcome in OUTCOMES else UNCLASSIFIED
            row[column] = row.get(column, 0) + n
    columns = OUTCOMES + ([UNCLASSIFIED] if any(UNCLASSIFIED in r for r in out.values()) else [])
    full = {k: {c: r.get(c, 0) for c in columns} | {"合計": sum(r.values())} for k, r in out.items()}
    full["合計"] = {c: sum(r[c] for r in full.values()) for c in [*columns, "合計"]}
    return full


def test_year_by_outcome_crosstab_equals_sql_counts_with_totals(page: str, db_path: Path) -> None:
    shown = as_counts(tables(page)["table-year-outcome"])
    expected = sql_counts(db_path, "select year, outcome, count(*) from proposals group by year, outcome")
    assert shown == expected
    assert shown["合計"]["合計"] == 6 and shown["2023"][UNCLASSIFIED] == 3


@pytest.mark.parametrize(
    ("table_id", "sql"),
    [
        (
            "table-ministry",
            "select m.ministry_id, p.outcome, count(distinct p.id) from proposal_ministries m"
            " join proposals p on p.id = m.proposal_id group by 1, 2",
        ),
        (
            "table-prefecture",
            "select pp.prefecture_id, p.outcome, count(distinct p.id) from proposal_prefectures pp"
            " join proposals p on p.id = pp.proposal_id where pp.role = '提案団体' group by 1, 2",
        ),
        ("table-kind", "select k.value, p.outcome, count(*) from proposals p, json_each(p.proponent_kinds) k group by 1, 2"),
    ],
)
def test_breakdown_tables_equal_sql_counts(page: str, db_path: Path, table_id: str, sql: str) -> None:
    assert as_counts(tables(page)[table_id]) == sql_counts(db_path, sql)


def test_prefectures_listed_in_code_order(page: str) -> None:
    labels = [row[0] for row in tables(page)["table-prefecture"][1:-1]]
    assert labels == ["岩手県", "宮城県", "群馬県", "神奈川県", "愛媛県", "熊本県"]


def test_share_realised_states_both_denominators_on_chart_and_table(page: str, db_path: Path) -> None:
    share_svg = page.split('id="chart-share"', 1)[1].split("</figure>", 1)[0]
    assert "分母＝調整対象" in share_svg and "分母＝全提案" in share_svg  # in the SVG's legend
    header, *rows = tables(page)["table-share"]
    assert "実現の割合（分母＝調整対象）％" in header and "実現の割合（分母＝全提案）％" in header
    with sqlite3.connect(db_path) as conn:
        expected = {
            str(year): [str(year), str(total), str(adjusted), str(realised)]
            for year, total, adjusted, realised in conn.execute(
                "select year, count(*),"
                " sum(outcome in ('提案の趣旨を踏まえ対応', '現行規定により対応可能', '実現できなかったもの')),"
                " sum(outcome in ('提案の趣旨を踏まえ対応', '現行規定により対応可能')) from proposals group by year"
            )
        }
    assert {r[0]: r[:4] for r in rows} == expected
    by_year = {r[0]: r for r in rows}
    # 2023: 1 realised of 2 調整対象 (one 実現できなかった) and of 5 proposals; 2024: none of 調整対象 → blank.
    assert by_year["2023"][-2:] == ["50.0", "20.0"]
    assert by_year["2024"][-2:] == ["", "0.0"]
    assert "調整対象" in page and "実現" in page.split('id="definitions"', 1)[1].split("</section>", 1)[0]


def read_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.parametrize("name", CSV_NAMES)
def test_every_chart_csv_has_japanese_headers_and_bom_only_when_asked(site: SiteClient, name: str) -> None:
    plain = site.get(f"/-/charts/{name}.csv")
    excel = site.get(f"/-/charts/{name}.csv?_bom=1")
    assert plain.status_code == excel.status_code == 200
    assert plain.headers["content-type"].startswith("text/csv")
    assert not plain.content.startswith(b"\xef\xbb\xbf")
    assert excel.content.startswith(b"\xef\xbb\xbf") and not excel.content[3:].startswith(b"\xef\xbb\xbf")
    assert read_csv(plain.content) == read_csv(excel.content)
    header = read_csv(plain.content)[0]
    assert header[0] in ("年", "府省", "都道府県", "団体属性") and all(re.search(r"[ぁ-んァ-ヶ一-龠]", h) for h in header)


def test_csv_rows_equal_the_page_table(site: SiteClient, page: str) -> None:
    rows = read_csv(site.get("/-/charts/year-outcome.csv").content)
    shown = tables(page)["table-year-outcome"]
    assert [[c.replace(",", "") for c in r] for r in shown] == rows


def test_csv_cells_that_look_like_formulas_are_text(site: SiteClient) -> None:
    labels = [row[0] for row in read_csv(site.get("/-/charts/kind.csv").content)]
    assert "'" + HOSTILE_KIND in labels and HOSTILE_KIND not in labels


def test_unknown_csv_is_a_japanese_404(site: SiteClient) -> None:
    response = site.get("/-/charts/nothing.csv")
    assert response.status_code == 404
    assert "グラフ" in response.text and "Not Found" not in response.text


def test_page_has_no_datasette_english_ui(page: str) -> None:
    assert english_ui(page) == []
    assert "<title>グラフ" in page


def test_hostile_names_are_escaped_in_svg_and_tables(page: str) -> None:
    assert "<script>alert(" not in page and "<img src=x" not in page
    ministry_svg = page.split('id="chart-ministry"', 1)[1].split("</figure>", 1)[0]
    kind_svg = page.split('id="chart-kind"', 1)[1].split("</figure>", 1)[0]
    assert "&lt;script&gt;alert(" in ministry_svg and "=1+1&lt;img src=x onerror=alert(1)&gt;市" in kind_svg
    found = tables(page)
    assert HOSTILE_MINISTRY in [r[0] for r in found["table-ministry"]]
    assert HOSTILE_KIND in [r[0] for r in found["table-kind"]]


def test_charts_are_inline_svg_without_script_or_remote_urls(page: str) -> None:
    svgs = re.findall(r"<svg\b[^>]*kb-chart-svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 5
    for svg in svgs:
        assert "<script" not in svg and "viewBox=" in svg and not re.search(r'<svg[^>]*\swidth="', svg)
        assert not re.search(r'(?:href|src)\s*=\s*"(?:https?:)?//', svg) and "url(http" not in svg and "@import" not in svg
    assert not re.search(r'\ssrc="(?:https?:)?//', page) and not re.search(r'<link[^>]+href="(?:https?:)?//', page)
    assert "<img" not in page and "<object" not in page and "<iframe" not in page


def test_charts_page_is_linked_from_front_page_and_data_page(site: SiteClient) -> None:
    for path in ("/", "/-/data"):
        assert 'href="/-/charts"' in site.get(path).text, path
