"""`kb check --changed REF`: the proposal files a branch changed, so a pull request is checked quickly.

Asks git which files differ from REF (committed, staged, unstaged, and new files not yet
added), keeps the `*.md` files under the folders being checked, and leaves deleted files out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from kb.core.models import ProposalFile
from kb.core.problems import Problem, ProblemError, display_path
from kb.files.check import Check


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ProblemError([Problem("git", 0, "--changed", "git が見つかりません。--changed には git が必要です")]) from None
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"終了コード {done.returncode}"
        raise ProblemError([Problem("git", 0, "--changed", f"git {' '.join(args)} が失敗しました: {reason}")])
    return done.stdout


def _verify(ref: str, top: Path) -> None:
    """REF must name a commit; anything else (an option such as `--output=…`, a typo) is refused before use."""
    if ref.startswith("-") or not ref.strip():
        raise ProblemError([Problem("git", 0, "--changed", f"「{ref}」は git のコミット（ブランチ名など）として使えません")])
    _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], top)


def _top(roots: list[Path]) -> Path:
    first = roots[0] if roots else Path.cwd()
    return Path(_git(["rev-parse", "--show-toplevel"], first if first.is_dir() else first.parent).strip())


def changed_files(ref: str, paths: Iterable[str | Path]) -> list[Path]:
    """Proposal files under `paths` (existing folders or files) that differ from `ref` or are new."""
    roots = [Path(p) for p in paths]
    top = _top(roots)
    _verify(ref, top)
    # -z: names as they are (git would otherwise quote 提案/… as "\346\217\220…").
    listed = _git(["diff", "--name-only", "-z", "--diff-filter=d", ref, "--"], top).split("\0")
    listed += _git(["ls-files", "-z", "--others", "--exclude-standard"], top).split("\0")
    found: set[Path] = set()
    for name in filter(None, listed):
        path = (top / name).resolve()
        if path.suffix != ".md" or path.name.lower() == "readme.md" or not path.is_file():
            continue
        for root in roots:
            base = root.resolve()
            if path == base or base in path.parents:
                found.add(root / path.relative_to(base) if base != path else root)
                break
    return sorted(found)


def clashes_with_unchanged(paths: Iterable[str | Path]) -> Check:
    """A check for `kb check --changed`: a checked file whose id an unchecked file under `paths` has.

    Every unchanged file is tracked by git, and in a year folder its path (`…/<year>/<管理番号>.md`,
    at any depth) gives its id, so git's index is asked for exactly those names; nothing is read.
    (A file outside a year folder is compared by the full `kb check`, which CI also runs.)
    """
    roots = [Path(p) for p in paths]

    def check(files: Sequence[ProposalFile]) -> list[Problem]:
        if not files or not roots:
            return []
        top = _top(roots)
        checked = {f.path.resolve() for f in files}
        problems = []
        for f in files:
            name = f"{f.proposal.year}/{f.proposal.number:04d}.md"
            specs = []
            for root in roots:
                base = root.resolve().relative_to(top).as_posix() if root.resolve() != top else ""
                specs.append(f":(glob){base + '/' if base else ''}**/{name}")
            for listed in filter(None, _git(["ls-files", "-z", "--", *specs], top).split("\0")):
                other = top / listed
                if other.resolve() in checked:
                    continue
                message = f"提案 {f.proposal.id} は {display_path(other)} にもあります"
                problems.append(Problem(f.where, f.line("number"), "id", message))
        return problems

    return check
