"""Checks of one proposal file against itself: what the parser cannot see field by field.

Each rule takes the parsed files and returns problems at the line of the field concerned
(`ProposalFile.lines`), with the allowed values or range in the message. They run in
`kb check` and `kb build` (`kb.pipeline.CHECKS`), also on files that parsed with problems.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence

from kb.core.models import Proposal, ProposalFile, is_database_source, latest_stage, sheet_stage
from kb.core.problems import Problem
from kb.core.vocab import REQUIRED_SECTIONS, SECTION_ORDER, era_to_year, field_label, year_to_era


def era_matches_year(files: Sequence[ProposalFile]) -> list[Problem]:
    """`era: 令和7年` beside `year: 2024` — one of them is wrong."""
    problems = []
    for f in files:
        p = f.proposal
        year = era_to_year(p.era)
        if year is None:
            message = f"和暦は「令和6年」「平成26年」の形で書いてください（「{p.era}」。{p.year} 年なら「{year_to_era(p.year)}」）"
        elif year != p.year:
            message = f"和暦「{p.era}」は {year} 年です。年「{p.year}」なら「{year_to_era(p.year)}」です。どちらかを直してください"
        else:
            continue
        problems.append(Problem(f.where, f.line("era"), field_label("era"), message))
    return problems


def required_sections(files: Sequence[ProposalFile]) -> list[Problem]:
    """Sections every sheet of the file's stage prints; one that is missing was forgotten or lost.

    A file filled in part from the xlsx database is held only to the sheets it has seen: the
    database's columns are not a stage's sheet, and 「—」 for unseen sections would be invented.
    """
    problems = []
    for f in files:
        if any(is_database_source(s) for s in f.proposal.sources):
            seen = sheet_stage(f.proposal)
            if seen is None:
                continue
            stage = seen
        else:
            stage = latest_stage(f.proposal)
        present = f.proposal.sections
        for key in REQUIRED_SECTIONS[stage]:
            if key in present or f"misspelled.{key.column}" in f.lines:  # reported as an unknown heading
                continue
            later = [k for k in SECTION_ORDER[SECTION_ORDER.index(key) + 1 :] if k in present]
            line = f.line(f"sections.{later[0].column}") if later else max(f.lines.values(), default=1)
            message = (
                f"「## {key.value}」の節がありません。段階「{stage.value}」の提案には必要です"
                "（公表された内容がないときは「—」と書きます）"
            )
            problems.append(Problem(f.where, line, key.value, message))
    return problems


def sheet_ministry_listed(files: Sequence[ProposalFile]) -> list[Problem]:
    """The ministry that answered the sheet is one of the proposal's ministries."""
    problems = []
    for f in files:
        p = f.proposal
        if p.sheet_ministry and p.sheet_ministry not in p.ministries:
            message = (
                f"回答府省「{p.sheet_ministry}」が制度の所管・関係府省（{'、'.join(p.ministries)}）にありません。"
                "ministries に足すか、sheet_ministry を直してください"
            )
            problems.append(Problem(f.where, f.line("sheet_ministry"), field_label("sheet_ministry"), message))
    return problems


def decision_window(year: int) -> tuple[dt.date, dt.date]:
    """When the 対応方針 of a year's proposals can be decided: that year's summer to the next year's end.

    Decided in late December as a rule; H26 (2014) was decided on 2015-01-30.
    """
    return dt.date(year, 6, 1), dt.date(year + 1, 12, 31)


def decision_date_in_range(files: Sequence[ProposalFile]) -> list[Problem]:
    """A 閣議決定日 outside its year's window is a typo (2042 for 2024, 平成 for 令和)."""
    problems = []
    for f in files:
        p = f.proposal
        if p.decision is None or p.decision.date is None:
            continue
        first, last = decision_window(p.year)
        if not first <= p.decision.date <= last:
            message = f"{p.year} 年の提案の閣議決定日は {first} 〜 {last} の範囲です（「{p.decision.date}」）"
            problems.append(Problem(f.where, f.line("decision.date"), field_label("decision.date"), message))
    return problems


_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]")


def _text_fields(p: Proposal) -> list[tuple[str, str]]:
    """(front-matter path, value) of every text an editor types in the front matter."""
    fields = [("title", p.title), ("era", p.era), ("policy_field", p.policy_field), ("theme", p.theme)]
    fields += [("sheet_ministry", p.sheet_ministry)]
    for key in ("proponents", "co_proponents", "ministries"):
        fields += [(f"{key}.{i}", name) for i, name in enumerate(getattr(p, key))]
    for i, s in enumerate(p.sources):
        fields += [(f"sources.{i}.title", s.title), (f"sources.{i}.ministry", s.ministry)]
    return [(path, value) for path, value in fields if value]


def no_halfwidth_kana(files: Sequence[ProposalFile]) -> list[Problem]:
    """ﾃﾞｼﾞﾀﾙ庁 would become a name of its own in the database: names are stored as written."""
    problems = []
    for f in files:
        for path, value in _text_fields(f.proposal):
            if _HALFWIDTH_KANA.search(value):
                fixed = unicodedata.normalize("NFKC", value)
                message = f"半角カナが使われています: 「{value}」→「{fixed}」と全角で書いてください"
                problems.append(Problem(f.where, f.line(path), field_label(path), message))
    return problems


RULES = (era_matches_year, required_sections, sheet_ministry_listed, decision_date_in_range, no_halfwidth_kana)
