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
    keys = {(s.stage, s.ministry, s.title) for s in existing.sources}
    for source in row.sources:
        if (source.stage, source.ministry, source.title) not in keys:
            merged.sources.append(source)
            added.append(f"出典「{source.title}」")
    merged.sources.sort(key=lambda s: STAGE_ORDER.index(s.stage))
    return merged, added, differing
