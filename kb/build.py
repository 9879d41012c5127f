"""`kb build`: proposal files → one SQLite database that Datasette publishes.

The database is rebuilt from scratch every time (the files are the truth), into a
temporary file beside the target that replaces it only once complete, so a failed
build — bad files or a crash — never touches the previous database.

Other parts of the project add their own tables through `BUILD_STEPS`, which run
after the core tables exist and before the search index and indexes are made.
Register a step with `BUILD_STEPS.append(step)` when your module is imported, from a
module that `kb.build` imports (directly, or through `kb.check`). A step gets the
database being built and every proposal (sorted by year, number); it may create
tables and add columns, and its foreign keys are checked before the database is kept.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from .models import Proposal, relative_path

BuildStep = Callable[[sqlite_utils.Database, list[Proposal]], None]
# Steps other modules append (statutes/citations, registry data); run in order after the core tables.
# Defined before the imports below, so a module imported through kb.check may import it without a cycle.
BUILD_STEPS: list[BuildStep] = []

from .check import check_paths  # noqa: E402
from .problems import Problem  # noqa: E402
from .textnorm import index_text  # noqa: E402
from .vocab import CATEGORY_LABELS, EMPTY_MARK, SECTION_ORDER, Association, Outcome, SectionKey, Stage  # noqa: E402
from .registries import tables as _registry_tables  # noqa: E402,F401 - registers its build step
from .statutes import tables as _statute_tables  # noqa: E402,F401 - registers its build step

ROLE_PROPONENT = "提案団体"
ROLE_CO_PROPONENT = "追加共同提案団体"
FTS_TABLE = "proposals_fts"
# unicode61 splits our space-separated bigrams as they are; diacritics are kept so が ≠ か.
FTS_TOKENIZER = "unicode61 remove_diacritics 0"
STAGE_ORDER: list[Stage] = list(Stage)
OUTCOME_NOTES: dict[Outcome, str] = {
    Outcome.ADOPTED: "提案の趣旨を踏まえ、法令改正・通知等で対応するもの",
    Outcome.POSSIBLE_NOW: "現行の規定で対応できることが明確化されたもの",
    Outcome.NOT_REALISED: "実現・対応できなかったもの",
    Outcome.NOT_IN_DECISION: "対応方針（閣議決定）に記載されなかったもの",
    Outcome.UNDECIDED: "対応方針がまだ決まっていないもの",
}
# Published by this stage once the section is present (used when a file lists no sources).
STAGE_OF_SECTION: dict[SectionKey, Stage] = {
    SectionKey.FIRST_ANSWER: Stage.FIRST_ANSWER,
    SectionKey.SECOND_ANSWER: Stage.SECOND_ANSWER,
    SectionKey.DECISION: Stage.FINAL,
}


class BuildError(Exception):
    """The proposal files have problems; nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class BuildResult:
    db_path: Path
    counts: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------- rows (pure)


def section_text(proposal: Proposal, key: SectionKey) -> str | None:
    """Stored text of a section: as written, `—` when the sheet printed `—`, NULL when not published."""
    if key not in proposal.sections:
        return None
    text = proposal.sections[key]
    return EMPTY_MARK if text is None else text


def latest_stage(proposal: Proposal) -> Stage:
    """The furthest publication stage the file reflects, from its sources or else its sections."""
    stages = [s.stage for s in proposal.sources]
    stages += [stage for key, stage in STAGE_OF_SECTION.items() if key in proposal.sections]
    return max(stages, key=STAGE_ORDER.index, default=Stage.PROPOSAL)


def all_ministries(proposal: Proposal) -> list[str]:
    """Every ministry name the file mentions, first mention first."""
    names = [*proposal.ministries, proposal.sheet_ministry, *(s.ministry for s in proposal.sources)]
    return list(dict.fromkeys(n for n in names if n))


def proposal_row(proposal: Proposal) -> dict[str, Any]:
    decision = proposal.decision
    row: dict[str, Any] = {
        "id": proposal.id,
        "year": proposal.year,
        "era": proposal.era,
        "number": proposal.number,
        "serial": proposal.serial,
        "title": proposal.title,
        "category": proposal.category.value,
        "policy_field": proposal.policy_field,
        "theme": proposal.theme,
        "stage": latest_stage(proposal).value,
        "outcome": decision.outcome.value if decision and decision.outcome else None,
        "decision_date": decision.date.isoformat() if decision and decision.date else None,
        "sheet_ministry": proposal.sheet_ministry,
        "ministries": list(proposal.ministries),
        "proponents": list(proposal.proponents),
        "co_proponents": list(proposal.co_proponents),
        "file": f"proposals/{relative_path(proposal.year, proposal.number)}",
    }
    for key in SECTION_ORDER:
        row[key.column] = section_text(proposal, key)
    return row


