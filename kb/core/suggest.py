"""「もしかして」: the nearest known names to something an editor mistyped."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping


def nearest(
    written: str,
    candidates: Iterable[str] | Mapping[str, str],
    *,
    key: Callable[[str], str] = str,
    n: int = 3,
    cutoff: float = 0.5,
) -> list[str]:
    """Candidates that look most like `written`, best first.

    `candidates` is either the names themselves or a mapping key → display name (the keys
    already folded with `key`, so a registry folds its names once, not per lookup).
    """
    table = dict(candidates) if isinstance(candidates, Mapping) else {key(c): c for c in candidates}
    keys = difflib.get_close_matches(key(written), list(table), n=n * 2, cutoff=cutoff)
    return list(dict.fromkeys(table[k] for k in keys))[:n]


def maybe(names: Iterable[str]) -> str:
    """`（もしかして: 宮城県、…）`, or nothing when there is no good guess."""
    found = list(names)
    return f"（もしかして: {'、'.join(found)}）" if found else ""
