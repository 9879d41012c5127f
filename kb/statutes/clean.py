"""Matching copy of a text: shared search normalisation, no spaces, kanji numerals as digits.

Quotes and positions always refer to the original text; `CleanText` carries, for every
character of the matching copy, the span of the original text it came from.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain
from typing import overload

from kb.search.textnorm import normalize_mapped

KANJI_DIGITS: dict[str, int] = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
KANJI_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
KANJI_NUMERAL = "〇零一二三四五六七八九十百千"
ERA_NAMES = ("明治", "大正", "昭和", "平成", "令和")
# Characters a Japanese statute name is made of (kanji, katakana).
NAME_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヶヵ\u30a1-\u30faー"
# Spaces are dropped (PDF text often reads 第 9 条); line breaks stay: they separate table cells,
# headings and list entries (the seeds have 「…の制限\n番号法第19条」). Breaks made by the page width
# are joined by `kb import` before text reaches a proposal file.
# A break between the levels of one pinpoint (第44条\n第1項) is a wrap too and is dropped.
# Each pattern starts with a set of the characters it can start with, so that the regex engine skips
# ahead to them in C instead of trying every branch at every position (twice as fast on long texts).
_DROPPED_RE = re.compile("(?=[ \t\u3000\u00a0\r\n])(?:[ \t\u3000\u00a0]+|(?<=[条項号])\r?\n(?=[ \t\u3000\u00a0]*第))")
# A run of kanji numerals, or 元 before 年 (元年).
_NUMERAL_RUN = re.compile(f"[{KANJI_NUMERAL}元](?:(?<=元)(?=年)|(?<!元)[{KANJI_NUMERAL}]*)")
# A kanji numeral is a number when it follows 第 or an era name, or continues a branch number
# (第二百五十二条の十七の二, 別表第二の三の項); elsewhere 一 and 十 are ordinary words (一つ, 十分).
_NUMBER_BEFORE = re.compile(r"(?:第|明治|大正|昭和|平成|令和)$|(?:[0-9条項号]|別表)の$")  # 別表の四十三の項


@dataclass(frozen=True)
class CleanText:
    """The matching copy and, per character, the [start, end) of the original it stands for."""

    original: str
    text: str
    starts: Sequence[int]  # a range when nothing moved, else `Spans`
    ends: Sequence[int]

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
    """27 → 二十七, 2 → 二: the way 別表第二 and e-Gov's law numbers are printed.

    From 10,000 on (no table or article is numbered so high; a garbled sheet may say so) the
    number stays in Arabic digits.
    """
    if number == 0:
        return "〇"
    if number >= 10_000:
        return str(number)
    digits = "〇一二三四五六七八九"
    out = ""
    for value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        q, number = divmod(number, value)
        if q:
            out += ("" if q == 1 else digits[q]) + unit
    return out + (digits[number] if number else "")


class Spans(Sequence[int]):
    """A sequence of offsets kept as pieces (ranges, lists): slicing and joining cost per piece, not per item.

    The matching copy maps nearly every character one to one, so its offsets are a few ranges with
    cuts where spaces were dropped or numerals converted; an item is read only for a citation's quote.
    """

    __slots__ = ("firsts", "pieces", "size")

    def __init__(self, pieces: Iterable[Sequence[int]]):
        self.pieces = [p for p in pieces if len(p)]
        self.firsts = list(accumulate((len(p) for p in self.pieces[:-1]), initial=0))
        self.size = sum(map(len, self.pieces))

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        return chain.from_iterable(self.pieces)

    @overload
    def __getitem__(self, i: int) -> int: ...

    @overload
    def __getitem__(self, i: slice) -> Spans: ...

    def __getitem__(self, i: int | slice) -> int | Spans:
        if isinstance(i, slice):
            lo, hi, step = i.indices(self.size)
            if step != 1:
                raise ValueError("Spans slices have step 1")
            return Spans(self._between(lo, hi))
        if i < 0:
            i += self.size
        if not 0 <= i < self.size:
            raise IndexError(i)
        k = bisect.bisect_right(self.firsts, i) - 1
        return self.pieces[k][i - self.firsts[k]]

    def _between(self, lo: int, hi: int) -> Iterator[Sequence[int]]:
        k = bisect.bisect_right(self.firsts, lo) - 1
        while lo < hi and k < len(self.pieces):
            first = self.firsts[k]
            yield self.pieces[k][lo - first : hi - first]
            k += 1
            lo = first + len(self.pieces[k - 1])


def _ends(starts: Sequence[int], size: int) -> list[int]:
    """End of each normalised character: the start of the next original cluster (`size` for the last)."""
    ends = [size] * len(starts)
    for k in range(len(starts) - 2, -1, -1):
        ends[k] = starts[k + 1] if starts[k + 1] != starts[k] else ends[k + 1]
    return ends


def clean(original: str) -> CleanText:
    """NFKC etc. (kb.search.textnorm), spaces removed, kanji numerals in number positions → Arabic digits.

    No step works a character at a time in Python: the usual text maps one character to one
    (`normalize_mapped` says so), its offsets are ranges, and cuts only slice them (`Spans`).
    """
    norm, offsets = normalize_mapped(original)
    starts: Sequence[int]
    ends: Sequence[int]
    if offsets is None:
        starts, ends = range(len(norm)), range(1, len(norm) + 1)
    else:
        starts, ends = offsets, _ends(offsets, len(original))
    text = norm
    if _DROPPED_RE.search(norm):
        kept, pos = [], 0
        for m in _DROPPED_RE.finditer(norm):
            if m.start() > pos:
                kept.append((pos, m.start()))
            pos = m.end()
        if pos < len(norm):
            kept.append((pos, len(norm)))
        text = "".join([norm[a:b] for a, b in kept])
        starts, ends = Spans(starts[a:b] for a, b in kept), Spans(ends[a:b] for a, b in kept)

    parts: list[str] = []
    new_starts: list[Sequence[int]] = []
    new_ends: list[Sequence[int]] = []
    pos = 0
    tail = ""  # the last few characters already emitted, for the context test
    for m in _NUMERAL_RUN.finditer(text):
        # Only the 3 characters before count: text[pos:start] would copy all the text since the
        # last converted numeral, quadratic in a long text of numerals left as words (一つ一つ…).
        before = (tail + text[max(pos, m.start() - 3) : m.start()])[-3:]
        if _NUMBER_BEFORE.search(before) or (m.group() == "元" and before.endswith(ERA_NAMES)):
            digits = str(kanji_to_int(m.group()))
            parts += [text[pos : m.start()], digits]
            new_starts += [starts[pos : m.start()], [starts[m.start()]] * len(digits)]
            new_ends += [ends[pos : m.start()], [ends[m.end() - 1]] * len(digits)]
            tail = (before + digits)[-3:]
            pos = m.end()
    if parts:
        text = "".join(parts) + text[pos:]
        starts = Spans(_pieces([*new_starts, starts[pos:]]))
        ends = Spans(_pieces([*new_ends, ends[pos:]]))
    return CleanText(original, text, starts, ends)


def _pieces(spans: Iterable[Sequence[int]]) -> Iterator[Sequence[int]]:
    """The pieces of these sequences, a `Spans` opened up so that pieces never nest."""
    for s in spans:
        if isinstance(s, Spans):
            yield from s.pieces
        else:
            yield s
