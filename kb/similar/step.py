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
from kb.db.parallel import map_items
from kb.db.schema import Step
from kb.similar.terms import ask_text, earlier_mentions, pack, term_counts, unpack

if TYPE_CHECKING:
    import sqlite_utils

    from kb.similar.model import Neighbour

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


def _earlier(
    i: int, rows: list[dict[str, Any]], found: list[Neighbour], index: dict[tuple[int, int], int]
) -> tuple[int, str, float | None, str] | None:
    """The earlier round of proposal `i`: one it names, else the best similar earlier one with shared evidence."""
    row = rows[i]
    for year, number, words in json.loads(row["mentions"]):
        j = index.get((year, number))
        if j is not None and rows[j]["year"] < row["year"]:
            return j, KIND_EXPLICIT, None, f"本文に「{words}」"
    mine_p, mine_m = set(json.loads(row["proponents"])), set(json.loads(row["ministries"]))
    for n in found:
        other = rows[n.index]
        if other["year"] >= row["year"] or n.score < CHAIN_SCORE:
            continue
        both = [g for g in json.loads(other["proponents"]) if g in mine_p]
        ministries = [m for m in json.loads(other["ministries"]) if m in mine_m]
        if both and (ministries or n.shared_statutes):
            evidence = [f"類似度 {n.score:.2f}", f"共通の提案団体: {'、'.join(both)}"]
            evidence.append(f"共通の府省: {'、'.join(ministries)}" if ministries else f"共通の法令: {'、'.join(n.shared_statutes)}")
            return n.index, KIND_INFERRED, n.score, "・".join(evidence)
    return None


def derive(db: sqlite_utils.Database) -> None:
    """Rewrite `similar_proposals` and `reproposals` from `similar_terms` (rows in id order: year, then number)."""
    from kb.similar.model import neighbours  # numpy: loaded by the builds that need it, not by every `kb` command

    columns = ["proposal_id", "year", "terms", "proponents", "ministries", "mentions"]
    rows = [dict(zip(columns, r, strict=True)) for r in db.execute(f"SELECT {', '.join(columns)} FROM [{TERMS_TABLE}] ORDER BY proposal_id")]
    lists, df = neighbours([unpack(r["terms"]) for r in rows])
    ids = [r["proposal_id"] for r in rows]
    index = {(r["year"], int(r["proposal_id"].split("-")[1])): i for i, r in enumerate(rows)}
    similar = [
        (ids[i], rank, ids[n.index], n.score, json.dumps(n.shared_statutes, ensure_ascii=False), json.dumps(n.shared_terms, ensure_ascii=False))
        for i, found in enumerate(lists)
        for rank, n in enumerate(found, start=1)
    ]
    links = []
    for i, found in enumerate(lists):
        earlier = _earlier(i, rows, found, index)
        if earlier is not None:
            j, kind, score, evidence = earlier
            links.append((ids[i], ids[j], kind, score, evidence))
    with db.conn:
        db.execute(f"DELETE FROM [{SIMILAR_TABLE}]")
        db.execute(f"DELETE FROM [{REPROPOSALS_TABLE}]")
        db.execute(f"DELETE FROM [{DF_TABLE}]")
        db.conn.executemany(f"INSERT INTO [{DF_TABLE}] VALUES (?, ?)", sorted(df.items()))
        db.conn.executemany(f"INSERT INTO [{SIMILAR_TABLE}] VALUES (?, ?, ?, ?, ?, ?)", similar)
        db.conn.executemany(f"INSERT INTO [{REPROPOSALS_TABLE}] VALUES (?, ?, ?, ?, ?)", links)


def write_similar_tables(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """Full build: every proposal; incremental: the new and changed ones (deleted ones are found here)."""
    _create(db)
    if store_terms(db, proposals) or not db[SIMILAR_TABLE].count:
        derive(db)


STEP = Step("similar", write_similar_tables, tables=())
