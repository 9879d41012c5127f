"""Column descriptions of site/metadata.yml, kept apart from the metadata Datasette holds.

Datasette 0.65 deep-copies its whole metadata on every table-permission check (several per page,
one per table on the database page). The Japanese column descriptions are two thirds of it and
Datasette itself only shows them as tooltips, so `kb serve` hands Datasette the metadata without
them and the site's plugins read them here. A site started from site/metadata.yml directly
(`datasette package`, the Dockerfile) keeps them in the metadata: `of` falls back to it.
"""

from __future__ import annotations

import re
from typing import Any, Protocol
from weakref import WeakKeyDictionary


class _Site(Protocol):
    def table_metadata(self, database: str, table: str) -> dict[str, Any]: ...


_NOTES: WeakKeyDictionary[Any, dict[str, dict[str, dict[str, str]]]] = WeakKeyDictionary()


def split_off(metadata: dict[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
    """Remove every table's `columns` from `metadata` (in place); database → table → column → description."""
    notes: dict[str, dict[str, dict[str, str]]] = {}
    for database, config in (metadata.get("databases") or {}).items():
        for table, table_config in (config.get("tables") or {}).items():
            columns = table_config.pop("columns", None)
            if columns:
                notes.setdefault(database, {})[table] = dict(columns)
    return notes


def register(site: Any, notes: dict[str, dict[str, dict[str, str]]]) -> None:
    _NOTES[site] = notes


def of(site: _Site, database: str, table: str | None) -> dict[str, str]:
    """column → description of one table ({} for none)."""
    if not table:
        return {}
    notes = _NOTES.get(site)
    if notes is not None:
        return notes.get(database, {}).get(table, {})
    return site.table_metadata(database, table).get("columns") or {}


def short_label(description: str | None, column: str) -> str:
    """A column's short Japanese label: its description up to the first bracket or 。 (the column name without one)."""
    if not description:
        return column
    return re.split(r"[（(。]", description, maxsplit=1)[0].strip() or column
