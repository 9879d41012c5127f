"""`kb import FILE.xlsx`: the 提案募集方式データベース read by its headers and merged without overwriting.

Workbooks are synthetic, made by tests/xlsx_workbooks.py the way Japanese Excel stores them (title
row above the header, line breaks in headers, shared strings with ふりがな runs, `_x000D_`).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner
from xlsx_workbooks import HEADERS, row_values, write_workbook

from kb.cli import app
from kb.core.models import Proposal, Source
from kb.core.vocab import Category, SectionKey, Stage
from kb.files.parse import parse_file
from kb.files.render import render
from kb.importer.eras import era_and_year
from kb.importer.merge import plan_import, run_import
from kb.importer.xlsx import read_workbook

READING = {"さいたま市": "サイタマシ", "内閣官房、警察庁": "ナイカクカンボウ、ケイサツチョウ"}


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [
        row_values("28年", 90),
        row_values("R6", 12, decision="", measures="一つ目の段落。\r\n二つ目の段落。"),
    ]
    return write_workbook(tmp_path_factory.mktemp("xlsx") / "database.xlsx", rows, phonetic=READING)


def test_rows_are_read_below_a_title_row_with_line_breaks_in_headers(book: Path) -> None:
    read = read_workbook(book)
    assert read.problems == []
    assert [(r.line, r.proposal.id) for r in read.rows] == [(3, "2016-0090"), (4, "2024-0012")]
    first = read.rows[0].proposal
    assert (first.era, first.category, first.policy_field) == ("平成28年", Category.B, "消防・防災・安全")
    assert first.ministries == ["内閣官房", "警察庁"]
    assert first.title == "合成の提案事項90（試験用）"


def test_phonetic_runs_in_shared_strings_never_reach_the_text(book: Path) -> None:
    shared = zipfile.ZipFile(book).read("xl/sharedStrings.xml").decode("utf-8")
    assert "<rPh" in shared and "サイタマシ" in shared  # the fixture really carries readings
    first = read_workbook(book).rows[0].proposal
    assert first.proponents == ["さいたま市"]
    assert "サイタマ" not in render(first) and "ナイカク" not in render(first)


def test_x000d_escapes_and_crlf_become_paragraphs(book: Path) -> None:
    assert "_x000D_" in zipfile.ZipFile(book).read("xl/sharedStrings.xml").decode("utf-8")
    first, second = (r.proposal for r in read_workbook(book).rows)
    assert first.sections[SectionKey.PROBLEMS] == "現行の基準では支障がある。\n\n- ○具体的には、設置の費用が過大である。"
    assert first.sections[SectionKey.STATUTES] == "消防法第17条\n\n消防法施行令第10条"
    assert second.sections[SectionKey.MEASURES] == "一つ目の段落。\n\n二つ目の段落。"
    assert "\r" not in render(first) + render(second) and "_x000D_" not in render(first)


@pytest.mark.parametrize(
    ("cell", "era", "year"),
    [("28年", "平成28年", 2016), ("平成28年", "平成28年", 2016), ("H28", "平成28年", 2016), ("令和元年", "令和元年", 2019),
     ("R6", "令和6年", 2024), ("Ｒ６年度", "令和6年", 2024), (27, "平成27年", 2015), (2025.0, "令和7年", 2025)],
)
def test_era_year_cells_become_western_years(cell: object, era: str, year: int) -> None:
    assert era_and_year(cell) == (era, year)


@pytest.mark.parametrize("cell", ["昭和60年", "40年", "R", "平成", 28.5, None])
def test_cells_that_are_not_a_proposal_year_are_refused(cell: object) -> None:
    assert era_and_year(cell) is None


def test_a_new_proposal_holds_only_what_the_xlsx_has(book: Path, tmp_path: Path) -> None:
    report = run_import([book], tmp_path)
    assert report.ok and report.written
    text = (tmp_path / "2024/0012.md").read_text(encoding="utf-8")
    proposal = parse_file(tmp_path / "2024/0012.md")
    assert set(proposal.sections) == {SectionKey.MEASURES, SectionKey.PROBLEMS, SectionKey.STATUTES}
    assert "\n—\n" not in text and "## 各府省からの第1次回答" not in text
    assert proposal.sources == [Source(stage=Stage.PROPOSAL, title="提案募集方式データベース（database.xlsx）")]
    final = parse_file(tmp_path / "2016/0090.md")
    assert final.sources[0].stage is Stage.FINAL and SectionKey.DECISION in final.sections
    again = plan_import([book], tmp_path)
    assert [c.changed for c in again.files] == [False, False]  # importing the same workbook again changes nothing


def test_merge_fills_the_missing_decision_and_never_overwrites(book: Path, tmp_path: Path) -> None:
    existing = Proposal(
        year=2016, era="平成28年", number=90, title="編集者の提案事項", category="B", proponents=["さいたま市"],
        ministries=["内閣官房", "警察庁"],
        sources=[Source(stage=Stage.FIRST_ANSWER, ministry="警察庁", title="平成28年 個票 警察庁 第1次回答")],
        sections={
            SectionKey.MEASURES: "消防用設備の設置基準を地域の実情に応じて\n定められるようにすること。",  # PDF line breaks
            SectionKey.PROBLEMS: "編集者が直した支障事例。",
            SectionKey.FIRST_ANSWER: "検討する。",
        },
    )
    target = tmp_path / "2016/0090.md"
    target.parent.mkdir(parents=True)
    target.write_text(render(existing), encoding="utf-8")
    report = run_import([book], tmp_path, force=True)
    assert report.ok and report.conflicts == []
    merged = parse_file(target)
    assert merged.sections[SectionKey.DECISION].startswith("消防用設備の設置基準については")
    assert merged.title == "編集者の提案事項" and merged.sections[SectionKey.PROBLEMS] == "編集者が直した支障事例。"
    assert merged.sections[SectionKey.MEASURES] == existing.sections[SectionKey.MEASURES]
    assert merged.policy_field == "消防・防災・安全"  # a field the file lacked
    assert [s.title for s in merged.sources] == ["平成28年 個票 警察庁 第1次回答", "提案募集方式データベース（database.xlsx）"]
    notes = [w for w in report.warnings if "2016-0090" in w]
    assert any("database.xlsx:3" in w and "具体的な支障事例" in w and "ファイルのままにしました" in w for w in notes)
    assert not any("求める措置" in w for w in notes)  # equal once line breaks are folded: not reported
    assert "\n—\n" not in target.read_text(encoding="utf-8")


def test_files_made_from_the_xlsx_pass_kb_check(book: Path, tmp_path: Path) -> None:
    """An xlsx-only file holds no 「—」 placeholders, so it must not be held to a stage's sections."""
    assert run_import([book], tmp_path).written
    result = CliRunner().invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_a_sheet_with_database_rows_is_held_to_the_sheets_stage_only(tmp_path: Path) -> None:
    """A 提案 sheet plus the database's 対応方針: the 1st and 2nd answers were never seen, not forgotten."""
    proposal = Proposal(
        year=2016, era="平成28年", number=90, title="提案事項", category="B", proponents=["さいたま市"], ministries=["警察庁"],
        sources=[Source(stage=Stage.PROPOSAL, title="平成28年 提案"), Source(stage=Stage.FINAL, title="提案募集方式データベース（db.xlsx）")],
        sections={SectionKey.MEASURES: "措置。", SectionKey.DECISION: "対応する。"},
    )
    target = tmp_path / "2016/0090.md"
    target.parent.mkdir(parents=True)
    target.write_text(render(proposal), encoding="utf-8")
    output = CliRunner().invoke(app, ["check", str(tmp_path)]).output
    assert "段階「第" not in output and "## 具体的な支障事例" in output  # the 提案 sheet's own sections are still required


