"""The year cell of the 提案募集方式データベース (「28年」「平成28年」「H28」「令和元年」「R6」) → western year.

The database writes years as the sheets do, in the Japanese era, often without its name: proposals
began in 平成26年 (2014), so a bare 26–31 is 平成 and a bare 1–25 is 令和 (令和元年 = 2019).
"""

from __future__ import annotations

import re
import unicodedata

from kb.core.vocab import ERAS, era_to_year, year_to_era

_LETTERS = {"H": "平成", "R": "令和"}
_BARE = re.compile(r"^(元|[0-9]{1,2})年?度?$")
_LETTER = re.compile(r"^([HR])\.?(元|[0-9]{1,2})年?度?$")
_WESTERN = re.compile(r"^([0-9]{4})年?度?$")
_FIRST_HEISEI = 26  # 平成26年 (2014): the first year of the proposal system
_LAST_HEISEI = 31


def _era_of_bare(n: int) -> str | None:
    if _FIRST_HEISEI <= n <= _LAST_HEISEI:
        return "平成"
    if 1 <= n < _FIRST_HEISEI:
        return "令和"
    return None


def era_and_year(value: object) -> tuple[str, int] | None:
    """(era label as the sheets print it, western year), or None when the cell is not a year.

    A cell that names its era keeps it (「平成31年」 stays 平成31年); a bare number gets the era
    the proposal system was in at the time. Numbers from the cell (28, 28.0, 2016) are accepted too.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if value != int(value):
            return None
        text = str(int(value))
    else:
        text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))).upper()
    if m := _WESTERN.match(text):
        year = int(m.group(1))
        return (year_to_era(year), year) if 2014 <= year <= 2100 else None
    era: str | None
    if m := _LETTER.match(text):
        era, n_text = _LETTERS[m.group(1)], m.group(2)
    elif m := _BARE.match(text):
        n_text = m.group(1)
        era = "令和" if n_text == "元" else _era_of_bare(int(n_text))
    else:
        era, n_text = _named_era(text)
    if era is None or n_text is None:
        return None
    label = f"{era}{n_text}年"
    western = era_to_year(label)
    if western is None or western < 2014:
        return None
    return label.replace("1年", "元年") if n_text == "1" and era == "令和" else label, western


def _named_era(text: str) -> tuple[str | None, str | None]:
    """`平成28年`, `令和元年度` → (era, number text)."""
    m = re.match(rf"^({'|'.join(ERAS)})(元|[0-9]{{1,2}})年?度?$", text)
    return (m.group(1), m.group(2)) if m else (None, None)
