"""`kb fmt`: rewrite proposal files in canonical layout without changing what they mean."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .check import check_paths
from .problems import Problem
from .render import render


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def format_paths(paths: Iterable[str | Path], *, check_only: bool = False) -> tuple[list[Path], list[Problem]]:
    """Files not in canonical layout (rewritten unless check_only), and problems that stop formatting.

    Files with problems are left alone: formatting must never hide or lose text.
    """
    result = check_paths(paths)
    changed = []
    for path, proposal in result.proposals:
        canonical = render(proposal)
        if path.read_text(encoding="utf-8") != canonical:
            changed.append(path)
            if not check_only:
                write_atomic(path, canonical)
    return changed, result.problems
