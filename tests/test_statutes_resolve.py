"""Resolution: (text, index, statute, pinpoint, reason) — what the index-th citation of a text resolves to.

Back-references resolve like eyecite's "Id.": to the last citation of the matching kind, and are
left unresolved (statute None, with the reason) when that antecedent is ambiguous or missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.statutes.extract import extract_text, extract_texts
from kb.statutes.registry import Registry, load_registry
from kb.statutes.resolve import AMBIGUOUS, MISMATCH, NO_ANTECEDENT, NUMBER_NOT_LISTED, SHARED_NAME, UNREGISTERED

REGISTRY_FILE = Path(__file__).parent / "fixtures" / "statutes" / "registry.yaml"
MYNUMBER = "425AC0000000027"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REGISTRY_FILE)


RESOLUTIONS = [
    # (text, index, statute id, pinpoint label, unresolved reason)
    ("番号法第9条第1項及び同法第19条", 1, MYNUMBER, "第19条", None),
    ("番号法第9条及び地方税法第22条。同法第3条", 2, None, "第3条", AMBIGUOUS),
    ("番号法第9条。地方税法第22条。同法第3条", 2, "325AC0000000226", "第3条", None),
    ("番号利用法施行令第5条。同法第9条", 1, None, "第9条", NO_ANTECEDENT),  # 同法 wants a 法律; a 政令 is not one
    ("地方自治法第1条。地方自治法施行令第2条。同法第3条", 2, "322AC0000000067", "第3条", None),
    ("地方自治法施行令第2条。同令第3条", 1, "322CO0000000016", "第3条", None),
    ("地方自治法第2条。同令第3条", 1, None, "第3条", NO_ANTECEDENT),
    ("番号法第9条第1項。同条第2項", 1, MYNUMBER, "第9条第2項", None),
    ("番号法第9条第1項。同項第3号", 1, MYNUMBER, "第9条第1項第3号", None),
    ("番号法第19条第7号。同号イ", 1, MYNUMBER, "第19条第7号", None),
    ("番号法第9条第1項及び第19条。同条第2項", 2, None, None, AMBIGUOUS),  # two articles just cited: which 第2項?
    ("番号法第10条。前条第1項", 1, MYNUMBER, "第9条第1項", None),
    ("番号法第10条。次条", 1, MYNUMBER, "第11条", None),
    ("番号法第9条第2項。前項", 1, MYNUMBER, "第9条第1項", None),
    ("地方自治法第252条の17の2。前条", 1, None, None, AMBIGUOUS),  # the article before a branch article is unknown
    ("番号法第1条。前条", 1, None, None, AMBIGUOUS),  # there is no 第0条
    ("前条の規定による", 0, None, None, NO_ANTECEDENT),
    ("番号利用法別表第二。同表", 1, MYNUMBER, "別表第二", None),
    ("児童手当法第8条。同法第12条", 1, "346AC0000000073", "第12条", None),
    ("工業標準化法第8条。同法第12条", 1, None, "第12条", UNREGISTERED),  # an unregistered law is still the antecedent
    ("地方自治法（昭和22年法律第68号）第2条", 0, None, "第2条", MISMATCH),  # title and number name two laws
    ("日本学術会議法第3条", 0, None, "第3条", SHARED_NAME),  # two listed laws have this title
    ("日本学術会議法（令和7年法律第70号）第3条", 0, "507AC0000000070", "第3条", None),  # the number settles a shared title
    ("改正地方自治法（令和5年法律第19号）第252条", 0, "322AC0000000067", "第252条", None),  # the amending act's number
    ("住宅宿泊事業法施行要領第2の1", 0, None, None, UNREGISTERED),  # the 要領, not the law, even before its pinpoint
    ("昭和22年法律第999号第2条", 0, None, "第2条", NUMBER_NOT_LISTED),
    ("住民基本台帳法第4条及び第5条", 1, "342AC0000000081", "第5条", None),
    ("番号法附則第2条及び第3条", 1, MYNUMBER, "附則第3条", None),
    ("番号法第19条第7号又は第8号", 1, MYNUMBER, "第19条第8号", None),
    ("番号法第9条第1項及び第2項", 1, MYNUMBER, "第9条第2項", None),
    ("地方税法第1条、同条第2項及び第3項", 2, "325AC0000000226", "第1条第3項", None),
]


@pytest.mark.parametrize(("text", "index", "statute", "pinpoint", "reason"), RESOLUTIONS)
def test_citation_at_index_resolves(text: str, index: int, statute: str | None, pinpoint: str | None, reason: str | None, registry: Registry) -> None:
    c = extract_text(text, registry)[index]
    assert (c.statute_id, c.pinpoint.label if c.pinpoint else None, c.unresolved) == (statute, pinpoint, reason)


def test_abbreviation_defined_in_one_part_resolves_in_the_next(registry: Registry) -> None:
    parts = ["地方公共団体の財政の健全化に関する法律（平成19年法律第94号。以下「健全化法」という。）第3条", "健全化法第22条の規定"]
    first, second = extract_texts(parts, registry)
    assert second[0].title == first[0].title == "地方公共団体の財政の健全化に関する法律"
    assert second[0].law_number == "平成19年法律第94号"


def test_abbreviation_is_scoped_to_its_document(registry: Registry) -> None:
    extract_text("地方公共団体の財政の健全化に関する法律（平成19年法律第94号。以下「健全化法」という。）", registry)
    assert extract_text("健全化法第22条", registry)[0].title == "健全化法"


def test_nearest_earlier_definition_wins(registry: Registry) -> None:
    text = "地方税法（昭和25年法律第226号。以下「法」という。）法第1条。地方自治法（昭和22年法律第67号。以下「法」という。）法第2条"
    ids = [c.statute_id for c in extract_text(text, registry) if c.quote.startswith("法第")]
    assert ids == ["325AC0000000226", "322AC0000000067"]


def test_back_reference_does_not_cross_parts(registry: Registry) -> None:
    first, second = extract_texts(["番号法第9条", "同法第19条"], registry)
    assert (second[0].statute_id, second[0].unresolved) == (None, NO_ANTECEDENT)


def test_guideline_reference_reaches_earlier_parts(registry: Registry) -> None:
    first, second = extract_texts(["地方公共団体における情報セキュリティポリシーに関するガイドライン", "本ガイドラインで記述した構成"], registry)
    assert second[0].statute_id == "security-policy-guideline"


def test_cabinet_order_number_links_through_the_list(registry: Registry) -> None:
    c = extract_text("平成6年政令第265号第2条", registry)[0]
    assert (c.statute_id, c.egov_id, c.url) == ("406CO0000000265", "406CO0000000265", "https://laws.e-gov.go.jp/law/406CO0000000265#Mp-At_2")


@pytest.mark.parametrize("text", ["平成6年政令第998号第3条", "令和元年政令第999号", "平成30年法律第999号第3条"])
def test_number_missing_from_the_list_gets_no_computed_id(text: str, registry: Registry) -> None:
    """IDs come only from the list: a 政令 number would give a plausible ID, and it must not be made up."""
    c = extract_text(text, registry)[0]
    assert (c.statute_id, c.egov_id, c.url, c.unresolved) == (None, None, None, NUMBER_NOT_LISTED)


def test_member_bill_resolves_to_its_listed_id_not_a_cabinet_one(registry: Registry) -> None:
    """国土利用計画法 is a 衆法: 349AC1000000092, not the 349AC0000000092 the number would suggest."""
    assert [c.statute_id for c in extract_text("国土利用計画法第23条及び昭和49年法律第92号", registry)] == ["349AC1000000092", "349AC1000000092"]
