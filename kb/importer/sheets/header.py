"""The header fields of a sheet: 整理番号, 管理番号, 重点募集テーマ, 提案区分, 提案分野.

The header is a table, and extraction scrambles it: values may follow their labels
(`整理番号 71`), be stacked after them (`整理番号 (管理番号) 70 70 )`), or run on one
line with everything else. So each field is found by the shape of its value, not by
its position.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from kb.importer.sheets.labels import DIGIT, NUMBER, SPACE, loose

_S = rf"{SPACE}*"
_SERIAL = re.compile(rf"整理{_S}番号{_S}(?P<n>{NUMBER})")
_NUMBER = re.compile(rf"管理{_S}番号{_S}(?P<n>{NUMBER})")
_STACKED = re.compile(rf"整理{_S}番号{_S}[(（]?{_S}管理{_S}番号{_S}[)）]?{_S}(?P<nums>{NUMBER})")
_THEME = re.compile(
    rf"重点{_S}募集{_S}テーマ{_S}[「『](?P<theme>[^」』]{{1,60}})[」』]{_S}の?{_S}該当{_S}(?P<mark>[○〇◯✓✔])?"
)
_CATEGORY_NAMES = "|".join(loose(name) for name in ("権限移譲", "地方に対する規制緩和", "義務付け・枠付けの見直し等"))
_CATEGORY = re.compile(rf"(?<![A-Za-zＡ-Ｚａ-ｚ])(?P<cat>(?:[ABＡＢ]{_S})?(?:{_CATEGORY_NAMES}))")
_FIELD_CODE = re.compile(rf"(?P<pf>{DIGIT}(?:{SPACE}?{DIGIT})?{_S}[_＿]{_S}[^\s]+)")
_FIELD_LABEL = re.compile(rf"提案{_S}分野{_S}(?P<rest>.*)$")
_LABEL_WORDS = re.compile(rf"提案{_S}区分|提案{_S}分野|重点{_S}募集{_S}テーマ")


# 管理番号 names the file (`<year>/<4 digits>.md`); 整理番号 is the same kind of number.
NUMBER_DIGITS = 4


@dataclass
class Header:
    number: int | None = None
    serial: int | None = None
    theme: str | None = None
    category: str | None = None
    policy_field: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the sheet cannot be read


def _digits(text: str) -> str:
    return unicodedata.normalize("NFKC", re.sub(r"\s", "", text)).lstrip("0") or "0"


def _number(header: Header, text: str, label: str) -> int | None:
    """A 管理番号 or 整理番号 as printed (any width, stray spaces); None, and why, past 4 digits.

    Checked before int(): Python refuses to convert more than 4,300 digits, and a longer
    管理番号 would name a file the system refuses.
    """
    digits = _digits(text)
    if len(digits) <= NUMBER_DIGITS:
        return int(digits)
    shown = digits if len(digits) <= 12 else f"{digits[:12]}…（{len(digits)}桁）"
    message = f"{label}「{shown}」は{NUMBER_DIGITS}桁までです"
    if label == "管理番号":
        header.problems.append(message)
    else:
        header.notes.append(f"{message}（{label}は書きませんでした）")
    return None


def flatten(region: str) -> str:
    """One line: table rules, Markdown marks and line breaks become single spaces."""
    region = re.sub(r"(?m)^#+", " ", region)
    region = re.sub(r"[-－ー|｜]{3,}", " ", region)
    return re.sub(r"\s+", " ", region).strip()


def read_header(region: str) -> Header:
    """Header fields from the text between the ministry/stage line and the first body label."""
    flat = flatten(region)
    header = Header()
    serial, number = _SERIAL.search(flat), _NUMBER.search(flat)
    if serial:
        header.serial = _number(header, serial.group("n"), "整理番号")
    if number:
        header.number = _number(header, number.group("n"), "管理番号")
    stacked = _STACKED.search(flat)
    if stacked and not (serial and number):
        header.problems.clear()
        header.notes.clear()
        groups = stacked.group("nums").split()
        digits = "".join(groups)
        if len(groups) == 2:
            header.serial, header.number = _number(header, groups[0], "整理番号"), _number(header, groups[1], "管理番号")
        elif len(digits) % 2 == 0 and digits[: len(digits) // 2] == digits[len(digits) // 2 :]:
            header.serial = header.number = _number(header, digits[: len(digits) // 2], "管理番号")
        else:
            header.number = _number(header, digits, "管理番号")
            header.notes.append(f"整理番号と管理番号の区切りが読み取れません（「{stacked.group('nums')}」）。管理番号とみなしました")
    theme = _THEME.search(flat)
    if theme and theme.group("mark"):
        header.theme = re.sub(r"\s", "", theme.group("theme"))
    category = _CATEGORY.search(flat)
    if category:
        header.category = category.group("cat")  # any spacing: the model folds it to 「B 地方に対する規制緩和」
    code = _FIELD_CODE.search(flat)
    if code:
        header.policy_field = re.sub(r"\s", "", code.group("pf"))
    else:
        after = _FIELD_LABEL.search(flat)
        if after:
            rest = after.group("rest")
            if category:
                rest = rest.replace(category.group("cat"), " ")
            rest = _LABEL_WORDS.sub(" ", rest).strip()
            header.policy_field = re.sub(r"\s", "", rest) or None
    return header
