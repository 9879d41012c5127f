"""`kb check`: every problem in every proposal file at once, then the checks across files.

Checks are passed in (`checks=`), like eyecite's resolver callables: this module knows
only the parser and the one check every corpus needs (an id used twice). `kb.pipeline`
adds the registries' and statutes' checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kb.core.models import Proposal, ProposalFile
from kb.core.problems import Problem, display_path
from kb.files.disk import list_proposal_files
from kb.files.parse import read_lenient

# A check sees every file that parsed, with its front-matter lines, and returns problems.
Check = Callable[[Sequence[ProposalFile]], list[Problem]]


@dataclass
class CheckResult:
    files: list[ProposalFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def proposals(self) -> list[tuple[Path, Proposal]]:
        return [(f.path, f.proposal) for f in self.files]


def duplicate_ids(files: Sequence[ProposalFile]) -> list[Problem]:
    """The same (year, 管理番号) in two files."""
    seen: dict[str, Path] = {}
    problems = []
    for f in files:
        pid = f.proposal.id
        if pid in seen:
            problems.append(Problem(f.where, 1, "id", f"提案 {pid} は {display_path(seen[pid])} にもあります"))
        else:
            seen[pid] = f.path
    return problems


def run_checks(files: Sequence[ProposalFile], checks: Iterable[Check]) -> list[Problem]:
    return [p for check in checks for p in check(files)]


def check_paths(paths: Iterable[str | Path], checks: Iterable[Check] = (duplicate_ids,)) -> CheckResult:
    """Parse every file, collect all problems (never stop at the first), then run `checks`.

    A file with problems is still checked further when a proposal could be read from it (with
    `complete` False), so one run reports everything: a wrong heading and a mistyped name together.
    """
    listing = list_proposal_files(paths)
    result = CheckResult(problems=list(listing.problems))
    for path in listing.files:
        located, problems = read_lenient(path)
        result.problems.extend(problems)
        if located is not None:
            result.files.append(located)
    result.problems.extend(run_checks(result.files, checks))
    result.problems.sort()
    return result
