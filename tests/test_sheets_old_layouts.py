"""Older sheet layouts: H27's vertical form, H29's wide table, and layouts that cannot be read.

Fixtures in tests/fixtures/sheets_old/ are synthetic, in the shape of the published layouts (README there).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A3, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle
from sheet_pdfs import FONT_NAME, japanese_font, write_sheets_pdf
from typer.testing import CliRunner

from kb.cli import app
from kb.core.vocab import Association, Category, SectionKey, Stage
from kb.importer.pdf import extract_text
from kb.importer.sheets import ReadResult, Sheet, read_sheets

FIXTURES = Path(__file__).parent / "fixtures" / "sheets_old"
H27_PLAIN = FIXTURES / "h27_0034_mlit_plain.txt"
H27_BUNDLE = FIXTURES / "h27_mlit_bundle_markdown.txt"
H29_NAIKAKU = FIXTURES / "h29_kekka_naikaku_tsv.txt"
H29_TWO = FIXTURES / "h29_kekka_two_ministries_tsv.txt"
UNREADABLE = "この様式は読めません: "
runner = CliRunner()


def read(path: Path) -> ReadResult:
    return read_sheets(path.read_text(encoding="utf-8"))


def sheets(path: Path) -> list[Sheet]:
    result = read(path)
    assert result.problems == []
    return result.sheets


# --- H27: the vertical form with one combined 支障事例 field ------------------------------------------


def test_h27_sheet_reads_header_without_serial_or_theme():
    [sheet] = sheets(H27_PLAIN)
    p = sheet.proposal
    assert (p.year, p.era, p.number, p.serial, p.theme) == (2015, "平成27年", 34, None, None)
    assert p.category is Category.B
    assert p.policy_field == "土地利用（農地除く）"
    assert p.title == "土地区画整理事業計画決定及び変更に伴う意見書の取扱いの見直し"
    assert (p.proponents, p.ministries, p.sheet_ministry) == (["指定都市市長会"], ["国土交通省"], "国土交通省")
    # 「国土交通省（内閣府と関係府省との間で調整を行う提案）」 is the 検討要請: the proposal as sent
    assert sheet.stage is Stage.PROPOSAL
    assert p.sources[0].title == "平成27年 地方分権改革に関する提案募集 提案事項 国土交通省（内閣府と関係府省との間で調整を行う提案）"


def test_h27_combined_field_is_split_into_problems_and_effects_at_its_sub_heads():
    [sheet] = sheets(H27_PLAIN)
    sections = sheet.proposal.sections
    assert list(sections) == [SectionKey.MEASURES, SectionKey.PROBLEMS, SectionKey.EFFECTS, SectionKey.STATUTES]
    problems = sections[SectionKey.PROBLEMS]
    assert problems is not None and problems.startswith("土地区画整理法第55条では、")
    assert problems.endswith("数か月遅れる事例が生じている。")
    assert "【" not in problems and "効果" not in problems
    assert sections[SectionKey.EFFECTS] == "事業期間が短縮され、事業費の縮減と住民の早期の生活再建が図られる。"
    assert sections[SectionKey.STATUTES] == "土地区画整理法第55条\n\n土地区画整理法施行令第1条の3"
    # the form has no 地域住民… field: nothing is reported missing
    assert sheet.missing == [] and sheet.notes == []


def test_sub_heads_are_not_split_when_the_sheet_prints_its_own_effects_field():
    text = H27_PLAIN.read_text(encoding="utf-8").replace("\n根拠法令等\n", "\n制度改正による効果\n\n住民の負担が減る。\n\n根拠法令等\n")
    [sheet] = read_sheets(text).sheets
    problems = sheet.proposal.sections[SectionKey.PROBLEMS]
    assert problems is not None and "【見直しによる効果】" in problems  # kept whole: nothing dropped or doubled
    assert sheet.proposal.sections[SectionKey.EFFECTS] == "住民の負担が減る。"


def test_h27_bundle_reads_each_sheet_and_keeps_text_before_the_first_sub_head():
    first, second = sheets(H27_BUNDLE)
    assert [(s.proposal.number, s.proposal.category) for s in (first, second)] == [(41, Category.A), (42, Category.B)]
    assert first.proposal.proponents == ["九州地方知事会", "福岡県", "佐賀県", "長崎県"]
    assert first.proposal.policy_field == "運輸・交通"
    assert first.proposal.sections[SectionKey.PROBLEMS] == (
        "過疎地域では路線バスの撤退が相次いでいる。\n\n"
        "登録の申請から処理まで2か月程度を要しており、地域の交通の確保に機動的に対応できない。\n\n"
        "- ○ 運営協議会の協議が調ってから運行開始まで時間がかかる。\n"
        "- ○ 地域の実情を知る県が一体的に判断できない。"
    )
    assert first.proposal.sections[SectionKey.EFFECTS] == "地域の実情に応じた交通手段を迅速に確保できる。"
    # page furniture (running head, page number) stays out of the sections
    assert first.proposal.sections[SectionKey.STATUTES] == "道路運送法第79条\n\n道路運送法施行規則第51条の2"
    assert second.proposal.sections[SectionKey.STATUTES] == "公営住宅法第23条"


# --- H29: the wide table, one row per proposal --------------------------------------------------------


def test_h29_wide_table_rows_become_proposals_with_every_column():
    first, second = sheets(H29_NAIKAKU)
    p = first.proposal
    assert (p.year, p.number, p.serial, p.theme, p.category) == (2017, 183, None, None, Category.B)
    assert (p.policy_field, p.title) == ("教育・文化", "文化財保護行政の所管組織の選択制")
    assert p.proponents == ["鳥取県", "山口県", "徳島県", "鹿児島県"]
    assert p.ministries == ["内閣官房", "文部科学省"]
    assert p.co_proponents == ["ひたちなか市", "徳島市"]
    assert (p.sheet_ministry, first.stage, first.missing) == ("内閣官房", Stage.FINAL, [])
    assert p.decision is not None and p.decision.date == dt.date(2017, 12, 26)  # from the column's head
    assert p.sections[SectionKey.PROBLEMS] == (
        "文化財の保存と活用を一体的に進めるには、まちづくりや観光を担う首長部局との連携が欠かせない。\n\n"
        "現行制度では文化財保護は教育委員会の職務とされ、首長部局に移すことができない。"
    )
    assert p.sections[SectionKey.STATUTES] is not None and p.sections[SectionKey.STATUTES].endswith("文化財保護法第53条の2")
    assert p.opinions == {
        Association.GOVERNORS: "地方公共団体の判断で所管を選択できるよう見直すべきである。",
        Association.MAYORS: "提案団体の意見を十分に尊重されたい。",
    }
    assert "その他" not in str(p.sections)  # a column read but not stored
    # a row whose cells print 「—」: published, nothing to say; the decision says so
    q = second.proposal
    assert (q.number, q.proponents, q.co_proponents) == (184, ["長野県"], [])
    assert q.sections[SectionKey.SECOND_ANSWER] is None and q.sections[SectionKey.DECISION] is None
    assert q.decision is not None and q.decision.outcome is not None and q.decision.outcome.value == "対応方針に記載なし"


def test_h29_table_per_ministry_with_repeated_heads_and_line_breaks_in_heads():
    first, second = sheets(H29_TWO)
    assert [(s.proposal.year, s.proposal.number, s.proposal.sheet_ministry) for s in (first, second)] == [
        (2017, 62, "厚生労働省"),
        (2017, 97, "総務省"),
    ]
    assert [s.proposal.category for s in (first, second)] == [Category.A, Category.B]
    assert first.proposal.title == "指定居宅サービス事業者の指定に係る事務の中核市への移譲"  # head 「提案事項\n(事項名)」
    assert first.line == 7 and second.line == 14  # the row's line in the input, for messages
    assert SectionKey.EFFECTS not in first.proposal.sections  # a column the table does not print is not invented
    assert second.proposal.sources[0].title == "平成29年 総務省 最終的な調整結果"


# --- layouts that cannot be read: refused with where and why, never a record -------------------------


def test_scrambled_vertical_form_is_refused_at_the_label_out_of_order():
    result = read(FIXTURES / "garbled_two_column.txt")
    assert result.sheets == []
    [problem] = result.problems
    assert (problem.line, problem.field) == (15, "様式")
    assert problem.message.startswith(UNREADABLE + "項目「提案団体」が「求める措置の具体的内容」の後にあります")


def test_table_with_unknown_column_heads_is_refused_naming_them():
    result = read(FIXTURES / "h28_db_export_unknown.txt")
    assert result.sheets == []
    [problem] = result.problems
    assert (problem.line, problem.field) == (1, "様式")
    assert problem.message.startswith(UNREADABLE + "1行に1提案の表ですが、見出しの列「年度」「提案団体の属性 (都道府県/市町村)」")


def test_wide_table_text_taken_from_a_pdf_is_refused_not_guessed():
    result = read(FIXTURES / "h29_kekka_from_pdf_extracted.txt")
    assert result.sheets == []
    [problem] = result.problems
    assert problem.message.startswith(UNREADABLE) and "折り返したセル" in problem.message


def test_wide_table_row_that_does_not_fit_its_columns_refuses_the_whole_table():
    text = H29_NAIKAKU.read_text(encoding="utf-8") + "185\tB\tその他\n"
    result = read_sheets(text)
    assert result.sheets == []  # rows before the fault are dropped too: they may hold cut cells
    [problem] = result.problems
    assert problem.message.startswith(UNREADABLE + "表の行が見出しの列にそろっていません（17 列のはずが 3 列）")


# --- the PDF path ------------------------------------------------------------------------------------


def _wide_table_pdf(path: Path, text: Path) -> None:
    """The wide table set as a real table: cells wrap, a cover page first (the table is on page 2)."""
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(japanese_font())))
    style = ParagraphStyle("cell", fontName=FONT_NAME, fontSize=7, leading=9, wordWrap="CJK")
    title, _, heads, row, *_ = csv.reader(io.StringIO(text.read_text(encoding="utf-8")), delimiter="\t")
    table = Table([[Paragraph(c, style) for c in heads[:9]], [Paragraph(c, style) for c in row[:9]]])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A3))
    doc.build([Paragraph(title[0], style), PageBreak(), table])


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("old_layouts")
    h27, wide = folder / "h27_mlit.pdf", folder / "h29_naikaku.pdf"
    write_sheets_pdf(h27, [H27_PLAIN.read_text(encoding="utf-8")], lines_per_page=30)
    _wide_table_pdf(wide, H29_NAIKAKU)
    return {"h27": h27, "wide": wide}


def test_h27_sheet_from_pdf_reads_as_its_text(pdfs: dict[str, Path]):
    result = read_sheets(extract_text(pdfs["h27"]))
    assert result.problems == []
    [from_text] = sheets(H27_PLAIN)
    assert [s.proposal for s in result.sheets] == [from_text.proposal]


def test_import_of_unreadable_layouts_names_page_or_line_and_writes_no_file(pdfs: dict[str, Path], tmp_path: Path):
    out = tmp_path / "proposals"
    result = runner.invoke(app, ["import", str(pdfs["wide"]), "--out", str(out)])
    assert result.exit_code == 1
    assert f"{pdfs['wide']}:2ページ: 様式: {UNREADABLE}" in result.output
    garbled = FIXTURES / "garbled_two_column.txt"
    result = runner.invoke(app, ["import", str(H27_PLAIN), str(garbled), "--out", str(out)])
    assert result.exit_code == 1
    assert f"garbled_two_column.txt:15: 様式: {UNREADABLE}" in result.output
    assert not out.exists() or list(out.rglob("*.md")) == []
