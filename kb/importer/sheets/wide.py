"""The wide table (H29 「最終的な調整結果」): one row per proposal, one column per field.

Only the shape whose columns survive is read: tab-separated text, one line per row, a cell
that holds line breaks in double quotes (what the table's Excel edition gives when saved as
「テキスト（タブ区切り）」 or copied). A PDF of the table is not: its cells wrap, and text taken
from the PDF has the n-th line of every cell side by side on one line, so which column a
fragment belongs to is lost (docs/import.md, 「様式」). Such text, and any table whose
column heads are not known, is refused with the reason: never a record from guessed columns.

Layout only: the cells are turned into proposals by `kb.importer.sheets.reader`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Literal

from kb.core.vocab import SectionKey, Stage, era_to_year, fold_label
from kb.importer.sheets.labels import DECISION_HEADING, SPACE, STAGE_WORDS, Field, Label, label_for, stage_of

UNREADABLE = "この様式は読めません"

# Column heads that are not body labels of the vertical form (folded, see `fold_label`).
NUMBER, CATEGORY, POLICY_FIELD, IGNORED = "number", "category", "policy_field", "ignored"
Column = Label | str
_EXTRA_HEADS: dict[str, Column] = {
    fold_label(head): target
    for head, target in [
        ("管理番号", NUMBER),
        ("年度別管理番号", NUMBER),
        ("提案区分", CATEGORY),
        ("区分", CATEGORY),
        ("提案区分(区分)", CATEGORY),
        ("提案分野", POLICY_FIELD),
        ("分野", POLICY_FIELD),
        ("提案区分(分野)", POLICY_FIELD),
        ("団体名", Field.PROPONENTS),
        ("提案団体名", Field.PROPONENTS),
        ("制度の所管・関係府省庁", Field.MINISTRIES),
        ("所管・関係府省庁", Field.MINISTRIES),
        ("提案事項", Field.TITLE),
        ("その他(特記事項)", IGNORED),
        ("その他", IGNORED),
    ]
}
KNOWN_HEADS = "管理番号・提案区分・提案分野・提案事項(事項名)・提案団体（団体名）・制度の所管・関係府省庁・求める措置の具体的内容・具体的な支障事例ほか個票の項目名・その他(特記事項)"
# The table's title line: 「内閣官房 「最終的な調整結果」」.
_TITLE = re.compile(
    rf"^{SPACE}*(?P<ministry>[^\s「『#]+?){SPACE}*[「『]?{SPACE}*(?P<stage>{STAGE_WORDS}){SPACE}*[」』]?{SPACE}*$"
)
_ERA_YEAR = re.compile(r"(?:令和|平成)[ \u3000]*(?:元|[0-9０-９]{1,2})[ \u3000]*年")
_DIGITS = re.compile(r"^[0-9０-９]+$")
MIN_KNOWN_HEADS = 3  # a line with this many known column heads is a table's head row


def column_for(head: str) -> Column | None:
    """What a column head names: a body label, a header field, a column read but not stored, or None."""
    folded = fold_label(head)
    if folded in _EXTRA_HEADS:
        return _EXTRA_HEADS[folded]
    return label_for(re.sub(r"\s+", "", head))


@dataclass
class WideRow:
    """One proposal's cells, by what their column names."""

    line: int
    ministry: str
    stage: Stage
    title_line: str
    year: int | None
    cells: dict[Column, str]
    decision_head: str | None


@dataclass
class WideTable:
    rows: list[WideRow] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, field, message)


def _records(text: str, quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL) -> list[tuple[int, list[str]]] | None:
    """Tab-separated records with the (0-based) line each starts on; None when quotes do not close."""
    reader = csv.reader(io.StringIO(text), delimiter="\t", quotechar='"', strict=True, quoting=quoting)
    out: list[tuple[int, list[str]]] = []
    start = 0
    try:
        for cells in reader:
            out.append((start, cells))
            start = reader.line_num
    except csv.Error:
        return None
    return out


def _is_head(cells: list[str]) -> bool:
    return sum(1 for cell in cells if cell.strip() and column_for(cell) is not None) >= MIN_KNOWN_HEADS


def looks_like_table(text: str) -> bool:
    """A head row of known column heads, tab-separated: the text is meant as a wide table."""
    return any(_is_head(line.split("\t")) for line in text.split("\n") if line.count("\t") >= MIN_KNOWN_HEADS - 1)


