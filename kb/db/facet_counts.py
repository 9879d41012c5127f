"""Build step `STEP` (the last of `kb.pipeline.STEPS`): facets counted at build time, for the site's facets.

Datasette counts a facet by scanning every matching row, and the array columns sit at the end of rows
that hold a proposal's whole text: at 50,000 proposals those scans outlast `facet_time_limit_ms` and the
facets vanish from the list page. This step writes two narrow tables that `site/plugins/facets.py` reads:

- `facet_values(proposal_id, facet, value)`: one row per proposal and item of each JSON-array facet column
  (`ARRAY_FACETS`), so a filtered page counts array facets without touching the text;
- `facet_counts(table_name, facet, value, count)`: the counts of the whole `proposals` table for every facet
  of the list page (`COLUMN_FACETS` and `ARRAY_FACETS`), read when a request has no filter and no search.

A full build counts once, then adds triggers that keep `facet_counts` right as rows of `proposals`
and `facet_values` come and go. `facet_values` is a per-proposal table, so an incremental build deletes
the rows of changed proposals (the triggers take them off the counts) and this step writes their new
items (the triggers add them): its cost follows the change, not the table (a recount is 50 ms at 10,000).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kb.core.models import Proposal
from kb.db.schema import FACET_COUNTS_TABLE, FACET_VALUES_TABLE, Step

if TYPE_CHECKING:  # sqlite-utils is loaded by the build, not by `kb check` (start-up time)
    import sqlite_utils

TABLE = "proposals"
# Columns of `proposals` counted value by value (Datasette's column facets; all indexed by the build).
COLUMN_FACETS = ("year", "category", "policy_field", "outcome", "theme")
# JSON-array columns of `proposals` counted item by item, each proposal once per item (array facets).
ARRAY_FACETS = ("ministries", "proponent_prefectures", "proponent_kinds", "statutes", "statute_kinds")

VALUES_DDL = f"""
CREATE TABLE IF NOT EXISTS [{FACET_VALUES_TABLE}] (
    [proposal_id] TEXT NOT NULL REFERENCES [{TABLE}]([id]),
    [facet] TEXT NOT NULL,
    [value] TEXT NOT NULL,
    PRIMARY KEY ([proposal_id], [facet], [value])
) WITHOUT ROWID
"""
# Covers both the unfiltered count (GROUP BY facet, value) and the filtered one (facet = ? AND proposal_id IN …).
VALUES_INDEX = (
    f"CREATE INDEX IF NOT EXISTS [idx_{FACET_VALUES_TABLE}_facet_value]"
    f" ON [{FACET_VALUES_TABLE}] ([facet], [value], [proposal_id])"
)
# `value` has no declared type, so a year stays an integer (sorted and linked as Datasette's own facet does).
COUNTS_DDL = f"""
CREATE TABLE IF NOT EXISTS [{FACET_COUNTS_TABLE}] (
    [table_name] TEXT NOT NULL,
    [facet] TEXT NOT NULL,
    [value] NOT NULL,
    [count] INTEGER NOT NULL,
    PRIMARY KEY ([table_name], [facet], [value])
) WITHOUT ROWID
"""


def present(db: sqlite_utils.Database, columns: tuple[str, ...]) -> list[str]:
    """The facet columns this database has (a build run without some steps lacks their columns)."""
    have = {row[1] for row in db.execute(f"PRAGMA table_info([{TABLE}])")}
    return [c for c in columns if c in have]


def values_sql(columns: list[str]) -> str:
    """INSERT of the array items of the proposals whose ids are in the JSON array `:ids`.

    One pass over the rows (the materialised CTE keeps only the id and the array columns), then one
    `json_each` per column over that narrow copy.
    """
    narrow = ", ".join(f"[{c}]" for c in columns)
    arms = " UNION ALL ".join(
        f"SELECT p.id, '{c}', j.value FROM p, json_each(p.[{c}]) j WHERE p.[{c}] IS NOT NULL AND j.value IS NOT NULL"
        for c in columns
    )
    return (
        f"WITH p AS MATERIALIZED (SELECT [id], {narrow} FROM [{TABLE}] WHERE [id] IN (SELECT value FROM json_each(:ids)))"
        f" INSERT OR IGNORE INTO [{FACET_VALUES_TABLE}] ([proposal_id], [facet], [value]) {arms}"
    )


def write_facet_values(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """`facet_values` rows of these proposals (their old rows were deleted by the build)."""
    columns = present(db, ARRAY_FACETS)
    with db.conn:
        db.conn.execute(VALUES_DDL)
        db.conn.execute(VALUES_INDEX)
        if columns and proposals:
            db.conn.execute(values_sql(columns), {"ids": json.dumps([p.id for p in proposals])})


def count_facets(db: sqlite_utils.Database) -> None:
    """`facet_counts` of the whole `proposals` table, from `facet_values` and the facet columns."""
    with db.conn:
        db.conn.execute(COUNTS_DDL)
        db.conn.execute(f"DELETE FROM [{FACET_COUNTS_TABLE}] WHERE [table_name] = ?", (TABLE,))
        db.conn.execute(
            f"INSERT INTO [{FACET_COUNTS_TABLE}] SELECT ?, [facet], [value], count(*)"
            f" FROM [{FACET_VALUES_TABLE}] GROUP BY [facet], [value]",
            (TABLE,),
        )
        for column in present(db, COLUMN_FACETS):
            db.conn.execute(
                f"INSERT INTO [{FACET_COUNTS_TABLE}] SELECT ?, ?, [{column}], count(*)"
                f" FROM [{TABLE}] WHERE [{column}] IS NOT NULL GROUP BY [{column}]",
                (TABLE, column),
            )


def _add(facet: str, value: str) -> str:
    """Trigger statement: one more row with this value (a new value starts at 1)."""
    return (
        f"INSERT INTO [{FACET_COUNTS_TABLE}] ([table_name], [facet], [value], [count]) SELECT '{TABLE}', {facet}, {value}, 1"
        f" WHERE {value} IS NOT NULL ON CONFLICT DO UPDATE SET [count] = [count] + 1;"
    )


def _take(facet: str, value: str) -> str:
    """Trigger statements: one row fewer with this value (a value no row has any more is dropped, as a full build would)."""
    where = f"[table_name] = '{TABLE}' AND [facet] = {facet} AND [value] = {value}"
    return (
        f"UPDATE [{FACET_COUNTS_TABLE}] SET [count] = [count] - 1 WHERE {where};"
        f" DELETE FROM [{FACET_COUNTS_TABLE}] WHERE {where} AND [count] <= 0;"
    )


def trigger_sql(columns: list[str]) -> list[str]:
    """Triggers keeping `facet_counts` equal to a recount when rows of `facet_values` and `proposals` change."""
    items = [
        f"CREATE TRIGGER IF NOT EXISTS [{FACET_VALUES_TABLE}_counted] AFTER INSERT ON [{FACET_VALUES_TABLE}]"
        f" BEGIN {_add('new.facet', 'new.value')} END",
        f"CREATE TRIGGER IF NOT EXISTS [{FACET_VALUES_TABLE}_uncounted] AFTER DELETE ON [{FACET_VALUES_TABLE}]"
        f" BEGIN {_take('old.facet', 'old.value')} END",
    ]
    if not columns:
        return items
    on_columns = ", ".join(f"[{c}]" for c in columns)
    return items + [
        f"CREATE TRIGGER IF NOT EXISTS [{TABLE}_facets_counted] AFTER INSERT ON [{TABLE}]"
        f" BEGIN {' '.join(_add(repr(c), f'new.[{c}]') for c in columns)} END",
        f"CREATE TRIGGER IF NOT EXISTS [{TABLE}_facets_uncounted] AFTER DELETE ON [{TABLE}]"
        f" BEGIN {' '.join(_take(repr(c), f'old.[{c}]') for c in columns)} END",
        f"CREATE TRIGGER IF NOT EXISTS [{TABLE}_facets_recounted] AFTER UPDATE OF {on_columns} ON [{TABLE}] BEGIN"
        f" {' '.join(_take(repr(c), f'old.[{c}]') for c in columns)}"
        f" {' '.join(_add(repr(c), f'new.[{c}]') for c in columns)} END",
    ]


def write_facet_tables(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """The build step: count everything once in a new database; afterwards the triggers keep the counts.

    In a new database (full build) the items are written, counted, then the triggers added; in the
    previous one (incremental build) only the new and changed proposals' items are written.
    """
    fresh = not db.table(FACET_COUNTS_TABLE).exists()
    write_facet_values(db, proposals)
    if fresh:
        count_facets(db)
        with db.conn:
            for sql in trigger_sql(present(db, COLUMN_FACETS)):
                db.conn.execute(sql)


STEP = Step("facets", write_facet_tables, tables=(FACET_VALUES_TABLE,))
