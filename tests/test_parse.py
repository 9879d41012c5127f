"""What the parser makes of a proposal file: sections kept exactly, variants accepted, — kept distinct."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.core.models import Proposal
from kb.core.problems import ProblemError
from kb.core.vocab import Association, Category, Outcome, SectionKey, Stage, era_to_year, section_for_heading, year_to_era
from kb.files.parse import parse_file, parse_text
from kb.files.render import render


@pytest.fixture
def valid_text(fixtures: Path) -> str:
    return (fixtures / "valid" / "2024" / "0071.md").read_text()


def test_parse_reads_front_matter_fields(fixtures: Path) -> None:
    p = parse_file(fixtures / "valid" / "2024" / "0071.md")
    assert p.id == "2024-0071"
    assert (p.year, p.era, p.number, p.serial) == (2024, "令和6年", 71, 71)
    assert p.category is Category.B
    assert (p.policy_field_code, p.policy_field_name) == (11, "総務")
    assert p.theme == "デジタル化"
    assert p.proponents[-1] == "宮城県後期高齢者医療広域連合"
    assert p.ministries == ["デジタル庁", "総務省"]
    assert p.decision is not None and p.decision.outcome is Outcome.NOT_IN_DECISION
    assert str(p.decision.date) == "2024-12-24"
    assert p.sources[0].stage is Stage.FINAL


def test_parse_keeps_dash_distinct_from_missing_section(valid_text: str) -> None:
    p = parse_text(valid_text)
    assert p.sections[SectionKey.RESIDENTS] is None  # printed as —
    assert SectionKey.REVIEW_POINTS not in p.sections  # not published (this year has none)
    assert p.sections[SectionKey.DECISION] is None


def test_parse_keeps_section_markdown_exactly(valid_text: str) -> None:
    p = parse_text(valid_text)
    assert p.sections[SectionKey.CO_PROBLEMS] == (
        "- ○当市においても提案団体が示すような業務負担が生じている。\n"
        "- ○一つの自治体が複数の中間サーバーを管理運用することとなり、非効率化が生じている。"
    )
    assert p.sections[SectionKey.PROBLEMS].count("\n\n") == 1


def test_parse_splits_opinions_per_association(valid_text: str) -> None:
    p = parse_text(valid_text)
    assert list(p.opinions) == [Association.GOVERNORS]
    assert p.opinions[Association.GOVERNORS] == "提案の実現に向けて特に積極的な検討を求める。"


def test_parse_accepts_variant_headings_and_renders_canonical(valid_text: str) -> None:
    variant = valid_text.replace("## 制度改正による効果", "## 制度改革による効果（提案の実現による住民の利便性の向上・行政の効率化等）")
    variant = variant.replace("### 全国知事会", "### 【全国知事会】")
    variant = variant.replace("## 対応方針（閣議決定）記載内容", "## 令和6年 の地方からの提案等に関する対応方針（令和6年12月24日閣議決定）記載内容")
    variant = variant.replace("## 追加共同提案団体から示された支障事例", "## 追加共同提案団体及び当該団体等から示された支障事例（主なもの）")
    assert parse_text(variant) == parse_text(valid_text)
    assert render(parse_text(variant)) == valid_text


def test_parse_ignores_heading_like_lines_inside_code_blocks(valid_text: str) -> None:
    text = valid_text.replace("事務効率の向上、コスト削減に繋がる。", "事務効率の向上。\n\n```\n## 根拠法令等\n```")
    p = parse_text(text)
    assert p.sections[SectionKey.EFFECTS].endswith("```\n## 根拠法令等\n```")


def test_parse_accepts_category_aliases(valid_text: str) -> None:
    for alias in ("B", "規制緩和", "Ｂ　地方に対する規制緩和"):
        text = valid_text.replace("category: B 地方に対する規制緩和", f"category: {alias}")
        assert parse_text(text).category is Category.B


def test_parse_accepts_outcome_spelling_variant(valid_text: str) -> None:
    text = valid_text.replace("outcome: 対応方針に記載なし", "outcome: 現行規定で対応可能")
    assert parse_text(text).decision.outcome is Outcome.POSSIBLE_NOW


def test_parse_reports_every_problem_of_a_file_at_once(valid_text: str) -> None:
    text = valid_text.replace("number: 71", "number: ７１").replace("## 具体的な支障事例", "## 支障事例の具体例")
    with pytest.raises(ProblemError) as exc:
        parse_text(text, "x.md")
    assert [(p.line, p.field) for p in exc.value.problems] == [(4, "number（管理番号）"), (34, "見出し")]


def test_parse_reports_sections_key_in_front_matter(valid_text: str) -> None:
    text = valid_text.replace("theme: デジタル化", "theme: デジタル化\nsections: {}")
    with pytest.raises(ProblemError) as exc:
        parse_text(text)
    assert [(p.line, p.field) for p in exc.value.problems] == [(10, "sections")]


def test_proposal_id_pads_number_to_four_digits() -> None:
    p = Proposal(year=2015, era="平成27年", number=7, title="t", category="A", proponents=["x"], ministries=["y"])
    assert p.id == "2015-0007"


@pytest.mark.parametrize(
    ("label", "year"),
    [("令和6年", 2024), ("令和元年", 2019), ("平成26年", 2014), ("平成３１年", 2019), ("昭和22年", 1947)],
)
def test_era_to_year(label: str, year: int) -> None:
    assert era_to_year(label) == year


def test_year_to_era_uses_gannen() -> None:
    assert [year_to_era(y) for y in (2014, 2019, 2024)] == ["平成26年", "令和元年", "令和6年"]


@pytest.mark.parametrize(
    ("heading", "key"),
    [
        ("制度改革による効果（提案の実現による住民の利便性の向上・行政の効率化等）", SectionKey.EFFECTS),
        ("制度改正による効果(提案の実現による住民の利便性の向上・行政の効率化等)", SectionKey.EFFECTS),
        ("追加共同提案団体及び当該団体等から示された支障事例（主なもの）", SectionKey.CO_PROBLEMS),
        ("令和6年の地方からの提案等に関する対応方針(令和6年12月24日閣議決定)記載内容", SectionKey.DECISION),
        ("各府省からの第１次回答", SectionKey.FIRST_ANSWER),
        ("支障事例", None),
    ],
)
def test_section_for_heading_knows_variants(heading: str, key: SectionKey | None) -> None:
    assert section_for_heading(heading) is key
