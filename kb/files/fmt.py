"""`kb fmt`: rewrite proposal files in canonical layout without changing what they mean."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kb.core import tempfiles
from kb.core.problems import Problem
from kb.files.check import Check, check_paths, duplicate_ids
from kb.files.render import render
from kb.files.store import write_atomic


def format_paths(
    paths: Iterable[str | Path], *, check_only: bool = False, checks: Iterable[Check] = (duplicate_ids,)
) -> tuple[list[Path], list[Problem]]:
    """Files not in canonical layout (rewritten unless check_only), and problems that stop formatting.

    Files with problems are left alone: formatting must never hide or lose text.
    """
    result = check_paths(paths, checks)
    if not check_only:
        for folder in sorted({f.path.parent for f in result.files}):
            tempfiles.remove_stale(folder)  # what a killed `kb fmt` or `kb import` left
    changed = []
    for f in result.files:
        if not f.complete:
            continue  # parsed with problems: rendering would drop what could not be read
        canonical = render(f.proposal)
        if f.path.read_text(encoding="utf-8") != canonical:
            changed.append(f.path)
            if not check_only:
                write_atomic(f.path, canonical)
    return changed, result.problems
