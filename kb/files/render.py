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


PROPOSAL_STAGE_SECTIONS: tuple[SectionKey, ...] = (
    SectionKey.MEASURES,
    SectionKey.PROBLEMS,
    SectionKey.RESIDENTS,
    SectionKey.EFFECTS,
    SectionKey.STATUTES,
)


def render_template(year: int, number: int, era: str) -> str:
    """A new file for an editor: front matter with what goes where (YAML comments), and the
    提案-stage sections left empty, so `kb check` names everything still to fill.

    Later stages' sections are not written: a missing section means "not published yet", and
    `kb import` (or the editor) adds them when they are. No line ends in a space.
    """
    lines = [
        "---",
        "# 新しい提案ファイルの雛形です（kb new）。「#」で始まる行は説明で、読み込みでは無視されます（kb fmt で消えます）。",
        "# 空の項目と空の節を埋め、kb check で確かめてください。書式: docs/format.md",
        "#",
        "# year: 西暦年 / era: 和暦（個票の表記どおり。例: 令和7年）/ number: 管理番号（半角数字）",
        f"year: {year}",
        f"era: {era}",
        f"number: {number}",
        "# serial: 整理番号（管理番号と違うことがあります。個票になければ空のまま）",
        "serial:",
        "# title: 提案事項（事項名）【必須】",
        "title:",
        "# category: 提案区分【必須】「A 権限移譲」または「B 地方に対する規制緩和」",
        "category:",
        "# policy_field: 提案分野（例: 11_総務）。theme: 重点募集テーマ（該当するときだけ。例: デジタル化）",
        "policy_field:",
        "theme:",
        "# proponents: 提案団体【必須】1団体1行で「  - 宮城県」のように書きます",
        "proponents:",
        "  -",
        "# co_proponents: 追加共同提案団体（1団体1行。なければ [] のまま）",
        "co_proponents: []",
        "# ministries: 制度の所管・関係府省【必須】1府省1行で「  - 総務省」のように書きます",
        "ministries:",
        "  -",
        "# sheet_ministry: 回答府省（この提案を載せた個票の府省。まだなければ空のまま）",
        "sheet_ministry:",
        "# sources: 出典の個票。公表された個票から書いたときは、[] を消して次のように書きます:",
        "#   - stage: 提案（段階: 提案 / 第1次回答 / 第2次回答 / 最終的な調整結果）",
        "#     title: 個票の見出し（文書名）",
        "#     url: 個票の URL",
        "sources: []",
        "# decision（date: 閣議決定日 YYYY-MM-DD、outcome: 対応結果）は対応方針が決まってから書き足します。",
        "#",
        "# 本文: 下の節が「提案」の段階の内容です。見出しの下に本文を書きます。",
        "# 公表された内容がない節には「—」とだけ書きます（空のままでは kb check のエラーです）。",
        "# 後の段階の節（各府省からの第1次回答、第2次回答、対応方針など）は、公表されたときに",
        "# kb import で足すか、手で「## 見出し」を書き足します（順序は docs/format.md の表のとおり）。",
        "---",
    ]
    for key in PROPOSAL_STAGE_SECTIONS:
        lines += ["", f"## {key.value}", ""]
    return "\n".join(lines[:-1]) + "\n"  # one newline at the end of the file
