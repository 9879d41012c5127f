"""Name keys and nearest-name suggestions shared by both registries."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from ..textnorm import normalize

_SPACES = re.compile(r"\s+")


def name_key(text: str) -> str:
    """Lookup key: the search normalisation (NFKC, ヶ→ケ, 髙→高, …) without spaces. Never stored."""
    return _SPACES.sub("", normalize(text))


def nearest(written: str, candidates: dict[str, str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """Display names whose keys look most like `written` (candidates: key → display name)."""
    keys = difflib.get_close_matches(name_key(written), list(candidates), n=n * 2, cutoff=cutoff)
    return list(dict.fromkeys(candidates[k] for k in keys))[:n]


def maybe(names: Iterable[str]) -> str:
    """`（もしかして: 宮城県、…）`, or nothing when there is no good guess."""
    found = list(names)
    return f"（もしかして: {'、'.join(found)}）" if found else ""


class NameProblem(ValueError):
    """A name that does not resolve; the message is for the editor, in Japanese."""
