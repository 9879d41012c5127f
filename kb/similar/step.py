"""Build step `STEP`: 似た提案 (`similar_proposals`) and re-proposal links (`reproposals`).

Scores depend on every proposal (idf), so the lists are derived from the whole database each time
anything they read changes; an incremental build therefore gives exactly what a full build gives
(tests/test_build_incremental.py). What they read — each proposal's terms, year, proponents,
ministries, statutes and explicit mentions of earlier rounds — is kept in `similar_terms`, so an
edit that changes none of it (a later stage's answer, a typo in a heading) leaves the lists as they
are and costs one comparison. The step owns its tables outright (no per-proposal deletes by the
build, no foreign keys the build would have to order), docs/prior-art.md.
"""

from __future__ import annotations

import json
import unicodedata
from functools import partial
from typing import TYPE_CHECKING, Any

from kb.core.models import Proposal
from kb.core.vocab import SectionKey
from kb.db.parallel import default_jobs, map_items
from kb.db.schema import Step
from kb.similar.terms import ask_text, earlier_mentions, pack, term_counts

if TYPE_CHECKING:
    import sqlite_utils

TERMS_TABLE = "similar_terms"
DF_TABLE = "similar_df"  # term → how many proposals ask with it (weights for 提案前チェック)
SIMILAR_TABLE = "similar_proposals"
REPROPOSALS_TABLE = "reproposals"
CHAIN_SCORE = 0.25  # an inferred earlier round scores at least this (tentative: calibrate on the harvested corpus) …
KIND_EXPLICIT = "明示"  # the text names the earlier proposal (令和5年の提案（管理番号12）)
KIND_INFERRED = "推定"  # similar ask, an earlier year, and the same proponent with a shared ministry or statute


def _text(p: Proposal) -> str:
    return "\n".join(t for t in p.sections.values() if t)


def terms_row(p: Proposal, statutes: list[str]) -> dict[str, Any]:
    """What the lists read of one proposal."""
    s = p.sections
    text = ask_text(p.title, s.get(SectionKey.MEASURES), s.get(SectionKey.PROBLEMS), s.get(SectionKey.EFFECTS))
    mentions = [[year, number, words] for year, number, words in earlier_mentions(unicodedata.normalize("NFKC", _text(p)))]
    return {
        "proposal_id": p.id,
        "year": p.year,
        "terms": pack(term_counts(text, statutes)),
        "proponents": json.dumps([*p.proponents, *p.co_proponents], ensure_ascii=False),
        "ministries": json.dumps(list(p.ministries), ensure_ascii=False),
        "mentions": json.dumps(mentions, ensure_ascii=False),
    }


def _terms_row_of(p: Proposal, cited: dict[str, list[str]]) -> dict[str, Any]:
    return terms_row(p, cited[p.id])


def _cited(db: sqlite_utils.Database, ids: list[str]) -> dict[str, list[str]]:
    """Statute ids each proposal cites, in first-cited order."""
    out: dict[str, list[str]] = {pid: [] for pid in ids}
    for i in range(0, len(ids), 500):
        batch = ids[i : i + 500]
        sql = (
            "SELECT proposal_id, statute_id FROM citations WHERE statute_id IS NOT NULL"
            f" AND proposal_id IN ({','.join('?' * len(batch))}) ORDER BY proposal_id, position"
        )
        for pid, sid in db.execute(sql, batch).fetchall():
            if sid not in out[pid]:
                out[pid].append(sid)
    return out


