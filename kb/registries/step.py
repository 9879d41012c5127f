"""Build step `STEP` (one of `kb.pipeline.STEPS`): registry data in the database, and facets that need it.

- `local_governments`: code, prefecture, kind (today), kana and the registry's name for each name as written;
- `prefectures`: the 47 prefectures, so that a prefecture has a page even when it never proposed itself;
- `proposal_prefectures`: each proposal once per prefecture (and role) its bodies lie in;
- `proposals.proponent_prefectures` / `proponent_kinds` / `co_proponent_prefectures`: JSON arrays for
  Datasette's array facets, so a joint proposal counts once per prefecture and once per 団体属性;
- `ministries`: short name, kind, parent, years, successor and `lineage` (the organisation today);
  `proposals.ministry_lineages` to count by ministry across reorganisations.

Names that do not resolve (only possible when the step is run on unchecked proposals) get NULLs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from kb.core.models import Proposal
from kb.core.paths import data_dir
from kb.db.schema import ROLE_CO_PROPONENT, ROLE_PROPONENT, Step
from kb.registries.localgov import LocalGovernmentRegistry, kind_sort_key
from kb.registries.ministries import MinistryRegistry
from kb.registries.names import NameProblem
from kb.registries.periods import Period, attribute_day, proposal_period, year_period
from kb.registries.registry import Registries, load_registries

if TYPE_CHECKING:  # sqlite-utils is loaded by the build, not by `kb check` (start-up time)
    import sqlite_utils


T = TypeVar("T", covariant=True)


class _Resolves(Protocol[T]):
    def resolve(self, written: str, period: Period | None) -> T: ...


def _resolved(registry: _Resolves[T], name: str, period: Period | None) -> T | None:
    """The registry entry for a name as written, or None (only unchecked proposals have such names)."""
    try:
        return registry.resolve(name, period)
    except NameProblem:
        return None


def _unique_sorted(values: Iterable[str], key: Any = None) -> list[str]:
    return sorted(set(values), key=key)


def prefecture_order(registry: LocalGovernmentRegistry) -> dict[str, int]:
    """Prefecture → its place in JIS X 0401 order (北海道 first), for listing prefectures the usual way."""
    return {e.name: i for i, e in enumerate(e for e in registry.entries if e.type == "都道府県")}


def proposal_facets(proposal: Proposal, registries: Registries) -> dict[str, str]:
    """JSON-array columns of one proposal: prefectures and 団体属性 of its bodies, ministries by lineage."""
    lgs, period = registries.local_governments, proposal_period(proposal)
    day = attribute_day(proposal.year)
    bodies = [b for n in proposal.proponents if (b := _resolved(lgs, n, period))]
    co_bodies = [b for n in proposal.co_proponents if (b := _resolved(lgs, n, period))]
    ministries = [m for n in proposal.ministries if (m := _resolved(registries.ministries, n, period))]
    order = prefecture_order(lgs)

    def by_code(name: str) -> int:
        return order.get(name, len(order))

    return {
        "proponent_prefectures": json.dumps(
            _unique_sorted((b.prefecture for b in bodies if b.prefecture), by_code), ensure_ascii=False
        ),
        "proponent_kinds": json.dumps(
            _unique_sorted((lgs.attribute_on(b, day) for b in bodies), kind_sort_key), ensure_ascii=False
        ),
        "co_proponent_prefectures": json.dumps(
            _unique_sorted((b.prefecture for b in co_bodies if b.prefecture), by_code), ensure_ascii=False
        ),
        "ministry_lineages": json.dumps(
            list(dict.fromkeys(registries.ministries.lineage(m).name for m in ministries)), ensure_ascii=False
        ),
    }


def prefecture_links(proposal: Proposal, registries: Registries) -> list[dict[str, Any]]:
    """One row per (prefecture, role): where the proposal's bodies lie, each prefecture counted once per role."""
    period = proposal_period(proposal)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for role, names in ((ROLE_PROPONENT, proposal.proponents), (ROLE_CO_PROPONENT, proposal.co_proponents)):
        for name in names:
            body = _resolved(registries.local_governments, name, period)
            if body is None or not body.prefecture:
                continue
            row = rows.setdefault(
                (body.prefecture, role),
                {"proposal_id": proposal.id, "prefecture_id": body.prefecture, "role": role, "local_governments": []},
            )
            row["local_governments"].append(name)
    return [{**r, "local_governments": json.dumps(r["local_governments"], ensure_ascii=False)} for r in rows.values()]


def local_government_row(name: str, registry: LocalGovernmentRegistry, period: Period, today: dt.date) -> dict[str, Any]:
    """Registry facts for a name as written, resolved in the years of a proposal that uses it; kind as of today."""
    body = _resolved(registry, name, period)
    if body is None:
        return {"id": name}
    return {
        "id": name,
        "code": body.code,
        "prefecture": body.prefecture,
        "kind": registry.kind_on(body, today),
        "kana": body.kana or None,
        "registry_name": body.label,
    }


