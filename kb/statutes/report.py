"""`kb statutes`: what the proposals cite, how often, and what could not be resolved.

The unresolved list is a to-do list for the registry: each line says what was written,
where, why (not in e-Gov's list, a title and number that disagree, an ambiguous 同法), and what to do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kb.core.models import Proposal
from kb.core.problems import Problem
from kb.statutes.egov import law_url
from kb.statutes.extract import extract_proposal
from kb.statutes.registry import Registry
from kb.statutes.resolve import AMBIGUOUS, MISMATCH, NO_ANTECEDENT, NUMBER_NOT_LISTED, SHARED_NAME, SHARED_NUMBER, Citation

MAX_LISTED = 5


@dataclass
class Tally:
    """Citations of one statute (registered or not) across the proposals."""

    key: str
    title: str
    kind: str
    statute_id: str | None = None
    reason: str | None = None
    law_number: str | None = None
    parent_id: str | None = None
    citations: int = 0
    proposals: set[str] = field(default_factory=set)
    pinpoints: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)

    def add(self, proposal_id: str, c: Citation) -> None:
        self.citations += 1
        self.proposals.add(proposal_id)
        self.written[c.name] += 1
        if c.pinpoint is not None:
            self.pinpoints[c.pinpoint.label] += 1


@dataclass
class StatuteReport:
    proposals: int = 0
    citations: int = 0
    resolved: list[Tally] = field(default_factory=list)
    unresolved: list[Tally] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def render(self, registry: Registry, unresolved_only: bool = False) -> str:
        """Plain text for people (Japanese), tab-separated so it pastes into a spreadsheet."""
        lines: list[str] = []
        if not unresolved_only:
            lines.append(f"引用されている法令等: {len(self.resolved)} 件（提案 {self.proposals} 件、引用 {self.citations} 件）")
            lines.append("引用数\t提案数\tID\t名前\t種類\tよく引かれる箇所\te-Gov")
            for t in self.resolved:
                statute = registry.statutes[t.statute_id or ""]
                top = "、".join(f"{label}（{n}）" for label, n in t.pinpoints.most_common(3)) or "—"
                lines.append(
                    f"{t.citations}\t{len(t.proposals)}\t{t.statute_id}\t{statute.display_name}\t{t.kind}\t{top}\t{law_url(statute.egov_id) or '—'}"
                )
            lines.append("")
        lines.append(f"解決できなかった引用: {len(self.unresolved)} 件")
        if self.unresolved:
            lines.append("引用数\t提案数\t書かれた名前\t種類\t理由\t提案\t対処")
        for t in self.unresolved:
            where = "、".join(sorted(t.proposals)[:MAX_LISTED]) + ("…" if len(t.proposals) > MAX_LISTED else "")
            names = "、".join(n for n, _ in t.written.most_common(3))
            lines.append(f"{t.citations}\t{len(t.proposals)}\t{names}\t{t.kind}\t{t.reason}\t{where}\t{advice(t)}")
        return "\n".join(lines)


def advice(t: Tally) -> str:
    """What an editor can do about one unresolved citation (Japanese)."""
    if t.reason in (AMBIGUOUS, NO_ANTECEDENT):
        return "同法・同条などの参照先が本文から一つに決まらないため、リンクしません"
    if t.reason == MISMATCH:
        return f"題名と法令番号「{t.law_number}」が別の法令を指しています。本文の誤りか確かめてください（どちらかに決めてリンクはしません）"
    if t.reason == NUMBER_NOT_LISTED:
        return (f"法令番号「{t.law_number}」は e-Gov の現行法令の一覧にありません（廃止された法令、番号の誤り、または一覧が古い: kb statutes update）。"
                "廃止された法令なら data/statutes.yaml に repealed を付けて登録してください")  # fmt: skip
    if t.reason in (SHARED_NAME, SHARED_NUMBER):
        return "同じ題名・法令番号の法令が e-Gov の一覧に複数あります。本文に法令番号と題名の両方があれば決まります"
    hint = f"「{t.title}」は e-Gov の現行法令の一覧にない名前です。略称なら data/statutes.yaml の aliases に、ガイドライン・通知・廃止された法令なら新しい項目として登録してください"
    if t.parent_id:
        hint += f"（parent: {t.parent_id}）"
    return hint


def tally(items: Iterable[tuple[str, Citation]]) -> tuple[list[Tally], list[Tally], int]:
    """(resolved, unresolved, citation count), most cited first."""
    tallies: dict[str, Tally] = {}
    count = 0
    for proposal_id, c in items:
        count += 1
        key = c.statute_id or f"{c.unresolved}:{c.identity}"
        t = tallies.get(key)
        if t is None:
            t = tallies[key] = Tally(key, c.title, c.kind, c.statute_id, c.unresolved, c.law_number, c.parent_id)
        t.add(proposal_id, c)
    ordered = sorted(tallies.values(), key=lambda t: (-t.citations, -len(t.proposals), t.key))
    return [t for t in ordered if t.statute_id], [t for t in ordered if not t.statute_id], count


def statute_report(proposals: Sequence[Proposal], registry: Registry) -> StatuteReport:
    """Every citation of these (checked) proposals, counted per statute."""
    report = StatuteReport(proposals=len(proposals))
    items = [(p.id, pc.citation) for p in proposals for pc in extract_proposal(p, registry)]
    report.resolved, report.unresolved, report.citations = tally(items)
    return report
