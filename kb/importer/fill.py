"""An xlsx row (提案募集方式データベース) merged into a proposal: it fills gaps, it never overwrites.

The database is a second copy of what the sheets print, re-flowed by a spreadsheet: its line
breaks and spaces differ from the PDF's. So a value the file lacks is added (the 対応方針 text,
a field), a value equal after folding (NFKC, no whitespace, no list marks) is left alone, and a
value that really differs stays as the file has it and is reported as a warning — not a conflict:
the file holds the sheet's or an editor's text, which outranks the database, and one differing
row must not hold back thousands of others. `--force` does not change this.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from kb.core.models import Proposal
from kb.core.vocab import EMPTY_MARK, STAGE_ORDER, field_label

FIELDS = ("serial", "title", "category", "policy_field", "theme", "proponents", "co_proponents", "ministries")
_SPACE_OR_MARK = re.compile(r"(?m)^\s*-\s+|\s+")


def folded(value: Any) -> Any:
    """What two copies of one text share: NFKC, no whitespace, no Markdown list marks."""
    if isinstance(value, list):
        return [folded(v) for v in value]
    if isinstance(value, str):
        return _SPACE_OR_MARK.sub("", unicodedata.normalize("NFKC", value))
    return value


def _shown(value: Any) -> str:
    if value is None:
        return EMPTY_MARK
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def fill(existing: Proposal, row: Proposal) -> tuple[Proposal, list[str], list[str]]:
    """(merged, items added, differences kept as in the file) for one row into one proposal."""
    merged = existing.model_copy(deep=True)
    added: list[str] = []
    differing: list[str] = []

    def differs(label: str, mine: Any, theirs: Any) -> None:
        differing.append(f"{label}: ファイル「{_shown(mine)}」と xlsx「{_shown(theirs)}」が違います。ファイルのままにしました")

    for key in FIELDS:
        theirs, mine = getattr(row, key), getattr(existing, key)
        if theirs in (None, []):
            continue
        if mine in (None, []):
            setattr(merged, key, theirs)
            added.append(field_label(key))
        elif folded(mine) != folded(theirs):
            differs(field_label(key), mine, theirs)
    for section, text in row.sections.items():
        if section not in existing.sections:
            merged.sections[section] = text
            added.append(section.value)
        elif folded(existing.sections[section]) != folded(text):
            differs(section.value, existing.sections[section], text)
    merged.sections = {k: merged.sections[k] for k in sorted(merged.sections, key=lambda k: k.order)}
    for source in row.sources:
        # one source per database file (its title names the file): a newer copy, or a row that now has
        # its 対応方針 (a later stage), updates that source instead of adding another
        known = [i for i, s in enumerate(merged.sources) if s.title == source.title and s.ministry == source.ministry]
        if not known:
            merged.sources.append(source)
            added.append(f"出典「{source.title}」")
            continue
        before = merged.sources[known[0]]
        update: dict[str, Any] = source.provenance()
        if STAGE_ORDER.index(source.stage) > STAGE_ORDER.index(before.stage):
            update["stage"] = source.stage
        after = before.model_copy(update=update)
        if after != before:
            merged.sources[known[0]] = after
            added.append(f"出典「{source.title}」の取得情報")
    merged.sources.sort(key=lambda s: STAGE_ORDER.index(s.stage))
    return merged, added, differing
