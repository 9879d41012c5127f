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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from kb.similar.terms import STATUTE_MARK

SIGNATURE = 32  # terms kept per proposal
HEAD = 32  # heaviest entries of a term every entry is paired with
TOP = 10  # similar proposals kept per proposal
MIN_SCORE = 0.02  # below this two asks share only a common word or two: not shown as similar
BLOCK_PAIRS = 512_000  # pair products summed at once (about 12 MB with their keys and order; 500 rows)


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


Entries = tuple[list[str], list[int], np.ndarray]  # every document's terms and counts in a row, terms per document


def _entries(documents: Sequence[Counter[str]]) -> Entries:
    """(terms, counts, terms per document) of every document, one after the other."""
    terms: list[str] = []
    tfs: list[int] = []
    lengths = np.zeros(len(documents), dtype=np.int64)
    for d, counts in enumerate(documents):
        terms += counts
        tfs += counts.values()
        lengths[d] = len(counts)
    return terms, tfs, lengths


def packed_entries(packed: Sequence[str]) -> Entries:
    """`_entries` of documents stored by `kb.similar.terms.pack`, split in one go instead of one Counter each.

    `term count term count …` with single spaces: a document of k terms holds 2k - 1 spaces. Anything
    else (not written by `pack`) is read term by term, as `unpack` reads it.
    """
    lengths = np.array([(p.count(" ") + 1) // 2 if p else 0 for p in packed], dtype=np.int64)
    parts = " ".join(p for p in packed if p).split()
    if len(parts) != 2 * int(lengths.sum()) or len(parts) % 2:
        from kb.similar.terms import unpack

        return _entries([unpack(p) for p in packed])
    return parts[::2], list(map(int, parts[1::2])), lengths


def _signatures(entries: Entries, size: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vocabulary, its document frequencies, term id, document, weight) of every signature entry, vectorised.

    Weights are unit-length tf-idf (the norm counts every term); each document keeps its `size`
    heaviest terms, ties broken by term. Term ids are in first-seen order.
    """
    words, tfs, lengths = entries
    n = len(lengths)
    ids = {w: i for i, w in enumerate(dict.fromkeys(words))}
    term = np.fromiter(map(ids.__getitem__, words), dtype=np.int64, count=len(words))
    doc = np.repeat(np.arange(n, dtype=np.int64), lengths)
    df = np.bincount(term, minlength=len(ids))
    idf = np.log((n + 1) / (df + 0.5))
    weight = (1.0 + np.log(np.array(tfs, dtype=np.float64))) * idf[term]
    norm = np.sqrt(np.bincount(doc, weights=weight * weight, minlength=n))
    weight = weight / np.where(norm > 0, norm, 1.0)[doc]
    names = list(ids)
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names))  # ties by term text
    likely = at_least_kth(weight, np.concatenate([[0], np.cumsum(lengths)]), size)  # sort 32 of ~170 terms, not all
    term, doc, weight = term[likely], doc[likely], weight[likely]
    order = np.lexsort((rank[term], -weight, doc))
    term, doc, weight = term[order], doc[order], weight[order]
    counts = np.bincount(doc, minlength=n)
    position = np.arange(len(term)) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = (position < size) & (weight > 0)
    return names, df, term[keep], doc[keep], weight[keep]


def at_least_kth(values: np.ndarray, bounds: np.ndarray, k: int) -> np.ndarray:
    """Mask of the values at least as large as the k-th largest of their group (`bounds`: where groups start, then the end).

    Every group's k largest are in it, whatever the order among equal values, so sorting only these
    gives each group's first k exactly as sorting all would (the sort is the build's costliest part).
    """
    sizes = np.diff(bounds)
    threshold = np.full(len(sizes), -np.inf)
    starts = bounds.tolist()
    for g in np.flatnonzero(sizes > k).tolist():
        group = values[starts[g] : starts[g + 1]]
        threshold[g] = np.partition(group, len(group) - k)[len(group) - k]
    return np.asarray(values >= np.repeat(threshold, sizes))


@dataclass(frozen=True)
class Lists:
    """Every document's similar documents as flat arrays, by document then rank, with what each pair shares.

    `statutes[k]` / `terms[k]` are pair k's shared statutes and bigrams as `shared` gives them.
    """

    row: np.ndarray
    col: np.ndarray
    score: list[float]  # rounded to 6 places (Python's round, as shown)
    statutes: list[list[str]]
    terms: list[list[str]]
    frequencies: dict[str, int]

    def per_document(self, n: int) -> list[list[Neighbour]]:
        out: list[list[Neighbour]] = [[] for _ in range(n)]
        for k, (r, c, v) in enumerate(zip(self.row.tolist(), self.col.tolist(), self.score, strict=True)):
            out[r].append(Neighbour(c, v, self.statutes[k], self.terms[k]))
        return out


def _shared_lists(
    row: np.ndarray, col: np.ndarray, names: list[str], terms: np.ndarray, docs: np.ndarray, n: int, limit: int = 8
) -> tuple[list[list[str]], list[list[str]]]:
    """`shared(signature of row, signature of col)` for every pair, vectorised: the row's signature entries
    (heaviest first) that the col's signature holds, statutes apart and at most `limit` bigrams."""
    vocabulary = len(names)
    sizes = np.bincount(docs, minlength=n)
    first = np.cumsum(sizes) - sizes  # signature entries are in document order, heaviest first
    per_pair = sizes[row]
    pair = np.repeat(np.arange(len(row)), per_pair)
    entry = np.repeat(first[row], per_pair) + (np.arange(int(per_pair.sum())) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair))
    term = terms[entry]
    keys = np.sort(docs * vocabulary + terms)
    wanted = col[pair] * vocabulary + term
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    common = keys[at] == wanted
    pair, term = pair[common], term[common]
    is_statute = np.fromiter((t[:1] == STATUTE_MARK for t in names), dtype=bool, count=vocabulary)[term]
    words = ~is_statute
    word_pair, word_term = pair[words], term[words]
    first_words = (np.arange(len(word_pair)) - np.searchsorted(word_pair, word_pair)) < limit  # place among the pair's bigrams
    labels = [t[len(STATUTE_MARK) :] if t[:1] == STATUTE_MARK else t for t in names]
    return (
        _grouped(pair[is_statute], term[is_statute], labels, len(row)),
        _grouped(word_pair[first_words], word_term[first_words], labels, len(row)),
    )


