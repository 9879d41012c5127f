"""The Cabinet Office's 提案募集方式データベース (xlsx) → one `XlsxRow` (a `Sheet`) per proposal row.

Header-driven: the header row is found among the first rows (a title row may sit above it), and
every column is named by an alias table after folding (NFKC, no line breaks or spaces, no
brackets), so a reworded or reordered header still reads and an unknown one is an error that lists
what is known. Cells are read with python-calamine (docs/import.md: 8× openpyxl's read-only mode on
5,000 rows, and it never returns the ふりがな runs or the `_x000D_` escapes). Merging into the files
is `kb.importer.fill`; a bad cell is a `Problem` at `file:row` naming the column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kb.core.models import DATABASE_SOURCE_PREFIX, Proposal
from kb.core.problems import Problem, display_path
from kb.core.vocab import CATEGORY_ALIASES, CATEGORY_LABELS, EMPTY_MARKS, SectionKey, Stage, fold_label, section_for_heading
from kb.importer.eras import era_and_year
from kb.importer.sheets import Sheet
from kb.importer.sheets.cleanup import blocks, to_markdown
from kb.registries.check import name_problems
from kb.registries.registry import load_registries

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
HEADER_SEARCH_ROWS = 30  # the header row is looked for this far down (title rows, notes above it)
IGNORED = "-"  # columns read but not stored (提案団体の属性 follows from the registry)

# Column key → (label shown to editors, folded aliases). Folding: `_fold` (NFKC, no spaces, line
# breaks, brackets or parentheses). Keys are Proposal fields, "section:<SectionKey name>", or IGNORED.
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "year": ("年度", ("年度", "年", "提案年度", "募集年度")),
    "number": ("年度別管理番号", ("年度別管理番号", "管理番号", "年度別の管理番号")),
    "serial": ("整理番号", ("整理番号",)),
    "policy_field": ("提案分野", ("提案分野", "分野")),
    IGNORED: ("提案団体の属性", ("提案団体の属性", "提案団体の属性都道府県/市町村", "団体の属性", "属性")),
    "proponents": ("提案団体", ("提案団体", "提案団体名")),
    "co_proponents": ("追加共同提案団体", ("追加共同提案団体",)),
    "ministries": (
        "所管・関係府省庁",
        ("所管・関係府省庁", "所管・関係府省", "制度の所管・関係府省", "制度の所管・関係府省庁", "関係府省庁", "関係府省"),
    ),
    "category": ("提案区分", ("提案区分", "区分")),
    "theme": ("重点募集テーマ", ("重点募集テーマ",)),
    "title": ("提案事項(事項名)", ("提案事項事項名", "提案事項", "事項名")),
    "section:STATUTES": ("根拠法令等", ("根拠法令等", "根拠法令")),
    "section:MEASURES": ("求める措置の具体的内容", ("求める措置の具体的内容",)),
    "section:PROBLEMS": ("具体的な支障事例、地域の実情を踏まえた必要性等", ("具体的な支障事例",)),
    "section:DECISION": ("【調整結果】地方からの提案等に関する対応方針(閣議決定)記載内容", ("調整結果", "対応方針記載内容")),
}
REQUIRED_COLUMNS = ("year", "number", "title", "category", "proponents", "ministries")
_LIST_SPLIT = re.compile(r"[、，,\n]")
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PARENS = re.compile(r"[()（）]")


def _fold(header: str) -> str:
    return _PARENS.sub("", fold_label(header))


_ALIASES: dict[str, str] = {_fold(alias): key for key, (_label, aliases) in COLUMNS.items() for alias in aliases}


def column_for(header: str) -> str | None:
    """The column key a header names, or None. 具体的な支障事例…/…対応方針…記載内容 match by their shape."""
    folded = _fold(header)
    if folded in _ALIASES:
        return _ALIASES[folded]
    if folded.startswith("具体的な支障事例"):
        return "section:PROBLEMS"
    if "対応方針" in folded and folded.endswith("記載内容"):
        return "section:DECISION"
    section = section_for_heading(header)
    return f"section:{section.name}" if section else None


def known_headers() -> str:
    return "、".join(label for label, _ in COLUMNS.values())


def letter(index: int) -> str:
    """0 → A, 27 → AB: the column as Excel shows it."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def cell_text(value: Any) -> str:
    """A cell as text: `_xHHHH_` escapes undone, CR/CRLF → \\n, integral floats without `.0`."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), str(value))
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def section_text(text: str) -> str | None:
    """A long cell as stored Markdown: each in-cell line a paragraph (○ lines a list); `—` → None."""
    if text.strip() in EMPTY_MARKS:
        return None
    return to_markdown(blocks(text, keep_lines=True))


def names(text: str) -> list[str]:
    """「内閣官房、警察庁」 → ["内閣官房", "警察庁"] (also one name per line)."""
    return [n.strip() for n in _LIST_SPLIT.split(text) if n.strip() and n.strip() not in EMPTY_MARKS]


@dataclass
class XlsxRow(Sheet):
    """One row of the database as a sheet; `columns` names each item's column for messages."""

    columns: dict[str, str] = field(default_factory=dict)


