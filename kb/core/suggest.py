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


class Suggester:
    """`nearest` over one fixed table, remembering its answers, with a budget of searches.

    A search costs ~2 ms over the ~1,900 local governments. A file that repeats a mistyped name
    thousands of times (a pasted list; a fuzzed file) costs one search per distinct name, and past
    `budget` distinct names the rest get no guess: a run stays quick whatever the input.
    """

    def __init__(self, table: Mapping[str, str], key: Callable[[str], str], budget: int = 200):
        self.table = dict(table)
        self.key = key
        self.budget = budget
        self._memo: dict[str, list[str]] = {}

    def __call__(self, written: str) -> list[str]:
        folded = self.key(written)
        if folded not in self._memo:
            if len(self._memo) >= self.budget:
                return []
            self._memo[folded] = nearest(written, self.table, key=self.key)  # depends on key(written) only
        return self._memo[folded]


def maybe(names: Iterable[str]) -> str:
    """`（もしかして: 宮城県、…）`, or nothing when there is no good guess."""
    found = list(names)
    return f"（もしかして: {'、'.join(found)}）" if found else ""