def _create(db: sqlite_utils.Database) -> None:
    db.execute(
        f"CREATE TABLE IF NOT EXISTS [{TERMS_TABLE}] (proposal_id TEXT PRIMARY KEY, year INTEGER NOT NULL, terms TEXT NOT NULL,"
        " proponents TEXT NOT NULL, ministries TEXT NOT NULL, mentions TEXT NOT NULL)"
    )
    db.execute(
        f"CREATE TABLE IF NOT EXISTS [{SIMILAR_TABLE}] (proposal_id TEXT NOT NULL, rank INTEGER NOT NULL, similar_id TEXT NOT NULL,"
        " score REAL NOT NULL, shared_statutes TEXT NOT NULL, shared_terms TEXT NOT NULL, PRIMARY KEY (proposal_id, rank))"
    )
    db.execute(f"CREATE INDEX IF NOT EXISTS [idx_{SIMILAR_TABLE}_similar_id] ON [{SIMILAR_TABLE}] (similar_id)")
    db.execute(
        f"CREATE TABLE IF NOT EXISTS [{REPROPOSALS_TABLE}] (proposal_id TEXT PRIMARY KEY, earlier_id TEXT NOT NULL,"
        " kind TEXT NOT NULL, score REAL, evidence TEXT NOT NULL)"
    )
    db.execute(f"CREATE TABLE IF NOT EXISTS [{DF_TABLE}] (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID")
    db.execute(f"CREATE INDEX IF NOT EXISTS [idx_{REPROPOSALS_TABLE}_earlier_id] ON [{REPROPOSALS_TABLE}] (earlier_id)")


def store_terms(db: sqlite_utils.Database, proposals: list[Proposal]) -> bool:
    """Write the proposals' terms rows; drop rows of deleted proposals. True when anything changed."""
    ids = [p.id for p in proposals]
    cited = _cited(db, ids)
    rows = map_items(partial(_terms_row_of, cited=cited), proposals)  # normalising the asks: on every core
    columns = ["proposal_id", "year", "terms", "proponents", "ministries", "mentions"]
    stored: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        batch = ids[i : i + 500]
        sql = f"SELECT {', '.join(columns)} FROM [{TERMS_TABLE}] WHERE proposal_id IN ({','.join('?' * len(batch))})"
        stored.update((r[0], dict(zip(columns, r, strict=True))) for r in db.execute(sql, batch).fetchall())
    changed = [r for r in rows if stored.get(r["proposal_id"]) != r]
    with db.conn:
        gone = db.execute(f"DELETE FROM [{TERMS_TABLE}] WHERE proposal_id NOT IN (SELECT id FROM proposals)").rowcount
        db.conn.executemany(
            f"INSERT OR REPLACE INTO [{TERMS_TABLE}] ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [[r[c] for c in columns] for r in changed],
        )
    return bool(changed) or gone > 0


class _Rounds:
    """What `_earlier` reads of every proposal, parsed once (JSON lists of up to 10,000 rows)."""

    def __init__(self, rows: list[tuple[Any, ...]]):
        self.rows = rows
        self._sets: dict[int, tuple[list[str], list[str]]] = {}

    def names(self, i: int) -> tuple[list[str], list[str]]:
        """(proponents, ministries) of proposal `i`."""
        found = self._sets.get(i)
        if found is None:
            found = self._sets[i] = (json.loads(self.rows[i][3]), json.loads(self.rows[i][4]))
        return found


def _earlier(
    i: int, rounds: _Rounds, candidates: list[tuple[int, float, list[str]]], index: dict[tuple[int, int], int]
) -> tuple[int, str, float | None, str] | None:
    """The earlier round of proposal `i`: one it names, else the best similar earlier one with shared evidence.

    `candidates`: (index, score, shared statutes) of its similar proposals of earlier years scoring at least
    CHAIN_SCORE, best first.
    """
    rows = rounds.rows
    if rows[i][5] != "[]":
        for mentioned_year, number, words in json.loads(rows[i][5]):
            j = index.get((mentioned_year, number))
            if j is not None and rows[j][1] < rows[i][1]:
                return j, KIND_EXPLICIT, None, f"本文に「{words}」"
    if not candidates:
        return None
    proponents, ministries_of = rounds.names(i)
    mine_p, mine_m = set(proponents), set(ministries_of)
    for j, score, statutes in candidates:
        other_p, other_m = rounds.names(j)
        both = [g for g in other_p if g in mine_p]
        ministries = [m for m in other_m if m in mine_m]
        if both and (ministries or statutes):
            evidence = [f"類似度 {score:.2f}", f"共通の提案団体: {'、'.join(both)}"]
            evidence.append(f"共通の府省: {'、'.join(ministries)}" if ministries else f"共通の法令: {'、'.join(statutes)}")
            return j, KIND_INFERRED, score, "・".join(evidence)
    return None


