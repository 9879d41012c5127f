"""Where inside a statute a citation points: 附則, 別表, 条, 項, 号, 前段・後段・ただし書, ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TypedDict

from kb.statutes.clean import int_to_kanji

Branch = tuple[int, ...]  # 252条の17の2 → (252, 17, 2)

PARTS = ("前段", "後段", "ただし書", "本文", "各号", "柱書")
# Matches the clean text at a position; every pinpoint starts with 附則, 別表, 第N編/章/節, 第N条, 第N項 or 第N号.
PINPOINT_RE = re.compile(
    r"(?P<suppl>附則)?"
    r"(?:別表(?:第(?P<t>\d+)(?:の(?P<row>\d+)の項|(?P<tb>(?:の\d+)*)(?:の(?P<row2>\d+)の項)?)|の(?P<row0>\d+)の項)?"
    r"|(?P<div>(?:第\d+編)?(?:第\d+章)?(?:第\d+節)?(?:第\d+款)?)"
    r"(?:第(?P<a>\d+)条(?P<ab>(?:の\d+)*))?"
    r"(?:(?<=条)第?(?P<p>\d+)項|第(?P<p0>\d+)項)?"  # 第35条1項: 第 left out after the article
    r"(?:(?<=[条項])第?(?P<i>\d+)号(?P<ib>(?:の\d+)*)|第(?P<i0>\d+)号(?P<ib0>(?:の\d+)*))?)"
    rf"(?P<part>{'|'.join(PARTS)})?"
)
RANGE_RE = re.compile(r"から|[~〜]")
RANGE_END_RE = re.compile(r"まで")


def _branch(head: str | None, tail: str | None) -> Branch | None:
    if head is None:
        return None
    return (int(head), *(int(x) for x in (tail or "").split("の") if x))


class _Levels(TypedDict, total=False):
    """The levels `Pinpoint.inherit` takes from the pinpoint before."""

    supplementary: bool
    article: Branch | None
    paragraph: int | None


@dataclass(frozen=True)
class Pinpoint:
    """One place in a statute. A level left as None was not stated."""

    supplementary: bool = False
    table: Branch | None = None  # 別表 → (), 別表第二 → (2,), 別表第二の二 → (2, 2)
    table_row: int | None = None  # 別表第二の三の項 → 3
    division: str | None = None  # 第3編第2章 (guidelines, outlines)
    article: Branch | None = None
    paragraph: int | None = None
    item: Branch | None = None
    part: str | None = None
    through: Pinpoint | None = None  # 第3条から第5条まで

    @property
    def label(self) -> str:
        """Canonical text: 附則第2条, 別表第二, 第252条の17の2第1項, 第3条から第5条まで."""
        out = "附則" if self.supplementary else ""
        if self.table is not None:
            out += "別表" + ("第" + "の".join(int_to_kanji(n) for n in self.table) if self.table else "")
            if self.table_row is not None:
                out += f"の{int_to_kanji(self.table_row)}の項"
        out += self.division or ""
        if self.article:
            out += f"第{self.article[0]}条" + "".join(f"の{n}" for n in self.article[1:])
        if self.paragraph is not None:
            out += f"第{self.paragraph}項"
        if self.item:
            out += f"第{self.item[0]}号" + "".join(f"の{n}" for n in self.item[1:])
        out += self.part or ""
        if self.through is not None:
            out += f"から{self.through.label}まで"
        return out

    @property
    def article_key(self) -> str | None:
        """`252_17_2`: the article as e-Gov numbers it, for queries and anchors."""
        return "_".join(map(str, self.article)) if self.article else None

    @property
    def item_key(self) -> str | None:
        return "_".join(map(str, self.item)) if self.item else None

    @property
    def table_key(self) -> str | None:
        if self.table is None:
            return None
        return "_".join(map(str, self.table))

    @property
    def depth(self) -> int:
        """Highest level stated: 0 table/附則 only, 1 article, 2 paragraph, 3 item (for inheritance)."""
        if self.article:
            return 1
        if self.paragraph is not None:
            return 2
        if self.item:
            return 3
        return 0

    def inherit(self, previous: Pinpoint) -> Pinpoint:
        """Fill the levels above the first stated one from the pinpoint before (第19条第7号又は第8号)."""
        if self.table is not None or previous.table is not None and self.depth == 0:
            return self
        levels: _Levels = {}
        if not self.supplementary and previous.supplementary:
            levels["supplementary"] = True
        if self.depth >= 2 and not self.article:
            levels["article"] = previous.article
        if self.depth == 3 and self.paragraph is None:
            levels["paragraph"] = previous.paragraph
        return replace(self, **levels) if levels else self


def match_pinpoint(text: str, pos: int) -> tuple[Pinpoint, int] | None:
    """The pinpoint starting exactly at `pos` of a clean text, with its end; ranges included."""
    first = _match_one(text, pos)
    if first is None:
        return None
    pin, end = first
    r = RANGE_RE.match(text, end)
    if r:
        second = _match_one(text, r.end())
        if second is not None:
            through, end2 = second
            m = RANGE_END_RE.match(text, end2)
            end2 = m.end() if m else end2
            return replace(pin, through=through.inherit(pin)), end2
    return pin, end


def _match_one(text: str, pos: int) -> tuple[Pinpoint, int] | None:
    m = PINPOINT_RE.match(text, pos)
    if not m or m.end() == pos:
        return None
    g = m.groupdict()
    is_table = m.group(0).removeprefix("附則").startswith("別表")
    pin = Pinpoint(
        supplementary=bool(g["suppl"]),
        table=(_branch(g["t"], g["tb"]) or ()) if is_table else None,
        table_row=int(g["row"] or g["row2"] or g["row0"]) if (g["row"] or g["row2"] or g["row0"]) else None,
        division=g["div"] or None,
        article=_branch(g["a"], g["ab"]),
        paragraph=int(g["p"] or g["p0"]) if g["p"] or g["p0"] else None,
        item=_branch(g["i"], g["ib"]) if g["i"] else _branch(g["i0"], g["ib0"]),
        part=g["part"],
    )
    if not pin.supplementary and pin.table is None and not pin.division and pin.depth == 0:
        return None  # a bare ただし書 or 各号 is not a place on its own
    return pin, m.end()
