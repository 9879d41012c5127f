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

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path


def _import_sqlite_utils_without_numpy() -> None:
    """Import sqlite-utils without the numpy (and pandas) it imports only to map their scalar types.

    sqlite-utils tries both at import time; numpy alone is a quarter of a second, more than a
    one-file `kb build` spends on anything but the database copy. The build never hands
    sqlite-utils a numpy or pandas value (the similar step, the one user of numpy, converts to
    Python numbers), so nothing is lost; numpy itself imports normally afterwards.
    """
    if "sqlite_utils" in sys.modules:
        return
    hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # None: "import numpy" raises ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


_import_sqlite_utils_without_numpy()

from kb.core import tempfiles  # noqa: E402
from kb.db.dbfile import BackgroundCopy  # noqa: E402
from kb.db.full import fingerprint, full_build  # noqa: E402
from kb.db.incremental import decide, incremental_build  # noqa: E402
from kb.db.parallel import using_jobs  # noqa: E402
from kb.db.result import BuildResult, Clock, Run  # noqa: E402
from kb.db.schema import BuildStep  # noqa: E402
from kb.db.sqlite_heap import heap_uncapped  # noqa: E402
from kb.files.check import Check, duplicate_ids  # noqa: E402
from kb.files.disk import list_proposal_files  # noqa: E402


def build(
    db_path: str | Path,
    dirs: Iterable[str | Path],
    *,
    steps: Sequence[BuildStep] = (),
    checks: Iterable[Check] = (duplicate_ids,),
    full: bool = False,
    jobs: int | None = None,
    ahead: BackgroundCopy | None = None,
) -> BuildResult:
    """Check the files, then build the database atomically; raise ProblemError (writing nothing) on problems.

    Incremental when the previous database at `db_path` was built by this code from the same data
    (unless `full`); otherwise full, parsing on `jobs` processes (default: every core). `ahead`: a copy
    of the database already being made (kb/db/ahead.py); an incremental build uses it, a full one
    discards it at once. Whoever started it still discards it if it is left unused.
    """
    with heap_uncapped():
        return _build(db_path, dirs, steps=steps, checks=checks, full=full, jobs=jobs, ahead=ahead)


def _build(
    db_path: str | Path,
    dirs: Iterable[str | Path],
    *,
    steps: Sequence[BuildStep],
    checks: Iterable[Check],
    full: bool,
    jobs: int | None,
    ahead: BackgroundCopy | None,
) -> BuildResult:
    db_path = Path(db_path)
    dirs = list(dirs)
    clock = Clock()
    tempfiles.remove_stale(db_path.parent)  # what killed builds left, even when nothing is written now
    decision = decide(db_path, steps, fingerprint(steps), full)
    clock.lap("decide")
    if ahead is not None and (decision.stored is None or ahead.source != decision.source):
        ahead.discard()  # a full build writes a new file; a copy of another file than `decide` read is of no use
        ahead = None
    with using_jobs(jobs) as jobs_in_force:
        run = Run(steps, tuple(checks), jobs_in_force, clock)
        result, reason = None, decision.reason
        if decision.stored is not None:
            outcome = incremental_build(db_path, dirs, decision, run, ahead)
            result, reason = (None, outcome) if isinstance(outcome, str) else (outcome, reason)
        if result is None:
            listing = list_proposal_files(dirs)
            clock.lap("list files")
            result = full_build(db_path, listing.files, run, listing.problems)
            result.reason = reason or ""
    result.seconds = clock.seconds
    return result
