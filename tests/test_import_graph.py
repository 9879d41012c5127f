"""The layout's rules, kept by CI: one way through the code (scripts/import_graph.py says which)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import import_graph  # noqa: E402


@pytest.fixture(scope="module")
def graph() -> import_graph.Graph:
    return import_graph.read_graph()


def test_modules_import_each_other_without_a_cycle(graph: import_graph.Graph) -> None:
    assert import_graph.find_cycle(graph.edges) is None


def test_stages_depend_on_each_other_one_way(graph: import_graph.Graph) -> None:
    assert import_graph.find_cycle(import_graph.stage_edges(graph)) is None


def test_no_import_breaks_a_layout_rule(graph: import_graph.Graph) -> None:
    assert import_graph.forbidden_edges(graph) == []


def test_the_graph_sees_every_stage(graph: import_graph.Graph) -> None:
    """A reader that silently found no imports would pass every test above."""
    stages = set(import_graph.stage_edges(graph))
    assert {"kb.cli", "kb.db", "kb.files", "kb.importer", "kb.pipeline", "kb.registries", "kb.statutes", "site"} <= stages
    assert "kb.core" in import_graph.stage_edges(graph)["kb.files"]


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_checker_reports_cycles_and_forbidden_imports(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "kb/__init__.py": "",
            "kb/core/__init__.py": "",
            "kb/core/vocab.py": "from kb.files.parse import x\n",
            "kb/files/__init__.py": "",
            "kb/files/parse.py": "def f():\n    from kb.core import vocab\n",
            "kb/db/__init__.py": "",
            "kb/db/full.py": "import kb.pipeline\n",
            "kb/pipeline.py": "from kb.db import full\n",
            "kb/cli.py": "",
            "site/plugins/page.py": "from kb.importer.merge import run_import\nfrom kb.cli import app\n",
            "kb/importer/__init__.py": "",
            "kb/importer/merge.py": "",
        },
    )
    graph = import_graph.read_graph(tmp_path)
    assert import_graph.find_cycle(graph.edges) == ["kb.core.vocab", "kb.files.parse", "kb.core.vocab"]
    assert import_graph.find_cycle(import_graph.stage_edges(graph)) is not None
    forbidden = import_graph.forbidden_edges(graph)
    assert "kb.core.vocab → kb.files.parse: kb.core imports nothing else of kb" in forbidden
    assert "kb.db.full → kb.pipeline: no stage imports kb.pipeline" in forbidden
    assert any(f.startswith("site.page → kb.importer.merge") for f in forbidden)
    assert any(f.startswith("site.page → kb.cli") for f in forbidden)


def test_what_the_site_imports_does_not_load_the_build() -> None:
    """The plugins import kb.db.schema and kb.search; neither may drag in the build, uvicorn or pdfminer."""
    code = (
        "import sys, kb.db.schema, kb.search, kb.core\n"
        "print(sorted(m for m in sys.modules if m.startswith(('kb.db.build', 'kb.files', 'kb.importer', "
        "'kb.pipeline', 'uvicorn', 'pdfminer'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
