"""The project's vocabulary: closed vocabularies, the proposal model, problems, YAML, suggestions.

Imports nothing else of `kb`: every other stage builds on it.
"""

from kb.core.models import Proposal, ProposalFile
from kb.core.problems import Problem, ProblemError

__all__ = ["Problem", "ProblemError", "Proposal", "ProposalFile"]
