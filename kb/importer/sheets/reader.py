"""Sheet text (one or many sheets, any of the known shapes) → `Proposal`s, with what is missing.

Pure functions: text in, models and problems out. Files, PDFs and merging live in
`kb.importer.merge` and `kb.importer.pdf`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

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
    H27_SUBHEAD,
    MINISTRY_GROUP,
    MINISTRY_STAGE,
    SHEET_TITLE,
    BadDate,
    Field,
    Found,
    Label,
    decision_date,
    find_labels,
    stage_of,
)
from kb.importer.sheets.pages import drop_furniture
from kb.importer.sheets.wide import CATEGORY, NUMBER, POLICY_FIELD, UNREADABLE, WideRow, read_wide

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


def split_h27_problems(raw: str) -> tuple[str, str | None] | None:
    """H27's combined field → (支障事例, 見直しによる効果 or None); None when it has no sub-heads.

    Text before the first sub-head belongs to the 支障事例; the sub-head marks themselves are dropped
    (they name the sections the text goes to).
    """
    marks = list(H27_SUBHEAD.finditer(raw))
    if not marks:
        return None
    problems: list[str] = [raw[: marks[0].start()]]
    effects: list[str] = []
    for n, m in enumerate(marks):
        body = raw[m.end() : marks[n + 1].start() if n + 1 < len(marks) else len(raw)]
        (effects if "効果" in m.group("name") else problems).append(body)
    return "\n\n".join(problems), "\n\n".join(effects) if effects else None


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


def _sections(
    bodies: dict[SectionKey, str], data: dict[str, Any]
) -> tuple[dict[SectionKey, str | None], dict[Association, str | None]]:
    """Each section's raw text as Markdown, the same for the vertical form and the wide table.

    The 追加共同提案団体 field also holds their names (into `data`), the associations' field each one's view.
    """
    sections: dict[SectionKey, str | None] = {}
    opinions: dict[Association, str | None] = {}
    for key, body in bodies.items():
        if key is SectionKey.CO_PROBLEMS:
            names, rest = _co_proponents(body)
            data["co_proponents"] = names
            value = section_text(rest)
            sections[key] = None if value == "" and names else value
        elif key is SectionKey.OPINIONS:
            sections[key], opinions = _opinions(body)
        else:
            sections[key] = section_text(body, keep_lines=key is SectionKey.STATUTES)
    return sections, opinions


def _decision(heading: str, text: str | None, stage: Stage, data: dict[str, Any], notes: list[str]) -> None:
    """The 閣議決定 date printed in the 対応方針 heading, and 対応方針に記載なし when a final sheet prints 「—」."""
    decision: dict[str, object] = {}
    try:
        date = decision_date(heading)
    except BadDate as exc:
        date = None
        notes.append(str(exc))
    if date:
        decision["date"] = date
    if text is None and stage is Stage.FINAL:
        decision["outcome"] = Outcome.NOT_IN_DECISION
    if decision:
        data["decision"] = decision


def _sheet(text: str, start: re.Match[str], end: int, where: _Positions) -> tuple[Sheet | None, list[Problem]]:
    line = where.line(start.start())
    notes: list[str] = []
    year = era_to_year(re.sub(r"\s", "", start.group("era")))
    if year is None:
        return None, [_problem(line, "年", f"年「{start.group('era')}」を西暦に直せません")]
    stage_match = MINISTRY_GROUP.match(text, start.end(), end) or MINISTRY_STAGE.match(text, start.end(), end)
    if not stage_match:
        return None, [
            _problem(line, "府省と段階", "見出しの次に「デジタル庁 最終的な調整結果」のような府省と段階がありません")
        ]
    # H27: 「国土交通省（内閣府と関係府省との間で調整を行う提案）」 is the 検討要請, i.e. the proposal as sent
    stage = stage_of(stage_match.group("stage")) if stage_match.group("stage") else Stage.PROPOSAL
    if stage is None:
        return None, [_problem(line, "段階", f"段階「{stage_match.group('stage')}」を読めません")]
    ministry = stage_match.group("ministry")
    stage_title = re.sub(r"\s+", " ", stage_match.group(0).strip(" \t\u3000\n#")) if stage_match.re is MINISTRY_GROUP else None
    skipped: list[Found] = []
    found = find_labels(text, stage_match.end(), end, skipped=skipped)
    if not found:
        return None, [
            _problem(line, "本文", "「提案事項(事項名)」「提案団体」「求める措置の具体的内容」などの項目が1つもありません")
        ]
    if skipped:
        hit = skipped[0]
        before = max((f for f in found if f.start < hit.start), key=lambda f: f.start, default=found[0])
        return None, [
            _problem(
                where.line(hit.start),
                "様式",
                f"{UNREADABLE}: 項目「{hit.label.value}」が「{before.label.value}」の後にあります（個票の項目の順序と違います。"
                "段組みの崩れた抜き出しか、知らない様式です）",
            )
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
                "title": _title_text(f"{start.group('title')} {stage_title or ministry + ' ' + stage_match.group('stage')}"),
            }
        ],
    }
    bodies = {label: body for label, (_hit, body) in contents.items() if isinstance(label, SectionKey)}
    sections, opinions = _sections(bodies, data)
    if SectionKey.DECISION in contents:
        _decision(contents[SectionKey.DECISION][0].heading, sections[SectionKey.DECISION], stage, data, notes)
    # split only when the sheet has no 効果 field of its own: then nothing is dropped or doubled
    combined = SectionKey.PROBLEMS in contents and SectionKey.EFFECTS not in contents and split_h27_problems(raw(SectionKey.PROBLEMS))
    if combined:
        problems_text, effects_text = combined
        sections[SectionKey.PROBLEMS] = section_text(problems_text)
        if effects_text is not None:
            sections[SectionKey.EFFECTS] = section_text(effects_text)
        sections = {key: sections[key] for key in SectionKey if key in sections}  # the official order
    # A label printed with nothing under it has not been published yet.
    for key in [k for k, v in sections.items() if v == "" and not (k is SectionKey.OPINIONS and opinions)]:
        del sections[key]
    # H27's form has no 地域住民… field: its combined field holds the 支障事例 and the 効果
    expected = [k for k in EXPECTED_SECTIONS[stage] if not (combined and k is SectionKey.RESIDENTS)]
    return _build(line, data, sections, opinions, stage, notes, expected)


def _build(
    line: int,
    data: dict[str, object],
    sections: dict[SectionKey, str | None],
    opinions: dict[Association, str | None],
    stage: Stage,
    notes: list[str],
    expected: list[SectionKey],
) -> tuple[Sheet | None, list[Problem]]:
    """The proposal from what was read, or why not; `expected` are the sections the layout prints."""
    problems: list[Problem] = []
    missing_required = [label for key, label in REQUIRED.items() if not data.get(key)]
    if missing_required:
        return None, [_problem(line, label, f"{label}が見つかりません") for label in missing_required]
    try:
        proposal = Proposal.model_validate({**data, "sections": sections, "opinions": opinions})
    except ValidationError as exc:
        return None, [
            _problem(line, field_label(".".join(str(p) for p in err["loc"])), _message(err)) for err in exc.errors()
        ]
    missing = [key.value for key in expected if key not in sections]
    present = [key for key in expected if key in sections]
    if missing and present:
        last = sections[present[-1]]
        if last and not re.search(r"[。．！？」）)]$", last):
            notes.append(f"「{present[-1].value}」は文の途中で終わっています（個票が途中で切れている可能性があります）")
    return Sheet(proposal, stage, line, missing, notes), problems


def _wide_sheet(row: WideRow) -> tuple[Sheet | None, list[Problem]]:
    """One row of the wide table → a sheet, read as the vertical form's fields are."""
    if row.year is None:
        return None, [
            _problem(row.line, "年", "表に年がありません（「平成29年の地方からの提案等に関する対応方針（…閣議決定）記載内容」の列の見出しなどから読みます）")
        ]
    cells = row.cells
    notes: list[str] = []
    number = re.sub(r"\s", "", cells.get(NUMBER, ""))
    data: dict[str, object] = {
        "year": row.year,
        "era": year_to_era(row.year),
        "number": number or None,
        "title": one_line(cells.get(Field.TITLE, "")) or None,
        "category": re.sub(r"\s+", " ", cells.get(CATEGORY, "")).strip() or None,
        "policy_field": re.sub(r"\s", "", cells.get(POLICY_FIELD, "")) or None,
        "proponents": _names(cells.get(Field.PROPONENTS, "")),
        "ministries": _names(cells.get(Field.MINISTRIES, "")),
        "sheet_ministry": row.ministry,
        "sources": [{"stage": row.stage, "ministry": row.ministry, "title": _title_text(f"{year_to_era(row.year)} {row.title_line}")}],
    }
    sections, opinions = _sections({c: body for c, body in cells.items() if isinstance(c, SectionKey)}, data)
    if SectionKey.DECISION in sections and row.decision_head:
        _decision(row.decision_head, sections[SectionKey.DECISION], row.stage, data, notes)
    for key in [k for k, v in sections.items() if v == "" and not (k is SectionKey.OPINIONS and opinions)]:
        del sections[key]
    # a table prints what its columns are: a row is never cut off, so nothing is expected beyond them
    return _build(row.line, data, sections, opinions, row.stage, notes, [])


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
    table = None if starts else read_wide(flat, kept.numbers)
    if table is not None:
        result.problems += [_problem(line, name, message) for line, name, message in table.problems]
        for row in table.rows:
            sheet, problems = _wide_sheet(row)
            result.problems += problems
            if sheet is not None:
                result.sheets.append(sheet)
        return result
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
