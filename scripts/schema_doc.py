"""The table and column lists of docs/schema.md, generated from site/metadata.yml.

The site shows the same descriptions as column labels and tooltips; generating the document from that one
file (by cog, checked with `cog --check docs/schema.md` in `make test`) keeps the two from drifting apart.
Regenerate after editing site/metadata.yml: `.venv/bin/cog -r docs/schema.md`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

METADATA = Path(__file__).resolve().parent.parent / "site" / "metadata.yml"
DATABASE = "kb"  # the name the site serves the database under (kb.db.schema.DB_NAME)
HIDDEN_NOTE = "サイトの表の一覧には出さない表です。"


def load_metadata(path: Path = METADATA) -> dict[str, Any]:
    """site/metadata.yml as Datasette reads it (yaml here, so cog needs nothing from the kb package)."""
    metadata: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return metadata


def tables_of(metadata: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-table blocks of the database, in the order metadata.yml lists them (the reading order)."""
    tables: dict[str, dict[str, Any]] = metadata["databases"][DATABASE]["tables"]
    return {name: table or {} for name, table in tables.items()}


def _cell(text: object) -> str:
    """Text fit for one Markdown table cell: a cell cannot span lines, and `|` would end it."""
    return re.sub(r"[ \t]*\n[ \t]*", " ", str(text).strip()).replace("|", "\\|")


def render_index(metadata: Mapping[str, Any]) -> str:
    """The list of tables: name and title, one row per table."""
    rows = ["| 表 (table) | 内容 |", "|---|---|"]
    for name, table in tables_of(metadata).items():
        hidden = "（非表示）" if table.get("hidden") else ""
        rows.append(f"| `{name}` | {_cell(table.get('title', ''))}{hidden} |")
    return "\n".join(rows) + "\n"


def render_table(name: str, table: Mapping[str, Any]) -> str:
    """One table's section: `### name — title`, its description, and its columns with their descriptions."""
    title = table.get("title")
    blocks = [f"### `{name}` — {title}" if title else f"### `{name}`"]
    description = str(table.get("description") or "").strip()
    if description or table.get("hidden"):
        blocks.append(" ".join(filter(None, [description, HIDDEN_NOTE if table.get("hidden") else ""])))
    columns: Mapping[str, Any] = table.get("columns") or {}
    if columns:
        rows = ["| 列 | 説明 |", "|---|---|"]
        rows += [f"| `{column}` | {_cell(text or '')} |" for column, text in columns.items()]
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks) + "\n"


def render_tables(metadata: Mapping[str, Any]) -> str:
    """Every table of metadata.yml, in its order, as Markdown sections separated by blank lines."""
    return "\n".join(render_table(name, table) for name, table in tables_of(metadata).items())
