"""Pydantic models of a proposal: what a proposal file means, independent of its layout."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from kb.core.problems import display_path
from kb.core.vocab import (
    ASSOCIATION_ALIASES,
    CATEGORY_ALIASES,
    CATEGORY_LABELS,
    OUTCOME_ALIASES,
    STAGE_ALIASES,
    STAGE_OF_SECTION,
    STAGE_ORDER,
    Association,
    Category,
    Outcome,
    SectionKey,
    Stage,
    fold_label,
)

FULLWIDTH_DIGITS = re.compile(r"[０-９]")


def _alias_validator(table: dict[str, Any], valid: list[str]):
    def validate(value: Any) -> Any:
        if value is None or not isinstance(value, str):
            return value
        found = table.get(fold_label(value))
        if found is None:
            raise ValueError(f"「{value}」は使えません。使える値: {' / '.join(valid)}")
        return found

    return validate


def _plain_int(value: Any) -> Any:
    """Refuse full-width digits instead of letting int() quietly accept them."""
    if isinstance(value, str) and FULLWIDTH_DIGITS.search(value):
        fixed = unicodedata.normalize("NFKC", value)
        raise ValueError(f"全角数字が使われています: 「{value}」→「{fixed}」と半角で書いてください")
    return value


CategoryField = Annotated[
    Category,
    BeforeValidator(_alias_validator(CATEGORY_ALIASES, list(CATEGORY_LABELS.values()))),
    PlainSerializer(lambda c: CATEGORY_LABELS[c], return_type=str),
]
OutcomeField = Annotated[Outcome, BeforeValidator(_alias_validator(OUTCOME_ALIASES, [o.value for o in Outcome]))]
StageField = Annotated[Stage, BeforeValidator(_alias_validator(STAGE_ALIASES, [s.value for s in Stage]))]
AssociationField = Annotated[
    Association, BeforeValidator(_alias_validator(ASSOCIATION_ALIASES, [a.value for a in Association]))
]
PlainInt = Annotated[int, BeforeValidator(_plain_int), Field(ge=1)]
Name = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=True)


# Where a source file was fetched from and what it was (`kb harvest`): replaced when it is fetched again.
PROVENANCE = ("url", "page", "link_text", "retrieved", "sha256")


class Source(Strict):
    """A published document the proposal's text was taken from."""

    stage: StageField
    ministry: str | None = None
    title: Name
    url: str | None = None
    # Provenance written by `kb harvest` (docs/harvest.md): where the file was linked from, the
    # link's own text, when it was fetched and its SHA-256, so a re-run can tell a changed file.
    page: str | None = None
    link_text: str | None = None
    retrieved: dt.date | None = None
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None

    def provenance(self) -> dict[str, Any]:
        """The fields `kb harvest` sets (PROVENANCE) that this source has: what a newer fetch replaces."""
        return {k: getattr(self, k) for k in PROVENANCE if getattr(self, k) is not None}


class Decision(Strict):
    """対応方針 (閣議決定): when it was decided and how an editor classes the outcome."""

    date: dt.date | None = None
    outcome: OutcomeField | None = None


_FIELD_RE = re.compile(r"^(?:(\d{1,2})_)?(\S.*)$")


class Proposal(Strict):
    """One proposal (year, 管理番号) with its front matter and long sections.

    `sections` maps a section to its Markdown text, or to None when the sheet prints
    `—` (published, nothing to say). A section absent from the dict has not been
    published yet (e.g. a proposal still waiting for its 第2次回答).
    `opinions` holds the 全国知事会・全国市長会・全国町村会 views, one per association.
    """

    year: Annotated[int, BeforeValidator(_plain_int), Field(ge=2014, le=2100)]
    era: Name
    number: PlainInt
    serial: PlainInt | None = None
    title: Name
    category: CategoryField
    policy_field: str | None = None
    theme: str | None = None
    proponents: list[Name] = Field(min_length=1)
    co_proponents: list[Name] = Field(default_factory=list)
    ministries: list[Name] = Field(min_length=1)
    sheet_ministry: str | None = None
    decision: Decision | None = None
    sources: list[Source] = Field(default_factory=list)
    sections: dict[SectionKey, str | None] = Field(default_factory=dict)
    opinions: dict[AssociationField, str | None] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        return proposal_id(self.year, self.number)

    @property
    def policy_field_code(self) -> int | None:
        m = _FIELD_RE.match(self.policy_field or "")
        return int(m.group(1)) if m and m.group(1) else None

    @property
    def policy_field_name(self) -> str | None:
        m = _FIELD_RE.match(self.policy_field or "")
        return m.group(2) if m else None

    @field_validator("policy_field", "theme", "sheet_ministry")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _opinions_need_their_section(self) -> Proposal:
        if self.opinions and self.sections.get(SectionKey.OPINIONS, "") is None:
            raise ValueError("意見欄が「—」なのに団体ごとの意見があります")
        if self.opinions and SectionKey.OPINIONS not in self.sections:
            self.sections[SectionKey.OPINIONS] = ""
        return self


# Title of a source that is a row of the Cabinet Office's xlsx database, not a published sheet
# (kb/importer/xlsx.py writes it): such a row holds some columns of a proposal, not a stage's sheet.
DATABASE_SOURCE_PREFIX = "提案募集方式データベース"


def is_database_source(source: Source) -> bool:
    return source.title.startswith(DATABASE_SOURCE_PREFIX)


def sheet_stage(proposal: Proposal) -> Stage | None:
    """The furthest stage whose sheet was seen, when part of the file came from the xlsx database.

    None when no database row went into the file (then every section of `latest_stage` is expected),
    or when only database rows did (then no stage's sheet was seen: nothing is expected).
    """
    if not any(is_database_source(s) for s in proposal.sources):
        return None
    stages = [s.stage for s in proposal.sources if not is_database_source(s)]
    return max(stages, key=STAGE_ORDER.index) if stages else None


def latest_stage(proposal: Proposal) -> Stage:
    """The furthest publication stage the file reflects, from its sources or else its sections."""
    stages = [s.stage for s in proposal.sources]
    stages += [stage for key, stage in STAGE_OF_SECTION.items() if key in proposal.sections]
    return max(stages, key=STAGE_ORDER.index, default=Stage.PROPOSAL)


def proposal_id(year: int, number: int) -> str:
    """`2024-0071`: 管理番号 restarts every year, so the id needs both."""
    return f"{year}-{number:04d}"


def relative_path(year: int, number: int) -> str:
    """Where a proposal lives under `proposals/`."""
    return f"{year}/{number:04d}.md"


@dataclass(frozen=True)
class ProposalFile:
    """A parsed file: where it is, what it says, and the line of every front-matter field.

    `lines` maps a dotted key path (`proponents.2`, `decision.date`) and each section heading
    (`sections.problems`) to its 1-based line, so a check that runs after parsing (registries,
    cross-file) points at the line without re-reading; `misspelled.<column>` is the line of an unknown
    heading that most likely meant that section.
    """

    path: Path
    proposal: Proposal
    lines: Mapping[str, int]
    complete: bool = True  # False: parsed with problems, some fields left out; checked, never written or built

    @property
    def where(self) -> str:
        return display_path(self.path)

    def line(self, field: str) -> int:
        return self.lines.get(field, 1)
