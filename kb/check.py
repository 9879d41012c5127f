"""`kb check`: every problem in every proposal file at once, including ones across files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .models import Proposal
from .parse import parse_file
from .problems import Problem, ProposalError, display_path
from .registries.proposal_check import registry_problems
from .statutes.checks import statute_registry_check


def iter_proposal_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every `*.md` file named or found below the given paths, sorted (README.md files are docs)."""
    files: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            files.update(f for f in p.rglob("*.md") if f.name.lower() != "readme.md")
        else:
            files.add(p)
    return sorted(files)


@dataclass
class CheckResult:
    proposals: list[tuple[Path, Proposal]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# Checks that need more than one file or data beyond the file (registries) register here.
CrossCheck = Callable[[list[tuple[Path, Proposal]]], list[Problem]]


def duplicate_ids(items: list[tuple[Path, Proposal]]) -> list[Problem]:
    seen: dict[str, Path] = {}
    problems = []
    for path, proposal in items:
        if proposal.id in seen:
            problems.append(
                Problem(display_path(path), 1, "id", f"提案 {proposal.id} は {display_path(seen[proposal.id])} にもあります")
            )
        else:
            seen[proposal.id] = path
    return problems


CROSS_CHECKS: list[CrossCheck] = [duplicate_ids, statute_registry_check, registry_problems]


def check_paths(paths: Iterable[str | Path]) -> CheckResult:
    """Parse every file, collect all problems (never stop at the first)."""
    result = CheckResult()
    files = iter_proposal_files(paths)
    for path in files:
        if not path.exists():
            result.problems.append(Problem(display_path(path), 0, "ファイル", "ファイルがありません"))
            continue
        try:
            result.proposals.append((path, parse_file(path)))
        except ProposalError as exc:
            result.problems.extend(exc.problems)
    for cross in CROSS_CHECKS:
        result.problems.extend(cross(result.proposals))
    result.problems.sort()
    return result
