"""Each query phrase's bm25 scores, kept in memory per database file: a search is then an intersection.

FTS5's `bm25` of phrases ANDed is, row by row, the sum in query order of what `bm25` gives each phrase
searched alone: a phrase's IDF counts the rows that phrase matches by itself (`xQueryPhrase`), its
frequency counts its own instances in the row, and the row's length and the average length do not
depend on the query; the function adds the phrases' terms in order from 0.0 and negates the sum, so
adding the phrases' own (negated) scores in the same order gives the same double, bit for bit
(tests/test_search_phrases.py holds SQLite to it). So one statement per phrase — every row it matches,
with its score — serves every query that phrase is part of: the same words on the next results page,
with another word added, or narrowed by a facet. FTS5 cannot stop early when ranking (it scores every
match, and counts each phrase's rows for its IDF on the first), so at 100,000 proposals a phrase in most
of them costs 0.1–0.9 s to score; kept, the same phrase costs a look-up and an intersection (~1 ms).

Kept per database file (the site's database is immutable while served), least recently used first
out once the arrays pass `budget` bytes; a phrase in every one of 100,000 proposals takes 1.6 MB.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

DEFAULT_BUDGET = 64 * 1024 * 1024  # bytes of score arrays kept per database file


@dataclass(frozen=True)
class Scored:
    """Rows a query matches, by rowid ascending, with FTS5's bm25 of each (lower is better)."""

    rowids: np.ndarray  # int64
    scores: np.ndarray  # float64

    @property
    def nbytes(self) -> int:
        return int(self.rowids.nbytes + self.scores.nbytes)

    def candidates(self, offset: int, limit: int) -> np.ndarray:
        """Positions of every row that can be on a page ending at `offset + limit`: each scoring at most the
        (offset + limit)-th best, so that all rows tied with the page's last are among them (unordered)."""
        k = offset + limit
        if len(self.scores) <= k:
            return np.arange(len(self.scores))
        threshold = np.partition(self.scores, k - 1)[k - 1]
        return np.flatnonzero(self.scores <= threshold)

    def within(self, rowids: np.ndarray) -> Scored:
        """The rows among `rowids` (ascending, e.g. those passing a search's filters)."""
        keep = np.isin(self.rowids, rowids, assume_unique=True)
        return Scored(self.rowids[keep], self.scores[keep])


NOTHING = Scored(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


class PhraseScores:
    """The scores of phrases already searched in one database file, within a byte budget."""

    def __init__(self, sql: str, budget: int = DEFAULT_BUDGET):
        self.sql = sql  # one phrase → (rowid, bm25) of every row it matches, by rowid
        self.budget = budget
        self._kept: OrderedDict[str, Scored] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # Datasette reads on several threads, one connection each

    def __len__(self) -> int:
        return len(self._kept)

    def phrase(self, conn: sqlite3.Connection, phrase: str) -> Scored:
        with self._lock:
            kept = self._kept.get(phrase)
            if kept is not None:
                self._kept.move_to_end(phrase)
                return kept
        cursor = conn.cursor()
        cursor.row_factory = None  # plain tuples: the site's row factory (a Python call a row) is for arbitrary SQL
        rows = cursor.execute(self.sql, (phrase,)).fetchall()  # outside the lock: other phrases need not wait
        found = Scored(
            np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows)),
        )
        with self._lock:
            if phrase not in self._kept and found.nbytes <= self.budget:
                self._kept[phrase] = found
                self._bytes += found.nbytes
                while self._bytes > self.budget:
                    _, dropped = self._kept.popitem(last=False)
                    self._bytes -= dropped.nbytes
        return found

    def query(self, conn: sqlite3.Connection, phrases: list[str], time_limit_ms: float | None = None) -> Scored:
        """The rows matching every phrase, each scored as FTS5's bm25 scores the phrases ANDed.

        `time_limit_ms`: SQLite interrupts the phrases' statements past it, as Datasette's
        `sql_time_limit_ms` does its own (sqlite3.OperationalError "interrupted").
        """
        if not phrases:
            return NOTHING
        if time_limit_ms:
            deadline = time.perf_counter() + time_limit_ms / 1000
            # every 1,000 virtual-machine steps (~0.1 ms), every step for a limit that short: as Datasette's own
            conn.set_progress_handler(lambda: time.perf_counter() >= deadline, 1 if time_limit_ms <= 20 else 1000)
            try:
                return self.query(conn, phrases)
            finally:
                conn.set_progress_handler(None, 1)
        first = self.phrase(conn, phrases[0])
        rowids, scores = first.rowids, first.scores
        for phrase in phrases[1:]:
            other = self.phrase(conn, phrase)
            rowids, mine, theirs = np.intersect1d(rowids, other.rowids, assume_unique=True, return_indices=True)
            scores = scores[mine] + other.scores[theirs]  # in query order, as bm25 adds them
        return Scored(rowids, scores)
