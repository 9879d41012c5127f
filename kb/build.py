"""`kb build`: proposal files → one SQLite database that Datasette publishes.

The files are the truth. A *full* build parses every file (on every core, `kb.parallel`)
and writes a fresh database; an *incremental* build, chosen automatically when the
previous database was built by the same code from the same data (`kb.filestate`),
re-parses only files whose content hash changed and replaces only those proposals' rows
(`kb.incremental`). Either way the result goes to a temporary file beside the target that
replaces it only once complete, so a failed build — bad files or a crash — never touches
the previous database (an incremental build copies it first and updates the copy).

Other parts of the project add their own tables through `BUILD_STEPS`, which run
after the core tables exist and before the search index and indexes are made.
Register a step with `BUILD_STEPS.append(step)` when your module is imported, from a
module that `kb.build` imports (directly, or through `kb.check`). A step gets the
database being built and every proposal (sorted by year, number); it may create
tables and add columns, and its foreign keys are checked before the database is kept.

A step that also calls `incremental_step(step, tables, inputs)` can be updated in place:
it is then called on the previous database with only the new and changed proposals,
after the build deleted every row of the changed and removed proposals from `tables`
(each keyed by a `proposal_id` column) and from the core tables. Such a step creates
tables and columns only when missing, and derives anything that depends on all
proposals (counts, lookup rows) from the database rather than from its argument.
`inputs` lists the data files it reads; a change there forces a full build. A build
with any step not declared this way is always full.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from .models import Proposal, relative_path

BuildStep = Callable[[sqlite_utils.Database, list[Proposal]], None]
# Steps other modules append (statutes/citations, registry data); run in order after the core tables.
# Defined before the imports below, so a module imported through kb.check may import it without a cycle.
BUILD_STEPS: list[BuildStep] = []


@dataclass(frozen=True)
class StepTables:
    """What the build needs to know to run a step incrementally (see the module docstring)."""

    tables: tuple[str, ...]  # tables holding rows of one proposal each, keyed by `proposal_id`
    inputs: Callable[[], list[Path]]  # data files the step reads, hashed into the build fingerprint


INCREMENTAL_STEPS: dict[BuildStep, StepTables] = {}


def incremental_step(step: BuildStep, tables: Sequence[str], inputs: Callable[[], list[Path]] = list) -> None:
    """Declare that `step` can update an existing database (its module still appends it to BUILD_STEPS)."""
    INCREMENTAL_STEPS[step] = StepTables(tuple(tables), inputs)


from . import filestate  # noqa: E402
from .dbfile import write_atomically  # noqa: E402
from .check import CROSS_CHECKS  # noqa: E402
from .check import iter_proposal_files  # noqa: E402
from .parallel import map_items, using_jobs  # noqa: E402
from .parse import parse_file, parse_text  # noqa: E402
from .problems import Problem, ProposalError, display_path  # noqa: E402
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
    """What a build did; `parsed` counts the files actually parsed (an incremental build skips the rest)."""

    db_path: Path
    counts: dict[str, int] = field(default_factory=dict)
    mode: str = "full"  # full | incremental | unchanged
    reason: str = ""  # why a build was full although a previous database existed (for people)
    parsed: int = 0
    added: list[str] = field(default_factory=list)  # proposal ids
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # time per phase, for benchmarks/

    def summary(self) -> str:
        """One line for the person who ran the build."""
        n = self.counts.get("proposals", 0)
        if self.mode == "unchanged":
            return f"{self.db_path}: 提案ファイルに変更はありません（提案 {n} 件）"
        if self.mode == "incremental":
            return (
                f"{self.db_path}: 差分を反映しました（追加 {len(self.added)}・変更 {len(self.changed)}・"
                f"削除 {len(self.removed)} 件、読み直したファイル {self.parsed} 件）。提案 {n} 件"
            )
        if self.reason:
            return f"{self.db_path}: 提案 {n} 件でデータベースを作り直しました（{self.reason}）"
        return f"{self.db_path}: 提案 {n} 件でデータベースを作りました"


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


def search_texts(row: dict[str, Any], opinions: list[dict[str, Any]], sources: list[dict[str, Any]]) -> tuple[str, str, str]:
    """Bigram text (title, names, body) for the FTS shadow table, from the rows stored for one proposal.

    Made from the stored rows, not the parsed file, so an incremental build can recompute
    exactly what was indexed for a proposal it is about to replace: a contentless FTS5
    table can only delete a row when given the same text again (see docs/benchmarks.md).
    Sections and opinions are taken in sheet order; `—` (printed empty) and NULL are skipped.
    """
    ministries = [*row["ministries"], row["sheet_ministry"], *(s["ministry"] for s in sources)]
    names = [*row["proponents"], *row["co_proponents"], *dict.fromkeys(n for n in ministries if n)]
    names += [n for n in (row["policy_field"], row["theme"]) if n]
    body = [row[key.column] for key in SECTION_ORDER] + [o["text"] for o in sorted(opinions, key=lambda o: o["position"])]
    return (
        index_text(row["title"]),
        index_text("\n".join(names)),
        index_text("\n".join(t for t in body if t and t != EMPTY_MARK)),
    )


def search_row(proposal: Proposal) -> tuple[str, str, str]:
    """Bigram text of one proposal: title, names (governments, ministries, field, theme), all long text."""
    return search_texts(proposal_row(proposal), opinion_rows(proposal), source_rows(proposal))


# ---------------------------------------------------------------- tables (I/O)


# Lookup tables whose rows come from the proposals (as opposed to fixed vocabularies): an incremental
# build adds the new names and drops the ones no row refers to any more.
DERIVED_LOOKUPS = ("policy_fields", "themes", "ministries", "local_governments")
# Core tables holding rows of one proposal each, keyed by `proposal_id` (besides `proposals` itself).
CORE_PROPOSAL_TABLES = ("proposal_local_governments", "proposal_ministries", "sources", "opinions")


def lookup_rows(proposals: list[Proposal]) -> dict[str, list[dict[str, Any]]]:
    """Rows of the derived lookup tables for these proposals (names as written, first mention first)."""
    fields = {p.policy_field: p for p in proposals if p.policy_field}
    return {
        "policy_fields": [
            {"id": f, "code": p.policy_field_code, "name": p.policy_field_name} for f, p in sorted(fields.items())
        ],
        "themes": [{"id": t} for t in sorted({p.theme for p in proposals if p.theme})],
        "ministries": [{"id": m} for m in dict.fromkeys(n for p in proposals for n in all_ministries(p))],
        "local_governments": [
            {"id": g} for g in dict.fromkeys(n for p in proposals for n in [*p.proponents, *p.co_proponents])
        ],
    }


def _create_core_tables(db: sqlite_utils.Database) -> None:
    """Fixed vocabularies with their rows, and every other core table empty."""
    db["categories"].insert_all(
        [{"id": c.value, "label": label} for c, label in CATEGORY_LABELS.items()], pk="id"
    )
    db["outcomes"].insert_all(
        [{"id": o.value, "position": i, "note": OUTCOME_NOTES[o]} for i, o in enumerate(Outcome, start=1)], pk="id"
    )
    db["stages"].insert_all([{"id": s.value, "position": i} for i, s in enumerate(Stage, start=1)], pk="id")
    db["policy_fields"].create({"id": str, "code": int, "name": str}, pk="id")
    db["themes"].create({"id": str}, pk="id")
    db["ministries"].create({"id": str}, pk="id")
    db["local_governments"].create({"id": str, "code": str, "prefecture": str, "kind": str}, pk="id")
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
    db["proposal_local_governments"].create(
        {"proposal_id": str, "local_government_id": str, "role": str, "position": int},
        pk=("proposal_id", "local_government_id", "role"),
        foreign_keys=[("proposal_id", "proposals", "id"), ("local_government_id", "local_governments", "id")],
    )
    db["proposal_ministries"].create(
        {"proposal_id": str, "ministry_id": str, "position": int, "answers_sheet": int},
        pk=("proposal_id", "ministry_id"),
        foreign_keys=[("proposal_id", "proposals", "id"), ("ministry_id", "ministries", "id")],
    )
    db["sources"].create(
        {"id": int, "proposal_id": str, "position": int, "stage": str, "ministry": str, "title": str, "url": str},
        pk="id",
        not_null={"proposal_id", "stage", "title"},
        foreign_keys=[("proposal_id", "proposals", "id"), ("stage", "stages", "id"), ("ministry", "ministries", "id")],
    )
    db["opinions"].create(
        {"proposal_id": str, "association": str, "position": int, "text": str},
        pk=("proposal_id", "association"),
        foreign_keys=[("proposal_id", "proposals", "id")],
    )


def insert_core_rows(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """Rows of these proposals in the core tables; lookup names already present are kept as they are."""
    for table, rows in lookup_rows(proposals).items():
        db[table].insert_all(rows, ignore=True)
    db["proposals"].insert_all(proposal_row(p) for p in proposals)
    db["proposal_local_governments"].insert_all(r for p in proposals for r in local_government_links(p))
    db["proposal_ministries"].insert_all(r for p in proposals for r in ministry_links(p))
    db["sources"].insert_all(r for p in proposals for r in source_rows(p))
    db["opinions"].insert_all(r for p in proposals for r in opinion_rows(p))


def write_core_tables(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """Lookup tables, `proposals`, and the tables linking proposals to everything else."""
    _create_core_tables(db)
    insert_core_rows(db, proposals)


SearchTexts = dict[str, tuple[str, str, str]]  # proposal id → (title, names, body) bigram text


def insert_search_rows(db: sqlite_utils.Database, texts: SearchTexts) -> None:
    """Index these proposals' text under their `proposals.rowid`."""
    ids = list(texts)
    rowids: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        marks = ",".join("?" * len(batch))
        rowids.update((pid, rowid) for rowid, pid in db.execute(f"SELECT rowid, id FROM proposals WHERE id IN ({marks})", batch))
    with db.conn:
        db.conn.executemany(
            f"INSERT INTO {FTS_TABLE} (rowid, title, names, body) VALUES (?, ?, ?, ?)",
            [(rowids[pid], *text) for pid, text in texts.items()],
        )


