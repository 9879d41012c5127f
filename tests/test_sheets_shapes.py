"""The same sheet in every shape reads into the same model; several sheets split; clean-up rules."""

from __future__ import annotations

import pytest
from sheet_shapes import (
    MARKDOWN_0070,
    PLAIN_0071,
    SYNTHETIC_NOTE,
    VIEWER_0071,
    collapse_like_viewer,
    markdown_to_plain,
    plain_to_markdown,
    several_sheets,
    values_beside_labels,
)

from kb.core.vocab import SectionKey, Stage
from kb.importer.sheets import read_sheets
from kb.importer.sheets.cleanup import section_text
from kb.importer.sheets.header import read_header
from kb.importer.sheets.pages import drop_furniture


def only(text: str):
    result = read_sheets(text)
    assert result.problems == []
    assert len(result.sheets) == 1
    return result.sheets[0].proposal


@pytest.fixture(scope="module")
def plain_0071() -> str:
    return PLAIN_0071.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def markdown_0070() -> str:
    return MARKDOWN_0070.read_text(encoding="utf-8")


def test_seed_0071_as_markdown_gives_the_same_model(plain_0071):
    shaped = plain_to_markdown(plain_0071)
    assert "整理番号 (管理番号)\t71 71 )" in shaped and "### 提案団体" in shaped
    assert only(shaped) == only(plain_0071)


def test_seed_0070_as_plain_gives_the_same_model(markdown_0070):
    shaped = markdown_to_plain(markdown_0070)
    assert "#" not in shaped and "整理番号\t70\n(管理番号\t70)" in shaped
    assert only(shaped) == only(markdown_0070)


@pytest.mark.parametrize("seed", ["plain_0071", "markdown_0070"])
def test_viewer_copy_with_collapsed_lines_and_broken_numbers_gives_the_same_model(seed, request):
    text = request.getfixturevalue(seed)
    shaped = collapse_like_viewer(text)
    assert shaped.count("\n") == 1 and " 7 " in shaped
    assert only(shaped) == only(text)


def test_viewer_fixture_is_the_collapsed_seed_and_reads_the_same(plain_0071):
    stored = VIEWER_0071.read_text(encoding="utf-8")
    assert stored == collapse_like_viewer(plain_0071)
    assert only(stored) == only(plain_0071)


@pytest.mark.parametrize("shape", [lambda t: t, collapse_like_viewer], ids=["lines", "viewer"])
def test_several_sheets_split_into_the_right_proposals(plain_0071, markdown_0070, shape):
    text = shape(several_sheets(plain_0071, markdown_0070))
    result = read_sheets(text)
    assert result.problems == []
    assert [s.proposal.id for s in result.sheets] == ["2024-0071", "2024-0070", "2024-0172"]
    assert [s.proposal.sheet_ministry for s in result.sheets] == ["デジタル庁", "総務省", "デジタル庁"]
    assert result.sheets[2].proposal.title == "（合成）教育委員会の事務に係る中間サーバーの共同利用"
    assert result.sheets[0].proposal == only(plain_0071)
    assert result.sheets[1].proposal == only(markdown_0070)
    # the synthetic note before the first sheet belongs to no sheet
    assert all(SYNTHETIC_NOTE.strip()[:10] not in str(s.proposal.model_dump()) for s in result.sheets)


def test_several_sheets_report_the_line_where_each_starts(plain_0071, markdown_0070):
    text = several_sheets(plain_0071, markdown_0070)
    lines = text.split("\n")
    starts = [n + 1 for n, line in enumerate(lines) if "地方分権改革に関する提案募集 提案事項" in line]
    assert [s.line for s in read_sheets(text).sheets] == starts


def test_not_a_sheet_names_the_missing_heading():
    result = read_sheets("地方公共団体における番号制度の導入ガイドラインのポイント\n\n本文です。\n")
    assert result.sheets == []
    [problem] = result.problems
    assert problem.field == "個票の見出し"
    assert "令和6年 地方分権改革に関する提案募集 提案事項" in problem.message


def test_sheet_without_ministry_and_stage_is_refused(plain_0071):
    broken = plain_0071.replace("デジタル庁 最終的な調整結果\n", "")
    [problem] = read_sheets(broken).problems
    assert problem.field == "府省と段階" and problem.line == 3


def test_cut_off_before_the_proponents_names_every_missing_field(plain_0071):
    cut = plain_0071[: plain_0071.index("提案団体")]
    result = read_sheets(cut)
    assert result.sheets == []
    assert {p.field for p in result.problems} == {"提案団体", "制度の所管・関係府省"}
    assert all(p.message.endswith("が見つかりません") for p in result.problems)


def test_cut_off_sheet_imports_what_is_there_and_lists_what_is_missing(plain_0071):
    cut = plain_0071[: plain_0071.index("エラー対応やシステム更新作業等")]
    [sheet] = read_sheets(cut).sheets
    assert list(sheet.proposal.sections) == [SectionKey.MEASURES, SectionKey.PROBLEMS]
    assert sheet.proposal.sections[SectionKey.PROBLEMS].endswith("個別に中間サーバーを設置することとなり、")
    assert sheet.missing[0] == SectionKey.RESIDENTS.value
    assert sheet.missing[-1] == SectionKey.DECISION.value
    assert any("文の途中で終わっています" in note for note in sheet.notes)


