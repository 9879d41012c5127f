"""`kb build`: proposal files → one SQLite database that Datasette publishes.

The files are the truth. A *full* build (`kb.db.full`) parses every file on every core
and writes a fresh database; an *incremental* build (`kb.db.incremental`), chosen when the
previous database was built by the same code, steps and data (`kb.db.filestate`), re-parses
only files whose content hash changed and replaces only those proposals' rows. Either way
the result goes to a temporary file beside the target that replaces it only once complete
(`kb.db.dbfile`), so a failed build — bad files or a crash — never touches the previous
database.

What goes in besides the core tables is passed in: `steps` (each feature's tables, see
`kb.db.schema.BuildStep`) and `checks` (problems across files). `kb.pipeline.build` passes
every feature's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from kb.core import tempfiles
from kb.db.full import fingerprint, full_build
from kb.db.incremental import MANY_CHANGES, decide, incremental_build
from kb.db.parallel import using_jobs
from kb.db.result import BuildResult, Clock, Run
from kb.db.schema import BuildStep
from kb.files.check import Check, duplicate_ids
from kb.files.disk import list_proposal_files


def _hard_heap_limit_setter() -> Callable[[int], int] | None:
    """sqlite3_hard_heap_limit64 of the SQLite library Python's sqlite3 uses, or None when it cannot be had.

    `PRAGMA hard_heap_limit` can only lower the cap, so lifting it takes the C function itself; it is
    used only when it reads the same cap as the PRAGMA (the very library sqlite3 is linked to).
    """
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    try:
        setter = ctypes.CDLL(name).sqlite3_hard_heap_limit64
    except (OSError, AttributeError):
        return None
    setter.argtypes, setter.restype = [ctypes.c_int64], ctypes.c_int64
    with closing(sqlite3.connect(":memory:")) as conn:
        pragma = conn.execute("PRAGMA hard_heap_limit").fetchone()[0]
    return setter if setter(-1) == pragma else None


@contextmanager
def heap_uncapped() -> Iterator[None]:
    """SQLite's heap without the served site's cap while the build runs, then the cap as it was.

    The cap (`PRAGMA hard_heap_limit`, site/plugins/hardening.py) holds for the whole process: once a
    site served from this process had set it, a build here (tests, a notebook) ran out of heap in its
    own SQLite work. The build is our code on our files, not a visitor's query.
    """
    with closing(sqlite3.connect(":memory:")) as conn:
        cap = int(conn.execute("PRAGMA hard_heap_limit").fetchone()[0])
    setter = _hard_heap_limit_setter() if cap else None
    if setter is not None:
        setter(0)
    try:
        yield
    finally:
        if setter is not None:
            setter(cap)


def build(
    db_path: str | Path,
    dirs: Iterable[str | Path],
    *,
    steps: Sequence[BuildStep] = (),
    checks: Iterable[Check] = (duplicate_ids,),
    full: bool = False,
    jobs: int | None = None,
) -> BuildResult:
    """Check the files, then build the database atomically; raise ProblemError (writing nothing) on problems.

    Incremental when the previous database at `db_path` was built by this code from the same data
    (unless `full`); otherwise full, parsing on `jobs` processes (default: every core).
    """
    with heap_uncapped():
        return _build(db_path, dirs, steps=steps, checks=checks, full=full, jobs=jobs)


def _build(
    db_path: str | Path, dirs: Iterable[str | Path], *, steps: Sequence[BuildStep], checks: Iterable[Check], full: bool, jobs: int | None
) -> BuildResult:
    db_path = Path(db_path)
    dirs = list(dirs)
    clock = Clock()
    tempfiles.remove_stale(db_path.parent)  # what killed builds left, even when nothing is written now
    decision = decide(db_path, steps, fingerprint(steps), full)
    clock.lap("decide")
    with using_jobs(jobs) as jobs_in_force:
        run = Run(steps, tuple(checks), jobs_in_force, clock)
        result, reason = None, decision.reason
        if decision.stored is not None:
            result = incremental_build(db_path, dirs, decision.stored, run)
            reason = MANY_CHANGES
        if result is None:
            listing = list_proposal_files(dirs)
            clock.lap("list files")
            result = full_build(db_path, listing.files, run, listing.problems)
            result.reason = reason or ""
    result.seconds = clock.seconds
    return result
