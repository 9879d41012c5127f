"""The printed labels of a sheet (個票) and how to find them in any shape of extracted text.

A label may stand on its own line (plain extraction, Markdown-ish conversion) or run
inline between values (text copied from a PDF viewer). Patterns here accept both full-
and half-width forms and stray spaces between characters; the text itself is never
changed, only matched.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from kb.core.vocab import (
    SECTION_ALIASES,
    SECTION_ORDER,
    SECTION_VARIANTS,
    STAGE_ALIASES,
    SectionKey,
    Stage,
    era_to_year,
    fold_label,
)

SPACE = r"[ \t\u3000]"
DIGIT = r"[0-9０-９]"


class Field(str, Enum):
    """Body labels that are not sections: they hold short front-matter values."""

    TITLE = "提案事項(事項名)"
    PROPONENTS = "提案団体"
    MINISTRIES = "制度の所管・関係府省"


Label = Field | SectionKey

# Official order of every body label; a sheet prints them in this order.
LABEL_ORDER: list[Label] = [Field.TITLE, Field.PROPONENTS, Field.MINISTRIES, *SECTION_ORDER]

# Printed forms seen on real sheets: the short fields' here, the sections' in kb/core/vocab.py.
LABEL_VARIANTS: dict[Label, list[str]] = {
    Field.TITLE: ["提案事項(事項名)", "提案事項（事項名）"],
    Field.PROPONENTS: ["提案団体"],
    Field.MINISTRIES: ["制度の所管・関係府省", "制度の所管･関係府省"],
    **{key: forms for key, forms in SECTION_VARIANTS.items()},  # re-keyed as Label: a dict's key type is invariant
}
# H27's vertical form prints one combined field for 支障事例 and 効果 (split by `split_h27_problems`).
H27_PROBLEMS_LABEL = "具体的な支障事例、地域の実情を踏まえた必要性等"
LABEL_VARIANTS[SectionKey.PROBLEMS] = [*LABEL_VARIANTS.get(SectionKey.PROBLEMS, []), H27_PROBLEMS_LABEL]


def _char_class(ch: str) -> str:
    """A regex for one label character that also accepts its full-/half-width twin."""
    if ch in "()":
        return r"[(（]" if ch == "(" else r"[)）]"
    if ch.isdigit():
        return DIGIT if ch in "0123456789" else re.escape(ch)
    if ch == "・":
        return "[・･]"
    if ch == "ケ":
        return "[ケヶ]"
    twin = chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else None
    return f"[{re.escape(ch)}{re.escape(twin)}]" if twin else re.escape(ch)


def loose(text: str) -> str:
    """Pattern for a printed label: any width, optional stray spaces between characters."""
    folded = unicodedata.normalize("NFKC", text)
    return f"{SPACE}*".join(_char_class(ch) for ch in folded if not ch.isspace())


# An era year has one or two digits (three allowed): a longer run is not a year, and int() refuses 4,300 digits.
_ERA_NUMBER = rf"(?:元|{DIGIT}(?:{SPACE}?{DIGIT}){{0,2}})"
_ERA = rf"(?:令和|平成){SPACE}*+{_ERA_NUMBER}{SPACE}*+年"
# 令和6年の地方からの提案等に関する対応方針（令和6年12月24日閣議決定）記載内容
DECISION_HEADING = (
    rf"{_ERA}{SPACE}*+(?:度{SPACE}*+)?の?{SPACE}*+地方からの提案等に関する対応方針{SPACE}*+[(（]"
    rf"(?P<decided>[^()（）\n]{{0,40}}?閣議決定){SPACE}*+[)）]{SPACE}*+記載内容"
)
_DATE = re.compile(
    rf"(?P<era>{_ERA}){SPACE}*"
    rf"(?P<month>{DIGIT}(?:{SPACE}?{DIGIT})?){SPACE}*月{SPACE}*(?P<day>{DIGIT}(?:{SPACE}?{DIGIT})?){SPACE}*日"
)

# The sheet header: 令和6年 地方分権改革に関する提案募集 提案事項 / デジタル庁 最終的な調整結果
SHEET_TITLE = re.compile(
    rf"(?P<title>(?P<era>{_ERA}){SPACE}*+(?:度{SPACE}*+)?{loose('地方分権改革に関する提案募集')}{SPACE}*+{loose('提案事項')})"
    rf"(?!{SPACE}*+[(（]{SPACE}*+事項名)"
)
STAGE_WORDS = rf"(?:最終的な調整結果|最終調整結果|第{SPACE}*[12１２一二]{SPACE}*次{SPACE}*回答|提案)"
MINISTRY_STAGE = re.compile(
    rf"\s*(?:#+{SPACE}*)?(?P<ministry>[^\s#]+?){SPACE}+(?P<stage>{STAGE_WORDS})(?=\s|$)"
)
# H27's sheets of the 検討要請 stage name the ministry and the 検討区分 instead of a stage:
# 「国土交通省（内閣府と関係府省との間で調整を行う提案）」 (a stage word may follow).
MINISTRY_GROUP = re.compile(
    rf"\s*(?:#+{SPACE}*)?(?P<ministry>[^\s#（(]+?){SPACE}*[（(](?P<group>[^）)\n]{{2,60}}?提案){SPACE}*[）)]"
    rf"(?:{SPACE}*(?P<stage>{STAGE_WORDS})(?=\s|$))?"
)
# The sub-heads inside H27's combined field: the first is the 支障事例, the second the 効果.
# No leading spaces in the pattern: a run of them would be tried from every position (quadratic).
H27_SUBHEAD = re.compile(
    rf"【(?P<name>{loose('制度改正の必要性・支障事例等')}|{loose('見直しによる効果')})】"
)

# A mark or label starts after whitespace, but inside a run of spaces only at its first or second
# character (the leading spaces are part of the match): trying every position of a long run is quadratic.
_AFTER_SPACE = r"(?:^|(?<=\s)(?<![ \t\u3000]{2}))"
ASSOCIATION_MARK = re.compile(rf"{_AFTER_SPACE}[ \t\u3000]*+#*+[ \t\u3000]*+【(?P<name>全国知事会|全国市長会|全国町村会)】")
NUMBER = rf"{DIGIT}+(?:{SPACE}{DIGIT}+)*"


@dataclass(frozen=True)
class Found:
    """A body label found in the text: which one and the span it covers."""

    label: Label
    start: int
    end: int
    heading: str  # the printed text, kept for messages and the decision date


def _label_regex() -> re.Pattern[str]:
    alternatives = [loose(text) for label in LABEL_ORDER for text in LABEL_VARIANTS.get(label, []) + [label.value]]
    alternatives += [loose(alias) for alias in SECTION_ALIASES]  # folded forms (kb/core/vocab.py)
    alternatives = list(dict.fromkeys(alternatives))
    alternatives.append(DECISION_HEADING)
    # longest first, so 「…第1次回答を踏まえた提案団体からの見解」 wins over 「…第1次回答」
    alternatives.sort(key=len, reverse=True)
    body = "|".join(f"(?:{pattern})" for pattern in alternatives)
    return re.compile(rf"{_AFTER_SPACE}{SPACE}*+#*+{SPACE}*+(?P<label>{body})(?={SPACE}*+(?:\n|$)|{SPACE})", re.M)


LABEL_RE = _label_regex()
_LOOKUP: dict[str, Label] = dict(SECTION_ALIASES)
for _label in LABEL_ORDER:
    for _text in LABEL_VARIANTS.get(_label, []) + [_label.value]:
        _LOOKUP[fold_label(_text)] = _label


def label_for(text: str) -> Label | None:
    """Which label a printed heading is (None if it is not one)."""
    folded = fold_label(text.lstrip("#"))
    if folded in _LOOKUP:
        return _LOOKUP[folded]
    if re.fullmatch(DECISION_HEADING, text.lstrip("# \t\u3000").strip()):
        return SectionKey.DECISION
    return None


def is_label_line(line: str) -> bool:
    """True when a whole line is a body label (used to stop joining wrapped PDF lines)."""
    return label_for(line.strip()) is not None or bool(SHEET_TITLE.fullmatch(line.strip().lstrip("# ")))


_REST_OF_LINE_BLANK = re.compile(r"[^\S\n]*+(?:\n|\Z)")
_LINE_INDENT = " \t\u3000#"


def _starts_line(text: str, pos: int) -> bool:
    """Only spaces and `#` between the line's start and `pos` (walked back: a line may be the whole text)."""
    i = pos
    while i > 0 and text[i - 1] in _LINE_INDENT:
        i -= 1
    return i == 0 or text[i - 1] == "\n"


