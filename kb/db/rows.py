"""Rows of the core tables for one proposal: pure functions of the model, no database.

Kept apart from the writing (`kb.db.tables`) so an incremental build, a full build and the
tests all compute exactly the same rows.
"""

from __future__ import annotations

import json
from typing import Any

from kb.core.markdown import render_markdown, render_plain
from kb.core.models import Proposal, latest_stage, relative_path
from kb.core.vocab import EMPTY_MARK, SECTION_ORDER, Association, Outcome, SectionKey
from kb.db.schema import (
    OPINION_HTML_TABLE,
    ROLE_CO_PROPONENT,
    ROLE_PROPONENT,
    SECTION_HTML_TABLE,
    SNIPPET_OFFSETS_TABLE,
)
from kb.search.foldmap import fold_edits

OUTCOME_NOTES: dict[Outcome, str] = {
    Outcome.ADOPTED: "提案の趣旨を踏まえ、法令改正・通知等で対応するもの",
    Outcome.POSSIBLE_NOW: "現行の規定で対応できることが明確化されたもの",
    Outcome.NOT_REALISED: "実現・対応できなかったもの",
    Outcome.NOT_IN_DECISION: "対応方針（閣議決定）に記載されなかったもの",
    Outcome.UNDECIDED: "対応方針がまだ決まっていないもの",
}
def section_text(proposal: Proposal, key: SectionKey) -> str | None:
    """Stored text of a section: as written, `—` when the sheet printed `—`, NULL when not published."""
    if key not in proposal.sections:
        return None
    text = proposal.sections[key]
    return EMPTY_MARK if text is None else text


def all_ministries(proposal: Proposal) -> list[str]:
    """Every ministry name the file mentions, first mention first."""
    names = [*proposal.ministries, proposal.sheet_ministry, *(s.ministry for s in proposal.sources)]
    return list(dict.fromkeys(n for n in names if n))


def proposal_row(proposal: Proposal) -> dict[str, Any]:
    decision = proposal.decision
    row: dict[str, Any] = {
        "id": proposal.id,
        "year": proposal.year,
        "era": proposal.era,
        "number": proposal.number,
        "serial": proposal.serial,
        "title": proposal.title,
        "category": proposal.category.value,
        "policy_field": proposal.policy_field,
        "theme": proposal.theme,
        "stage": latest_stage(proposal).value,
        "outcome": decision.outcome.value if decision and decision.outcome else None,
        "decision_date": decision.date.isoformat() if decision and decision.date else None,
        "sheet_ministry": proposal.sheet_ministry,
        "ministries": list(proposal.ministries),
        "proponents": list(proposal.proponents),
        "co_proponents": list(proposal.co_proponents),
        "file": f"proposals/{relative_path(proposal.year, proposal.number)}",
    }
    for key in SECTION_ORDER:
        row[key.column] = section_text(proposal, key)
    return row


def local_government_links(proposal: Proposal) -> list[dict[str, Any]]:
    rows = []
    for role, names in ((ROLE_PROPONENT, proposal.proponents), (ROLE_CO_PROPONENT, proposal.co_proponents)):
        for position, name in enumerate(dict.fromkeys(names), start=1):
            rows.append(
                {"proposal_id": proposal.id, "local_government_id": name, "role": role, "position": position}
            )
    return rows


def ministry_links(proposal: Proposal) -> list[dict[str, Any]]:
    return [
        {
            "proposal_id": proposal.id,
            "ministry_id": name,
            "position": position,
            "answers_sheet": int(name == proposal.sheet_ministry),
        }
        for position, name in enumerate(dict.fromkeys(proposal.ministries), start=1)
    ]


def source_rows(proposal: Proposal) -> list[dict[str, Any]]:
    return [
        {
            "proposal_id": proposal.id,
            "position": position,
            "stage": source.stage.value,
            "ministry": source.ministry,
            "title": source.title,
            "url": source.url,
            "page": source.page,
            "link_text": source.link_text,
            "retrieved": source.retrieved.isoformat() if source.retrieved else None,
            "sha256": source.sha256,
        }
        for position, source in enumerate(proposal.sources, start=1)
    ]


def opinion_rows(proposal: Proposal) -> list[dict[str, Any]]:
    order = list(Association)
    return [
        {
            "proposal_id": proposal.id,
            "association": assoc.value,
            "position": order.index(assoc) + 1,
            "text": EMPTY_MARK if text is None else text,
        }
        for assoc, text in sorted(proposal.opinions.items(), key=lambda kv: order.index(kv[0]))
    ]


def lookup_rows(proposals: list[Proposal]) -> dict[str, list[dict[str, Any]]]:
    """Rows of the derived lookup tables for these proposals (names as written, first mention first)."""
    fields = {p.policy_field: p for p in proposals if p.policy_field}
    return {
        "policy_fields": [
            {"id": f, "code": p.policy_field_code, "name": p.policy_field_name} for f, p in sorted(fields.items())
        ],
        "themes": [{"id": t} for t in sorted({p.theme for p in proposals if p.theme})],
        "ministries": [{"id": m} for m in dict.fromkeys(n for p in proposals for n in all_ministries(p))],
        "local_governments": [
            {"id": g} for g in dict.fromkeys(n for p in proposals for n in [*p.proponents, *p.co_proponents])
        ],
    }


def _needs_parser(text: str | None) -> bool:
    """A written text the page cannot write itself (kb.core.markdown.render_plain)."""
    return text is not None and text != EMPTY_MARK and render_plain(text) is None


def opinions_text(opinions: list[dict[str, Any]]) -> str | None:
    """The opinions as /search quotes them: `団体：本文` a line, in sheet order (as kb.search.query's SQL joins them)."""
    return "\n".join(f"{o['association']}：{o['text']}" for o in opinions) or None


def rendered_rows(proposal: Proposal) -> dict[str, list[dict[str, Any]]]:
    """Rows of the tables made at build time so pages need not make them per request (table → rows).

    `section_html` / `opinion_html`: the written texts (not `—`) that need the Markdown parser, as
    the proposal page shows them (kb.core.markdown; plain text the page writes itself, cheaply).
    `snippet_offsets`: for the title, each section and the opinions, where the normalised text
    differs from the stored text (kb.search.foldmap; fields that do not differ left out).
    """
    row = proposal_row(proposal)
    opinions = opinion_rows(proposal)
    sections = [(key.column, row[key.column]) for key in SECTION_ORDER]
    fields = [("title", row["title"]), *sections, ("opinions_text", opinions_text(opinions))]
    edits = {column: e for column, text in fields if text and (e := fold_edits(text))}
    return {
        SECTION_HTML_TABLE: [
            {"proposal_id": proposal.id, "section": column, "html": render_markdown(text)}
            for column, text in sections
            if _needs_parser(text)
        ],
        OPINION_HTML_TABLE: [
            {"proposal_id": proposal.id, "association": o["association"], "html": render_markdown(o["text"])}
            for o in opinions
            if _needs_parser(o["text"])
        ],
        SNIPPET_OFFSETS_TABLE: [{"proposal_id": proposal.id, "edits": json.dumps(edits, ensure_ascii=False)}],
    }