def _grouped(pair: np.ndarray, term: np.ndarray, labels: list[str], pairs: int) -> list[list[str]]:
    """The labels of each pair's terms (`pair` ascending), one list per pair."""
    bounds = np.searchsorted(pair, np.arange(pairs + 1)).tolist()
    found = np.array(labels, dtype=object)[term].tolist()
    return [found[bounds[k] : bounds[k + 1]] for k in range(pairs)]


@dataclass(frozen=True)
class _Rows:
    """What every block of rows reads: the signature entries (in document order) and the heads."""

    n: int
    terms: np.ndarray
    docs: np.ndarray
    weights: np.ndarray
    heads: Heads
    top: int

    def best(self, first: int, last: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, score) of documents first…last-1 (their entries lo…hi-1): each row's `top` best, best first."""
        n = self.n
        if lo == hi:  # no document of the block has a signature (no terms): no pairs
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.float64)
        left, right, w = self.heads.products(self.terms[lo:hi], self.docs[lo:hi], self.weights[lo:hi])
        pair = left * n + right
        order = np.argsort(pair, kind="stable")
        pair, w = pair[order], w[order]
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        pair, score = pair[starts], np.add.reduceat(w, starts) if len(w) else w  # one sum per (left, right)
        row, col = pair // n, pair % n
        keep = (row != col) & (score >= MIN_SCORE)
        row, col, score = row[keep], col[keep], score[keep]
        likely = at_least_kth(score, np.searchsorted(row, np.arange(first, last + 1)), self.top)
        row, col, score = row[likely], col[likely], score[likely]
        order = np.lexsort((-score, row))  # per row: best first, ties by index (pairs are in (row, col) order; stable)
        row, col, score = row[order], col[order], score[order]
        rank = np.arange(len(row)) - np.searchsorted(row, row)  # place in the row's list
        best = rank < self.top
        return row[best], col[best], score[best]


def similar_lists(entries: Entries, top: int = TOP, head: int = HEAD, workers: int = 1, block_pairs: int = BLOCK_PAIRS) -> Lists:
    """For each document (in order), its `top` most similar others, best first (score ties by index), as `Lists`.

    Rows are scored in blocks on `workers` threads: numpy lets go of the GIL in the sorts and array
    arithmetic that are most of a block, and each row's list depends on its own block alone (the
    result is the same for any block size or worker count; tests/test_similar.py).
    """
    n = len(entries[2])
    names, df, terms, docs, weights = _signatures(entries, SIGNATURE)
    frequencies = dict(zip(names, df.tolist(), strict=True))
    empty = np.zeros(0, dtype=np.int64)
    if n < 2:
        return Lists(empty, empty, [], [], [], frequencies)
    rows = _Rows(n, terms, docs, weights, Heads.of(terms, docs, weights, len(names), head), top)
    size = max(1, block_pairs // (SIGNATURE * head))
    cuts = np.searchsorted(docs, np.arange(0, n + size, size)).tolist()  # entries are in document order
    blocks = [(first, min(first + size, n), cuts[b], cuts[b + 1]) for b, first in enumerate(range(0, n, size))]
    if workers > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(workers) as pool:
            found = list(pool.map(lambda block: rows.best(*block), blocks))
    else:
        found = [rows.best(*block) for block in blocks]
    row, col = np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])
    kept_scores = [f[2] for f in found]
    rounded = [round(v, 6) for v in np.concatenate(kept_scores).tolist()]
    statutes, words = _shared_lists(row, col, names, terms, docs, n)
    return Lists(row, col, rounded, statutes, words, frequencies)


def neighbours(
    documents: Sequence[Counter[str]], top: int = TOP, head: int = HEAD
) -> tuple[list[list[Neighbour]], dict[str, int]]:
    """For each document (in order), its `top` most similar others, best first (score ties by index);
    and how many documents hold each term (what a draft's terms are weighed by, kb.similar.check)."""
    lists = similar_lists(_entries(documents), top, head)
    return lists.per_document(len(documents)), lists.frequencies
