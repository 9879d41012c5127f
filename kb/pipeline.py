"""The only module that knows every feature: which build steps and checks a run uses.

Each stage takes its steps and checks as parameters (`kb.db.build.build(..., steps=...)`,
`kb.files.check.check_paths(paths, checks)`); this module passes the project's defaults,
so nothing registers itself by being imported and a test can run a build with exactly the
steps it wants. The command line (`kb.cli`) calls these verbs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kb.core import tempfiles
from kb.core.models import proposal_id
from kb.core.paths import data_dir
from kb.core.problems import Problem, ProblemError, display_path
from kb.db import facet_counts
from kb.db.result import BuildResult
from kb.db.schema import BuildStep
from kb.files import fmt as files_fmt
from kb.files import rules
from kb.files.changed import changed_files, clashes_with_unchanged
from kb.files.check import Check, CheckResult, check_paths, duplicate_ids
from kb.files.store import write_new
from kb.registries import check as registry_check
from kb.registries import step as registry_step
from kb.similar import step as similar_step
from kb.statutes import check as statute_check
from kb.statutes import step as statute_step
from kb.statutes.extract import cite_lines
from kb.statutes.lawlist import law_list_path
from kb.statutes.registry import Registry, load_registry, registry_path
from kb.statutes.report import StatuteReport, statute_report

if TYPE_CHECKING:
    from kb.db.dbfile import BackgroundCopy
    from kb.harvest.run import Summary as HarvestSummary
    from kb.importer.merge import ImportReport
    from kb.statutes.update import LawListUpdate

# Tables each feature adds to the database, in order, after the core tables.
# The facet counts come last: they count the columns the other steps add.
STEPS: tuple[BuildStep, ...] = (registry_step.STEP, statute_step.STEP, similar_step.STEP, facet_counts.STEP)
# Checks across files and against the registries, after every file parsed.
CHECKS: tuple[Check, ...] = (
    duplicate_ids,
    *rules.RULES,
    statute_check.statute_registry_check,
    registry_check.registry_problems,
)


def check(paths: Iterable[str | Path], checks: Iterable[Check] = CHECKS, *, changed: str | None = None) -> CheckResult:
    """`kb check`: every problem of every file and of the registries.

    With `changed` (a git ref), only the files changed since then are read; an id they share with an
    unchanged file is still found, from the unchanged file's path (the path check ties path and id).
    """
    roots = list(paths)
    if changed is None:
        return check_paths(roots, checks)
    present = [r for r in roots if Path(r).exists()]
    result = check_paths(changed_files(changed, present), [*checks, clashes_with_unchanged(present)])
    missing = [Problem(display_path(r), 0, "ファイル", "ファイルがありません") for r in roots if not Path(r).exists()]
    result.problems = sorted(result.problems + missing)
    return result


def fmt(paths: Iterable[str | Path], *, check_only: bool = False) -> tuple[list[Path], list[Problem]]:
    """`kb fmt`: canonical layout for every file that parsed completely (one with parse problems is left alone)."""
    return files_fmt.format_paths(paths, check_only=check_only, checks=CHECKS)


def build(
    db_path: str | Path,
    dirs: Iterable[str | Path],
    *,
    steps: Sequence[BuildStep] = STEPS,
    checks: Iterable[Check] = CHECKS,
    full: bool = False,
    jobs: int | None = None,
    ahead: BackgroundCopy | None = None,
) -> BuildResult:
    """`kb build`: check, then write the database atomically (incrementally when it can).

    The build (and sqlite-utils) is loaded here, not at the top, so `kb check` starts faster.
    `ahead`: a copy of the database already being made (kb/db/ahead.py), for an incremental build to use.
    """
    from kb.db.build import build as build_database

    return build_database(db_path, dirs, steps=steps, checks=checks, full=full, jobs=jobs, ahead=ahead)


def build_inputs() -> list[Path]:
    """Folders and files besides the proposals whose change makes a built database stale."""
    return [data_dir(), registry_path(), law_list_path()]


def import_(inputs: Iterable[Path], out_dir: Path, *, force: bool = False, url: str | None = None) -> ImportReport:
    """`kb import`: sheets (text or PDF) into proposal files, merged with what is there.

    The importer is loaded here, not at the top: pdfminer alone is a fifth of a second that
    every other command (`kb build` after one edit above all) would pay at start-up.
    """
    from kb.importer.merge import run_import

    tempfiles.remove_stale_below(out_dir)  # what a killed import or fmt left in any year folder
    report = run_import(inputs, out_dir, force=force, url=url)
    written = [change.path for change in report.files if change.changed] if report.written else []
    if written:
        # The files stay written (the editor fixes them); what `kb check` would say is shown now.
        report.check_problems = check(written).problems
    return report


def new_from_sheet(
    sheet: Path,
    out_dir: Path,
    *,
    year: int | None = None,
    number: int | None = None,
    url: str | None = None,
) -> ImportReport:
    """`kb new --from SHEET`: a new proposal file from one sheet's content, never over an existing file.

    The sheet is read as `kb import` reads it, but planned as a new file: a file that exists is
    refused (adding a later stage to it is `kb import`'s job). `year`/`number`, when given, must be
    the sheet's; in an input holding several proposals they choose one. ProblemError otherwise.
    The report's `check_problems` are `kb check`'s problems in the file written.
    """
    from kb.importer.merge import plan_import

    report = plan_import([sheet], out_dir, url=url, fresh=True)
    if report.problems:
        raise ProblemError(report.problems)
    where = display_path(sheet)
    found = [change.proposal.id for change in report.files]
    if year is not None and number is not None:
        wanted = proposal_id(year, number)
        chosen = [change for change in report.files if change.proposal.id == wanted]
        if not chosen:
            message = f"個票は提案 {'、'.join(found)} で、指定された {wanted} と一致しません"
            raise ProblemError([Problem(where, 0, "年・管理番号", message)])
    elif len(report.files) == 1:
        chosen = report.files
    else:
        message = f"個票に {len(found)} 件の提案（{'、'.join(found)}）があります。作る提案の年と管理番号を指定してください"
        raise ProblemError([Problem(where, 0, "年・管理番号", message)])
    change = chosen[0]
    try:
        write_new(change.path, change.text)
    except FileExistsError:
        message = "すでにあります。上書きしません（後の段階の個票を足すときは kb import を使います）"
        raise ProblemError([Problem(display_path(change.path), 0, "ファイル", message)]) from None
    report.files = [change]
    report.written = True
    report.check_problems = check([change.path]).problems
    return report


def harvest(
    years: Sequence[int],
    *,
    base: str,
    out: Path,
    cache: Path,
    delay: float,
    timeout: float,
    retries: int,
    max_file_mb: int,
    dry_run: bool = False,
    log: Path | None = None,
    progress: bool = False,
) -> HarvestSummary:
    """`kb harvest`: the official site's sheets into proposal files (docs/harvest.md).

    ValueError (Japanese) for a delay under the polite minimum. Loaded here: httpx and rich are
    for this command only.
    """
    from kb.harvest.fetch import Settings
    from kb.harvest.run import Options
    from kb.harvest.run import harvest as run_harvest

    settings = Settings(delay=delay, timeout=timeout, retries=retries, max_file_bytes=max_file_mb << 20)
    options = Options(base=base, out=out, cache=cache, years=tuple(years), dry_run=dry_run, log=log, settings=settings)
    if not progress:
        return run_harvest(options)
    from kb.harvest.progress import RichEvents

    with RichEvents() as events:
        return run_harvest(options, events)


def statute_registry() -> Registry:
    """The statute registry; ProblemError with every problem of its file."""
    return load_registry()


def statutes(paths: Iterable[str | Path], registry: Registry) -> StatuteReport:
    """`kb statutes`: citations counted per statute; the check's problems when files have any."""
    checked = check(paths)
    if checked.problems:
        return StatuteReport(problems=checked.problems, proposals=len(checked.files))
    return statute_report([f.proposal for f in checked.files], registry)


def statutes_update(api_url: str | None = None, *, dry_run: bool = False, force: bool = False) -> LawListUpdate:
    """`kb statutes update`: e-Gov's list of current laws refreshed from the 法令API.

    kb.statutes.update.UpdateRefused, with nothing written, on any doubt. Loaded here, not at the top,
    so that the other commands do not pay for it at start-up.
    """
    from kb.statutes.update import update_law_list

    return update_law_list(api_url, dry_run=dry_run, force=force)


def cite(text: str, registry: Registry) -> list[str]:
    """`kb cite`: one JSON line per citation found in `text`."""
    return cite_lines(text, registry)


__all__ = [
    "CHECKS",
    "STEPS",
    "ProblemError",
    "Registry",
    "build",
    "build_inputs",
    "check",
    "cite",
    "fmt",
    "harvest",
    "import_",
    "new_from_sheet",
    "statute_registry",
    "statutes",
    "statutes_update",
]
