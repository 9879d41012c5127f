"""Registry of ministries (府省庁) with the years each existed: `data/ministries.yaml`.

A name is looked up after the search normalisation; a ministry written on a proposal from
a year it did not exist in (デジタル庁 before September 2021) is an error, because it is
almost always a typo or a copy from another proposal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.core.paths import data_dir
from kb.core.problems import Problem, ProblemError
from kb.core.suggest import Suggester, maybe
from kb.core.yamlio import read
from kb.registries.names import NameProblem, name_key
from kb.registries.periods import Period
from kb.registries.rows import RowProblems, period_of, require_keys, section_rows

MINISTRIES_NAME = "ministries.yaml"
KINDS = ("内閣の機関", "府", "省", "庁", "委員会")
KEYS = ("name", "short", "kind", "parent", "from", "to", "successor", "aliases", "source")


@dataclass(frozen=True)
class Ministry:
    name: str
    kind: str
    short: str | None = None
    parent: str | None = None
    period: Period = field(default_factory=Period)
    successor: str | None = None
    aliases: tuple[str, ...] = ()
    source: str = ""
    origin: str = ""


@dataclass
class MinistryRegistry:
    entries: list[Ministry]
    by_name: dict[str, Ministry] = field(init=False)
    index: dict[str, Ministry] = field(init=False)
    _suggest: Suggester = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name = {m.name: m for m in self.entries}
        self.index = {}
        for m in self.entries:
            for written in (m.name, *m.aliases):
                self.index[name_key(written)] = m
        # Short names are not accepted in files, but they are the likeliest thing to be typed.
        table = {name_key(m.name): m.name for m in self.entries}
        table.update({name_key(m.short): m.name for m in self.entries if m.short})
        self._suggest = Suggester(table, name_key)

    def resolve(self, written: str, period: Period | None = None) -> Ministry:
        """The ministry `written` names; NameProblem if unknown or not existing during `period`."""
        found = self.index.get(name_key(written))
        if found is None:
            raise NameProblem(f"「{written}」は府省の一覧にありません{maybe(self._suggest(written))}")
        if period is not None and not found.period.overlaps(period):
            year = period.start.year if period.start else ""
            hint = f"（後継: {found.successor}）" if found.successor else ""
            raise NameProblem(
                f"「{written}」があった期間は {found.period.describe()} です{hint}。{year} 年の提案には使えません"
            )
        return found

    def lineage(self, ministry: Ministry) -> Ministry:
        """The organisation a ministry's work belongs to today (follows successors), for counting across years."""
        seen = {ministry.name}
        while ministry.successor and ministry.successor in self.by_name and ministry.successor not in seen:
            ministry = self.by_name[ministry.successor]
            seen.add(ministry.name)
        return ministry


def _ministry(row: dict[str, Any], line: int, out: RowProblems) -> Ministry | None:
    if row["kind"] not in KINDS:
        out.add(line, "kind", f"「{row['kind']}」は使えません（{' / '.join(KINDS)}）")
        return None
    aliases = row.get("aliases") or []
    if not isinstance(aliases, list):
        out.add(line, "aliases", "別表記はリスト（[…]）で書いてください")
        aliases = []
    return Ministry(
        name=str(row["name"]), kind=row["kind"], short=row.get("short"), parent=row.get("parent"),
        period=period_of(row, line, out), successor=row.get("successor"), aliases=tuple(map(str, aliases)),
        source=str(row["source"]), origin=f"{out.where}:{line}",
    )  # fmt: skip


def _reference_problems(entries: list[Ministry], out: RowProblems) -> None:
    names = {m.name for m in entries}
    seen: dict[str, Ministry] = {}
    for m in entries:
        line = int(m.origin.rsplit(":", 1)[1])
        for key in (m.name, *m.aliases):
            if name_key(key) in seen:
                out.add(line, "name", f"「{key}」は重複しています（{seen[name_key(key)].origin}）")
            seen[name_key(key)] = m
        for field_name, ref in (("parent", m.parent), ("successor", m.successor)):
            if ref and ref not in names:
                out.add(line, field_name, f"「{ref}」が一覧にありません")
        if m.successor and m.period.end is None:
            out.add(line, "to", "後継があるのに廃止日（to）がありません")


def load_ministries(directory: Path | None = None) -> tuple[MinistryRegistry, list[Problem]]:
    """The registry from `data/ministries.yaml`, and every problem found in it."""
    path = (directory or data_dir()) / MINISTRIES_NAME
    out = RowProblems(path)
    try:
        doc = read(path)
    except ProblemError as exc:
        out.problems += exc.problems
        return MinistryRegistry([]), out.problems
    entries = []
    for row, line in section_rows(doc, "ministries", out):
        if require_keys(row, ("name", "kind", "source"), KEYS, line, out) and (m := _ministry(row, line, out)):
            entries.append(m)
    _reference_problems(entries, out)
    return MinistryRegistry(entries), out.problems
