"""The two real proposals (copies of proposals/2024/0070.md and 0071.md): every spelling, one statute."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.core.models import Proposal
from kb.files.parse import parse_file
from kb.statutes.extract import PartCitation, extract_proposal, extract_text
from kb.statutes.registry import Registry, load_registry

HERE = Path(__file__).parent / "fixtures" / "statutes"
MYNUMBER = "425AC0000000027"
TITLE = "行政手続における特定の個人を識別するための番号の利用等に関する法律"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(HERE / "registry.yaml")


def cited(number: int, registry: Registry) -> tuple[Proposal, list[PartCitation]]:
    proposal = parse_file(HERE / "proposals" / "2024" / f"{number:04d}.md")
    return proposal, extract_proposal(proposal, registry)


def test_every_name_of_the_my_number_act_in_0071_is_one_statute(registry: Registry) -> None:
    _, found = cited(71, registry)
    names = {pc.citation.name for pc in found}
    assert {"番号法", "番号利用法", TITLE} <= names
    assert {pc.citation.statute_id for pc in found} == {MYNUMBER}


def test_my_number_act_spellings_all_resolve_to_one_statute(registry: Registry) -> None:
    # マイナンバー法 does not occur in 0070/0071; seed 004 uses it, and the title, as the same law.
    text = f"マイナンバー法と番号法は同じものです。番号利用法ともいう。正式名称は「{TITLE}」です。"
    assert [c.statute_id for c in extract_text(text, registry)] == [MYNUMBER] * 4


def test_guideline_spellings_in_0070_are_one_instrument(registry: Registry) -> None:
    _, found = cited(70, registry)
    names = {pc.citation.name for pc in found}
    assert {"地方公共団体における情報セキュリティポリシーに関するガイドライン", "セキュリティポリシーガイドライン", "本ガイドライン", "現行ガイドライン"} <= names
    assert {pc.citation.statute_id for pc in found} == {"security-policy-guideline"}


def test_0071_pinpoints_by_section(registry: Registry) -> None:
    _, found = cited(71, registry)
    by_section = [(pc.part.section, pc.citation.pinpoint.label if pc.citation.pinpoint else None) for pc in found]
    assert by_section == [
        ("measures", None),
        ("problems", None),
        ("problems", None),
        ("legal_basis", "別表第二"),
        ("first_answer", "第9条第1項"),
        ("first_answer", "別表"),
        ("proponent_view", "第9条第1項"),
        ("proponent_view", "別表"),
        ("proponent_view", "別表"),  # 同表
        ("proponent_view", "別表"),
        ("proponent_view", "第9条第1項"),
        ("second_answer", "第19条第11号"),
        ("second_answer", "第9条第1項"),
    ]


@pytest.mark.parametrize("number", [70, 71])
def test_quote_is_found_at_its_position_in_the_section_text(number: int, registry: Registry) -> None:
    _, found = cited(number, registry)
    assert found
    for pc in found:
        assert pc.part.text[pc.citation.start : pc.citation.end] == pc.citation.quote
