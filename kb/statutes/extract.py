"""The whole pipeline over a text or a proposal: clean → find → resolve, abbreviations in two passes.

Abbreviations are scoped to one proposal: a 「以下「番号利用法」という。」 in the 第1次回答 also
explains 番号利用法 in the 見解 that follows. The first pass finds the definitions, the
second finds every citation knowing them. Back-references (同法, 同条) stay inside the
part they are written in, since each part has its own author.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from kb.core.models import Proposal
from kb.core.vocab import SECTION_ORDER, SectionKey
from kb.statutes.clean import CleanText, clean
from kb.statutes.find import Mention, NameMatcher, find_mentions
from kb.statutes.registry import Registry
from kb.statutes.resolve import Abbreviations, Citation, name_target, resolve_mentions

OPINIONS_COLUMN = SectionKey.OPINIONS.column


@dataclass(frozen=True)
class TextPart:
    """A stretch of a proposal's text that citations are positioned in."""

    section: str  # database column of the section (legal_basis, second_answer…)
    label: str  # Japanese heading shown to people
    text: str
    association: str | None = None  # for the 全国知事会・全国市長会・全国町村会 views


@dataclass(frozen=True)
class PartCitation:
    part: TextPart
    citation: Citation


def proposal_parts(proposal: Proposal) -> list[TextPart]:
    """Every section text in official order, the association views inside the opinions section."""
    parts: list[TextPart] = []
    for key in SECTION_ORDER:
        text = proposal.sections.get(key)
        if text:
            parts.append(TextPart(key.column, key.value, text))
        if key is SectionKey.OPINIONS:
            for assoc, view in proposal.opinions.items():
                if view:
                    parts.append(TextPart(OPINIONS_COLUMN, f"{key.value}（{assoc.value}）", view, assoc.value))
    return parts


def _definitions(cleaned: Sequence[CleanText], registry: Registry) -> Abbreviations:
    """First pass: every 「以下「…」という。」 and what it abbreviates."""
    abbreviations = Abbreviations()
    matcher = NameMatcher(registry.known_names(), frozenset(), registry.generic_words)
    for index, ct in enumerate(cleaned):
        if "以下" not in ct.text:
            continue
        for m in find_mentions(ct, matcher):
            if m.defines:
                target = name_target(m, registry, abbreviations, (index, m.start))
                if target is not None:
                    abbreviations.add(m.defines, (index, m.start), target)
    return abbreviations


def extract_texts(texts: Sequence[str], registry: Registry) -> list[list[Citation]]:
    """Citations of each text, the texts being the parts of one document (one abbreviation scope)."""
    cleaned = [clean(t) for t in texts]
    abbreviations = _definitions(cleaned, registry)
    defined = abbreviations.names()
    matcher = NameMatcher(registry.known_names(), defined, registry.generic_words)
    out: list[list[Citation]] = []
    earlier: list[Citation] = []
    for index, ct in enumerate(cleaned):
        mentions: list[Mention] = find_mentions(ct, matcher)
        citations = resolve_mentions(ct, mentions, registry, abbreviations, index, earlier)
        out.append(citations)
        earlier.extend(citations)
    return out


def extract_text(text: str, registry: Registry) -> list[Citation]:
    """Citations in any one text (what `kb cite` prints)."""
    return extract_texts([text], registry)[0]


def extract_proposal(proposal: Proposal, registry: Registry) -> list[PartCitation]:
    """Every citation of a proposal, each with the part of the proposal it is in."""
    parts = proposal_parts(proposal)
    found = extract_texts([p.text for p in parts], registry)
    return [PartCitation(part, c) for part, cites in zip(parts, found) for c in cites]


__all__ = ["Citation", "PartCitation", "TextPart", "extract_proposal", "extract_text", "extract_texts", "proposal_parts"]


def cite_lines(text: str, registry: Registry) -> list[str]:
    """`kb cite` output: one JSON object per citation, in reading order."""
    return [json.dumps(c.as_json(), ensure_ascii=False) for c in extract_text(text, registry)]
