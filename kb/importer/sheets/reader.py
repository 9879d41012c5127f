"""Sheet text (one or many sheets, any of the known shapes) → `Proposal`s, with what is missing.

Pure functions: text in, models and problems out. Files, PDFs and merging live in
`kb.importer.merge` and `kb.importer.pdf`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from kb.core.models import Proposal
from kb.core.problems import Problem
from kb.core.vocab import (
    FIELD_LABELS,
    Association,
    Outcome,
    SectionKey,
    Stage,
    era_to_year,
    field_label,
    is_empty_mark,
    year_to_era,
)
from kb.importer.sheets.cleanup import BULLETS, close_digit_gaps, one_line, section_text
from kb.importer.sheets.header import read_header
from kb.importer.sheets.labels import (
    ASSOCIATION_MARK,
    MINISTRY_STAGE,
    BadDate,
    SHEET_TITLE,
    Field,
    Found,
    Label,
    decision_date,
    find_labels,
    stage_of,
)
from kb.importer.sheets.pages import drop_furniture

SHEET_HEADING_EXAMPLE = "令和6年 地方分権改革に関する提案募集 提案事項"

# Sections every sheet of a stage prints; what is missing from them means the sheet was cut off.
_PROPOSAL_SECTIONS = [SectionKey.MEASURES, SectionKey.PROBLEMS, SectionKey.RESIDENTS, SectionKey.EFFECTS, SectionKey.STATUTES]
_FIRST = _PROPOSAL_SECTIONS + [SectionKey.CO_PROBLEMS, SectionKey.FIRST_ANSWER]
_SECOND = _FIRST + [
    SectionKey.PROPONENT_VIEW,
    SectionKey.CO_PROPONENT_VIEW,
    SectionKey.OPINIONS,
    SectionKey.SECOND_ANSWER,
]
EXPECTED_SECTIONS: dict[Stage, list[SectionKey]] = {
    Stage.PROPOSAL: _PROPOSAL_SECTIONS,
    Stage.FIRST_ANSWER: _FIRST,
    Stage.SECOND_ANSWER: _SECOND,
    Stage.FINAL: _SECOND + [SectionKey.DECISION],
}
# Fields a sheet must print, by the label printed on it (the title's label differs from the front matter's).
REQUIRED = {
    key: Field.TITLE.value if key == "title" else FIELD_LABELS[key]
    for key in ("number", "category", "title", "proponents", "ministries")
}
_NAME_SPLIT = re.compile(r"[、，,]")
_NAMES_RUN = re.compile(r"\S*?(?:[、，,]\s*\S*?)*(?=\s|$)")


TEXT = "<text>"  # the path of problems found in text; `kb.importer.merge` puts the input's path in


def _problem(line: int, field: str, message: str) -> Problem:
    return Problem(TEXT, line, field, message)


@dataclass
class Sheet:
    """One sheet read from the input."""

    proposal: Proposal
    stage: Stage
    line: int
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ReadResult:
    sheets: list[Sheet] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _names(raw: str) -> list[str]:
    """提案団体 / 府省 lists: split on 、 (lines broken inside a name are joined first)."""
    text = raw.strip()
    if _NAME_SPLIT.search(text):
        parts = _NAME_SPLIT.split(re.sub(r"\s+", "", text))
    else:
        parts = text.split()
    return [p.strip() for p in parts if p.strip() and not is_empty_mark(p)]


def _co_proponents(raw: str) -> tuple[list[str], str]:
    """追加共同提案団体…: the names come first (up to the first break), the 支障事例 follow."""
    text = raw.strip()
    if not text or is_empty_mark(text):
        return [], text
    m = _NAMES_RUN.match(text)  # a name list broken after 「、」 goes on on the next line
    assert m is not None  # \S*? may run to the first space or the end: the pattern always matches
    names, rest = re.sub(r"\s+", "", m.group(0)), text[m.end() :]
    if "。" in names or is_empty_mark(names) or names[0] in BULLETS:
        return [], text
    return _names(names), rest


def _opinions(raw: str) -> tuple[str | None, dict[Association, str | None]]:
    """The associations' views, split at each 【全国知事会】-style mark."""
    marks = list(ASSOCIATION_MARK.finditer(raw))
    if not marks:
        return section_text(raw), {}
    lead = section_text(raw[: marks[0].start()])
    opinions: dict[Association, str | None] = {}
    for n, m in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(raw)
        text = section_text(raw[m.end() : end])
        opinions[Association(m.group("name"))] = text or None
    return lead or "", opinions


def _message(err: ErrorDetails) -> str:
    if err["type"] == "value_error":
        return str(err["ctx"]["error"])
    return f"読み取った値「{err.get('input')}」は使えません"


class _Positions:
    """Offset in the kept text → line number in the input."""

    def __init__(self, text: str, numbers: list[int]):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.numbers = numbers

    def line(self, offset: int) -> int:
        index = bisect.bisect_right(self.starts, offset) - 1
        return self.numbers[index] if self.numbers else 1


def _title_text(raw: str) -> str:
    return close_digit_gaps(re.sub(r"[\s#]+", " ", raw).strip())


