"""The core tables (I/O): create them, insert a batch of proposals' rows, index, verify.

Used by both builds: a full build creates and fills them, an incremental build inserts the
rows of changed proposals into the previous database's tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlite_utils

from kb.core.models import Proposal
from kb.core.vocab import CATEGORY_LABELS, SECTION_ORDER, Outcome, Stage
from kb.db.rows import (
    OUTCOME_NOTES,
    local_government_links,
    lookup_rows,
    ministry_links,
    opinion_rows,
    proposal_row,
    source_rows,
)
from kb.db.schema import (
    FILES_TABLE,
    FTS_TABLE,
    INFO_TABLE,
    OPINION_HTML_TABLE,
    RENDERED_TABLES,
    SECTION_HTML_TABLE,
    SNIPPET_OFFSETS_TABLE,
)


def create_core_tables(db: sqlite_utils.Database) -> None:
    """Fixed vocabularies with their rows, and every other core table empty."""
    db.table("categories").insert_all(
        [{"id": c.value, "label": label} for c, label in CATEGORY_LABELS.items()], pk="id"
    )
    db.table("outcomes").insert_all(
        [{"id": o.value, "position": i, "note": OUTCOME_NOTES[o]} for i, o in enumerate(Outcome, start=1)], pk="id"
    )
    db.table("stages").insert_all([{"id": s.value, "position": i} for i, s in enumerate(Stage, start=1)], pk="id")
    db.table("policy_fields").create({"id": str, "code": int, "name": str}, pk="id")
    db.table("themes").create({"id": str}, pk="id")
    db.table("ministries").create({"id": str}, pk="id")
    db.table("local_governments").create({"id": str, "code": str, "prefecture": str, "kind": str}, pk="id")
    columns: dict[str, type] = {
        "id": str, "year": int, "era": str, "number": int, "serial": int, "title": str, "category": str,
        "policy_field": str, "theme": str, "stage": str, "outcome": str, "decision_date": str,
        "sheet_ministry": str, "ministries": str, "proponents": str, "co_proponents": str, "file": str,
    }  # fmt: skip
    columns.update({key.column: str for key in SECTION_ORDER})
    db.table("proposals").create(
        columns,
        pk="id",
        not_null={"year", "era", "number", "title", "category", "stage", "file"},
        foreign_keys=[
            ("category", "categories", "id"),
            ("policy_field", "policy_fields", "id"),
            ("theme", "themes", "id"),
            ("stage", "stages", "id"),
            ("outcome", "outcomes", "id"),
            ("sheet_ministry", "ministries", "id"),
        ],
    )
    db.table("proposal_local_governments").create(
        {"proposal_id": str, "local_government_id": str, "role": str, "position": int},
        pk=("proposal_id", "local_government_id", "role"),
        foreign_keys=[("proposal_id", "proposals", "id"), ("local_government_id", "local_governments", "id")],
    )
    db.table("proposal_ministries").create(
        {"proposal_id": str, "ministry_id": str, "position": int, "answers_sheet": int},
        pk=("proposal_id", "ministry_id"),
        foreign_keys=[("proposal_id", "proposals", "id"), ("ministry_id", "ministries", "id")],
    )
    db.table("sources").create(
        {
            "id": int,
            "proposal_id": str,
            "position": int,
            "stage": str,
            "ministry": str,
            "title": str,
            "url": str,
            "page": str,
            "link_text": str,
            "retrieved": str,
            "sha256": str,
        },
        pk="id",
        not_null={"proposal_id", "stage", "title"},
        foreign_keys=[("proposal_id", "proposals", "id"), ("stage", "stages", "id"), ("ministry", "ministries", "id")],
    )
    db.table("opinions").create(
        {"proposal_id": str, "association": str, "position": int, "text": str},
        pk=("proposal_id", "association"),
        foreign_keys=[("proposal_id", "proposals", "id")],
    )
    create_rendered_tables(db)


def create_rendered_tables(db: sqlite_utils.Database) -> None:
    """The tables of what the build renders once for every request (kb.db.rows.rendered_rows).

    Keyed by `proposal_id` without a foreign key: Datasette lists (and counts, one query each)
    every table that refers to a proposal on its page, and these are not for readers. The rows
    come from the same proposals as `proposals` and go with them (schema.CORE_PROPOSAL_TABLES).
    """
    db.table(SECTION_HTML_TABLE).create({"proposal_id": str, "section": str, "html": str}, pk=("proposal_id", "section"))
    db.table(OPINION_HTML_TABLE).create({"proposal_id": str, "association": str, "html": str}, pk=("proposal_id", "association"))
    db.table(SNIPPET_OFFSETS_TABLE).create({"proposal_id": str, "edits": str}, pk="proposal_id")


def insert_rendered_rows(db: sqlite_utils.Database, rendered: Iterable[dict[str, list[dict[str, Any]]]]) -> None:
    """Rows made by `rendered_rows` (in the parse workers), written with one executemany per table."""
    rows: dict[str, list[dict[str, Any]]] = {table: [] for table in RENDERED_TABLES}
    for item in rendered:
        for table, table_rows in item.items():
            rows[table] += table_rows
    with db.conn:
        for table, table_rows in rows.items():
            if table_rows:
                columns = list(table_rows[0])
                db.conn.executemany(
                    f"INSERT INTO [{table}] ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
                    table_rows,
                )


def insert_core_rows(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """Rows of these proposals in the core tables; lookup names already present are kept as they are."""
    for table, rows in lookup_rows(proposals).items():
        db.table(table).insert_all(rows, ignore=True)
    db.table("proposals").insert_all(proposal_row(p) for p in proposals)
    db.table("proposal_local_governments").insert_all(r for p in proposals for r in local_government_links(p))
    db.table("proposal_ministries").insert_all(r for p in proposals for r in ministry_links(p))
    db.table("sources").insert_all(r for p in proposals for r in source_rows(p))
    db.table("opinions").insert_all(r for p in proposals for r in opinion_rows(p))


def write_core_tables(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """Lookup tables, `proposals`, and the tables linking proposals to everything else."""
    create_core_tables(db)
    insert_core_rows(db, proposals)


FACET_INDEXES: list[tuple[str, list[str]]] = [
    ("proposals", ["year"]),
    ("proposals", ["year", "number"]),
    ("proposals", ["decision_date"]),
    ("proposal_local_governments", ["role"]),
]


def write_indexes(db: sqlite_utils.Database) -> None:
    """Index every foreign key (faceted columns are all foreign keys) and the other faceted columns."""
    db.index_foreign_keys()
    for table, columns in FACET_INDEXES:
        db.table(table).create_index(columns, if_not_exists=True)


def check_foreign_keys(db: sqlite_utils.Database) -> None:
    broken = db.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"外部キーの参照先がない行があります: {broken[:5]}")


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Rows per data table, for the build's summary (the search index and bookkeeping are not data)."""
    hidden = (FTS_TABLE, "sqlite_", FILES_TABLE, INFO_TABLE)
    return {t.name: t.count for t in db.tables if not t.name.startswith(hidden)}
