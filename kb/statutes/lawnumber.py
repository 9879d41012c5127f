"""法令番号 (平成25年法律第27号): parsing from any numeral style, and the instrument class it names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.statutes.clean import clean

ERA_CODES: dict[str, int] = {"明治": 1, "大正": 2, "昭和": 3, "平成": 4, "令和": 5}
# Matches the *clean* text (Arabic digits, no spaces). The issuer of a 府省令 or 規則 is any
# run of kanji/katakana/・ (厚生省令, 内閣府・総務省令, 国家公安委員会規則).
LAW_NUMBER_PATTERN = (
    r"(?P<era>明治|大正|昭和|平成|令和)(?P<year>\d{1,2})年(?:\d{1,2}月\d{1,2}日)?"
    r"(?P<type>法律|政令|勅令|閣令|太政官布告|太政官達|[\u4e00-\u9fff\u30a1-\u30fa\u30fc・]{1,24}?(?:省令|府令|庁令|規則|告示|訓令))"
    r"第(?P<number>\d{1,4})号"
)
LAW_NUMBER_RE = re.compile(LAW_NUMBER_PATTERN)


@dataclass(frozen=True, order=True, slots=True)
class LawNumber:
    era: str
    year: int
    type: str
    number: int

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:  # (`type` is a field here)
        """Pickled as a call of the class, as `Statute` (kb/statutes/registry.py) is."""
        return (LawNumber, (self.era, self.year, self.type, self.number))

    @property
    def label(self) -> str:
        """Canonical form with Arabic digits (as proposals write it): 平成25年法律第27号."""
        year = "元" if self.year == 1 else str(self.year)
        return f"{self.era}{year}年{self.type}第{self.number}号"

    @property
    def kind(self) -> str:
        """Instrument class the number names: 法律, 政令, 勅令, 府省令 (閣令 too), 規則 (庁令 too), 告示, 訓令, 太政官布告/達."""
        if self.type in ("法律", "政令", "勅令", "太政官布告", "太政官達"):
            return self.type
        if self.type.endswith(("省令", "府令", "閣令")):
            return "府省令"
        if self.type.endswith("庁令"):
            return "規則"
        for suffix in ("規則", "告示", "訓令"):
            if self.type.endswith(suffix):
                return suffix
        raise ValueError(self.type)

    @property
    def era_code(self) -> int:
        return ERA_CODES[self.era]


def from_match(m: re.Match[str]) -> LawNumber:
    return LawNumber(m.group("era"), int(m.group("year")), m.group("type"), int(m.group("number")))


def parse_law_number(text: str) -> LawNumber | None:
    """A whole string as a law number, in Arabic, kanji or full-width numerals; None if it is not one."""
    m = LAW_NUMBER_RE.fullmatch(clean(text).text)
    return from_match(m) if m else None
