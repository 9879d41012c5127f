"""Proposal files: Markdown with YAML front matter ⇄ `Proposal` (parse, render, check, fmt, store).

The names below are loaded when first asked for: importing `kb.files.disk` alone stays cheap
(see kb/core/__init__.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kb.files.check import CheckResult, check_paths
    from kb.files.parse import parse_document, parse_file, parse_lenient, parse_text

# `render` is not among them: the package's attribute of that name is the module kb.files.render, once imported.
__all__ = ["CheckResult", "check_paths", "parse_document", "parse_file", "parse_lenient", "parse_text"]
_HOMES = {
    "CheckResult": "kb.files.check",
    "check_paths": "kb.files.check",
    "parse_document": "kb.files.parse",
    "parse_file": "kb.files.parse",
    "parse_lenient": "kb.files.parse",
    "parse_text": "kb.files.parse",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
