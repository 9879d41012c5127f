"""The search index: a contentless FTS5 table of bigrams, written and deleted per proposal.

Its text is made from the rows stored for a proposal (`proposals`, `opinions`, `sources`),
not from the parsed file, so an incremental build can recompute exactly what was indexed
for a proposal it is about to replace: on SQLite 3.40 a contentless FTS5 table can delete a
row only when given the same text again (docs/search.md, docs/benchmarks.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from kb.core.vocab import EMPTY_MARK, SECTION_ORDER
from kb.db.schema import FTS_TABLE, FTS_TOKENIZER, LIST_COLUMNS
from kb.search.textnorm import index_text

_BATCH = 500

SearchText = tuple[str, str, str]  # (title, names, body) bigram text of one proposal
SearchTexts = dict[str, SearchText]  # proposal id → its text


def search_texts(row: dict[str, Any], opinions: Sequence[dict[str, Any]], sources: Sequence[dict[str, Any]]) -> SearchText:
    """Bigram text (title, names, body) of one proposal, from its stored rows.

    Names are governments, ministries (those of the sources too), field and theme; the body is
    every section and opinion in sheet order, `—` (printed empty) and NULL skipped.
    """
    ministries = [*row["ministries"], row["sheet_ministry"], *(s["ministry"] for s in sources)]
    names = [*row["proponents"], *row["co_proponents"], *dict.fromkeys(n for n in ministries if n)]
    names += [n for n in (row["policy_field"], row["theme"]) if n]
    body = [row[key.column] for key in SECTION_ORDER] + [o["text"] for o in sorted(opinions, key=lambda o: o["position"])]
    return (
        index_text(row["title"]),
        index_text("\n".join(names)),
        index_text("\n".join(t for t in body if t and t != EMPTY_MARK)),
    )


def _chunks(ids: list[str], size: int = _BATCH) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def create_index(db: sqlite_utils.Database) -> None:
    """The index table. `prefix='1'` keeps each token under its first character too, so a 1-character
    query (`"法"*`, every bigram starting with 法) reads one list instead of merging hundreds (docs/search.md)."""
    db.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, names, body, tokenize='{FTS_TOKENIZER}', content='', prefix='1')"
    )


def insert_texts(db: sqlite_utils.Database, texts: SearchTexts) -> None:
    """Index these proposals' text under their `proposals.rowid`."""
    rowids: dict[str, int] = {}
    for batch in _chunks(list(texts)):
        marks = ",".join("?" * len(batch))
        rowids.update((pid, rowid) for rowid, pid in db.execute(f"SELECT rowid, id FROM proposals WHERE id IN ({marks})", batch))
    with db.conn:
        db.conn.executemany(
            f"INSERT INTO {FTS_TABLE} (rowid, title, names, body) VALUES (?, ?, ?, ?)",
            [(rowids[pid], *text) for pid, text in texts.items()],
        )


def optimize(db: sqlite_utils.Database) -> None:
    """Merge the index's segments into one: a fresh database is read far more than written."""
    with db.conn:
        db.conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('optimize')")


def stored_texts(db: sqlite_utils.Database, ids: list[str]) -> dict[int, SearchText]:
    """proposals.rowid → the bigram text that was indexed for each stored proposal."""
    columns = ["rowid", "id", "title", "policy_field", "theme", "sheet_ministry", *LIST_COLUMNS]
    columns += [key.column for key in SECTION_ORDER]
    out: dict[int, SearchText] = {}
    for batch in _chunks(ids):
        marks = ",".join("?" * len(batch))
        rows = [dict(r) for r in db.query(f"SELECT {', '.join(columns)} FROM proposals WHERE id IN ({marks})", batch)]
        opinions: dict[str, list[dict[str, Any]]] = {}
        for o in db.query(f"SELECT proposal_id, position, text FROM opinions WHERE proposal_id IN ({marks})", batch):
            opinions.setdefault(o["proposal_id"], []).append(o)
        sources: dict[str, list[dict[str, Any]]] = {}
        query = f"SELECT proposal_id, ministry FROM sources WHERE proposal_id IN ({marks}) ORDER BY proposal_id, position"
        for s in db.query(query, batch):
            sources.setdefault(s["proposal_id"], []).append(s)
        for row in rows:
            for column in LIST_COLUMNS:
                row[column] = json.loads(row[column]) if row[column] else []
            out[row["rowid"]] = search_texts(row, opinions.get(row["id"], []), sources.get(row["id"], []))
    return out


def delete_texts(db: sqlite_utils.Database, ids: list[str]) -> None:
    """Remove these stored proposals from the index (before their rows are deleted)."""
    old = stored_texts(db, ids)
    with db.conn:
        db.conn.executemany(
            f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, title, names, body) VALUES ('delete', ?, ?, ?, ?)",
            [(rowid, *text) for rowid, text in old.items()],
        )