def find_labels(text: str, start: int, end: int, *, skipped: list[Found] | None = None) -> list[Found]:
    """Body labels in text[start:end], in official order.

    When most labels stand on lines of their own (plain and Markdown-ish text), a label
    that does not fill its line is ordinary text (「なお、具体的な支障事例に…」). A label out
    of order is text too: the sheet prints them in order. A label that fills its line but
    comes after a later one goes to `skipped`: the layout is not the sheet's (a scrambled table).
    """
    hits: list[tuple[Found, bool]] = []
    for m in LABEL_RE.finditer(text, start, end):
        heading = m.group("label")
        label = label_for(heading)
        if label is None:
            continue
        # a whole line, or a whole table cell: the label, a tab, then its value (「提案団体\t宮城県、…」)
        whole = _starts_line(text, m.start("label")) and (
            bool(_REST_OF_LINE_BLANK.match(text, m.end())) or text[m.end() : m.end() + 1] == "\t"
        )
        hits.append((Found(label, m.start(), m.end(), heading), whole))
    line_mode = bool(hits) and sum(whole for _, whole in hits) * 2 >= len(hits)
    found: list[Found] = []
    last = -1
    for hit, whole in hits:
        if line_mode and not whole:
            continue
        order = LABEL_ORDER.index(hit.label)
        if order <= last:
            if skipped is not None and whole and order < last:
                skipped.append(hit)
            continue
        found.append(hit)
        last = order
    return found


class BadDate(ValueError):
    """The heading names a date that does not exist (令和6年13月45日); the message says so in Japanese."""


def decision_date(heading: str) -> dt.date | None:
    """The date of the cabinet decision named in the decision heading; None when it names none.

    BadDate when the printed date is impossible: the sheet is still read, without the date.
    """
    m = re.search(r"[(（](?P<inner>[^()（）]*閣議決定)[)）]", heading)
    inner = m.group("inner") if m else heading
    d = _DATE.search(inner)
    if not d:
        return None
    year = era_to_year(re.sub(r"\s", "", d.group("era")))
    if year is None:
        return None
    month = int(unicodedata.normalize("NFKC", re.sub(r"\s", "", d.group("month"))))
    day = int(unicodedata.normalize("NFKC", re.sub(r"\s", "", d.group("day"))))
    try:
        return dt.date(year, month, day)
    except (ValueError, OverflowError):
        raise BadDate(f"閣議決定日「{inner.strip()}」は日付として読めません（decision.date は書きませんでした）") from None


def stage_of(text: str) -> Stage | None:
    """The stage a printed stage word names (第１次回答 → 第1次回答)."""
    folded = fold_label(text).replace("一", "1").replace("二", "2")
    return STAGE_ALIASES.get(folded)