def ministry_row(name: str, registry: MinistryRegistry) -> dict[str, Any]:
    ministry = _resolved(registry, name, None)
    if ministry is None:
        return {"id": name}
    return {
        "id": name,
        "registry_name": ministry.name,
        "short_name": ministry.short,
        "kind": ministry.kind,
        "parent": ministry.parent,
        "valid_from": ministry.period.start.isoformat() if ministry.period.start else None,
        "valid_to": ministry.period.end.isoformat() if ministry.period.end else None,
        "successor": ministry.successor,
        "lineage": registry.lineage(ministry).name,
    }


def prefecture_rows(registry: LocalGovernmentRegistry) -> list[dict[str, Any]]:
    return [
        {"id": e.name, "code": e.code, "kana": e.kana, "position": i}
        for i, e in enumerate((e for e in registry.entries if e.type == "都道府県"), start=1)
    ]


LOCAL_GOVERNMENT_COLUMNS: dict[str, type] = {"kana": str, "registry_name": str}
MINISTRY_COLUMNS: dict[str, type] = {
    "registry_name": str, "short_name": str, "kind": str, "parent": str,
    "valid_from": str, "valid_to": str, "successor": str, "lineage": str,
}  # fmt: skip
PROPOSAL_COLUMNS = ("proponent_prefectures", "proponent_kinds", "co_proponent_prefectures", "ministry_lineages")


def _add_columns(table: sqlite_utils.db.Table, columns: dict[str, type]) -> None:
    for column, kind in columns.items():
        if column not in table.columns_dict:
            table.add_column(column, kind)


def _update(db: sqlite_utils.Database, table: str, rows: list[dict[str, Any]]) -> None:
    """UPDATE many rows by id in one statement each (sqlite-utils' update() is one call per row)."""
    columns = sorted({c for r in rows for c in r} - {"id"})
    if not columns:
        return
    sql = f"UPDATE [{table}] SET " + ", ".join(f"[{c}] = :{c}" for c in columns) + " WHERE id = :id"
    with db.conn:
        db.conn.executemany(sql, [{c: r.get(c) for c in ["id", *columns]} for r in rows])


def first_periods(db: sqlite_utils.Database) -> dict[str, Period]:
    """Each local government name → the period of the first proposal (by year, number) that names it.

    Read from the database, so that an incremental build, which passes only the changed proposals,
    resolves names exactly as a full build does.
    """
    names = {name for (name,) in db.execute("SELECT DISTINCT local_government_id FROM proposal_local_governments")}
    periods: dict[str, Period] = {}
    query = (
        "SELECT l.local_government_id, p.year, p.decision_date FROM proposals p"
        " JOIN proposal_local_governments l ON l.proposal_id = p.id ORDER BY p.year, p.number"
    )
    for name, year, decided in db.execute(query):  # in proposal order: stop once every name is placed
        if name not in periods:
            periods[name] = year_period(year, dt.date.fromisoformat(decided) if decided else None)
            if len(periods) == len(names):
                break
    return periods


def write_registry_tables(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """The build step: fill and extend the core tables from the registries, add prefectures and facets.

    Also runs on a previous database with only new and changed proposals (incremental build):
    tables, columns and keys are added only when missing; name rows are all refreshed.
    """
    registries = load_registries()
    lgs, today = registries.local_governments, dt.date.today()

    if not db.table("prefectures").exists():
        db.table("prefectures").create({"id": str, "code": str, "kana": str, "position": int}, pk="id")
        db.table("prefectures").insert_all(prefecture_rows(lgs))

    periods = first_periods(db)
    governments = db.table("local_governments")
    _add_columns(governments, LOCAL_GOVERNMENT_COLUMNS)
    rows = [local_government_row(r["id"], lgs, periods.get(r["id"], Period(today, today)), today) for r in governments.rows]
    _update(db, "local_governments", rows)
    if not any(fk.column == "prefecture" for fk in governments.foreign_keys):
        governments.add_foreign_key("prefecture", "prefectures", "id")

    ministries = db.table("ministries")
    _add_columns(ministries, MINISTRY_COLUMNS)
    _update(db, "ministries", [ministry_row(r["id"], registries.ministries) for r in ministries.rows])

    _add_columns(db.table("proposals"), {c: str for c in PROPOSAL_COLUMNS})
    _update(db, "proposals", [{"id": p.id, **proposal_facets(p, registries)} for p in proposals])

    db.table("proposal_prefectures").create(
        {"proposal_id": str, "prefecture_id": str, "role": str, "local_governments": str},
        pk=("proposal_id", "prefecture_id", "role"),
        foreign_keys=[("proposal_id", "proposals", "id"), ("prefecture_id", "prefectures", "id")],
        if_not_exists=True,
    )
    db.table("proposal_prefectures").insert_all(r for p in proposals for r in prefecture_links(p, registries))


def data_files() -> list[Path]:
    """The registries' files: a change there changes rows of unchanged proposals, so the build is full."""
    return [p for p in data_dir().glob("*") if p.is_file()]


STEP = Step("registries", write_registry_tables, tables=("proposal_prefectures",), input_files=data_files)
