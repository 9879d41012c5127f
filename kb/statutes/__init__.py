"""Statute citations in proposal text: clean → find → resolve, then link to e-Gov.

The pipeline follows eyecite's shape: `clean` normalises a copy of the text for
matching (keeping a map back to the original), `find` locates every mention of a
statute or other instrument, `resolve` ties each mention to a registry entry
(including 同法・同条 back-references and abbreviations the text defines), and
`egov` turns a statute and pinpoint into a link. See docs/statutes.md.
"""

from kb.statutes.check import statute_registry_check
from kb.statutes.extract import extract_proposal, extract_text
from kb.statutes.registry import Registry, load_registry
from kb.statutes.step import STEP

__all__ = ["STEP", "Registry", "extract_proposal", "extract_text", "load_registry", "statute_registry_check"]
