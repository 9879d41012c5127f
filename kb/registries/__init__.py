"""Registries of local governments and ministries: one name, one code, typos caught.

The data lives in `data/` (see docs/registries.md); these modules load it, look names up
after the same normalisation search uses, and check proposal files against it.
"""

from kb.registries.check import registry_problems
from kb.registries.registry import Registries, load_registries
from kb.registries.step import STEP

__all__ = ["STEP", "Registries", "load_registries", "registry_problems"]