def test_first_answer_sheet_has_only_its_sections_and_no_outcome(plain_0071):
    first = plain_0071.replace("デジタル庁 最終的な調整結果", "デジタル庁 第１次回答")
    first = first[: first.index("各府省からの第1次回答を踏まえた提案団体からの見解")]
    [sheet] = read_sheets(first).sheets
    assert sheet.stage is Stage.FIRST_ANSWER
    assert sheet.missing == []
    assert list(sheet.proposal.sections)[-1] is SectionKey.FIRST_ANSWER
    assert sheet.proposal.decision is None
    assert sheet.proposal.sources[0].title.endswith("デジタル庁 第１次回答")


@pytest.mark.parametrize(
    ("era", "year"), [("令和6年", 2024), ("令和元年", 2019), ("平成26年", 2014), ("平成31年", 2019)]
)
def test_year_comes_from_the_sheet_heading_era(plain_0071, era, year):
    proposal = only(plain_0071.replace("令和6年 地方分権改革", f"{era} 地方分権改革", 1))
    assert proposal.year == year


def test_decision_date_comes_from_the_decision_heading(plain_0071):
    text = plain_0071.replace("令和6年12月24日閣議決定", "令和7年1月31日閣議決定")
    assert str(only(text).decision.date) == "2025-01-31"


def test_decision_text_when_printed_leaves_the_outcome_to_the_editor(plain_0071):
    text = plain_0071.rstrip("\n—\n") + "\n\n提案の趣旨を踏まえ、地方公共団体に周知する。\n"
    proposal = only(text)
    assert proposal.sections[SectionKey.DECISION] == "提案の趣旨を踏まえ、地方公共団体に周知する。"
    assert proposal.decision.outcome is None and proposal.decision.date is not None


def test_header_fields_run_on_one_line_as_in_a_viewer_copy():
    header = read_header(" 管理番号 1 20 提案区分 A 権限移譲 提案分野 土地利用(農地除く) ")
    assert (header.number, header.category, header.policy_field, header.theme) == (120, "A 権限移譲", "土地利用(農地除く)", None)


def test_header_table_with_stacked_labels():
    header = read_header("整理番号 (管理番号)\t70 70 )\t重点募集テーマ 「デジタル化」の 該当\t○\t提案区分 提案分野\tB 地方に対する規制緩和 11_総務")
    assert (header.serial, header.number, header.theme, header.policy_field) == (70, 70, "デジタル化", "11_総務")


def test_theme_without_its_mark_is_absent():
    assert read_header("整理番号 5 (管理番号 5) 重点募集テーマ 「デジタル化」の 該当 提案区分 B").theme is None


def test_lines_broken_mid_sentence_are_joined_and_paragraphs_kept():
    raw = "都道府県と教育委員会が別の情報保有機関として\n実施していた事務を統一できる。\n\n事務効率の向上に繋がる。\n第2段落の続きです。"
    assert section_text(raw) == "都道府県と教育委員会が別の情報保有機関として実施していた事務を統一できる。\n\n事務効率の向上に繋がる。\n\n第2段落の続きです。"


def test_bullet_lines_become_list_items_and_their_broken_lines_are_joined():
    raw = "花巻市の例:\n○当市においても業務負担が\n生じている。\n〇一つの自治体が複数の中間サーバーを管理している。"
    assert section_text(raw) == "花巻市の例:\n\n- ○当市においても業務負担が生じている。\n- 〇一つの自治体が複数の中間サーバーを管理している。"


def test_statute_lines_are_never_joined():
    raw = "地方自治法第252条の17の2\n地方自治法施行令第174条の49の2"
    assert section_text(raw, keep_lines=True) == "地方自治法第252条の17の2\n\n地方自治法施行令第174条の49の2"


def test_dash_means_published_with_nothing_to_say():
    assert section_text("\n—\n") is None
    assert section_text("") == ""


def test_page_headers_footers_and_numbers_are_dropped():
    bodies = [("措置の内容を", "見直す。"), ("支障事例の", "続きである。"), ("回答の", "最後である。")]
    page = "内閣府地方分権改革推進室\n\n{first}\n{second}\n\n- {n} -\n"
    text = "\f".join(page.format(first=a, second=b, n=n) for n, (a, b) in enumerate(bodies, 1))
    kept = drop_furniture(text)
    assert kept.text == [line for pair in bodies for line in pair]
    assert kept.numbers[:2] == [3, 4]


def test_a_sheet_across_pages_reads_as_if_it_had_no_page_break(plain_0071):
    cut = plain_0071.index("エラー対応やシステム更新作業等")
    header = "内閣府地方分権改革推進室\n\n"
    paged = header + plain_0071[:cut] + "\n\n- 1 -\n\f" + header + plain_0071[cut:] + "\n- 2 -\n"
    assert only(paged) == only(plain_0071)