def _unreadable(line: int, reason: str) -> tuple[int, str, str]:
    return (line, "様式", f"{UNREADABLE}: {reason}")


def _refuse(table: WideTable, line: int, reason: str) -> WideTable:
    """The whole table is refused: rows read before the fault may hold cut cells too."""
    table.rows.clear()
    table.problems.append(_unreadable(line, reason))
    return table


PDF_TABLE = (
    "PDF から取り出した表なら、折り返したセルのどの行がどの列のものか文字からは分かりません。"
    "表の Excel 版をタブ区切りのテキストで保存したものか、提案募集方式データベースの xlsx を取り込んでください"
)


def read_wide(text: str, line_of: list[int]) -> WideTable | None:
    """The proposals of a wide table; None when the text is not one. `line_of[i]` is text line i's input line."""
    if not looks_like_table(text):
        return None
    table = WideTable()

    def where(index: int) -> int:
        return line_of[min(index, len(line_of) - 1)] if line_of else index + 1

    # a `"` that never closes is text (a PDF's, say), not quoting: the rows are then checked one line each
    records = _records(text) or _records(text, csv.QUOTE_NONE) or []
    ministry: str | None = None
    stage: Stage | None = None
    title_line = ""
    year: int | None = None
    heads: list[Column | None] | None = None
    last_heads: list[Column | None] | None = None
    head_cells: list[str] = []
    for index, cells in records:
        filled = [cell for cell in cells if cell.strip()]
        if not filled:
            continue
        if len(filled) == 1 and (m := _TITLE.match(filled[0])):
            ministry, stage, title_line = m.group("ministry"), stage_of(m.group("stage")), filled[0].strip()
            era = _ERA_YEAR.search(filled[0])
            year = era_to_year(re.sub(r"\s", "", era.group(0))) if era else year
            heads = None
            continue
        if len(filled) == 1 and "提案募集" in filled[0] and (era := _ERA_YEAR.search(filled[0])):
            year = era_to_year(re.sub(r"\s", "", era.group(0)))  # 「平成29年 地方分権改革に関する提案募集 …」
            continue
        if _is_head(cells):
            if [c.strip() for c in cells] == head_cells:
                heads = heads or last_heads  # the head row repeated on every page, or for the next ministry
                continue
            columns = [column_for(cell) if cell.strip() else None for cell in cells]
            unknown = [cell.strip() for cell, col in zip(cells, columns) if cell.strip() and col is None]
            if unknown or not cells[0].strip() or columns[0] != NUMBER:
                shown = "」「".join(unknown[:5]) or cells[0].strip()
                return _refuse(
                    table,
                    where(index),
                    f"1行に1提案の表ですが、見出しの列「{shown}」を読めません（読める列: 最初に管理番号、ほかは {KNOWN_HEADS}）。{PDF_TABLE}",
                )
            heads = last_heads = columns
            head_cells = [c.strip() for c in cells]
            decision = next((c for c in cells if re.fullmatch(DECISION_HEADING, re.sub(r"\s+", "", c))), None)
            if year is None and decision and (era := _ERA_YEAR.search(decision)):
                year = era_to_year(re.sub(r"\s", "", era.group(0)))
            continue
        if heads is None:
            if ministry is None:
                continue  # a cover page or notes before the first table
            return _refuse(table, where(index), "表の見出し行（管理番号・提案事項(事項名)…）より前に表の行があります")
        while len(cells) > len(heads) and not cells[-1].strip():
            cells = cells[:-1]
        if len(cells) != len(heads) or not _DIGITS.match(cells[0].strip()):
            return _refuse(
                table,
                where(index),
                f"表の行が見出しの列にそろっていません（{len(heads)} 列のはずが {len(cells)} 列"
                f"{'' if _DIGITS.match(cells[0].strip()) else '、最初の列が管理番号ではありません'}）。{PDF_TABLE}",
            )
        if ministry is None or stage is None:
            return _refuse(table, where(index), "表の前に「内閣官房 「最終的な調整結果」」のような府省と段階の行がありません")
        row = {col: cell for col, cell in zip(heads, cells) if col is not None and col != IGNORED}
        decision_head = next((h for h, col in zip(head_cells, heads) if col is SectionKey.DECISION), None)
        table.rows.append(WideRow(where(index), ministry, stage, title_line, year, row, decision_head))
    return table
