"""Closed vocabularies of 提案募集方式 and the variant spellings real sheets use.

Every table here is data: an editor who meets a new spelling adds it to an alias
table, and the parser, importer and checker all pick it up.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


def fold_label(text: str) -> str:
    """Key for comparing labels: NFKC, no spaces, no brackets/【】, ヶ→ケ.

    Only used to *look up* a label; the text stored is never changed by it.
    """
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("ヶ", "ケ").replace("ヵ", "カ")
    return re.sub(r"[\s【】「」\[\]]", "", text)


class Category(StrEnum):
    """提案区分."""

    A = "A"
    B = "B"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.A: "A 権限移譲",
    Category.B: "B 地方に対する規制緩和",
}
CATEGORY_ALIASES: dict[str, Category] = {
    "A": Category.A,
    "A権限移譲": Category.A,
    "権限移譲": Category.A,
    "B": Category.B,
    "B地方に対する規制緩和": Category.B,
    "地方に対する規制緩和": Category.B,
    "規制緩和": Category.B,
    "B義務付け・枠付けの見直し等": Category.B,
    "義務付け・枠付けの見直し等": Category.B,
}


class Outcome(StrEnum):
    """Outcome class of the 対応方針 (閣議決定)."""

    ADOPTED = "提案の趣旨を踏まえ対応"
    POSSIBLE_NOW = "現行規定により対応可能"
    NOT_REALISED = "実現できなかったもの"
    NOT_IN_DECISION = "対応方針に記載なし"
    UNDECIDED = "未決定"


OUTCOME_ALIASES: dict[str, Outcome] = {
    **{fold_label(o.value): o for o in Outcome},
    "現行規定で対応可能": Outcome.POSSIBLE_NOW,
    "趣旨を踏まえ対応": Outcome.ADOPTED,
    "実現できなかった": Outcome.NOT_REALISED,
}


class Association(StrEnum):
    """地方六団体のうち意見を述べる三団体."""

    GOVERNORS = "全国知事会"
    MAYORS = "全国市長会"
    TOWNS = "全国町村会"


ASSOCIATION_ALIASES: dict[str, Association] = {fold_label(a.value): a for a in Association}


class Stage(StrEnum):
    """Publication stage of a sheet."""

    PROPOSAL = "提案"
    FIRST_ANSWER = "第1次回答"
    SECOND_ANSWER = "第2次回答"
    FINAL = "最終的な調整結果"


STAGE_ALIASES: dict[str, Stage] = {
    **{fold_label(s.value): s for s in Stage},
    "第一次回答": Stage.FIRST_ANSWER,
    "1次回答": Stage.FIRST_ANSWER,
    "第二次回答": Stage.SECOND_ANSWER,
    "2次回答": Stage.SECOND_ANSWER,
    "最終調整結果": Stage.FINAL,
    "提案事項": Stage.PROPOSAL,
}
STAGE_ORDER: list[Stage] = list(Stage)


class SectionKey(StrEnum):
    """The long text fields of a sheet, in official order (values are canonical headings)."""

    MEASURES = "求める措置の具体的内容"
    PROBLEMS = "具体的な支障事例"
    RESIDENTS = "地域住民や事業者等の具体的な意見・要望、支障事例等"
    EFFECTS = "制度改正による効果"
    STATUTES = "根拠法令等"
    CO_PROBLEMS = "追加共同提案団体から示された支障事例"
    FIRST_ANSWER = "各府省からの第1次回答"
    PROPONENT_VIEW = "各府省からの第1次回答を踏まえた提案団体からの見解"
    CO_PROPONENT_VIEW = "各府省からの第1次回答を踏まえた追加共同提案団体からの見解"
    OPINIONS = "全国知事会・全国市長会・全国町村会からの意見"
    REVIEW_POINTS = "提案募集検討専門部会からの主な再検討の視点"
    SECOND_ANSWER = "各府省からの第2次回答"
    DECISION = "対応方針（閣議決定）記載内容"

    @property
    def order(self) -> int:
        return SECTION_ORDER.index(self)

    @property
    def column(self) -> str:
        """ASCII column name used in the database."""
        return SECTION_COLUMNS[self]


SECTION_ORDER: list[SectionKey] = list(SectionKey)

SECTION_COLUMNS: dict[SectionKey, str] = {
    SectionKey.MEASURES: "measures",
    SectionKey.PROBLEMS: "problems",
    SectionKey.RESIDENTS: "residents_views",
    SectionKey.EFFECTS: "effects",
    SectionKey.STATUTES: "legal_basis",
    SectionKey.CO_PROBLEMS: "co_proponent_problems",
    SectionKey.FIRST_ANSWER: "first_answer",
    SectionKey.PROPONENT_VIEW: "proponent_view",
    SectionKey.CO_PROPONENT_VIEW: "co_proponent_view",
    SectionKey.OPINIONS: "association_opinions",
    SectionKey.REVIEW_POINTS: "review_points",
    SectionKey.SECOND_ANSWER: "second_answer",
    SectionKey.DECISION: "decision_text",
}

# Printed forms of section headings seen on real sheets besides the canonical one (parenthetical
# tails included as printed). The parser and the sheet importer (`kb.importer.sheets.labels`) both
# read this table: an editor who meets a new spelling adds it here.
SECTION_VARIANTS: dict[SectionKey, list[str]] = {
    SectionKey.EFFECTS: [
        "制度改正による効果(提案の実現による住民の利便性の向上・行政の効率化等)",
        "制度改革による効果(提案の実現による住民の利便性の向上・行政の効率化等)",
        "制度改革による効果",
    ],
    SectionKey.CO_PROBLEMS: [
        "追加共同提案団体及び当該団体等から示された支障事例(主なもの)",
        "追加共同提案団体及び当該団体等から示された支障事例",
    ],
    SectionKey.REVIEW_POINTS: [
        "提案募集検討専門部会からの主な再検討の視点(重点事項)",
        "提案募集検討専門部会における主な再検討の視点",
    ],
    SectionKey.OPINIONS: ["全国知事会・全国市長会・全国町村会の意見"],
    SectionKey.DECISION: ["対応方針(閣議決定)記載内容", "対応方針記載内容"],
}
# Folded heading (`fold_label`) → section; lookups also try the heading without a trailing parenthetical.
SECTION_ALIASES: dict[str, SectionKey] = {
    **{fold_label(k.value): k for k in SectionKey},
    **{fold_label(v): k for k, variants in SECTION_VARIANTS.items() for v in variants},
}

_PAREN_TAIL = re.compile(r"\([^()]*\)$")
# 令和6年の地方からの提案等に関する対応方針(令和6年12月24日閣議決定)記載内容
_DECISION_HEADING = re.compile(r"^.*対応方針\((.*閣議決定)\)記載内容$")

# Marks that mean "published, but nothing to say" (a section printed as —).
EMPTY_MARKS = frozenset({"—", "―", "－", "-", "‐", "–", "ー", "なし"})
EMPTY_MARK = "—"


def section_for_heading(heading: str) -> SectionKey | None:
    """The section a (possibly variant) heading names, or None."""
    folded = fold_label(heading)
    if folded in SECTION_ALIASES:
        return SECTION_ALIASES[folded]
    if _DECISION_HEADING.match(folded):
        return SectionKey.DECISION
    without_tail = _PAREN_TAIL.sub("", folded)
    if without_tail != folded:
        return SECTION_ALIASES.get(without_tail)
    return None


def lookup(table: dict[str, object], value: str) -> object | None:
    """Find `value` in an alias table keyed by folded labels."""
    return table.get(fold_label(value))


def is_empty_mark(text: str) -> bool:
    return text.strip() in EMPTY_MARKS


# Japanese era → first Gregorian year minus one (令和元年 = 2019).
ERAS: dict[str, int] = {"明治": 1867, "大正": 1911, "昭和": 1925, "平成": 1988, "令和": 2018}
_ERA_YEAR = re.compile(r"^(明治|大正|昭和|平成|令和)(元|[0-9]{1,3})年?$")  # ASCII digits after NFKC; no era lasts 1,000 years


def era_to_year(label: str) -> int | None:
    """令和6年 → 2024, 平成26年 → 2014, 令和元年 → 2019."""
    m = _ERA_YEAR.match(unicodedata.normalize("NFKC", label).strip())
    if not m:
        return None
    n = 1 if m.group(2) == "元" else int(m.group(2))
    return ERAS[m.group(1)] + n


def year_to_era(year: int) -> str:
    """2024 → 令和6年; the era that began most recently on or before that year (2019 → 令和元年)."""
    for era, base in sorted(ERAS.items(), key=lambda kv: -kv[1]):
        if year > base:
            n = year - base
            return f"{era}{'元' if n == 1 else n}年"
    raise ValueError(f"year out of range: {year}")


# Front-matter keys are English (for machines); every message to an editor adds the Japanese label.
FIELD_LABELS: dict[str, str] = {
    "year": "年",
    "era": "和暦",
    "number": "管理番号",
    "serial": "整理番号",
    "title": "提案事項",
    "category": "提案区分",
    "policy_field": "提案分野",
    "theme": "重点募集テーマ",
    "proponents": "提案団体",
    "co_proponents": "追加共同提案団体",
    "ministries": "制度の所管・関係府省",
    "sheet_ministry": "回答府省",
    "decision": "対応方針",
    "date": "閣議決定日",
    "outcome": "対応結果",
    "sources": "出典",
    "stage": "段階",
    "ministry": "府省",
    "url": "URL",
}


def field_label(path: str) -> str:
    """`decision.date` → `decision.date（閣議決定日）`: English key for machines, Japanese for people."""
    last = [p for p in path.split(".") if not p.isdigit()]
    label = FIELD_LABELS.get(last[-1]) if last else None
    return f"{path}（{label}）" if label else path


# Published by this stage once the section is present (used when a file lists no sources).
STAGE_OF_SECTION: dict[SectionKey, Stage] = {
    SectionKey.FIRST_ANSWER: Stage.FIRST_ANSWER,
    SectionKey.SECOND_ANSWER: Stage.SECOND_ANSWER,
    SectionKey.DECISION: Stage.FINAL,
}
# Sections a proposal of each stage must have (`kb check`): those every year's sheets print. The others
# (地域住民の意見, 追加共同提案団体の欄, 意見, 再検討の視点) depend on the year and on the proposal.
_PROPOSAL_REQUIRED = [SectionKey.MEASURES, SectionKey.PROBLEMS, SectionKey.EFFECTS, SectionKey.STATUTES]
REQUIRED_SECTIONS: dict[Stage, list[SectionKey]] = {
    Stage.PROPOSAL: _PROPOSAL_REQUIRED,
    Stage.FIRST_ANSWER: [*_PROPOSAL_REQUIRED, SectionKey.FIRST_ANSWER],
    Stage.SECOND_ANSWER: [*_PROPOSAL_REQUIRED, SectionKey.FIRST_ANSWER, SectionKey.PROPONENT_VIEW, SectionKey.SECOND_ANSWER],
    Stage.FINAL: [
        *_PROPOSAL_REQUIRED, SectionKey.FIRST_ANSWER, SectionKey.PROPONENT_VIEW, SectionKey.SECOND_ANSWER, SectionKey.DECISION,
    ],
}