def write_search_index(db: sqlite_utils.Database, proposals: list[Proposal], texts: SearchTexts | None = None) -> None:
    """Contentless FTS5 table of bigrams, rowid = proposals.rowid (see docs/search.md)."""
    db.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, names, body, tokenize='{FTS_TOKENIZER}', content='')"
    )
    insert_search_rows(db, texts if texts is not None else {p.id: search_row(p) for p in proposals})
    with db.conn:
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


class Clock:
    """Seconds per phase of a build, for `BuildResult.seconds` (benchmarks/ reports them)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._last
        self._last = now


def step_name(step: BuildStep) -> str:
    return f"{step.__module__}.{step.__qualname__}"


def run_steps(db: sqlite_utils.Database, proposals: list[Proposal], clock: Clock | None = None) -> None:
    for step in BUILD_STEPS:
        step(db, proposals)
        if clock:
            clock.lap(step_name(step))


def populate(
    db: sqlite_utils.Database, proposals: list[Proposal], texts: SearchTexts | None = None, clock: Clock | None = None
) -> None:
    """Everything that goes into a fresh database, in order: core, BUILD_STEPS, search, indexes."""
    clock = clock or Clock()
    write_core_tables(db, proposals)
    clock.lap("core tables")
    run_steps(db, proposals, clock)
    write_search_index(db, proposals, texts)
    clock.lap("search index")
    write_indexes(db)
    _check_foreign_keys(db)
    db.analyze()
    clock.lap("indexes")


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    hidden = (FTS_TABLE, "sqlite_", filestate.FILES_TABLE, filestate.INFO_TABLE)
    return {t.name: t.count for t in db.tables if not t.name.startswith(hidden)}


# ---------------------------------------------------------------- reading files (in worker processes)


@dataclass
class Loaded:
    """One file, parsed: its proposal and bigram text, or its problems."""

    path: Path
    state: filestate.FileState | None
    proposal: Proposal | None = None
    problems: list[Problem] = field(default_factory=list)
    search: tuple[str, str, str] | None = None


def load_file(path: Path, now_ns: int, data: tuple[filestate.FileState, bytes] | None = None) -> Loaded:
    """Read (unless already read), hash, parse and make the bigram text of one file; never raises for bad files."""
    try:
        state, raw = data or filestate.read_file(path, now_ns)
    except FileNotFoundError:
        return Loaded(path, None, problems=[Problem(display_path(path), 0, "ファイル", "ファイルがありません")])
    try:
        try:
            proposal = parse_text(filestate.decode(raw), path)
        except UnicodeDecodeError:
            proposal = parse_file(path)  # raises the parser's own message for a file that is not UTF-8
    except ProposalError as exc:
        return Loaded(path, state, problems=exc.problems)
    return Loaded(path, state, proposal, search=search_row(proposal))


def load_files(paths: Sequence[Path], jobs: int, read: dict[str, tuple[filestate.FileState, bytes]] | None = None) -> list[Loaded]:
    """`load_file` over many files on `jobs` processes, in order."""
    read = read or {}
    now_ns = time.time_ns()
    return map_items(lambda p: load_file(p, now_ns, read.get(str(p))), paths, jobs)


def check_loaded(loaded: list[Loaded]) -> list[Problem]:
    """Every problem: the parser's, then the cross-file checks' (`kb.check.CROSS_CHECKS`), sorted like `kb check`."""
    problems = [p for item in loaded for p in item.problems]
    items = [(item.path, item.proposal) for item in loaded if item.proposal is not None]
    for cross in CROSS_CHECKS:
        problems.extend(cross(items))
    return sorted(problems)


# ---------------------------------------------------------------- the build


def build_fingerprint() -> str:
    """Code, step list and step data files: what must be unchanged for an incremental build."""
    inputs = [path for step in BUILD_STEPS if step in INCREMENTAL_STEPS for path in INCREMENTAL_STEPS[step].inputs()]
    names = "\n".join(step_name(s) for s in BUILD_STEPS)
    return filestate.digest_bytes((filestate.fingerprint(inputs) + "\n" + names).encode())


def not_incremental_steps() -> list[str]:
    return [step_name(s) for s in BUILD_STEPS if s not in INCREMENTAL_STEPS]


def full_build(db_path: Path, files: list[Path], fingerprint: str, jobs: int, clock: Clock) -> BuildResult:
    """Parse every file (on `jobs` processes) and write a fresh database."""
    loaded = load_files(files, jobs)
    clock.lap("parse files")
    problems = check_loaded(loaded)
    clock.lap("check")
    if problems:
        raise BuildError(problems)
    ok = sorted((item for item in loaded if item.proposal), key=lambda i: (i.proposal.year, i.proposal.number))
    proposals = [item.proposal for item in ok]
    texts = {item.proposal.id: item.search for item in ok}
    result = BuildResult(db_path, parsed=len(loaded), added=[p.id for p in proposals])

    def fill(db: sqlite_utils.Database) -> None:
        populate(db, proposals, texts, clock)
        filestate.create_state_tables(db)
        filestate.write_files(db, [(item.state, item.proposal.id) for item in ok])
        filestate.write_fingerprint(db, fingerprint)
        result.counts = table_counts(db)

    write_atomically(db_path, fill, clock.lap)
    return result


def build(db_path: str | Path, dirs: Iterable[str | Path], *, full: bool = False, jobs: int | None = None) -> BuildResult:
    """Check the files, then build the database atomically; raise BuildError (writing nothing) on problems.

    Incremental when the previous database at `db_path` was built by this code from the same data
    (unless `full`); otherwise full, parsing on `jobs` processes (default: every core).
    """
    from .incremental import MANY_CHANGES, decide, incremental_build

    db_path = Path(db_path)
    clock = Clock()
    fingerprint = build_fingerprint()
    decision = decide(db_path, fingerprint, full)
    clock.lap("decide")
    with using_jobs(jobs) as jobs_in_force:
        result, reason = None, decision.reason
        if decision.stored is not None:
            result = incremental_build(db_path, dirs, decision.stored, jobs_in_force, clock)
            reason = MANY_CHANGES
        if result is None:
            files = iter_proposal_files(dirs)
            clock.lap("list files")
            result = full_build(db_path, files, fingerprint, jobs_in_force, clock)
            result.reason = reason or ""
    result.seconds = clock.seconds
    return result
