"""`kb check`: a broken statute registry fails the check like a broken proposal file."""

from __future__ import annotations

from collections.abc import Sequence

from kb.core.models import ProposalFile
from kb.core.problems import Problem
from kb.statutes.registry import registry_problems


def statute_registry_check(files: Sequence[ProposalFile]) -> list[Problem]:
    """Problems of data/statutes.yaml (or $KB_STATUTES), whatever proposals were checked."""
    return registry_problems()
