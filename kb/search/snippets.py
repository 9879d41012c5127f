"""Search-result snippets quoted from the original text, with the matched words marked.

Matching happens on the normalised text (so ＬＧＷＡＮ matches lgwan, 髙 matches 高) and
the offsets map back to the original, so a clerk reads the sheet's own wording — never
the bigram text in the index. Output is (text, matched) parts; the template escapes them.

Every function takes the text's normalised form as a `Folded` when the caller has it: the search
page rebuilds it from what the build stored (`kb.search.foldmap`), without normalising per request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kb.search.foldmap import Folded
from kb.search.textnorm import query_terms

Part = tuple[str, bool]
_SPACES = re.compile(r"\s+")
ELLIPSIS = "…"


@dataclass(frozen=True)
class Snippet:
    label: str
    parts: list[Part]


def match_spans(text: str, terms: Sequence[str], folded: Folded | None = None) -> list[tuple[int, int]]:
    """Merged (start, end) spans of the original text whose normalised form equals a term."""
    folded = folded or Folded.of(text)
    normalized, offsets = folded.text, folded.offsets
    spans: list[tuple[int, int]] = []
    for term in terms:
        start = normalized.find(term)
        while term and start >= 0:
            end = start + len(term)
            last = offsets[end - 1]
            k = end
            while k < len(offsets) and offsets[k] == last:
                k += 1
            spans.append((offsets[start], offsets[k] if k < len(offsets) else len(text)))
            start = normalized.find(term, end)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _flat(text: str) -> str:
    return _SPACES.sub(" ", text)


def mark(text: str, spans: Sequence[tuple[int, int]], lo: int = 0, hi: int | None = None) -> list[Part]:
    """Parts of text[lo:hi], spans marked, line breaks shown as spaces."""
    hi = len(text) if hi is None else hi
    parts: list[Part] = []
    pos = lo
    for start, end in spans:
        start, end = max(start, lo), min(end, hi)
        if start >= end:
            continue
        if start > pos:
            parts.append((_flat(text[pos:start]), False))
        parts.append((_flat(text[start:end]), True))
        pos = end
    if pos < hi:
        parts.append((_flat(text[pos:hi]), False))
    return parts


def snippet(text: str, terms: Sequence[str], width: int = 100, folded: Folded | None = None) -> list[Part] | None:
    """About `width` characters around the first match, or None when nothing matches."""
    spans = match_spans(text, terms, folded)
    if not spans:
        return None
    lo = max(0, spans[0][0] - width // 3)
    hi = min(len(text), lo + width)
    parts = mark(text, spans, lo, hi)
    if lo > 0:
        parts.insert(0, (ELLIPSIS, False))
    if hi < len(text):
        parts.append((ELLIPSIS, False))
    return parts


def best_snippet(
    fields: Sequence[tuple[str, str | None]],
    query: str,
    width: int = 100,
    folded: Sequence[Folded | None] | None = None,
) -> Snippet | None:
    """Snippet from the field matching most of the query's terms (earliest field wins a tie).

    `folded[i]`, when given, is the normalised form of `fields[i]`'s text (None: normalise it here).
    """
    terms = query_terms(query)
    best: tuple[int, Snippet] | None = None
    for i, (label, text) in enumerate(fields):
        if not text:
            continue
        form = (folded[i] if folded else None) or Folded.of(text)
        found = sum(1 for t in terms if t in form.text)
        if found and (best is None or found > best[0]):
            parts = snippet(text, terms, width, form)
            if parts:
                best = (found, Snippet(label, parts))
    return best[1] if best else None


def highlight(text: str, query: str, folded: Folded | None = None) -> list[Part]:
    """The whole text with the query's matches marked (for titles)."""
    return mark(text, match_spans(text, query_terms(query), folded))


def plain_snippet(text: str | None, query: str, width: int = 100) -> str | None:
    """A snippet as plain text, for SQL queries that export CSV/JSON."""
    parts = snippet(text or "", query_terms(query), width)
    return "".join(p for p, _ in parts) if parts else None
