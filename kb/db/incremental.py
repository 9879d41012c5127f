"""Incremental `kb build`: replace only the rows of proposals whose files changed, in a copy of the database.

The copy is updated and renamed over the previous database like a full build's
temporary file, so a failure leaves the previous database as it was.

The search index is a contentless FTS5 table (it stores no text, docs/search.md), and
on SQLite 3.40 such a table can delete a row only when told the exact text that was
indexed for it. That text is a pure function of the rows stored for the proposal
(`kb.search.index.search_texts`), so it is recomputed from those rows just before they are
deleted. `tests/test_build_incremental.py` compares the whole index, term by term,
with a full rebuild's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from kb.core import tempfiles
from kb.core.problems import Problem, ProblemError, display_path
from kb.db import dbfile, filestate
from kb.db.dbfile import BackgroundCopy, write_atomically
from kb.db.full import run_steps
from kb.db.load import Loaded, check_loaded, load_files, parsed_in_order
from kb.db.result import BuildResult, Clock, Run
from kb.db.schema import CORE_PROPOSAL_TABLES, DERIVED_LOOKUPS, BuildStep
from kb.db.tables import insert_core_rows, insert_rendered_rows, table_counts
from kb.files.disk import list_proposal_files
from kb.search import index
from kb.search.index import SearchTexts

MOST = 0.5  # share of changed files above which the build is full instead
MANY_CHANGES = "ファイルの半分以上が変わったため"
REPLACED = "前回のデータベースがビルドの途中で別のビルドに置き換えられたため"


@dataclass
class Decision:
    """Full or incremental, and why; `stored` is the previous build's file list when incremental, read from
    the database file `source` (its identity: another build may rename a new file over the path later)."""

    reason: str | None  # None: incremental; "" : full, nothing to say (no previous database)
    stored: dict[str, filestate.StoredFile] | None = None
    source: dbfile.Identity | None = None


def proposal_tables(steps: Sequence[BuildStep]) -> list[str]:
    """Every table keyed by `proposal_id`: the steps' (in reverse, last written first) and the core ones."""
    return [*(t for step in reversed(steps) for t in step.tables), *CORE_PROPOSAL_TABLES]


def _undeclared_references(db_path: Path, steps: Sequence[BuildStep]) -> list[str]:
    """Tables of the previous database that refer to proposals without being declared per-proposal tables."""
    db = filestate.open_readonly(db_path)
    try:
        declared = set(proposal_tables(steps))
        return sorted(
            t.name
            for t in db.tables
            if t.name not in declared and any(fk.other_table == "proposals" for fk in t.foreign_keys)
        )
    finally:
        db.close()


def decide(db_path: Path, steps: Sequence[BuildStep], fingerprint: str, full: bool) -> Decision:
    """Incremental only when the previous database was built by this code, these steps and this data."""
    if full:
        return Decision("--full の指定")
    if not db_path.is_file():
        return Decision("")
    missing = [step.name for step in steps if not step.incremental]
    if missing:
        return Decision(f"差分更新に対応していない処理があります（{', '.join(missing)}）")
    source = dbfile.identity(db_path)
    previous = filestate.read_previous(db_path)
    if dbfile.identity(db_path) != source:  # renamed over while being read: nothing to trust
        return Decision("前回のデータベースが読んでいる間に置き換えられました")
    if previous is None:
        return Decision("前回のデータベースに差分更新のための記録がありません")
    if previous[0] != fingerprint:
        return Decision("前回のビルドとプログラムまたはデータ（data/）が違います")
    undeclared = _undeclared_references(db_path, steps)
    if undeclared:
        return Decision(f"提案ごとの行を差分更新できない表があります（{', '.join(undeclared)}）")
    return Decision(None, previous[1], source)


# ---------------------------------------------------------------- rows of the database


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def delete_proposals(db: sqlite_utils.Database, ids: list[str], steps: Sequence[BuildStep]) -> None:
    """Every row of these proposals: search index entries, per-proposal tables, then the proposals rows."""
    index.delete_texts(db, ids)
    with db.conn:
        for batch in _chunks(ids):
            marks = ",".join("?" * len(batch))
            for table in proposal_tables(steps):
                db.conn.execute(f"DELETE FROM [{table}] WHERE proposal_id IN ({marks})", batch)
            db.conn.execute(f"DELETE FROM proposals WHERE id IN ({marks})", batch)


def drop_unused_lookups(db: sqlite_utils.Database) -> None:
    """Remove names no row refers to any more, as a full build would never have written them."""
    refs: dict[str, list[tuple[str, str]]] = {t: [] for t in DERIVED_LOOKUPS}
    for table in db.tables:
        for fk in table.foreign_keys:
            if fk.other_table in refs:
                assert fk.column is not None  # lookups' one key is `id`: keys to them are single-column
                refs[fk.other_table].append((table.name, fk.column))
    with db.conn:
        for lookup, columns in refs.items():
            unused = " AND ".join(
                f"NOT EXISTS (SELECT 1 FROM [{t}] WHERE [{t}].[{c}] = [{lookup}].id)" for t, c in columns
            )
            if unused:
                db.conn.execute(f"DELETE FROM [{lookup}] WHERE {unused}")


