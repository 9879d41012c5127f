"""Reading proposal files for a build, on every core: parse, hash, and make the search text.

Runs in worker processes (`kb.db.parallel`), so each file's result carries everything the
build needs later — the parsed file with its lines, its content hash, its bigram text —
and a bad file comes back as problems instead of an exception.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.core.models import Proposal, ProposalFile
from kb.core.problems import Problem, ProblemError, display_path
from kb.db import filestate
from kb.db.parallel import map_items
from kb.db.rows import opinion_rows, proposal_row, rendered_rows, source_rows
from kb.files import disk
from kb.files.check import Check, run_checks
from kb.files.parse import parse_lenient
from kb.search.index import SearchText, search_texts


def search_row(proposal: Proposal) -> SearchText:
    """Bigram text of one proposal, from the rows the build stores for it (so deletes can redo it)."""
    return search_texts(proposal_row(proposal), opinion_rows(proposal), source_rows(proposal))


@dataclass
class Loaded:
    """One file, parsed: the file with its proposal and bigram text, or its problems."""

    path: Path
    state: filestate.FileState | None
    file: ProposalFile | None = None
    problems: list[Problem] = field(default_factory=list)
    search: SearchText | None = None
    rendered: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # kb.db.rows.rendered_rows

    @property
    def proposal(self) -> Proposal:
        """The parsed proposal (only asked of files that parsed)."""
        assert self.file is not None, f"{self.path} did not parse"
        return self.file.proposal


def load_file(path: Path, now_ns: int, data: tuple[filestate.FileState, bytes] | None = None) -> Loaded:
    """Read (unless already read), hash, parse and make the bigram text of one file; never raises for bad files."""
    try:
        state, raw = data or filestate.read_file(path, now_ns)
    except ProblemError as exc:  # missing, unreadable, not a regular file, too large
        return Loaded(path, None, problems=exc.problems)
    try:
        parsed, problems = parse_lenient(disk.decode(raw), path)
    except UnicodeDecodeError:
        return Loaded(path, state, problems=[Problem(display_path(path), 1, "ファイル", "UTF-8 で保存してください")])
    if parsed is None or problems:  # checked with the others so one run reports everything; never built
        return Loaded(path, state, parsed, problems=problems)
    return Loaded(path, state, parsed, search=search_row(parsed.proposal), rendered=rendered_rows(parsed.proposal))


def load_files(paths: Sequence[Path], jobs: int, read: dict[str, tuple[filestate.FileState, bytes]] | None = None) -> list[Loaded]:
    """`load_file` over many files on `jobs` processes, in order."""
    already = read or {}
    now_ns = time.time_ns()
    return map_items(lambda p: load_file(p, now_ns, already.get(str(p))), paths, jobs)


def check_loaded(loaded: list[Loaded], checks: Iterable[Check]) -> list[Problem]:
    """Every problem: the parser's, then the checks across files, sorted like `kb check`."""
    problems = [p for item in loaded for p in item.problems]
    problems += run_checks([item.file for item in loaded if item.file is not None], checks)
    return sorted(problems)


def parsed_in_order(loaded: list[Loaded]) -> list[Loaded]:
    """The files that parsed, by (year, 管理番号): the order rows are written in."""
    return sorted((item for item in loaded if item.file), key=lambda i: (i.proposal.year, i.proposal.number))