def test_unknown_header_names_file_row_column_and_known_headers(tmp_path: Path) -> None:
    bad = write_workbook(tmp_path / "bad.xlsx", [row_values("R6", 1) + ["メモ"]], headers=[*HEADERS, "備考\n（内部用）"])
    read = read_workbook(bad)
    assert read.rows == []
    [problem] = read.problems
    assert (problem.path.endswith("bad.xlsx"), problem.line, problem.field) == (True, 2, "M列")
    assert "「備考（内部用）」を知りません" in problem.message and "年度別管理番号" in problem.message


def test_missing_required_header_and_no_header_row_are_errors(tmp_path: Path) -> None:
    without = write_workbook(tmp_path / "a.xlsx", [row_values("R6", 1)[:5]], headers=HEADERS[:5], title=None)
    [problem] = read_workbook(without).problems
    assert problem.line == 1 and "必要な列がありません: 提案事項(事項名)、提案区分、所管・関係府省庁" in problem.message
    nothing = write_workbook(tmp_path / "b.xlsx", [["a", "b"]], headers=["名前", "値"])
    [problem] = read_workbook(nothing).problems
    assert problem.field == "見出し" and "知っている列名" in problem.message


def test_bad_cells_are_problems_at_their_row_and_column(tmp_path: Path) -> None:
    rows = [row_values("昭和60年", 1), row_values("R6", "x", category="C 不明")]
    read = read_workbook(write_workbook(tmp_path / "cells.xlsx", rows))
    assert read.problems == []  # the workbook itself is readable: only these rows are refused
    assert sorted((p.line, p.field) for p in read.row_problems) == [(3, "A列 年度"), (4, "B列 年度別管理番号"), (4, "G列 提案区分")]


