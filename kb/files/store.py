"""Proposal files on disk: finding them, writing them safely, creating and showing one by id."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kb.core.models import relative_path
from kb.core.vocab import year_to_era
from kb.files.parse import parse_file
from kb.files.render import render_template

ID_RE = re.compile(r"^(\d{4})-(\d{1,4})$")


def iter_proposal_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every `*.md` file named or found below the given paths, sorted (README.md files are docs)."""
    files: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            files.update(f for f in p.rglob("*.md") if f.name.lower() != "readme.md")
        else:
            files.add(p)
    return sorted(files)


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


def path_for_id(directory: Path, proposal_id: str) -> Path:
    m = ID_RE.match(proposal_id.strip())
    if not m:
        raise ValueError(f"提案IDは「2024-0071」の形です: 「{proposal_id}」")
    return directory / relative_path(int(m.group(1)), int(m.group(2)))


def write_new(path: Path, text: str) -> None:
    """Write a file that must not exist yet: FileExistsError rather than overwrite an editor's work."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8", newline="\n") as f:  # "x": fails if it exists
        f.write(text)


def create_new(directory: Path, year: int, number: int) -> Path:
    """Write a template for a new proposal (`kb new`); never overwrite an existing file."""
    path = directory / relative_path(year, number)
    write_new(path, render_template(year, number, year_to_era(year)))
    return path


def show(directory: Path, proposal_id: str) -> dict[str, Any]:
    """One proposal as JSON-ready data, looked up by id (`2024-0071`)."""
    path = path_for_id(directory, proposal_id)
    if not path.exists():
        raise FileNotFoundError(f"{path}: 提案 {proposal_id} のファイルがありません")
    proposal = parse_file(path)
    return {"id": proposal.id, **proposal.model_dump(mode="json")}
