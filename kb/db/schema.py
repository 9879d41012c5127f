"""What the database looks like from outside: its name, shared table names and values, and build steps.

The site (`site/plugins/`) and the features that add tables (`kb.registries.step`,
`kb.statutes.step`) import this module and nothing else of the build, so they never pull
in the build itself. Every table and column is described for people in `site/metadata.yml`
and `docs/schema.md`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # sqlite-utils is loaded by the build, not by `kb check`; the models not by kb/db/ahead.py (start-up time)
    import sqlite_utils

    from kb.core.models import Proposal

DB_NAME = "kb"  # the name Datasette mounts the database under; templates and metadata are keyed by it

ROLE_PROPONENT = "提案団体"
ROLE_CO_PROPONENT = "追加共同提案団体"

# The search index (kb.search.index): a contentless FTS5 table whose rowid is proposals.rowid.
FTS_TABLE = "proposals_fts"
# unicode61 splits our space-separated bigrams as they are; diacritics are kept so が ≠ か.
FTS_TOKENIZER = "unicode61 remove_diacritics 0"
# JSON-array columns of `proposals` written by the core build (steps add more, e.g. `statutes`).
LIST_COLUMNS = ("ministries", "proponents", "co_proponents")
# Lookup tables whose rows come from the proposals (as opposed to fixed vocabularies): an incremental
# build adds the new names and drops the ones no row refers to any more.
DERIVED_LOOKUPS = ("policy_fields", "themes", "ministries", "local_governments")
# Core tables holding rows of one proposal each, keyed by `proposal_id` (besides `proposals` itself).
# Made at build time so pages do not redo it per request (kb.db.rows.rendered_rows): section and opinion
# Markdown as safe HTML for the proposal page; where normalised text differs, for /search's snippets.
SECTION_HTML_TABLE = "section_html"
OPINION_HTML_TABLE = "opinion_html"
SNIPPET_OFFSETS_TABLE = "snippet_offsets"
RENDERED_TABLES = (SECTION_HTML_TABLE, OPINION_HTML_TABLE, SNIPPET_OFFSETS_TABLE)
CORE_PROPOSAL_TABLES = ("proposal_local_governments", "proposal_ministries", "sources", "opinions", *RENDERED_TABLES)
# Bookkeeping of the incremental build (kb.db.filestate): not data, hidden from counts and docs.
FILES_TABLE = "build_files"
INFO_TABLE = "build_info"
# Facets counted at build time (kb.db.facet_counts), read by the site's facets (site/plugins/facets.py).
FACET_COUNTS_TABLE = "facet_counts"  # (table_name, facet, value, count) of the unfiltered table
FACET_VALUES_TABLE = "facet_values"  # (proposal_id, facet, value): each proposal's JSON-array facet items


def json_list(value: object) -> list[str] | None:
    """A JSON-array cell (ministries, proponents, statutes…) as a list, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        names = json.loads(value)
    except ValueError:
        return None
    return names if isinstance(names, list) else None


class BuildStep(Protocol):
    """A feature's part of the build: tables and columns it adds once the core tables exist.

    `run(db, proposals)` gets the database being built and the proposals (sorted by year,
    number); it may create tables and add columns, and its foreign keys are checked before the
    database is kept. A step with `incremental` True is also run on the previous database with
    only the new and changed proposals, after the build deleted their rows from `tables` (each
    keyed by `proposal_id`); it then creates tables and columns only when missing and derives
    anything that depends on all proposals from the database. `inputs()` lists the data files it
    reads: a change there forces a full build. `prepare()` loads what `run` will need (a registry)
    while an incremental build still waits for its copy of the database.
    """

    @property
    def name(self) -> str: ...

    @property
    def tables(self) -> Sequence[str]: ...

    @property
    def incremental(self) -> bool: ...

    def inputs(self) -> list[Path]: ...

    def prepare(self) -> None: ...

    def run(self, db: sqlite_utils.Database, proposals: list[Proposal]) -> None: ...


def _no_inputs() -> list[Path]:
    return []


@dataclass(frozen=True)
class Step:
    """A `BuildStep` made of a function: `Step("statutes", write_statute_tables, tables=("citations",))`."""

    name: str
    function: Callable[[sqlite_utils.Database, list[Proposal]], None]
    tables: Sequence[str] = ()
    incremental: bool = True
    input_files: Callable[[], list[Path]] = _no_inputs
    preload: Callable[[], object] | None = None  # what `prepare` calls (its result is kept by the callee's cache)

    def inputs(self) -> list[Path]:
        return self.input_files()

    def prepare(self) -> None:
        if self.preload is not None:
            self.preload()

    def run(self, db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
        self.function(db, proposals)