def local_government_links(proposal: Proposal) -> list[dict[str, Any]]:
    rows = []
    for role, names in ((ROLE_PROPONENT, proposal.proponents), (ROLE_CO_PROPONENT, proposal.co_proponents)):
        for position, name in enumerate(dict.fromkeys(names), start=1):
            rows.append(
                {"proposal_id": proposal.id, "local_government_id": name, "role": role, "position": position}
            )
    return rows


def ministry_links(proposal: Proposal) -> list[dict[str, Any]]:
    return [
        {
            "proposal_id": proposal.id,
            "ministry_id": name,
            "position": position,
            "answers_sheet": int(name == proposal.sheet_ministry),
        }
        for position, name in enumerate(dict.fromkeys(proposal.ministries), start=1)
    ]


def source_rows(proposal: Proposal) -> list[dict[str, Any]]:
    return [
        {
            "proposal_id": proposal.id,
            "position": position,
            "stage": source.stage.value,
            "ministry": source.ministry,
            "title": source.title,
            "url": source.url,
        }
        for position, source in enumerate(proposal.sources, start=1)
    ]


def opinion_rows(proposal: Proposal) -> list[dict[str, Any]]:
    order = list(Association)
    return [
        {
            "proposal_id": proposal.id,
            "association": assoc.value,
            "position": order.index(assoc) + 1,
            "text": EMPTY_MARK if text is None else text,
        }
        for assoc, text in sorted(proposal.opinions.items(), key=lambda kv: order.index(kv[0]))
    ]


def search_row(proposal: Proposal) -> dict[str, str]:
    """Bigram text of one proposal for the FTS shadow table: title, names, and all long text."""
    names = [*proposal.proponents, *proposal.co_proponents, *all_ministries(proposal)]
    names += [n for n in (proposal.policy_field, proposal.theme) if n]
    body = [t for t in proposal.sections.values() if t] + [t for t in proposal.opinions.values() if t]
    return {
        "title": index_text(proposal.title),
        "names": index_text("\n".join(names)),
        "body": index_text("\n".join(body)),
    }


# ---------------------------------------------------------------- tables (I/O)


