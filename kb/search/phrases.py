"""Each query phrase's bm25 scores, kept in memory per database file: a search is then an intersection.

FTS5's `bm25` of phrases ANDed is, row by row, the sum in query order of what `bm25` gives each phrase
searched alone: a phrase's IDF counts the rows that phrase matches by itself (`xQueryPhrase`), its
frequency counts its own instances in the row, and the row's length and the average length do not
depend on the query; the function adds the phrases' terms in order from 0.0 and negates the sum, so
adding the phrases' own (negated) scores in the same order gives the same double, bit for bit, with
SQLite compiled without fused multiply-adds (tests/test_search_phrases.py holds the SQLite in use to it).
So one statement per phrase — every row it matches, with its score — serves every query that phrase is
part of: the same words on the next results page, with another word added, or narrowed by a facet. FTS5 cannot stop early when ranking (it scores every
match, and counts each phrase's rows for its IDF on the first), so at 100,000 proposals a phrase in most
of them costs 0.1–0.9 s to score; kept, the same phrase costs a look-up and an intersection (~1 ms).

Kept per database file (the site's database is immutable while served), least recently used first
out once the arrays and ENTRY_BYTES a phrase pass `budget` bytes; a phrase in every one of 100,000
proposals takes 1.6 MB. The first sight of a common phrase costs more than the SQL did for the same
query (every row of that phrase is scored, not only those of the whole query); every later search with it
costs an intersection.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

DEFAULT_BUDGET = 64 * 1024 * 1024  # bytes kept per database file
ENTRY_BYTES = 512  # what a kept phrase costs besides its arrays (its key, the arrays' headers): a phrase found nowhere too


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
        """The rows among `rowids` (ascending: the proposals, or those passing a search's filters)."""
        if not len(rowids):
            return NOTHING
        at = np.minimum(np.searchsorted(rowids, self.rowids), len(rowids) - 1)
        keep = rowids[at] == self.rowids
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

    def holds(self, phrase: str) -> bool:
        with self._lock:
            return phrase in self._kept

    def phrase(self, conn: sqlite3.Connection, phrase: str) -> Scored:
        """One phrase's rows and scores: kept, or asked of FTS5 and kept."""
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
        cost = found.nbytes + ENTRY_BYTES
        with self._lock:
            if phrase not in self._kept and cost <= self.budget:
                self._kept[phrase] = found
                self._bytes += cost
                while self._bytes > self.budget:
                    _, dropped = self._kept.popitem(last=False)
                    self._bytes -= dropped.nbytes + ENTRY_BYTES
        return found

    def query(self, conn: sqlite3.Connection, phrases: list[str], time_limit_ms: float | None = None) -> Scored:
        """The rows matching every phrase, each scored as FTS5's bm25 scores the phrases ANDed.

        The phrases already kept are intersected first, and a phrase not kept is scored only while the rows
        matching the others are not none. `time_limit_ms`: past it, SQLite interrupts the phrases'
        statements (as Datasette's `sql_time_limit_ms` does its own) and the intersections stop, with
        sqlite3.OperationalError "interrupted".
        """
        if not phrases:
            return NOTHING
        if not time_limit_ms:
            return self._query(conn, phrases, None)
        deadline = time.perf_counter() + time_limit_ms / 1000
        # every 1,000 virtual-machine steps (~0.1 ms), every step for a limit that short: as Datasette's own
        conn.set_progress_handler(lambda: time.perf_counter() >= deadline, 1 if time_limit_ms <= 20 else 1000)
        try:
            return self._query(conn, phrases, deadline)
        finally:
            conn.set_progress_handler(None, 1)

    def _query(self, conn: sqlite3.Connection, phrases: list[str], deadline: float | None) -> Scored:
        distinct = sorted(dict.fromkeys(phrases), key=lambda p: not self.holds(p))  # kept ones first
        found: dict[str, Scored] = {}
        rowids: np.ndarray | None = None
        for phrase in distinct:
            found[phrase] = scored = self.phrase(conn, phrase)
            rowids = scored.rowids if rowids is None else np.intersect1d(rowids, scored.rowids, assume_unique=True)
            if not len(rowids):
                return NOTHING
            if deadline is not None and time.perf_counter() >= deadline:
                raise sqlite3.OperationalError("interrupted")
        assert rowids is not None
        total = np.zeros(len(rowids), dtype=np.float64)
        for phrase in phrases:  # added in query order from 0.0, as bm25 adds the phrases' terms
            scored = found[phrase]
            total = total + scored.scores[np.searchsorted(scored.rowids, rowids)]
        return Scored(rowids, total)
