"""bunken-kb: the knowledge base of 地方分権改革「提案募集方式」 proposals.

Data flows one way: proposal files (`kb.files`) → models (`kb.core`) → database (`kb.db`,
with the features' tables from `kb.registries` and `kb.statutes`, and the search index from
`kb.search`) → the Datasette site (`site/`). `kb.importer` turns the Cabinet Office's sheets
into proposal files. The verbs below are `kb.pipeline`'s, loaded on first use so that
importing one stage (as the site's plugins do) does not import the whole build.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["build", "check", "cite", "fmt", "import_", "statute_registry", "statutes"]

if TYPE_CHECKING:
    from kb.pipeline import build, check, cite, fmt, import_, statute_registry, statutes


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("kb.pipeline"), name)
    raise AttributeError(f"module 'kb' has no attribute {name!r}")
