"""`kb check` hook: a broken statute registry fails the check like a broken proposal file."""

from __future__ import annotations

from pathlib import Path

from ..models import Proposal
from ..problems import Problem
from .registry import registry_problems


def statute_registry_check(items: list[tuple[Path, Proposal]]) -> list[Problem]:
    """Problems of data/statutes.yaml (or $KB_STATUTES), whatever proposals were checked."""
    return registry_problems()
