"""`words_in` (the words a proposal page shows for each similar proposal) against its definition."""

from __future__ import annotations

import random
from collections.abc import Iterable

from kb.similar.terms import WHOLE_RUN, content_runs, join_runs, words_in


def words_by_definition(runs: list[str], bigrams: Iterable[str], limit: int = 6) -> list[str]:
    """The definition, one step per character: maximal stretches of a run whose every bigram is given."""
    rank = {b: i for i, b in enumerate(bigrams)}
    found: dict[str, int] = {}
    for run in runs:
        i = 0
        while i < len(run) - 1:
            if run[i : i + 2] not in rank:
                i += 1
                continue
            j = i
            while j < len(run) - 1 and run[j : j + 2] in rank:
                j += 1
            word = run if len(run) <= WHOLE_RUN else run[i : j + 1]
            best = min(rank[run[k : k + 2]] for k in range(i, j))
            found[word] = min(best, found.get(word, best))
            i = j
    ordered = sorted(found, key=lambda w: (found[w], -len(w)))
    return [w for w in ordered if not any(w != other and w in other for other in ordered)][:limit]


def test_words_in_matches_its_definition_on_random_runs() -> None:
    rng = random.Random(7)
    letters = "番号利用法中間サーバー情報連携あいアイ12"  # few letters, so stretches chain, overlap and repeat
    for _ in range(3000):
        runs = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 30))) for _ in range(rng.randint(0, 8))]
        pool = [r[k : k + 2] for r in runs for k in range(len(r) - 1)] + ["ab", "x", "中間サ"]
        bigrams = [rng.choice(pool) for _ in range(rng.randint(0, 12))] if pool else []
        limit = rng.randint(1, 8)
        assert words_in(runs, bigrams, limit) == words_by_definition(runs, bigrams, limit), (runs, bigrams, limit)


def test_words_in_keeps_stretches_apart_across_runs() -> None:
    runs = content_runs("中間サーバー。サーバー室の中間")
    assert words_in(runs, ["中間", "間サ"]) == words_by_definition(runs, ["中間", "間サ"])
    assert words_in(["ab" * 8, "cd"], ["ba", "ab"]) == ["ab" * 8]


def test_words_in_gives_the_same_words_from_runs_joined_once() -> None:
    """A page joins its text once (`join_runs`) and asks for ten lists in it; each list is the one the runs give."""
    rng = random.Random(11)
    letters = "番号利用法中間サーバー情報連携"
    for _ in range(300):
        runs = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 20))) for _ in range(rng.randint(0, 6))]
        joined = join_runs(runs)
        pool = [r[k : k + 2] for r in runs for k in range(len(r) - 1)] or ["中間"]
        for _ in range(3):
            bigrams = [rng.choice(pool) for _ in range(rng.randint(0, 8))]
            assert words_in(joined, bigrams, 5) == words_in(runs, bigrams, 5) == words_by_definition(runs, bigrams, 5)