def update_rows(
    db: sqlite_utils.Database, gone: list[str], loaded: list[Loaded], steps: Sequence[BuildStep], clock: Clock
) -> None:
    """Replace the rows of `gone` proposals with those of the new and changed proposals in `loaded`."""
    db.execute("PRAGMA foreign_keys = ON")  # every insert and delete checked now, instead of a scan at the end
    delete_proposals(db, gone, steps)
    clock.lap("delete old rows")
    ordered = parsed_in_order(loaded)
    proposals = [item.proposal for item in ordered]
    insert_core_rows(db, proposals)
    insert_rendered_rows(db, [item.rendered for item in ordered])
    clock.lap("core tables")
    run_steps(db, proposals, steps, clock)
    texts: SearchTexts = {item.proposal.id: item.search for item in ordered if item.search}
    index.insert_texts(db, texts)
    clock.lap("search index")
    drop_unused_lookups(db)
    clock.lap("lookups")


def _duplicates_of_unchanged(loaded: list[Loaded], owners: dict[str, str]) -> list[Problem]:
    """A new or changed file whose id an unchanged file already has (what `kb check` calls a duplicate id)."""
    return [
        Problem(display_path(item.path), 1, "id", f"提案 {item.proposal.id} は {display_path(owners[item.proposal.id])} にもあります")
        for item in loaded
        if item.file is not None and item.proposal.id in owners
    ]


def incremental_build(
    db_path: Path,
    dirs: Iterable[str | Path],
    decision: Decision,
    run: Run,
    ahead: BackgroundCopy | None = None,
) -> BuildResult | str:
    """Parse only changed files; update a copy of the previous database; nothing is written when nothing changed.

    The copy starts as soon as a change is likely: a recorded file with another stat (looked at before
    listing, `filestate.any_stat_differs`), else the first change `compare` finds. It runs while the
    files are listed and compared and the changed ones parsed and checked. (Started before anything is
    known, it made a build with nothing to do 0.4 s slower at 10,000.) `ahead`: that copy, started
    before the build was even imported (kb/db/ahead.py). Returns why the build must be full instead,
    writing nothing, when most files changed (a full build is then quicker) or when the file copied is
    not the one `decision` read (another build renamed a new database over it meanwhile: the changes
    were found against the other).
    """
    assert decision.stored is not None  # an incremental decision
    stored = decision.stored
    copies: list[BackgroundCopy] = [ahead] if ahead is not None else []  # `_build` kept it only if of the file read
    starting = False  # True while a copy's file may exist that `copies` does not hold yet

    def start_copy() -> None:
        nonlocal starting
        if not copies:
            starting = True
            copies.append(dbfile.start_copy(db_path))
            starting = False

    try:
        result = _update_copy(db_path, dirs, stored, run, start_copy, copies, decision.source)
        for started in copies:
            if started.dst.exists():  # not renamed into place: the build turned full
                started.discard()
        return result
    except BaseException:
        for started in copies:
            started.discard()  # again, should a signal have come during the discard above: a second one is harmless
        if starting:  # a signal between the copy's file and `copies`: found by the name it was given
            tempfiles.remove_own(db_path, but={started.dst for started in copies})
        raise


def _update_copy(
    db_path: Path,
    dirs: Iterable[str | Path],
    stored: dict[str, filestate.StoredFile],
    run: Run,
    start_copy: Callable[[], None],
    copies: list[BackgroundCopy],
    source: dbfile.Identity | None,
) -> BuildResult | str:
    clock = run.clock
    if not copies:  # (a copy started ahead, kb/db/ahead.py, has looked already)
        if filestate.any_stat_differs(stored):  # most likely something changed: the copy starts before the listing
            start_copy()
        clock.lap("look for changes")
    listing = list_proposal_files(dirs)
    if listing.problems:  # a folder that cannot be read may hide removed or changed files
        raise ProblemError(listing.problems)
    files = listing.files
    clock.lap("list files")
    changes = filestate.compare(files, stored, on_change=start_copy)
    clock.lap("compare files")
    if not changes.any:
        return BuildResult(db_path, counts={"proposals": len(stored)}, mode="unchanged")
    if len(changes.changed) + len(changes.removed) > MOST * max(len(files), len(stored)):
        return MANY_CHANGES  # deleting and re-adding most rows one by one costs more than writing them anew
    loaded = load_files(changes.changed, run.jobs, changes.read)
    clock.lap("parse files")
    changed_paths = {str(p) for p in changes.changed}
    owners = {s.proposal_id: path for path, s in stored.items() if path not in changed_paths and path not in changes.removed}
    problems = check_loaded(loaded, run.checks) + _duplicates_of_unchanged(loaded, owners)
    clock.lap("check")
    if problems:
        raise ProblemError(problems)
    before = {stored[p].proposal_id for p in [*changed_paths, *changes.removed] if p in stored}
    after = {item.proposal.id for item in loaded}
    result = BuildResult(
        db_path,
        mode="incremental",
        parsed=len(loaded),
        added=sorted(after - before),
        changed=sorted(after & before),
        removed=sorted(before - after),
    )

    copy = copies[0]  # started when the first change was found
    if copy.source != source:  # another build put a new database in place after this one read the old
        return REPLACED

    for step in run.steps:  # while the copy is still being made
        step.prepare()
    clock.lap("prepare steps")

    def fill(db: sqlite_utils.Database) -> None:
        clock.seconds["background: copy previous database"] = copy.seconds
        update_rows(db, sorted(before), loaded, run.steps, clock)
        filestate.forget_files(db, changes.removed)
        filestate.write_files(
            db,
            [(item.state, item.proposal.id) for item in loaded if item.state]  # as full.py: every item here parsed, so has one
            + [(state, stored[state.path].proposal_id) for state in changes.restat],
        )
        result.counts = table_counts(db)
        clock.lap("counts")

    write_atomically(db_path, fill, clock.lap, tmp=copy.dst, copy=copy)
    return result
