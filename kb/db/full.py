"""A full build: parse every file and write a fresh database, core tables first, then the steps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from kb.core.models import Proposal
from kb.core.problems import Problem, ProblemError
from kb.db import filestate
from kb.db.dbfile import write_atomically
from kb.db.load import check_loaded, load_files, parsed_in_order
from kb.db.result import BuildResult, Clock, Run
from kb.db.schema import BuildStep
from kb.db.tables import (
    check_foreign_keys,
    insert_rendered_rows,
    table_counts,
    write_core_tables,
    write_indexes,
)
from kb.search import index
from kb.search.index import SearchTexts


def fingerprint(steps: Sequence[BuildStep]) -> str:
    """Code, step list and step data files: what must be unchanged for an incremental build."""
    inputs = [path for step in steps for path in step.inputs()]
    names = "\n".join(step.name for step in steps)
    return filestate.digest_bytes((filestate.fingerprint(inputs) + "\n" + names).encode())


def run_steps(db: sqlite_utils.Database, proposals: list[Proposal], steps: Iterable[BuildStep], clock: Clock) -> None:
    for step in steps:
        step.run(db, proposals)
        clock.lap(f"step {step.name}")


def populate(
    db: sqlite_utils.Database,
    proposals: list[Proposal],
    steps: Iterable[BuildStep],
    texts: SearchTexts,
    clock: Clock,
    rendered: Iterable[dict[str, list[dict[str, Any]]]] = (),
) -> None:
    """Everything that goes into a fresh database, in order: core tables, steps, search index, indexes.

    `rendered`: the proposals' `kb.db.rows.rendered_rows`, made in the parse workers.
    """
    write_core_tables(db, proposals)
    insert_rendered_rows(db, rendered)
    clock.lap("core tables")
    run_steps(db, proposals, steps, clock)
    index.create_index(db)
    index.insert_texts(db, texts)
    index.optimize(db)
    clock.lap("search index")
    write_indexes(db)
    check_foreign_keys(db)
    db.analyze()
    clock.lap("indexes")


def full_build(db_path: Path, files: list[Path], run: Run, listing_problems: Sequence[Problem] = ()) -> BuildResult:
    """Parse every file (on `run.jobs` processes) and write a fresh database; ProblemError writes nothing.

    `listing_problems` (folders that could not be read…) fail the build with the files' own problems.
    """
    clock = run.clock
    loaded = load_files(files, run.jobs)
    clock.lap("parse files")
    problems = sorted([*listing_problems, *check_loaded(loaded, run.checks)])
    clock.lap("check")
    if problems:
        raise ProblemError(problems)
    ok = parsed_in_order(loaded)
    proposals = [item.proposal for item in ok]
    texts: SearchTexts = {item.proposal.id: item.search for item in ok if item.search}
    result = BuildResult(db_path, parsed=len(loaded), added=[p.id for p in proposals])

    def fill(db: sqlite_utils.Database) -> None:
        populate(db, proposals, run.steps, texts, clock, [item.rendered for item in ok])
        filestate.create_state_tables(db)
        filestate.write_files(db, [(item.state, item.proposal.id) for item in ok if item.state])
        filestate.write_fingerprint(db, fingerprint(run.steps))
        result.counts = table_counts(db)

    write_atomically(db_path, fill, clock.lap)
    return result
