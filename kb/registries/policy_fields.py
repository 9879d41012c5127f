"""提案分野 by year (`data/policy_fields.yaml`): which `policy_field` values a proposal of a year may use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.core.paths import data_dir
from kb.core.problems import Problem, ProblemError
from kb.core.yamlio import read
from kb.registries.rows import RowProblems, require_keys, section_rows

POLICY_FIELDS_NAME = "policy_fields.yaml"
KEYS = ("from", "to", "source", "fields")


@dataclass(frozen=True)
class FieldPeriod:
    first: int
    last: int | None
    fields: tuple[str, ...]


@dataclass(frozen=True)
class PolicyFields:
    periods: tuple[FieldPeriod, ...] = ()

    def allowed(self, year: int) -> list[str]:
        """Every value usable in `year`, in the file's order (empty: no list for that year, nothing checked)."""
        found = [f for p in self.periods if p.first <= year and (p.last is None or year <= p.last) for f in p.fields]
        return list(dict.fromkeys(found))


def _period(row: Any, line: int, out: RowProblems) -> FieldPeriod | None:
    first, last, fields = row.get("from"), row.get("to"), row.get("fields")
    if not isinstance(first, int) or (last is not None and not isinstance(last, int)):
        out.add(line, "from", f"from / to は西暦の年（整数）で書いてください（「{first}」〜「{last}」）")
        return None
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f.strip() for f in fields):
        out.add(line, "fields", "fields は分野名のリスト（「- 分野名」の行）で書いてください")
        return None
    return FieldPeriod(first, last, tuple(f.strip() for f in fields))


def load_policy_fields(directory: Path | None = None) -> tuple[PolicyFields, list[Problem]]:
    """The lists, and every problem found in the file (a missing file means nothing is checked)."""
    path = (directory or data_dir()) / POLICY_FIELDS_NAME
    if not path.exists():
        return PolicyFields(), []
    out = RowProblems(path)
    try:
        doc = read(path)
    except ProblemError as exc:
        out.problems += exc.problems
        return PolicyFields(), out.problems
    periods = []
    for row, line in section_rows(doc, "periods", out):
        if require_keys(row, ("from", "fields", "source"), KEYS, line, out) and (p := _period(row, line, out)):
            periods.append(p)
    return PolicyFields(tuple(periods)), out.problems
