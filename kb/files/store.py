"""Proposal files on disk: finding them, writing them safely, creating and showing one by id."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from kb.core import tempfiles
from kb.core.models import relative_path
from kb.core.vocab import year_to_era
from kb.files.parse import parse_file
from kb.files.render import render_template

ID_RE = re.compile(r"^(\d{4})-(\d{1,4})$")


def _write_temp(path: Path, text: str) -> Path:
    """The text in a complete temporary file beside `path` (removed again on any failure).

    Not fsynced: a killed process loses nothing the kernel has; a build's database is synced.
    """
    tempfiles.remove_stale(path.parent)  # left by a run that was killed before it could clean up
    fd, tmp = tempfiles.make_temp(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    tmp = _write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def path_for_id(directory: Path, proposal_id: str) -> Path:
    m = ID_RE.match(proposal_id.strip())
    if not m:
        raise ValueError(f"提案IDは「2024-0071」の形です: 「{proposal_id}」")
    return directory / relative_path(int(m.group(1)), int(m.group(2)))


def write_new(path: Path, text: str) -> None:
    """Write a file that must not exist yet: FileExistsError rather than overwrite an editor's work.

    The complete text is linked into place (a hard link fails if the name exists), so a killed
    run leaves either no file or the whole file, never half of one.
    """
    tmp = _write_temp(path, text)
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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
