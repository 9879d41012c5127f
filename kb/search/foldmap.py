"""Normalised text with offsets, kept at build time as the few places where it differs from the original.

A snippet matches the query on the normalised text and quotes the original through the offsets
(`kb.search.snippets`). `normalize_with_offsets` does Python work for every character, and the
search page needs it for every field of every hit. The normalised text is almost everywhere the
original itself — it differs at full-width letters and digits, brackets, variant kanji, dashes —
so the build stores only those places (`fold_edits`, a short JSON list per field) and a search
rebuilds exactly the same (normalised text, offsets) from them with a few slices (`Folded.stored`).

An edit is `[n, replacement]`: normalised[n : n + len(replacement)] is `replacement`, each of its
characters from the original character at the same place (the offsets go on one by one); or
`[n, replacement, offsets, resume]` when characters were merged or split (ｶﾞ → ガ, ㈱ → (株)):
the replacement's own offsets, and the original offset the text continues from after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kb.search.textnorm import normalize_with_offsets

Edit = list[Any]  # [n, replacement] or [n, replacement, offsets, resume]: JSON as stored
Offsets = Sequence[int]  # a range when each character comes from the one at the same place


@dataclass(frozen=True)
class Folded:
    """A text's normalised form and, for each of its characters, the offset of the original character."""

    text: str
    offsets: Offsets

    @classmethod
    def of(cls, original: str) -> Folded:
        """Normalise now (what a search does without stored edits)."""
        normalized, offsets = normalize_with_offsets(original)
        return cls(normalized, offsets)

    @classmethod
    def stored(cls, original: str, edits: Sequence[Edit]) -> Folded:
        """The same as `Folded.of(original)`, rebuilt from `fold_edits(original)`."""
        if not edits:
            return cls(original, range(len(original)))
        if all(len(edit) == 2 for edit in edits):  # one character for one: the offsets stay as they are
            parts: list[str] = []
            position = 0
            for n, replacement in edits:
                parts += [original[position:n], replacement]
                position = n + len(replacement)
            parts.append(original[position:])
            return cls("".join(parts), range(len(original)))
        return _rebuild(original, edits)


def _rebuild(original: str, edits: Sequence[Edit]) -> Folded:
    parts: list[str] = []
    offsets: list[int] = []
    at_n = at_o = 0  # next normalised position, and the original position it comes from
    for edit in edits:
        n, replacement = edit[0], edit[1]
        same = n - at_n
        parts += [original[at_o : at_o + same], replacement]
        offsets += range(at_o, at_o + same)
        start = at_o + same
        if len(edit) == 2:
            offsets += range(start, start + len(replacement))
            at_o = start + len(replacement)
        else:
            offsets += edit[2]
            at_o = edit[3]
        at_n = n + len(replacement)
    parts.append(original[at_o:])
    offsets += range(at_o, len(original))
    return Folded("".join(parts), offsets)


def fold_edits(original: str) -> list[Edit]:
    """Where the normalised text differs from `original` (empty when it is the same), for `Folded.stored`.

    The build runs this on every field of every proposal, so the usual case is kept cheap: when
    each character folds to one (offsets one to one), the changed places are found by comparing
    slices of the two texts, and characters are compared one by one only inside differing slices.
    """
    normalized, offsets = normalize_with_offsets(original)
    if len(normalized) == len(original) and offsets == list(range(len(original))):
        return _substitutions(original, normalized)
    return _general_edits(original, normalized, offsets)


BLOCK = 32  # characters compared as one slice first


def _substitutions(original: str, normalized: str) -> list[Edit]:
    """Same length, same offsets: runs of changed characters."""
    edits: list[Edit] = []
    if original == normalized:
        return edits
    end = -1
    for k in range(0, len(original), BLOCK):
        if original[k : k + BLOCK] == normalized[k : k + BLOCK]:
            continue
        for i in range(k, min(k + BLOCK, len(original))):
            if original[i] == normalized[i]:
                continue
            if i == end:  # continues the previous run
                edits[-1][1] += normalized[i]
            else:
                edits.append([i, normalized[i]])
            end = i + 1
    return edits


def _general_edits(original: str, normalized: str, offsets: Sequence[int]) -> list[Edit]:
    """Any normalisation: identical stretches skipped, everything else an edit with its offsets."""
    edits: list[Edit] = []
    at_n = at_o = 0
    i, size = 0, len(normalized)
    while i < size:
        o = at_o + (i - at_n)
        if offsets[i] == o and o < len(original) and normalized[i] == original[o]:
            i += 1
            continue
        j = i + 1
        while j < size and not (offsets[j] > offsets[j - 1] and normalized[j] == original[offsets[j]]):
            j += 1
        resume = offsets[j] if j < size else len(original)
        piece = list(offsets[i:j])
        if piece == list(range(o, o + (j - i))) and resume == o + (j - i):
            edits.append([i, normalized[i:j]])
        else:
            edits.append([i, normalized[i:j], piece, resume])
        at_n, at_o = j, resume
        i = j
    if len(original) - at_o != size - at_n:  # the original goes on past the normalised text: say where it ends
        edits.append([size, "", [], len(original)])
    return edits
