"""Finding, creating and showing proposal files in a proposals folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .models import relative_path
from .parse import parse_file
from .render import render_template
from .vocab import year_to_era

ID_RE = re.compile(r"^(\d{4})-(\d{1,4})$")


def path_for_id(directory: Path, proposal_id: str) -> Path:
    m = ID_RE.match(proposal_id.strip())
    if not m:
        raise ValueError(f"提案IDは「2024-0071」の形です: 「{proposal_id}」")
    return directory / relative_path(int(m.group(1)), int(m.group(2)))


def create_new(directory: Path, year: int, number: int) -> Path:
    """Write a template for a new proposal; never overwrite an existing file."""
    path = directory / relative_path(year, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8", newline="\n") as f:  # "x": fails if it exists
        f.write(render_template(year, number, year_to_era(year)))
    return path


def show(directory: Path, proposal_id: str) -> dict[str, Any]:
    path = path_for_id(directory, proposal_id)
    if not path.exists():
        raise FileNotFoundError(f"{path}: 提案 {proposal_id} のファイルがありません")
    proposal = parse_file(path)
    return {"id": proposal.id, **proposal.model_dump(mode="json")}