def _sheet(text: str, start: re.Match[str], end: int, where: _Positions) -> tuple[Sheet | None, list[Problem]]:
    line = where.line(start.start())
    problems: list[Problem] = []
    notes: list[str] = []
    year = era_to_year(re.sub(r"\s", "", start.group("era")))
    if year is None:
        return None, [_problem(line, "年", f"年「{start.group('era')}」を西暦に直せません")]
    stage_match = MINISTRY_STAGE.match(text, start.end(), end)
    if not stage_match:
        return None, [
            _problem(line, "府省と段階", "見出しの次に「デジタル庁 最終的な調整結果」のような府省と段階がありません")
        ]
    stage = stage_of(stage_match.group("stage"))
    if stage is None:
        return None, [_problem(line, "段階", f"段階「{stage_match.group('stage')}」を読めません")]
    ministry = stage_match.group("ministry")
    found = find_labels(text, stage_match.end(), end)
    if not found:
        return None, [
            _problem(line, "本文", "「提案事項(事項名)」「提案団体」「求める措置の具体的内容」などの項目が1つもありません")
        ]
    header = read_header(text[stage_match.end() : found[0].start])
    if header.problems:
        return None, [_problem(line, "管理番号", message) for message in header.problems]
    notes += header.notes
    contents: dict[Label, tuple[Found, str]] = {}
    for n, hit in enumerate(found):
        stop = found[n + 1].start if n + 1 < len(found) else end
        contents[hit.label] = (hit, text[hit.end : stop])

    def raw(label: Label) -> str:
        return contents[label][1] if label in contents else ""

    data: dict[str, object] = {
        "year": year,
        "era": year_to_era(year),
        "number": header.number,
        "serial": header.serial,
        "title": one_line(raw(Field.TITLE)) or None,
        "category": header.category,
        "policy_field": header.policy_field,
        "theme": header.theme,
        "proponents": _names(raw(Field.PROPONENTS)),
        "ministries": _names(raw(Field.MINISTRIES)),
        "sheet_ministry": ministry,
        "sources": [
            {
                "stage": stage,
                "ministry": ministry,
                "title": _title_text(f"{start.group('title')} {ministry} {stage_match.group('stage')}"),
            }
        ],
    }
    sections: dict[SectionKey, str | None] = {}
    opinions: dict[Association, str | None] = {}
    for label, (hit, body) in contents.items():
        if not isinstance(label, SectionKey):
            continue
        if label is SectionKey.CO_PROBLEMS:
            names, rest = _co_proponents(body)
            data["co_proponents"] = names
            value = section_text(rest)
            sections[label] = None if value == "" and names else value
        elif label is SectionKey.OPINIONS:
            sections[label], opinions = _opinions(body)
        else:
            sections[label] = section_text(body, keep_lines=label is SectionKey.STATUTES)
        if label is SectionKey.DECISION:
            decision: dict[str, object] = {}
            try:
                date = decision_date(hit.heading)
            except BadDate as exc:
                date = None
                notes.append(str(exc))
            if date:
                decision["date"] = date
            if sections[label] is None and stage is Stage.FINAL:
                decision["outcome"] = Outcome.NOT_IN_DECISION
            if decision:
                data["decision"] = decision
    # A label printed with nothing under it has not been published yet.
    for key in [k for k, v in sections.items() if v == "" and not (k is SectionKey.OPINIONS and opinions)]:
        del sections[key]
    missing_required = [label for key, label in REQUIRED.items() if not data.get(key)]
    if missing_required:
        return None, [_problem(line, label, f"{label}が見つかりません") for label in missing_required]
    try:
        proposal = Proposal.model_validate({**data, "sections": sections, "opinions": opinions})
    except ValidationError as exc:
        return None, [
            _problem(line, field_label(".".join(str(p) for p in err["loc"])), _message(err)) for err in exc.errors()
        ]
    missing = [key.value for key in EXPECTED_SECTIONS[stage] if key not in sections]
    present = [key for key in EXPECTED_SECTIONS[stage] if key in sections]
    if missing and present:
        last = sections[present[-1]]
        if last and not re.search(r"[。．！？」）)]$", last):
            notes.append(f"「{present[-1].value}」は文の途中で終わっています（個票が途中で切れている可能性があります）")
    return Sheet(proposal, stage, line, missing, notes), problems


def _starts(text: str) -> list[re.Match[str]]:
    """Sheet headings; a heading must begin a line or follow a space (not sit inside a sentence)."""
    return [m for m in SHEET_TITLE.finditer(text) if m.start() == 0 or text[m.start() - 1] in " \t\u3000\n#"]


def read_sheets(text: str) -> ReadResult:
    """Every sheet in the text, split on the sheet heading; problems say what is missing, and where."""
    kept = drop_furniture(text)
    flat = kept.joined()
    where = _Positions(flat, kept.numbers)
    result = ReadResult()
    starts = _starts(flat)
    if not starts:
        result.problems.append(
            _problem(
                1,
                "個票の見出し",
                f"個票の見出し（例:「{SHEET_HEADING_EXAMPLE}」）が見つかりません。"
                "内閣府の個票のテキストか PDF を指定してください",
            )
        )
        return result
    for n, start in enumerate(starts):
        end = starts[n + 1].start() if n + 1 < len(starts) else len(flat)
        sheet, problems = _sheet(flat, start, end, where)
        result.problems += problems
        if sheet is not None:
            result.sheets.append(sheet)
    return result