def test_unknown_name_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    read = read_workbook(write_workbook(tmp_path / "names.xlsx", [row_values("R6", 5, proponents="さいたま巿")]))
    assert read.problems == []
    [warning] = [w for w in read.warnings if "提案団体" in w]
    assert "names.xlsx:3: E列 提案団体" in warning and "もしかして: さいたま市" in warning


def test_a_bad_row_is_refused_and_reported_while_the_other_rows_are_imported(tmp_path: Path) -> None:
    """Reported in review: one bad cell in the ~4,250 hand-made rows kept the whole database out on every
    harvest. Each row is its own proposal file, so the others are written; the command still fails."""
    bad = write_workbook(tmp_path / "bad.xlsx", [row_values("R6", 1), row_values("百年", 2)])
    out = tmp_path / "proposals"
    result = CliRunner().invoke(app, ["import", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    assert "bad.xlsx:4: A列 年度" in result.output and "1 行は取り込めませんでした" in result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md")) == ["2024/0001.md"]


def test_a_workbook_whose_headers_cannot_be_read_writes_nothing(tmp_path: Path) -> None:
    book = write_workbook(tmp_path / "bad.xlsx", [row_values("R6", 1) + ["メモ"]], headers=[*HEADERS, "備考\n（内部用）"])
    out = tmp_path / "proposals"
    result = CliRunner().invoke(app, ["import", str(book), "--out", str(out)])
    assert result.exit_code == 1 and not out.exists()


def test_a_newer_database_refreshes_its_source_instead_of_adding_one(tmp_path: Path) -> None:
    """Reported in review: the database fetched again kept the old sha256 and date, and a row that had
    gained its 対応方針 got a second database source beside the first."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    old = write_workbook(tmp_path / "a" / "db.xlsx", [row_values("R6", 12, decision="")])
    new = write_workbook(tmp_path / "b" / "db.xlsx", [row_values("R6", 12)])
    out = tmp_path / "proposals"
    first = {"retrieved": dt.date(2025, 1, 1), "sha256": "a" * 64, "url": "https://example.jp/db.xlsx"}
    second = {"retrieved": dt.date(2026, 1, 1), "sha256": "b" * 64, "url": "https://example.jp/db.xlsx"}
    assert run_import([old], out, provenance=first).written
    assert run_import([new], out, provenance=second).written
    sources = parse_file(out / "2024/0012.md").sources
    assert [(s.stage, s.sha256, s.retrieved) for s in sources] == [(Stage.FINAL, "b" * 64, dt.date(2026, 1, 1))]
