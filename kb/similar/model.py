"""似た提案: for every proposal, the proposals whose asks share the most weighted terms.

Each proposal's terms (`kb.similar.terms`) are weighted tf-idf (1 + log tf, times log idf over all
proposals) and scaled to unit length; its *signature* is its SIGNATURE heaviest terms. Two proposals
score the sum of weight products over the terms both signatures hold (a cosine restricted to the
signatures). Pairs are found through the terms: every signature entry meets the HEAD heaviest entries
of the same term, so a term in thousands of signatures costs thousands × HEAD pairs, not its square —
the work is bounded by proposals × SIGNATURE × HEAD whatever the vocabulary. Scores are summed by row
blocks of proposals: sorted by pair, summed with `numpy.add.reduceat`, best first per row;
docs/prior-art.md has the measurements.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb.similar.terms import STATUTE_MARK

SIGNATURE = 32  # terms kept per proposal
HEAD = 32  # heaviest entries of a term every entry is paired with
TOP = 10  # similar proposals kept per proposal
MIN_SCORE = 0.02  # below this two asks share only a common word or two: not shown as similar
BLOCK_PAIRS = 4_000_000  # pair products summed at once (about 100 MB with their keys and order)


@dataclass(frozen=True)
class Neighbour:
    index: int  # of the other proposal in the input order
    score: float
    shared_statutes: list[str]
    shared_terms: list[str]


@dataclass(frozen=True)
class Heads:
    """The `head` heaviest signature entries of every term (ties by document), as flat arrays."""

    start: np.ndarray  # by term id: where its heads begin in `doc` / `weight`
    size: np.ndarray  # by term id: how many heads it has
    doc: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, terms: np.ndarray, docs: np.ndarray, weights: np.ndarray, vocabulary: int, head: int) -> Heads:
        order = np.lexsort((docs, -weights, terms))  # by term, heaviest first, ties by document
        term, doc, weight = terms[order], docs[order], weights[order]
        first = np.searchsorted(term, np.arange(vocabulary))
        sizes = np.diff(np.append(first, len(term)))
        position = np.arange(len(term)) - np.repeat(first, sizes)
        keep = position < head
        kept_sizes = np.minimum(sizes, head)
        return cls(np.cumsum(kept_sizes) - kept_sizes, kept_sizes, doc[keep], weight[keep])

    def products(self, terms: np.ndarray, docs: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(left doc, right doc, weight product) of each given entry with every head of its term."""
        sizes = self.size[terms]
        total = int(sizes.sum())
        within = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        index = np.repeat(self.start[terms], sizes) + within
        return np.repeat(docs, sizes), self.doc[index], np.repeat(weights, sizes) * self.weight[index]


def shared(a: dict[str, float], b: dict[str, float], terms: int = 8) -> tuple[list[str], list[str]]:
    """(statutes, bigrams) of signature `a` that `b` holds too, in `a`'s order (heaviest first; `terms` bigrams at most)."""
    common = [t for t in a if t in b]
    statutes = [t[len(STATUTE_MARK) :] for t in common if t[0] == STATUTE_MARK]
    return statutes, [t for t in common if t[0] != STATUTE_MARK][:terms]


def _signatures(documents: Sequence[Counter[str]], size: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vocabulary, its document frequencies, term id, document, weight) of every signature entry, vectorised.

    Weights are unit-length tf-idf (the norm counts every term); each document keeps its `size`
    heaviest terms, ties broken by term.
    """
    vocabulary: dict[str, int] = {}
    ids: list[int] = []
    tfs: list[int] = []
    lengths = np.zeros(len(documents), dtype=np.int64)
    for d, counts in enumerate(documents):
        ids += [vocabulary.setdefault(term, len(vocabulary)) for term in counts]
        tfs += counts.values()
        lengths[d] = len(counts)
    term = np.array(ids, dtype=np.int64)
    doc = np.repeat(np.arange(len(documents), dtype=np.int64), lengths)
    df = np.bincount(term, minlength=len(vocabulary))
    idf = np.log((len(documents) + 1) / (df + 0.5))
    weight = (1.0 + np.log(np.array(tfs, dtype=np.float64))) * idf[term]
    norm = np.sqrt(np.bincount(doc, weights=weight * weight, minlength=len(documents)))
    weight = weight / np.where(norm > 0, norm, 1.0)[doc]
    names = list(vocabulary)
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names))  # ties by term text
    order = np.lexsort((rank[term], -weight, doc))
    term, doc, weight = term[order], doc[order], weight[order]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    position = np.arange(len(term)) - np.repeat(starts, lengths)
    keep = (position < size) & (weight > 0)
    return names, df, term[keep], doc[keep], weight[keep]


def neighbours(
    documents: Sequence[Counter[str]], top: int = TOP, head: int = HEAD
) -> tuple[list[list[Neighbour]], dict[str, int]]:
    """For each document (in order), its `top` most similar others, best first (score ties by index);
    and how many documents hold each term (what a draft's terms are weighed by, kb.similar.check)."""
    n = len(documents)
    names, df, terms, docs, weights = _signatures(documents, SIGNATURE)
    frequencies = dict(zip(names, df.tolist(), strict=True))
    if n < 2:
        return [[] for _ in documents], frequencies
    signatures: list[dict[str, float]] = [{} for _ in documents]
    for t, d, w in zip(terms.tolist(), docs.tolist(), weights.tolist(), strict=True):
        signatures[d][names[t]] = w
    heads = Heads.of(terms, docs, weights, len(names), head)
    rows = max(1, BLOCK_PAIRS // (SIGNATURE * head))
    cuts = np.searchsorted(docs, np.arange(0, n + rows, rows))  # entries are in document order
    out: list[list[Neighbour]] = []
    for block, first in enumerate(range(0, n, rows)):
        lo, hi = cuts[block], cuts[block + 1]
        left, right, w = heads.products(terms[lo:hi], docs[lo:hi], weights[lo:hi])  # memory: one block's pairs
        pair = left * n + right
        order = np.argsort(pair, kind="stable")
        pair, w = pair[order], w[order]
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        pair, score = pair[starts], np.add.reduceat(w, starts) if len(w) else w  # one sum per (left, right)
        row, col = pair // n, pair % n
        keep = (row != col) & (score >= MIN_SCORE)
        row, col, score = row[keep], col[keep], score[keep]
        order = np.lexsort((col, -score, row))  # per row: best first, ties by index
        row, col, score = row[order], col[order], score[order]
        bounds = np.searchsorted(row, np.arange(first, min(first + rows, n) + 1))
        for r in range(first, min(first + rows, n)):
            begin = bounds[r - first]
            end = min(bounds[r - first + 1], begin + top)
            found = []
            for i, v in zip(col[begin:end].tolist(), score[begin:end].tolist(), strict=True):
                statutes, words = shared(signatures[r], signatures[i])
                found.append(Neighbour(i, round(v, 6), statutes, words))
            out.append(found)
    return out, frequencies
