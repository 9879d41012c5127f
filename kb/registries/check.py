"""`kb check` against the registries: every name in a proposal's front matter must resolve.

One of `kb.pipeline.CHECKS`. Problems point at the exact front-matter line (kept by the
parser in `ProposalFile.lines`), with the nearest known names suggested.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from kb.core.models import Proposal, ProposalFile
from kb.core.problems import Problem
from kb.core.suggest import maybe, nearest
from kb.core.vocab import field_label
from kb.registries.names import NameProblem, name_key
from kb.registries.periods import proposal_period
from kb.registries.registry import Registries, load_registries

LOCAL_GOVERNMENT_FIELDS = ("proponents", "co_proponents")


def local_government_names(proposal: Proposal) -> Iterator[tuple[str, str]]:
    """(front-matter path, name) of every 提案団体 and 追加共同提案団体."""
    for field in LOCAL_GOVERNMENT_FIELDS:
        for i, name in enumerate(getattr(proposal, field)):
            yield f"{field}.{i}", name


def ministry_names(proposal: Proposal) -> Iterator[tuple[str, str]]:
    """(front-matter path, name) of every ministry the file names: 関係府省, 回答府省, 出典の府省."""
    for i, name in enumerate(proposal.ministries):
        yield f"ministries.{i}", name
    if proposal.sheet_ministry:
        yield "sheet_ministry", proposal.sheet_ministry
    for i, source in enumerate(proposal.sources):
        if source.ministry:
            yield f"sources.{i}.ministry", source.ministry


def name_problems(proposal: Proposal, registries: Registries) -> list[tuple[str, str]]:
    """(front-matter path, message) for each name that does not resolve in the proposal's years."""
    period = proposal_period(proposal)
    found: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for path, name in local_government_names(proposal):
        try:
            body = registries.local_governments.resolve(name, period)
        except NameProblem as exc:
            found.append((path, str(exc)))
            continue
        key = (path.split(".")[0], body.label)
        if key in seen:
            earlier_path, earlier = seen[key]
            same = "と重複しています" if name_key(earlier) == name_key(name) else "と同じ団体です"
            found.append((path, f"「{name}」は {field_label(earlier_path)} の「{earlier}」{same}"))
        seen.setdefault(key, (path, name))
    for path, name in ministry_names(proposal):
        try:
            registries.ministries.resolve(name, period)
        except NameProblem as exc:
            found.append((path, str(exc)))
    allowed = registries.policy_fields.allowed(proposal.year)
    if proposal.policy_field and allowed and proposal.policy_field not in allowed:
        hint = maybe(nearest(proposal.policy_field, allowed, n=2, cutoff=0.4))
        found.append(
            ("policy_field", f"「{proposal.policy_field}」は {proposal.year} 年の提案分野にありません{hint}。使える値: {'、'.join(allowed)}")
        )
    return found


def registry_problems(files: Sequence[ProposalFile]) -> list[Problem]:
    """The check: faults in the registry files themselves, then every unresolved name in every file."""
    registries = load_registries()
    problems = list(registries.problems)
    if not registries.usable:
        return problems
    for f in files:
        found = name_problems(f.proposal, registries)
        problems += [Problem(f.where, f.line(field), field_label(field), message) for field, message in found]
    return problems