@dataclass
class Workbook:
    rows: list[XlsxRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the workbook cannot be read: nothing of it is imported
    row_problems: list[Problem] = field(default_factory=list)  # rows refused one by one; the others are imported
    warnings: list[str] = field(default_factory=list)
    read_rows: int = 0


def read_cells(path: Path) -> list[list[list[Any]]]:
    """Every worksheet's cells (python-calamine: phonetic runs and `_x000D_` never reach the values)."""
    from python_calamine import CalamineWorkbook  # loaded only for xlsx input

    book = CalamineWorkbook.from_path(str(path))
    return [book.get_sheet_by_index(i).to_python(skip_empty_area=False) for i in range(len(book.sheet_names))]


def find_header(rows: Sequence[Sequence[Any]]) -> int | None:
    """Index of the first row where at least three cells are known headers, including 管理番号."""
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [column_for(cell_text(c)) for c in row if cell_text(c)]
        if "number" in keys and sum(k is not None for k in keys) >= 3:
            return i
    return None


def read_workbook(path: Path, *, url: str | None = None) -> Workbook:
    """Rows of the first worksheet that has a header row; every problem, none raised."""
    where = display_path(path)
    out = Workbook()
    try:
        sheets = read_cells(path)
    except Exception as exc:  # calamine raises its own error types for a broken or non-xlsx file
        out.problems.append(Problem(where, 0, "xlsx", f"xlsx として読めません（{type(exc).__name__}: {exc}）"))
        return out
    for cells in sheets:
        header = find_header(cells)
        if header is not None:
            _read_table(path, where, cells, header, url, out)
            return out
    message = f"見出しの行（「年度別管理番号」などの列名が並ぶ行）が最初の {HEADER_SEARCH_ROWS} 行にありません。知っている列名: {known_headers()}"
    out.problems.append(Problem(where, 0, "見出し", message))
    return out


def _read_table(path: Path, where: str, cells: list[list[Any]], header: int, url: str | None, out: Workbook) -> None:
    header_row = header + 1
    columns: dict[str, int] = {}
    for i, value in enumerate(cells[header]):
        text = cell_text(value)
        if not text:
            continue
        key = column_for(text)
        shown = text.replace("\n", "")
        if key is None:
            message = f"列名「{shown}」を知りません。知っている列名: {known_headers()}（別名は kb/importer/xlsx.py の COLUMNS に足せます）"
            out.problems.append(Problem(where, header_row, f"{letter(i)}列", message))
        elif key in columns and key != IGNORED:
            message = f"列名「{shown}」は {letter(columns[key])}列と同じ項目です"
            out.problems.append(Problem(where, header_row, f"{letter(i)}列", message))
        else:
            columns.setdefault(key, i)
    missing = [COLUMNS[k][0] for k in REQUIRED_COLUMNS if k not in columns]
    if missing:
        message = f"必要な列がありません: {'、'.join(missing)}。知っている列名: {known_headers()}"
        out.problems.append(Problem(where, header_row, "見出し", message))
    if out.problems:
        return
    registries = load_registries()
    source_title = f"{DATABASE_SOURCE_PREFIX}（{path.name}）"
    for offset, row in enumerate(cells[header + 1 :]):
        if not any(cell_text(c) for c in row):
            continue
        out.read_rows += 1
        line = header_row + 1 + offset
        values = {key: cell_text(row[i]) if i < len(row) else "" for key, i in columns.items() if key != IGNORED}
        at = {key: f"{letter(i)}列 {COLUMNS[key][0]}" for key, i in columns.items()}
        made = _proposal(values, at, line, where, source_title, url)
        if isinstance(made, list):
            out.row_problems += made
            continue
        made = _numbered_field(made, registries.policy_fields.allowed(made.year))
        if registries.usable:
            for item, message in name_problems(made, registries):
                column = at.get(item.split(".")[0], item)
                out.warnings.append(f"{where}:{line}: {column}: {message}")
        out.rows.append(XlsxRow(made, made.sources[0].stage, line, columns=at))


def _numbered_field(proposal: Proposal, allowed: list[str]) -> Proposal:
    """「消防・防災・安全」 → 「08_消防・防災・安全」 where the year's list numbers its fields (data/policy_fields.yaml).

    The database prints the name alone; the files use the year's own spelling, so that facets
    and `kb check` see one value. A name the list does not know is left as it is (and reported).
    """
    field = proposal.policy_field
    if not field or field in allowed:
        return proposal
    numbered = [f for f in allowed if f.split("_", 1)[-1] == field]
    return proposal.model_copy(update={"policy_field": numbered[0]}) if len(numbered) == 1 else proposal


def _proposal(
    values: dict[str, str], at: dict[str, str], line: int, where: str, source_title: str, url: str | None
) -> Proposal | list[Problem]:
    """The row as a proposal, or a problem per bad cell."""
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(where, line, at[key], message))

    data: dict[str, Any] = {"sections": {}}
    found = era_and_year(values["year"])
    if found is None:
        bad("year", f"年度「{values['year']}」を年にできません（例: 28年、平成28年、H28、令和元年、R6、2024）")
    else:
        data["era"], data["year"] = found
    for key in ("number", "serial"):
        text = unicodedata.normalize("NFKC", values.get(key, ""))
        if not text:
            if key == "number":
                bad(key, "管理番号がありません")
            continue
        if not text.isdigit() or int(text) < 1:
            bad(key, f"「{values[key]}」は番号ではありません（1 以上の整数）")
            continue
        data[key] = int(text)
    title = " ".join(values["title"].split())
    if title:
        data["title"] = title
    else:
        bad("title", "提案事項がありません")
    category = CATEGORY_ALIASES.get(fold_label(values["category"])) if values["category"] else None
    if category is None:
        allowed = " / ".join(CATEGORY_LABELS.values())
        bad("category", f"提案区分「{values['category']}」は使えません。使える値: {allowed}")
    else:
        data["category"] = CATEGORY_LABELS[category]
    for key in ("proponents", "ministries", "co_proponents"):
        if key in values:
            data[key] = names(values[key])
            if not data[key] and key != "co_proponents":
                bad(key, f"{COLUMNS[key][0]}がありません")
    for key in ("policy_field", "theme"):
        if values.get(key):
            data[key] = " ".join(values[key].split())
    for key, text in values.items():
        if key.startswith("section:") and text:
            data["sections"][SectionKey[key.split(":", 1)[1]]] = section_text(text)
    stage = Stage.FINAL if data["sections"].get(SectionKey.DECISION) else Stage.PROPOSAL
    data["sources"] = [{"stage": stage, "title": source_title, "url": url}]
    if problems:
        return problems
    try:
        return Proposal.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "number"
            problems.append(Problem(where, line, at.get(key, key), f"読み取った値が使えません（{err['msg']}）"))
        return problems
