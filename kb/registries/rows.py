"""Row checks shared by the hand-edited data files: each problem points at the row's line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from kb.core.problems import Problem, display_path
from kb.core.yamlio import YamlDocument, parse_date
from kb.registries.codes import is_valid_code
from kb.registries.periods import Period


class RowProblems:
    """Collects problems for one data file; each row reports against its own line."""

    def __init__(self, path: Path):
        self.where = display_path(path)
        self.problems: list[Problem] = []

    def add(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(self.where, line, field, message))


def code_problem(code: Any) -> str | None:
    """Why a 全国地方公共団体コード cannot be used, or None; an unquoted YAML code loses its leading 0."""
    if isinstance(code, int):
        return "コードは引用符で囲んで書いてください（例: code: \"044237\"）"
    if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
        return f"コードは6桁の数字です（「{code}」）"
    if not is_valid_code(code):
        return f"検査数字が合いません（「{code}」）。コードを確かめてください"
    return None


def date_value(value: Any, line: int, field: str, out: RowProblems) -> dt.date | None:
    """A date written YYYY-MM-DD (YAML keeps it as text, `kb.core.yamlio`); anything else is reported."""
    if value is None:
        return None
    date = parse_date(value)
    if date is None:
        out.add(line, field, f"日付は YYYY-MM-DD で書いてください（「{value}」）")
    return date


def period_of(row: dict[str, Any], line: int, out: RowProblems) -> Period:
    """The row's from/to as a Period; a reversed range is reported."""
    period = Period(date_value(row.get("from"), line, "from", out), date_value(row.get("to"), line, "to", out))
    if period.start and period.end and period.start > period.end:
        out.add(line, "from", f"from（{period.start}）が to（{period.end}）より後です")
    return period


def require_keys(row: Any, keys: tuple[str, ...], allowed: tuple[str, ...], line: int, out: RowProblems) -> bool:
    """Report unknown keys (typos) and missing required ones; False when the row cannot be used."""
    if not isinstance(row, dict):
        out.add(line, "行", "「{キー: 値, …}」の形で書いてください")
        return False
    for key in sorted(set(row) - set(allowed)):
        out.add(line, str(key), f"知らない項目です（使える項目: {', '.join(allowed)}）")
    missing = [k for k in keys if not row.get(k)]
    for key in missing:
        out.add(line, key, "必須の項目がありません")
    return not missing


def section_rows(doc: YamlDocument, key: str, out: RowProblems) -> list[tuple[Any, int]]:
    """(row, line) of each item of a top-level list; a section that is not a list is reported."""
    rows = doc.data.get(key)
    if rows is None:
        return []
    if not isinstance(rows, list):
        out.add(1, key, f"「{key}」は「- 」で始まる行のリストで書いてください")
        return []
    return list(zip(rows, doc.item_lines(key), strict=True))