def _json_lists(lists: list[list[str]]) -> list[str]:
    """`json.dumps(items, ensure_ascii=False)` of many short lists of few distinct strings, each string encoded once."""
    encoded: dict[str, str] = {}
    out = []
    for items in lists:
        if not items:
            out.append("[]")
            continue
        for item in items:
            if item not in encoded:
                encoded[item] = json.dumps(item, ensure_ascii=False)
        out.append("[" + ", ".join([encoded[item] for item in items]) + "]")
    return out


def derive(db: sqlite_utils.Database) -> None:
    """Rewrite `similar_proposals` and `reproposals` from `similar_terms` (rows in id order: year, then number)."""
    from kb.similar.model import packed_entries, similar_lists  # numpy: loaded by the builds that need it

    columns = ["proposal_id", "year", "terms", "proponents", "ministries", "mentions"]
    rows = db.execute(f"SELECT {', '.join(columns)} FROM [{TERMS_TABLE}] ORDER BY proposal_id").fetchall()
    found = similar_lists(packed_entries([r[2] for r in rows]), workers=default_jobs())
    ids = [r[0] for r in rows]
    index = {(r[1], int(r[0].split("-")[1])): i for i, r in enumerate(rows)}
    row_of, col_of = found.row.tolist(), found.col.tolist()
    rank, previous = 0, -1
    similar = []
    for k, (r, statutes, terms) in enumerate(zip(row_of, _json_lists(found.statutes), _json_lists(found.terms), strict=True)):
        rank = rank + 1 if r == previous else 1
        previous = r
        similar.append((ids[r], rank, ids[col_of[k]], found.score[k], statutes, terms))
    candidates: list[list[tuple[int, float, list[str]]]] = [[] for _ in rows]
    for k, (r, c) in enumerate(zip(row_of, col_of, strict=True)):
        if found.score[k] >= CHAIN_SCORE and rows[c][1] < rows[r][1]:
            candidates[r].append((c, found.score[k], found.statutes[k]))
    rounds = _Rounds(rows)
    links = []
    for i in range(len(rows)):
        earlier = _earlier(i, rounds, candidates[i], index)
        if earlier is not None:
            j, kind, score, evidence = earlier
            links.append((ids[i], ids[j], kind, score, evidence))
    with db.conn:
        _write_rows(db, DF_TABLE, ["term"], sorted(found.frequencies.items()))
        _write_rows(db, SIMILAR_TABLE, ["proposal_id", "rank"], similar)
        _write_rows(db, REPROPOSALS_TABLE, ["proposal_id"], links)


def _write_rows(db: sqlite_utils.Database, table: str, key: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Make `table` hold exactly `rows` (its key columns first), writing only the rows that differ.

    An edit of one ask changes a few of the 100,000 rows of `similar_proposals` (measured: ten, at
    10,000 proposals): rewriting all of them was a tenth of the step.
    """
    width = len(key)
    stored = {row[:width]: row for row in db.execute(f"SELECT * FROM [{table}]")}
    wanted = {row[:width]: row for row in rows}
    gone = [k for k, row in stored.items() if wanted.get(k) != row]
    if len(gone) * 2 > len(stored):  # most rows differ (a proposal added or removed moves every score):
        db.conn.execute(f"DELETE FROM [{table}]")  # emptying the table and filling it is quicker than row by row
        gone, new = [], sorted(wanted.values())
    else:
        new = [row for k, row in wanted.items() if stored.get(k) != row]
    where = " AND ".join(f"[{c}] = ?" for c in key)
    db.conn.executemany(f"DELETE FROM [{table}] WHERE {where}", gone)
    if new:
        db.conn.executemany(f"INSERT INTO [{table}] VALUES ({', '.join('?' * len(new[0]))})", new)


def write_similar_tables(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """Full build: every proposal; incremental: the new and changed ones (deleted ones are found here)."""
    _create(db)
    if store_terms(db, proposals) or not db[SIMILAR_TABLE].count:
        derive(db)


STEP = Step("similar", write_similar_tables, tables=())
