"""Long texts without 。、 (issue #17): what the finder returns there, not how fast (benchmarks/text_linear.py times it).

Each input here took seconds to minutes before the passes were made linear; the tests pin that the
bounded patterns, indexed antecedents and binary-searched definitions give the same answers as the
short texts do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.search.snippets import best_snippet
from kb.search.textnorm import MAX_MARKS, normalize, normalize_with_offsets
from kb.statutes.clean import clean
from kb.statutes.extract import extract_text
from kb.statutes.find import GENERIC_NAME_MAX
from kb.statutes.registry import Registry, load_registry

REGISTRY_FILE = Path(__file__).parent / "fixtures" / "statutes" / "registry.yaml"
LOCAL_AUTONOMY = "322AC0000000067"  # 地方自治法
CIVIL_CODE = "129AC0000000089"  # 民法

Found = tuple[str, str, str | None]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REGISTRY_FILE)


def found(text: str, registry: Registry) -> list[Found]:
    return [(c.quote, c.statute_id or f"title:{c.title}", c.pinpoint.label if c.pinpoint else None) for c in extract_text(text, registry)]


def test_finder_finds_law_after_long_unpunctuated_filler(registry: Registry) -> None:
    filler = "法の" * 25_000  # 50,000 characters, one clause, every other one a word start before 法
    assert found(filler + "地方自治法第2条の規定による。", registry) == [("地方自治法第2条", LOCAL_AUTONOMY, "第2条")]


def test_finder_finds_law_title_after_long_filler_of_connectors(registry: Registry) -> None:
    filler = "の法律" * 20_000
    assert found(filler + "、民法第90条", registry) == [("民法第90条", CIVIL_CODE, "第90条")]


def test_generic_name_up_to_the_cap_is_a_mention(registry: Registry) -> None:
    name = "地方公共団体" * 12 + "に関する指針"  # 78 characters
    assert len(name) <= GENERIC_NAME_MAX
    assert found(f"これは、{name}。", registry) == [(name, f"title:{name}", None)]


def test_generic_name_longer_than_the_cap_is_not_a_mention(registry: Registry) -> None:
    name = "地方公共団体" * 14 + "に関する指針"  # 90 characters: longer than any unregistered name of its shape
    assert len(name) > GENERIC_NAME_MAX
    assert found(f"これは、{name}。", registry) == []


def test_generic_title_with_many_repeated_connectors_is_read_whole(registry: Registry) -> None:
    # 等に関する can be read as 等 + に関する: a failing match used to try both readings at each one (2^k).
    name = "鳥獣等に関する" + "保護等に関する" * 8 + "措置に関する法律"
    assert found(f"、{name}第3条", registry) == [(f"{name}第3条", f"title:{name}", "第3条")]
    assert found("、" + "法等に関する" * 2_000, registry) == []


def test_notice_title_with_many_connectors_then_its_parenthetical(registry: Registry) -> None:
    title = "事務による" * 6 + "取扱について"
    text = f"「{title}」(平成29年3月31日付け総行住第48号総務省自治行政局住民制度課長通知)"
    assert found("法による" * 5_000 + "。" + text, registry) == [(text, f"title:{title}", None)]


def test_same_article_after_thousands_of_citations_resolves_to_the_last_one(registry: Registry) -> None:
    got = found("民法第1条、同条、" * 2_000, registry)
    assert len(got) == 4_000
    assert set(got) == {("民法第1条", CIVIL_CODE, "第1条"), ("同条", CIVIL_CODE, "第1条")}


def test_same_law_after_two_laws_in_one_long_list_stays_ambiguous(registry: Registry) -> None:
    citations = extract_text("民法、地方自治法、" * 1_000 + "同法第2条", registry)
    assert len(citations) == 2_001
    assert (citations[-1].quote, citations[-1].statute_id, citations[-1].unresolved) == ("同法第2条", None, "曖昧な参照")


def test_same_law_without_antecedent_repeated_stays_unresolved(registry: Registry) -> None:
    citations = extract_text("同法の" * 3_000, registry)
    assert len(citations) == 3_000
    assert {(c.statute_id, c.unresolved) for c in citations} == {(None, "参照先なし")}


def test_abbreviation_defined_many_times_takes_the_nearest_definition(registry: Registry) -> None:
    text = "地方自治法(以下「甲法」という。)甲法第1条、民法(以下「甲法」という。)甲法第2条、" * 500
    uses = [(c.statute_id, c.pinpoint.label if c.pinpoint else None) for c in extract_text(text, registry) if c.quote.startswith("甲法")]
    assert uses == [(LOCAL_AUTONOMY, "第1条"), (CIVIL_CODE, "第2条")] * 500


def test_numerals_left_as_words_in_a_long_text_stay_words() -> None:
    ct = clean("一つ" * 50_000 + "第二十条")
    assert ct.text == "一つ" * 50_000 + "第20条"
    assert ct.quote(100_000, 100_004) == "第二十条"


def test_long_run_of_marks_keeps_a_map_to_the_original_and_later_characters_compose() -> None:
    text = "a" + "\u0301\u0316" * 10_000 + "か\u3099ｶﾞ"
    norm, offsets = normalize_with_offsets(text)
    assert len(offsets) == len(norm) and offsets == sorted(offsets) and offsets[-1] < len(text)
    assert norm.endswith("がガ") and normalize(text) == norm


def test_marks_up_to_the_stream_safe_limit_stay_one_character() -> None:
    marks = "\u0316\u0301" * (MAX_MARKS // 2)  # falling class order: NFKC puts the 220s first, then composes á
    norm, offsets = normalize_with_offsets("a" + marks)
    assert norm == "\u00e1" + "\u0316" * (MAX_MARKS // 2) + "\u0301" * (MAX_MARKS // 2 - 1)
    assert set(offsets) == {0}


def test_snippet_finds_the_query_at_the_end_of_a_long_unpunctuated_text() -> None:
    text = "法の" * 50_000 + "保育所の設置基準"
    snippet = best_snippet([("本文", text)], "設置基準")
    assert snippet is not None and ("設置基準", True) in snippet.parts
