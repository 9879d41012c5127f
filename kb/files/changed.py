"""`kb check --changed REF`: the proposal files a branch changed, so a pull request is checked quickly.

Asks git which files differ from REF (committed, staged, unstaged, and new files not yet
added), keeps the `*.md` files under the folders being checked, and leaves deleted files out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from kb.core.problems import Problem, ProblemError


def _git(args: list[str], cwd: Path) -> list[str]:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ProblemError([Problem("git", 0, "--changed", "git が見つかりません。--changed には git が必要です")]) from None
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"終了コード {done.returncode}"
        raise ProblemError([Problem("git", 0, "--changed", f"git {' '.join(args)} が失敗しました: {reason}")])
    return [line for line in done.stdout.splitlines() if line]


def changed_files(ref: str, paths: Iterable[str | Path]) -> list[Path]:
    """Proposal files under `paths` that differ from `ref` or are new, as paths under those folders."""
    roots = [Path(p) for p in paths]
    first = roots[0] if roots else Path.cwd()
    top = Path(_git(["rev-parse", "--show-toplevel"], first if first.is_dir() else first.parent)[0])
    listed = _git(["diff", "--name-only", "--diff-filter=d", ref, "--"], top)
    listed += _git(["ls-files", "--others", "--exclude-standard"], top)
    found: set[Path] = set()
    for name in listed:
        path = (top / name).resolve()
        if path.suffix != ".md" or path.name.lower() == "readme.md" or not path.is_file():
            continue
        for root in roots:
            base = root.resolve()
            if path == base or base in path.parents:
                found.add(root / path.relative_to(base) if base != path else root)
                break
    return sorted(found)
