"""`Proposal` → canonical Markdown. `parse(render(m)) == m`, and canonical files render to themselves."""

from __future__ import annotations

from enum import Enum
from typing import Any

import yaml

from kb.core.models import Proposal
from kb.core.vocab import EMPTY_MARK, SECTION_ORDER, Association, SectionKey


class _Dumper(yaml.SafeDumper):
    """Block-style YAML, lists indented under their key, no line wrapping of long Japanese titles."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)
_Dumper.add_multi_representer(Enum, lambda dumper, value: _str_presenter(dumper, value.value))


def front_matter_dict(proposal: Proposal) -> dict[str, Any]:
    """Front matter in canonical key order, optional keys left out when empty."""
    data = proposal.model_dump(mode="python", exclude={"sections", "opinions"})
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value in (None, [], {}) and key not in ("proponents", "ministries"):
            continue
        if key == "decision":
            value = {k: v for k, v in value.items() if v is not None}
            if not value:
                continue
        if key == "sources":
            value = [{k: v for k, v in s.items() if v is not None} for s in value]
        out[key] = value
    return out


def render_front_matter(proposal: Proposal) -> str:
    return yaml.dump(
        front_matter_dict(proposal), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000
    )


def _text(value: str | None) -> str:
    return EMPTY_MARK if value is None else value


def render(proposal: Proposal) -> str:
    """Canonical file text: front matter, then each present section in official order."""
    parts = ["---\n", render_front_matter(proposal), "---\n"]
    for key in SECTION_ORDER:
        if key not in proposal.sections:
            continue
        parts.append(f"\n## {key.value}\n")
        body = proposal.sections[key]
        if body:
            parts.append(f"\n{body}\n")
        elif body is None:
            parts.append(f"\n{EMPTY_MARK}\n")
        if key is SectionKey.OPINIONS:
            for assoc in Association:
                if assoc in proposal.opinions:
                    parts.append(f"\n### {assoc.value}\n\n{_text(proposal.opinions[assoc])}\n")
    return "".join(parts)


def render_template(year: int, number: int, era: str) -> str:
    """A new file with every front-matter key and every heading, ready for an editor to fill."""
    lines = [
        "---",
        f"year: {year}",
        f"era: {era}",
        f"number: {number}",
        f"serial: {number}",
        "title: ",
        "category: ",
        "policy_field: ",
        "theme: ",
        "proponents:",
        "  - ",
        "co_proponents: []",
        "ministries:",
        "  - ",
        "sheet_ministry: ",
        "sources: []",
        "---",
    ]
    for key in SECTION_ORDER:
        lines += ["", f"## {key.value}", ""]
        if key is SectionKey.OPINIONS:
            for assoc in Association:
                lines += [f"### {assoc.value}", "", EMPTY_MARK, ""]
            lines.pop()
        else:
            lines.append(EMPTY_MARK)
    return "\n".join(lines) + "\n"
