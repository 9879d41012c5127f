"""The project's vocabulary: closed vocabularies, the proposal model, problems, YAML, suggestions.

Imports nothing else of `kb`: every other stage builds on it. The names below are loaded when first
asked for, so that importing one small module of the package (`kb.core.tempfiles`, `kb.core.problems`)
does not load pydantic and the models: `kb build` starts copying the database before it needs them
(kb/db/ahead.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kb.core.models import Proposal, ProposalFile
    from kb.core.problems import Problem, ProblemError

__all__ = ["Problem", "ProblemError", "Proposal", "ProposalFile"]
_HOMES = {"Proposal": "kb.core.models", "ProposalFile": "kb.core.models", "Problem": "kb.core.problems", "ProblemError": "kb.core.problems"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