def _lookup_tables(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    db["categories"].insert_all(
        [{"id": c.value, "label": label} for c, label in CATEGORY_LABELS.items()], pk="id"
    )
    db["outcomes"].insert_all(
        [{"id": o.value, "position": i, "note": OUTCOME_NOTES[o]} for i, o in enumerate(Outcome, start=1)], pk="id"
    )
    db["stages"].insert_all([{"id": s.value, "position": i} for i, s in enumerate(Stage, start=1)], pk="id")
    fields = {p.policy_field: p for p in proposals if p.policy_field}
    db["policy_fields"].create({"id": str, "code": int, "name": str}, pk="id")
    db["policy_fields"].insert_all(
        [{"id": f, "code": p.policy_field_code, "name": p.policy_field_name} for f, p in sorted(fields.items())]
    )
    db["themes"].create({"id": str}, pk="id")
    db["themes"].insert_all([{"id": t} for t in sorted({p.theme for p in proposals if p.theme})])
    ministries = dict.fromkeys(name for p in proposals for name in all_ministries(p))
    db["ministries"].create({"id": str}, pk="id")
    db["ministries"].insert_all([{"id": m} for m in ministries])
    governments = dict.fromkeys(n for p in proposals for n in [*p.proponents, *p.co_proponents])
    db["local_governments"].create({"id": str, "code": str, "prefecture": str, "kind": str}, pk="id")
    db["local_governments"].insert_all([{"id": g} for g in governments])


def _proposals_table(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    columns: dict[str, type] = {
        "id": str, "year": int, "era": str, "number": int, "serial": int, "title": str, "category": str,
        "policy_field": str, "theme": str, "stage": str, "outcome": str, "decision_date": str,
        "sheet_ministry": str, "ministries": str, "proponents": str, "co_proponents": str, "file": str,
    }  # fmt: skip
    columns.update({key.column: str for key in SECTION_ORDER})
    db["proposals"].create(
        columns,
        pk="id",
        not_null={"year", "era", "number", "title", "category", "stage", "file"},
        foreign_keys=[
            ("category", "categories", "id"),
            ("policy_field", "policy_fields", "id"),
            ("theme", "themes", "id"),
            ("stage", "stages", "id"),
            ("outcome", "outcomes", "id"),
            ("sheet_ministry", "ministries", "id"),
        ],
    )
    db["proposals"].insert_all(proposal_row(p) for p in proposals)


def _link_tables(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    db["proposal_local_governments"].create(
        {"proposal_id": str, "local_government_id": str, "role": str, "position": int},
        pk=("proposal_id", "local_government_id", "role"),
        foreign_keys=[("proposal_id", "proposals", "id"), ("local_government_id", "local_governments", "id")],
    )
    db["proposal_local_governments"].insert_all(r for p in proposals for r in local_government_links(p))
    db["proposal_ministries"].create(
        {"proposal_id": str, "ministry_id": str, "position": int, "answers_sheet": int},
        pk=("proposal_id", "ministry_id"),
        foreign_keys=[("proposal_id", "proposals", "id"), ("ministry_id", "ministries", "id")],
    )
    db["proposal_ministries"].insert_all(r for p in proposals for r in ministry_links(p))
    db["sources"].create(
        {"id": int, "proposal_id": str, "position": int, "stage": str, "ministry": str, "title": str, "url": str},
        pk="id",
        not_null={"proposal_id", "stage", "title"},
        foreign_keys=[("proposal_id", "proposals", "id"), ("stage", "stages", "id"), ("ministry", "ministries", "id")],
    )
    db["sources"].insert_all(r for p in proposals for r in source_rows(p))
    db["opinions"].create(
        {"proposal_id": str, "association": str, "position": int, "text": str},
        pk=("proposal_id", "association"),
        foreign_keys=[("proposal_id", "proposals", "id")],
    )
    db["opinions"].insert_all(r for p in proposals for r in opinion_rows(p))


def write_core_tables(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """Lookup tables, `proposals`, and the tables linking proposals to everything else."""
    _lookup_tables(db, proposals)
    _proposals_table(db, proposals)
    _link_tables(db, proposals)


def write_search_index(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """Contentless FTS5 table of bigrams, rowid = proposals.rowid (see docs/search.md)."""
    db.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, names, body, tokenize='{FTS_TOKENIZER}', content='')"
    )
    rowids = {pid: rowid for rowid, pid in db.execute("SELECT rowid, id FROM proposals").fetchall()}
    with db.conn:
        db.conn.executemany(
            f"INSERT INTO {FTS_TABLE} (rowid, title, names, body) VALUES (?, ?, ?, ?)",
            [(rowids[p.id], *search_row(p).values()) for p in proposals],
        )
        db.conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('optimize')")


FACET_INDEXES: list[tuple[str, list[str]]] = [
    ("proposals", ["year"]),
    ("proposals", ["year", "number"]),
    ("proposals", ["decision_date"]),
    ("proposal_local_governments", ["role"]),
]


def write_indexes(db: sqlite_utils.Database) -> None:
    """Index every foreign key (faceted columns are all foreign keys) and the other faceted columns."""
    db.index_foreign_keys()
    for table, columns in FACET_INDEXES:
        db[table].create_index(columns, if_not_exists=True)


def _check_foreign_keys(db: sqlite_utils.Database) -> None:
    broken = db.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"外部キーの参照先がない行があります: {broken[:5]}")


def populate(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """Everything that goes into a fresh database, in order: core, BUILD_STEPS, search, indexes."""
    write_core_tables(db, proposals)
    for step in BUILD_STEPS:
        step(db, proposals)
    write_search_index(db, proposals)
    write_indexes(db)
    _check_foreign_keys(db)
    db.analyze()


def _counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {t.name: t.count for t in db.tables if not t.name.startswith((FTS_TABLE, "sqlite_"))}


def _file_mode(path: Path) -> int:
    """Mode for the new database: the old file's, else what a plain create would give (mkstemp makes 0600)."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def build(db_path: str | Path, dirs: Iterable[str | Path]) -> BuildResult:
    """Check the files, then build the database atomically; raise BuildError (writing nothing) on problems."""
    db_path = Path(db_path)
    checked = check_paths(dirs)
    if not checked.ok:
        raise BuildError(checked.problems)
    proposals = sorted((p for _, p in checked.proposals), key=lambda p: (p.year, p.number))
    db_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=db_path.parent, prefix=f".{db_path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        db = sqlite_utils.Database(tmp)
        db.execute("PRAGMA journal_mode = OFF")  # a crash only loses the temporary file
        populate(db, proposals)
        result = BuildResult(db_path, _counts(db))
        db.close()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(db_path))
        os.replace(tmp, db_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result
