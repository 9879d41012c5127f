"""Which dates a proposal covers, so names can be checked against the years they existed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kb.core.models import Proposal


@dataclass(frozen=True)
class Period:
    """Inclusive date range; None on either side means open."""

    start: dt.date | None = None
    end: dt.date | None = None

    def overlaps(self, other: Period) -> bool:
        starts_before_other_ends = self.start is None or other.end is None or self.start <= other.end
        ends_after_other_starts = self.end is None or other.start is None or self.end >= other.start
        return starts_before_other_ends and ends_after_other_starts

    def contains(self, day: dt.date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def describe(self) -> str:
        """`2014-01-01〜2015-12-31`, `2016-01-01〜`, `〜2015-12-31` (for messages)."""
        return f"{self.start or ''}〜{self.end or ''}"


def proposal_period(proposal: Proposal) -> Period:
    """From 1 January of the proposal's year to 31 December, or to the 閣議決定 if that came later.

    A proposal is made in spring and answered until the December decision (H26 was decided in
    January 2015), so a ministry that existed at any time in that span may appear on its sheets.
    """
    return year_period(proposal.year, proposal.decision.date if proposal.decision else None)


def year_period(year: int, decided: dt.date | None) -> Period:
    """`proposal_period` from the two facts it needs (also as stored in the database, for incremental builds)."""
    end = dt.date(year, 12, 31)
    if decided and decided > end:
        end = decided
    return Period(dt.date(year, 1, 1), end)


def attribute_day(year: int) -> dt.date:
    """The day whose 団体属性 counts for a year's proposals: 1 April, when designations take effect."""
    return dt.date(year, 4, 1)