def test_viewer_copy_of_a_first_answer_sheet_with_the_header_on_one_line(plain_0071):
    """The issue's example header (管理番号 120, A 権限移譲, 土地利用(農地除く)) on seed 000's own body text."""
    body = plain_0071[plain_0071.index("提案事項(事項名)") : plain_0071.index("各府省からの第1次回答を踏まえた")]
    text = collapse_like_viewer(
        "令和6年 地方分権改革に関する提案募集 提案事項\n厚生労働省 第1次回答\n"
        "管理番号\t120\n提案区分\tA 権限移譲\n提案分野\t土地利用(農地除く)\n" + body
    )
    assert "第1次回答 管理番号 1 20 提案区分 A 権限移譲 提案分野 土地利用(農地除く) 提案事項(事項名) 都道府県と" in text
    [sheet] = read_sheets(text).sheets
    proposal = sheet.proposal
    assert (sheet.stage, proposal.sheet_ministry, proposal.id) == (Stage.FIRST_ANSWER, "厚生労働省", "2024-0120")
    assert (proposal.serial, proposal.category.label, proposal.policy_field, proposal.theme) == (
        None,
        "A 権限移譲",
        "土地利用(農地除く)",
        None,
    )
    assert sheet.missing == []
    assert proposal.sections == {k: v for k, v in only(plain_0071).sections.items() if k.order <= SectionKey.FIRST_ANSWER.order}


def test_heading_variants_from_the_vocabulary_alias_table_are_read(plain_0071):
    """「対応方針記載内容」 is only in kb/core/vocab.py's SECTION_VARIANTS: editors add variants there."""
    text = plain_0071.replace("令和6年の地方からの提案等に関する対応方針(令和6年12月24日閣議決定)記載内容", "対応方針記載内容")
    proposal = only(text)
    assert proposal.sections[SectionKey.DECISION] is None
    assert proposal.decision.date is None


def test_copied_text_without_page_breaks_still_loses_its_page_furniture(plain_0071):
    """Text copied page after page has no form feeds: footers and the headers beside them still go."""
    furniture = "\n- {n} -\n内閣府地方分権改革推進室\n"
    first = plain_0071.index("エラー対応やシステム更新作業等")
    second = plain_0071.index("事務的な負担が少ない。")
    text = (
        plain_0071[:first]
        + furniture.format(n=1)
        + plain_0071[first:second]
        + furniture.format(n=2)
        + plain_0071[second:]
    )
    assert only(text) == only(plain_0071)


@pytest.mark.parametrize("seed", ["plain_0071", "markdown_0070"])
def test_values_in_table_cells_beside_their_labels_read_the_same(seed, request):
    text = request.getfixturevalue(seed)
    shaped = values_beside_labels(text)
    assert "提案団体\t宮城県、" in shaped
    assert only(shaped) == only(text)


def _final_sheet_up_to(plain: str, last_label: str, number: int) -> str:
    """Seed sheet 71 as a 提案-stage sheet ending with `last_label`'s text, as sheet `number` (synthetic variant)."""
    head, rest = plain.split(last_label, 1)
    text = head + last_label + rest.split("\n\n", 2)[0] + "\n\n" + rest.split("\n\n", 2)[1]
    text = text.replace("デジタル庁 最終的な調整結果", "デジタル庁（内閣府と関係府省との間で調整を行う提案）")
    return text.replace("整理番号\t71\n(管理番号\t71)", f"整理番号\t{number}\n(管理番号\t{number})")


def test_same_last_section_text_ending_two_pages_is_not_page_furniture(plain_0071: str) -> None:
    """Reported by the harvest tests: a bundle whose sheets all end with the same law (根拠法令等) beside the
    page number lost that section as a running footer, and every sheet came out 「途中で切れています」."""
    sheets = [_final_sheet_up_to(plain_0071, "根拠法令等", n) for n in (71, 72)]
    text = f"{sheets[0]}\n\n- 1 -\n\f{sheets[1]}\n\n- 2 -\n"
    result = read_sheets(text)
    assert [s.proposal.id for s in result.sheets] == ["2024-0071", "2024-0072"]
    for sheet in result.sheets:
        assert sheet.missing == []
        assert sheet.proposal.sections[SectionKey.STATUTES].startswith("行政手続における特定の個人を識別するための番号の利用等に関する法律")


def test_section_whose_label_ends_a_page_keeps_its_text_from_the_next_page(plain_0071: str) -> None:
    """Reported by the harvest tests: a label at the foot of a page, its text at the top of the next."""
    sheet = _final_sheet_up_to(plain_0071, "根拠法令等", 71)
    label_at = sheet.rindex("根拠法令等")
    body = sheet[label_at + len("根拠法令等") :].strip()
    other = _final_sheet_up_to(plain_0071, "根拠法令等", 72)
    text = f"{sheet[:label_at]}根拠法令等\n\n- 1 -\n\f{body}\n\n- 2 -\n\f{other}\n\n- 3 -\n"
    result = read_sheets(text)
    first = result.sheets[0]
    assert first.missing == [] and first.proposal.sections[SectionKey.STATUTES] == result.sheets[1].proposal.sections[SectionKey.STATUTES]
