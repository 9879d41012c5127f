"""Name keys shared by both registries (suggestions: `kb.core.suggest`)."""

from __future__ import annotations

import re

from kb.search.textnorm import normalize

_SPACES = re.compile(r"\s+")


def name_key(text: str) -> str:
    """Lookup key: the search normalisation (NFKC, ヶ→ケ, 髙→高, …) without spaces. Never stored."""
    return _SPACES.sub("", normalize(text))


class NameProblem(ValueError):
    """A name that does not resolve; the message is for the editor, in Japanese."""
