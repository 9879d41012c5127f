"""Extraction: (text, expected citations) for every citation shape, with sentences from all five seeds.

Each expected citation is (quote, statute, pinpoint): quote is the exact original text, statute the
registry id or `title:` the name an unregistered statute is grouped under. The registry is the
fixture copy beside these tests, so editing data/statutes.yaml cannot change what they pin.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.statutes.extract import extract_text
from kb.statutes.registry import Registry, load_registry

REGISTRY_FILE = Path(__file__).parent / "fixtures" / "statutes" / "registry.yaml"
MYNUMBER = "425AC0000000027"
TITLE = "行政手続における特定の個人を識別するための番号の利用等に関する法律"

Expected = tuple[str, str, str | None]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REGISTRY_FILE)


def found(text: str, registry: Registry) -> list[Expected]:
    return [(c.quote, c.statute_id or f"title:{c.title}", c.pinpoint.label if c.pinpoint else None) for c in extract_text(text, registry)]


SHAPES: dict[str, tuple[str, list[Expected]]] = {
    # --- full titles, also glued to what follows (seed 000, 根拠法令等)
    "full_title_with_defined_abbreviation": (
        "行政手続における特定の個人を識別するための番号の利用等に関する法律(以下「番号法」という。)上、情報保有機関として",
        [(f"{TITLE}(以下「番号法」という。)", MYNUMBER, None)],
    ),
    "title_glued_to_appendix_table": (
        f"{TITLE}別表第二",
        [(f"{TITLE}別表第二", MYNUMBER, "別表第二")],
    ),
    "title_then_pinpoint_inside_parentheses": (  # seed 000, 第1次回答
        f"必要な限度で利用することができる（{TITLE}（平成25年法律第27号。以下「番号利用法」という。）第9条第1項）。",
        [(f"{TITLE}（平成25年法律第27号。以下「番号利用法」という。）第9条第1項", MYNUMBER, "第9条第1項")],
    ),
    "title_with_number_then_item": (  # seed 000, 第2次回答
        f"同一団体内の異なる執行機関における情報連携は、{TITLE}(平成25年法律第27号。以下「番号利用法」という。)第19条第11号に基づき",
        [(f"{TITLE}(平成25年法律第27号。以下「番号利用法」という。)第19条第11号", MYNUMBER, "第19条第11号")],
    ),
    "title_of_subordinate_glued_to_its_law": (
        f"{TITLE}施行令第20条の規定により",
        [(f"{TITLE}施行令第20条", "426CO0000000155", "第20条")],
    ),
    # --- law numbers: Arabic, kanji, full-width
    "kanji_law_number_after_a_listed_title": (
        "児童福祉施設の設備及び運営に関する基準（昭和二十三年厚生省令第六十三号）第三十三条第二項に規定する職員",
        [("児童福祉施設の設備及び運営に関する基準（昭和二十三年厚生省令第六十三号）第三十三条第二項", "323M40000100063", "第33条第2項")],
    ),
    "old_title_is_settled_by_its_number": (
        "児童福祉施設最低基準（昭和23年厚生省令第63号）第5条",
        [("児童福祉施設最低基準（昭和23年厚生省令第63号）第5条", "323M40000100063", "第5条")],
    ),
    "listed_cabinet_order_by_title_without_its_kind": (
        "道路交通法施行令第13条に定める緊急自動車",
        [("道路交通法施行令第13条", "335CO0000000270", "第13条")],
    ),
    "paragraph_written_without_dai": (
        "地方自治法第35条1項及び2号",
        [("地方自治法第35条1項", "322AC0000000067", "第35条第1項")],
    ),
    "bare_cabinet_order_number_resolves_by_number": (
        "平成26年政令第155号第10条の規定による。",
        [("平成26年政令第155号第10条", "426CO0000000155", "第10条")],
    ),
    "bare_ministerial_order_number_resolves_by_the_list": (
        "昭和二十三年厚生省令第六十三号の規定",
        [("昭和二十三年厚生省令第六十三号", "323M40000100063", None)],
    ),
    "number_missing_from_the_list_stays_unresolved": (
        "昭和22年法律第999号の規定",
        [("昭和22年法律第999号", "title:昭和22年法律第999号", None)],
    ),
    "full_width_digits": (
        "番号法第１９条第１１号の規定による条例",
        [("番号法第１９条第１１号", MYNUMBER, "第19条第11号")],
    ),
    # --- registry short names (seeds 002, 003, 004)
    "registry_short_names": (
        "マイナンバー法と番号法は同じものです。",
        [("マイナンバー法", MYNUMBER, None), ("番号法", MYNUMBER, None)],
    ),
    "names_in_a_parenthetical_list": (  # seed 003
        "**国のガバナンスの強化**（地方公共団体情報システム機構法、番号法、公的個人認証法等）",
        [("地方公共団体情報システム機構法", "425AC0000000029", None), ("番号法", MYNUMBER, None), ("公的個人認証法", "414AC0000000153", None)],
    ),
    "name_before_a_word_particle": (  # seed 002
        "⑤ 個人情報保護(地方税法上の守秘義務との関係)",
        [("地方税法", "325AC0000000226", None)],
    ),
    "thin_space_between_name_and_pinpoint": (  # seed 004
        "マイナンバー法\u2009第19条第7号",
        [("マイナンバー法\u2009第19条第7号", MYNUMBER, "第19条第7号")],
    ),
    # --- subordinate instruments: the longest match wins
    "subordinate_by_parent_alias": (
        "番号利用法施行令第5条",
        [("番号利用法施行令第5条", "426CO0000000155", "第5条")],
    ),
    "registered_subordinate_of_another_law": (
        "地方自治法施行令第174条の2の規定",
        [("地方自治法施行令第174条の2", "322CO0000000016", "第174条の2")],
    ),
    "longest_registered_name_wins": (  # seed 004
        "番号法\u2009別表第二主務省令",
        [("番号法\u2009別表第二主務省令", "mynumber-table2-ordinance", None)],
    ),
    "subordinate_by_parent_short_name_found_in_the_list": (
        "公的個人認証法施行規則に定める様式",
        [("公的個人認証法施行規則", "415M60000008120", None)],
    ),
    "unlisted_subordinate_is_named_after_its_parent": (
        "公的個人認証法施行細則に定める様式",
        [("公的個人認証法施行細則", "title:電子署名等に係る地方公共団体情報システム機構の認証業務に関する法律施行細則", None)],
    ),
    "back_reference_with_subordinate_suffix": (
        "住民基本台帳法第30条の10第1項及び同法施行令第30条の5",
        [("住民基本台帳法第30条の10第1項", "342AC0000000081", "第30条の10第1項"), ("同法施行令第30条の5", "342CO0000000292", "第30条の5")],
    ),
    # --- pinpoints
    "article_paragraph_item": ("番号利用法第9条第1項第3号", [("番号利用法第9条第1項第3号", MYNUMBER, "第9条第1項第3号")]),
    "branch_article": (
        "地方自治法第252条の17の2第1項の規定に基づき",
        [("地方自治法第252条の17の2第1項", "322AC0000000067", "第252条の17の2第1項")],
    ),
    "branch_item": ("地方自治法第2条第1項第9号の2", [("地方自治法第2条第1項第9号の2", "322AC0000000067", "第2条第1項第9号の2")]),
    "kanji_branch_article": (
        "地方自治法第二百五十二条の十九第一項に規定する指定都市",
        [("地方自治法第二百五十二条の十九第一項", "322AC0000000067", "第252条の19第1項")],
    ),
    "appendix_tables_first_and_second": (  # seed 002
        "地方公共団体は、番号法別表第一の事務と番号法第9条第2項の条例で定める事務について",
        [("番号法別表第一", MYNUMBER, "別表第一"), ("番号法第9条第2項", MYNUMBER, "第9条第2項")],
    ),
    "appendix_table_in_arabic_and_its_row": (
        "マイナンバー法別表第1及び番号利用法別表第二の二十七の項",
        [("マイナンバー法別表第1", MYNUMBER, "別表第一"), ("番号利用法別表第二の二十七の項", MYNUMBER, "別表第二の二十七の項")],
    ),
    "supplementary_provisions": ("番号利用法附則第6条第3項", [("番号利用法附則第6条第3項", MYNUMBER, "附則第6条第3項")]),
    "range_of_articles": (
        "住民基本台帳法第12条の3から第12条の5までの規定",
        [("住民基本台帳法第12条の3から第12条の5まで", "342AC0000000081", "第12条の3から第12条の5まで")],
    ),
    "proviso_and_sentences": (
        "番号法第9条第1項ただし書、地方自治法第252条の2の2第1項前段",
        [("番号法第9条第1項ただし書", MYNUMBER, "第9条第1項ただし書"), ("地方自治法第252条の2の2第1項前段", "322AC0000000067", "第252条の2の2第1項前段")],
    ),
    "list_continues_with_appendix_table": (  # seed 002
        "個人番号利用事務は番号法第9条第1項及び別表第一に規定",
        [("番号法第9条第1項", MYNUMBER, "第9条第1項"), ("別表第一", MYNUMBER, "別表第一")],
    ),
    "list_continues_with_item_of_same_article": (
        "番号利用法第19条第8号又は第9号に該当する場合",
        [("番号利用法第19条第8号", MYNUMBER, "第19条第8号"), ("第9号", MYNUMBER, "第19条第9号")],
    ),
    # --- back-references
    "same_law_in_seed_004": (
        "(ア)マイナンバー法第9条第1項及び同法別表第一",
        [("マイナンバー法第9条第1項", MYNUMBER, "第9条第1項"), ("同法別表第一", MYNUMBER, "別表第一")],
    ),
    "same_table_in_seed_000": (
        "番号利用法別表に掲げられた各項の上欄に行政機関等の行政事務を処理する者が、同表の下欄に掲げられた事務",
        [("番号利用法別表", MYNUMBER, "別表"), ("同表", MYNUMBER, "別表")],
    ),
    "same_article_other_paragraph": (
        "地方自治法第252条の17の2第1項の規定に基づき処理するが、同条第2項において協議が必要とされている。",
        [("地方自治法第252条の17の2第1項", "322AC0000000067", "第252条の17の2第1項"), ("同条第2項", "322AC0000000067", "第252条の17の2第2項")],
    ),
    "same_paragraph_other_item": (
        "住民基本台帳法第30条の10第1項の規定により提供を受ける。同項第3号に掲げる事務も同様とする。",
        [("住民基本台帳法第30条の10第1項", "342AC0000000081", "第30条の10第1項"), ("同項第3号", "342AC0000000081", "第30条の10第1項第3号")],
    ),
    "previous_article": (
        "個人情報の保護に関する法律第69条第1項の規定にかかわらず、前条第2項の規定により提供する。",
        [("個人情報の保護に関する法律第69条第1項", "415AC0000000057", "第69条第1項"), ("前条第2項", "415AC0000000057", "第68条第2項")],
    ),
    "same_order": (
        "地方自治法施行令第158条第1項の規定により、同令第158条の2に規定する場合",
        [("地方自治法施行令第158条第1項", "322CO0000000016", "第158条第1項"), ("同令第158条の2", "322CO0000000016", "第158条の2")],
    ),
    "ambiguous_same_law_is_left_unresolved": (
        "地方税法及び番号利用法の規定により提供される情報については、同法の規定に基づき同意書を徴する。",
        [("地方税法", "325AC0000000226", None), ("番号利用法", MYNUMBER, None), ("同法", "title:同法", None)],
    ),
    "same_law_without_antecedent_is_left_unresolved": ("同法第3条の規定による。", [("同法第3条", "title:同法", "第3条")]),
    # --- abbreviations defined in the text
    "abbreviation_defined_in_the_text": (
        "地方公共団体の財政の健全化に関する法律（平成19年法律第94号。以下「財政健全化法」という。）第3条第1項に基づく報告。財政健全化法第22条も同様。",
        [
            ("地方公共団体の財政の健全化に関する法律（平成19年法律第94号。以下「財政健全化法」という。）第3条第1項", "419AC0000000094", "第3条第1項"),
            ("財政健全化法第22条", "419AC0000000094", "第22条"),
        ],
    ),
    "one_letter_abbreviation_only_before_a_pinpoint": (
        "地方自治法（昭和22年法律第67号。以下単に「法」という。）の規定により、法第2条第9項に規定する事務は方法を問わない。",
        [("地方自治法（昭和22年法律第67号。以下単に「法」という。）", "322AC0000000067", None), ("法第2条第9項", "322AC0000000067", "第2条第9項")],
    ),
    # --- non-statutes (seeds 001, 002)
    "guideline_title_with_edition": (
        "地方公共団体における情報セキュリティポリシーに関するガイドライン(令和5年3月版)",
        [("地方公共団体における情報セキュリティポリシーに関するガイドライン(令和5年3月版)", "security-policy-guideline", None)],
    ),
    "guideline_back_references": (
        "「地方公共団体における情報セキュリティポリシーに関するガイドライン」の ii-19 では、特段の規定がない。本ガイドラインで記述した構成は参考である。現行ガイドライン上でも可能です。",
        [
            ("地方公共団体における情報セキュリティポリシーに関するガイドライン", "security-policy-guideline", None),
            ("本ガイドライン", "security-policy-guideline", None),
            ("現行ガイドライン", "security-policy-guideline", None),
        ],
    ),
    "guideline_title_in_seed_002": (
        "地方公共団体における番号制度の導入ガイドラインのポイント【第1章】",
        [("地方公共団体における番号制度の導入ガイドライン", "mynumber-introduction-guideline", None)],
    ),
    "notice_and_outline": (
        "令和5年3月31日付け総務省自治行政局住民制度課長通知により、地域少子化対策重点推進交付金交付要綱に基づく様式を用いる。",
        [("総務省自治行政局住民制度課長通知", "title:総務省自治行政局住民制度課長通知", None), ("地域少子化対策重点推進交付金交付要綱", "title:地域少子化対策重点推進交付金交付要綱", None)],
    ),
    "notice_with_title_and_sender": (
        "「生活保護法による保護の実施要領について」（昭和38年4月1日社発第246号厚生省社会局長通知）に基づき",
        [("「生活保護法による保護の実施要領について」（昭和38年4月1日社発第246号厚生省社会局長通知）", "title:生活保護法による保護の実施要領について", None)],
    ),
    # --- unregistered names, and words that are not citations
    "unregistered_law_name_with_pinpoint": ("工業標準化法第2条の例もある。", [("工業標準化法第2条", "title:工業標準化法", "第2条")]),
    "amended_law_is_the_law": ("改正番号法の施行後は", [("番号法", MYNUMBER, None)]),
    "generic_words_are_not_citations": (
        "関係法令の改正を行い、個別法において措置するほか、法律上の手当てや条例の制定、政令で定める事項、"
        "国がガイドラインを策定すること、個人番号の通知、方法論、違法・適法、現行の個人情報保護法制、法人番号も検討する。",
        [],
    ),
    "foreign_law_is_not_a_citation": ("EUにおけるGDPR（一般データ保護規則）十分性認定", []),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_citations_found_in_text(shape: str, registry: Registry) -> None:
    text, expected = SHAPES[shape]
    assert found(text, registry) == expected


def test_quote_and_positions_point_into_the_original_text(registry: Registry) -> None:
    text = "番号法第１９条第１１号及び第 9 号、地方自治法（昭和二十二年法律第六十七号）第二条"
    for c in extract_text(text, registry):
        assert text[c.start : c.end] == c.quote
