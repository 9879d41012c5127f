"""docs/format.md's table of editors' mistakes, made from tests/fixtures/editor_faults/cases.yaml (`cog -r docs/format.md`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CASES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "editor_faults" / "cases.yaml"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_fault_table(cases: list[dict[str, Any]] | None = None) -> str:
    """| 間違い | kb check の表示 | with the file path shortened to the file's place in its year folder."""
    if cases is None:
        cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]
    rows = [f"{len(cases)} 件の間違い:", "", "| 間違い | `kb check` の表示（ファイル:行: 項目: 内容） |", "|---|---|"]
    for case in cases:
        shown = [m.split("/", 1)[1] if m.startswith(case["case"] + "/") else m for m in case["messages"]]
        rows.append(f"| {_cell(case['mistake'])} | {'<br>'.join(_cell(f'`{m}`') for m in shown) or '（なし）'} |")
    return "\n".join(rows)
