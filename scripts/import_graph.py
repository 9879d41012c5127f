"""The import graph of `kb/` and `site/plugins/`, read with `ast`, and the rules it must keep.

    .venv/bin/python scripts/import_graph.py      # prints the stage graph and any violation

Rules (tests/test_import_graph.py fails on any break):
- no cycle between modules, and none between stages (the folders of `kb/`, with `kb.db.schema`
  a stage of its own: it is the database's contract that features and the site import);
- `kb.core` imports nothing else of `kb`; nothing imports `kb.cli`; no stage imports `kb.pipeline`
  (only `kb.cli`, `kb.serve` and `kb/__init__.py`'s lazy verbs may);
- the site imports only `kb.db.schema`, `kb.search`, `kb.core`, and for 提案前チェック `kb.similar.check`/`terms` and
  the statute finder (`kb.statutes.registry`/`extract`); never importer code.
Every import counts, at the top of a module or inside a function.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "kb"
SITE = "site"  # site/plugins/x.py is the module `site.x`
# The site reads the database; it may also rank a pasted draft (kb.similar.check, kb.similar.terms) and resolve its
# statute citations with the registry (kb.statutes.registry, kb.statutes.extract) for 提案前チェック.
SITE_MAY_IMPORT = ("kb.db.schema", "kb.search", "kb.core", "kb.similar.check", "kb.similar.terms", "kb.statutes.registry", "kb.statutes.extract")
ENTRY_POINTS = ("kb", "kb.cli", "kb.serve")  # may import kb.pipeline


@dataclass
class Graph:
    modules: dict[str, Path] = field(default_factory=dict)
    edges: dict[str, set[str]] = field(default_factory=dict)  # module → modules of ours it imports


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    if rel.parts[0] == SITE:
        return f"{SITE}.{rel.name}"
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _targets(tree: ast.AST, modules: set[str]) -> set[str]:
    """Modules of ours named by every import in the tree (`from kb.x import y` is kb.x.y when y is a module)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
    return {m for m in found if m in modules}


def read_graph(root: Path = ROOT) -> Graph:
    files = sorted((root / PACKAGE).rglob("*.py")) + sorted((root / SITE / "plugins").glob("*.py"))
    graph = Graph(modules={module_name(f, root): f for f in files})
    names = set(graph.modules)
    for name, path in graph.modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph.edges[name] = _targets(tree, names) - {name}
    return graph


def stage(module: str) -> str:
    """The stage a module belongs to: its folder under kb/ (kb.db.schema on its own), or site."""
    parts = module.split(".")
    if parts[0] == SITE:
        return SITE
    if module == "kb.db.schema":
        return module
    return ".".join(parts[:2])


def stage_edges(graph: Graph) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for source, targets in graph.edges.items():
        for target in targets:
            if stage(source) != stage(target) and stage(source) != "kb" and stage(target) != "kb":
                out.setdefault(stage(source), set()).add(stage(target))
    return out


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path that starts and ends at the same node, or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def forbidden_edges(graph: Graph) -> list[str]:
    """Every import that breaks a rule of the module docstring, as `a → b: why`."""
    problems = []
    for source, targets in sorted(graph.edges.items()):
        for target in sorted(targets):
            why = None
            if stage(source) == "kb.core" and stage(target) != "kb.core":
                why = "kb.core imports nothing else of kb"
            elif target == "kb.cli":
                why = "nothing imports kb.cli"
            elif target == "kb.pipeline" and source not in ENTRY_POINTS:
                why = "no stage imports kb.pipeline"
            elif stage(source) == SITE and not target.startswith(SITE_MAY_IMPORT):
                why = f"the site imports only {', '.join(SITE_MAY_IMPORT)}"
            if why:
                problems.append(f"{source} → {target}: {why}")
    return problems


def report(graph: Graph) -> list[str]:
    lines = [f"{len(graph.modules)} modules, {sum(map(len, graph.edges.values()))} imports between them"]
    lines += [f"  {s} → {', '.join(sorted(t))}" for s, t in sorted(stage_edges(graph).items())]
    module_cycle = find_cycle(graph.edges)
    stage_cycle = find_cycle(stage_edges(graph))
    lines.append("module cycle: " + (" → ".join(module_cycle) if module_cycle else "none"))
    lines.append("stage cycle: " + (" → ".join(stage_cycle) if stage_cycle else "none"))
    forbidden = forbidden_edges(graph)
    lines.append("forbidden imports: " + (str(len(forbidden)) if forbidden else "none"))
    lines += [f"  {f}" for f in forbidden]
    return lines


def main(argv: Iterable[str] = ()) -> int:
    graph = read_graph()
    print("\n".join(report(graph)))
    broken = find_cycle(graph.edges) or find_cycle(stage_edges(graph)) or forbidden_edges(graph)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
