"""Matching copy of a text: shared search normalisation, no spaces, kanji numerals as digits.

Quotes and positions always refer to the original text; `CleanText` carries, for every
character of the matching copy, the span of the original text it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..textnorm import normalize_with_offsets

KANJI_DIGITS: dict[str, int] = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
KANJI_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
KANJI_NUMERAL = "〇零一二三四五六七八九十百千"
ERA_NAMES = ("明治", "大正", "昭和", "平成", "令和")
# Spaces are dropped (PDF text often reads 第 9 条); line breaks stay, they separate list entries.
_DROPPED = frozenset(" \t\u3000\u00a0")
_NUMERAL_RUN = re.compile(f"[{KANJI_NUMERAL}]+|元(?=年)")
# A kanji numeral is a number when it follows 第 or an era name, or continues a branch number
# (第二百五十二条の十七の二, 別表第二の三の項); elsewhere 一 and 十 are ordinary words (一つ, 十分).
_NUMBER_BEFORE = re.compile(r"(?:第|明治|大正|昭和|平成|令和)$|(?:[0-9条項号])の$")


@dataclass(frozen=True)
class CleanText:
    """The matching copy and, per character, the [start, end) of the original it stands for."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) for the clean [start, end)."""
        if start >= end:
            at = self.starts[start] if start < len(self.starts) else len(self.original)
            return at, at
        return self.starts[start], self.ends[end - 1]

    def quote(self, start: int, end: int) -> str:
        s, e = self.span(start, end)
        return self.original[s:e]


def kanji_to_int(numeral: str) -> int:
    """二十七 → 27, 二百五十二 → 252, 千九十 → 1090, 二〇一九 → 2019 (digit by digit), 元 → 1."""
    if numeral == "元":
        return 1
    if not any(ch in KANJI_UNITS for ch in numeral):
        return int("".join(str(KANJI_DIGITS[ch]) for ch in numeral))
    total, digit = 0, None
    for ch in numeral:
        if ch in KANJI_UNITS:
            total += (1 if digit is None else digit) * KANJI_UNITS[ch]
            digit = None
        else:
            digit = KANJI_DIGITS[ch]
    return total + (digit or 0)


def int_to_kanji(number: int) -> str:
    """27 → 二十七, 2 → 二: the way 別表第二 and e-Gov's law numbers are printed."""
    if number == 0:
        return "〇"
    digits = "〇一二三四五六七八九"
    out = ""
    for value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        q, number = divmod(number, value)
        if q:
            out += ("" if q == 1 else digits[q]) + unit
    return out + (digits[number] if number else "")


def _stage(text: str, starts: list[int], ends: list[int], keep: list[tuple[str, int, int]]) -> tuple[str, list[int], list[int]]:
    """Rebuild text and maps from (piece, first source char, last source char + 1) triples."""
    out, s_out, e_out = [], [], []
    for piece, first, last in keep:
        out.append(piece)
        s_out.extend([starts[first]] * len(piece))
        e_out.extend([ends[last - 1]] * len(piece))
    return "".join(out), s_out, e_out


def clean(original: str) -> CleanText:
    """NFKC etc. (kb.textnorm), spaces removed, kanji numerals in number positions → Arabic digits."""
    norm, offsets = normalize_with_offsets(original)
    # End of each normalised char: start of the next original cluster.
    ends: list[int] = []
    for k in range(len(norm)):
        j = k + 1
        while j < len(norm) and offsets[j] == offsets[k]:
            j += 1
        ends.append(offsets[j] if j < len(norm) else len(original))
    keep = [(ch, k, k + 1) for k, ch in enumerate(norm) if ch not in _DROPPED]
    text, starts, ends2 = _stage(norm, offsets, ends, keep)

    pieces: list[tuple[str, int, int]] = []
    pos = 0
    tail = ""  # the last few characters already emitted, for the context test
    for m in _NUMERAL_RUN.finditer(text):
        before = (tail + text[pos : m.start()])[-3:]
        if _NUMBER_BEFORE.search(before) or (m.group() == "元" and before.endswith(ERA_NAMES)):
            pieces.extend((ch, k, k + 1) for k, ch in enumerate(text[pos : m.start()], start=pos))
            digits = str(kanji_to_int(m.group()))
            pieces.append((digits, m.start(), m.end()))
            tail = (before + digits)[-3:]
            pos = m.end()
    pieces.extend((ch, k, k + 1) for k, ch in enumerate(text[pos:], start=pos))
    final, s_final, e_final = _stage(text, starts, ends2, pieces)
    return CleanText(original, final, tuple(s_final), tuple(e_final))
