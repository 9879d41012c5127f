"""The documentation against the code it describes: tables, generated schema lists, commands, module map."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlite_utils
import typer
import yaml
from cogapp import Cog

from kb.cli import app
from kb.pipeline import build

REPO = Path(__file__).parent.parent
CORPUS = Path(__file__).parent / "fixtures" / "corpus"
SCHEMA_DOC = REPO / "docs" / "schema.md"
METADATA = REPO / "site" / "metadata.yml"
MODULE_MAP = REPO / "docs" / "CONTRIBUTING-dev.md"
# Tables that are not data: SQLite's own, the search index's shadow tables, the incremental build's records.
UNDOCUMENTED_PREFIXES = ("sqlite_", "proposals_fts")
BOOKKEEPING = {"build_files", "build_info"}
# A repository path in running text: kb/… or site/plugins/…, a folder (ends in /) or a .py file.
PATH_MENTION = re.compile(r"(?<![\w./-])((?:kb|site/plugins)/(?:\w+/)*(?:\w+\.py)?)")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> sqlite_utils.Database:
    path = tmp_path_factory.mktemp("docs") / "kb.db"
    build(path, [CORPUS])
    return sqlite_utils.Database(path)


def _documented_tables() -> dict[str, dict]:
    metadata = yaml.safe_load(METADATA.read_text(encoding="utf-8"))
    return {name: table or {} for name, table in metadata["databases"]["kb"]["tables"].items()}


def test_every_built_table_is_documented(built: sqlite_utils.Database) -> None:
    tables = _documented_tables()
    headings = set(re.findall(r"^### `(\w+)`", SCHEMA_DOC.read_text(encoding="utf-8"), flags=re.MULTILINE))
    problems = []
    for name in built.table_names():
        if name.startswith(UNDOCUMENTED_PREFIXES) or name in BOOKKEEPING:
            continue
        if name not in tables:
            problems.append(f"{name}: not in site/metadata.yml")
        described = tables.get(name, {}).get("columns") or {}
        problems += [f"{name}.{c}: no description in site/metadata.yml"
                     for c in built[name].columns_dict if not described.get(c)]  # fmt: skip
        if name not in headings:
            problems.append(f"{name}: no `### \\`{name}\\`` heading in docs/schema.md")
    assert problems == []


def test_schema_doc_is_generated_from_metadata() -> None:
    status = Cog().main(["cog", "--check", str(SCHEMA_DOC)])
    assert status == 0, "docs/schema.md differs from site/metadata.yml: run .venv/bin/cog -r docs/schema.md"


def test_format_doc_fault_table_is_generated_from_the_cases() -> None:
    status = Cog().main(["cog", "--check", str(REPO / "docs" / "format.md")])
    assert status == 0, "docs/format.md differs from tests/fixtures/editor_faults/cases.yaml: run .venv/bin/cog -r docs/format.md"


def test_commands_are_documented() -> None:
    docs = "\n".join(p.read_text(encoding="utf-8") for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])
    commands = getattr(typer.main.get_command(app), "commands", {})  # a group's; typer ships its own click
    assert commands, "the kb app has no subcommands"
    undocumented = [name for name in commands if not re.search(rf"(?<![\w-])kb {re.escape(name)}(?![\w-])", docs)]
    assert undocumented == []


def _modules_and_packages() -> list[str]:
    """Every module of kb/ and site/plugins/ as a path, and every package of kb/ as a folder ending in /."""
    paths = [p for p in [*(REPO / "kb").rglob("*.py"), *(REPO / "site" / "plugins").glob("*.py")]
             if "__pycache__" not in p.parts]  # fmt: skip
    modules = [p.relative_to(REPO).as_posix() for p in paths if p.name != "__init__.py"]
    packages = [f"{p.parent.relative_to(REPO).as_posix()}/" for p in paths
                if p.name == "__init__.py" and p.parent != REPO / "kb"]  # fmt: skip
    return sorted(modules + packages)


def test_every_module_is_in_the_module_map() -> None:
    mentioned = set(PATH_MENTION.findall(MODULE_MAP.read_text(encoding="utf-8")))
    missing = [path for path in _modules_and_packages() if path not in mentioned]
    stale = sorted(path for path in mentioned if not (REPO / path).exists())
    assert (missing, stale) == ([], [])
