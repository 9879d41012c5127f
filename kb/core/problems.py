"""Problems found in files, reported the way linters do: `path:line: field: message`.

Every part of the project that reads something an editor wrote (proposal files, the
registries, sheets to import) reports through `Problem`, and every failure that carries
problems is one `ProblemError`, so the command line prints them all the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One fault at one place. `page` (PDF input) replaces the line in the message when set;
    line 0 means the whole file (it is missing, unreadable, or not the right kind of file)."""

    path: str
    line: int
    field: str
    message: str
    page: int = 0

    def __str__(self) -> str:
        if self.page:
            where = f"{self.path}:{self.page}ページ"
        else:
            where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}"


class ProblemError(Exception):
    """Raised when input cannot be used; carries every problem found, sorted by file and line."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def display_path(path: str | Path) -> str:
    """A path as the editor typed it, relative to the working directory when possible."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # outside the cwd; or a symlink loop, a vanished cwd
        return str(p)
