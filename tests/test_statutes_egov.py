"""e-Gov 法令ID: a hand-written ID (a repealed law) checked against its number, kind and bill; anchors for pinpoints."""

from __future__ import annotations

import pytest

from kb.statutes.clean import clean
from kb.statutes.egov import anchor, id_problem, law_url
from kb.statutes.lawnumber import parse_law_number
from kb.statutes.pinpoint import match_pinpoint


@pytest.mark.parametrize(
    ("law_id", "number", "kind", "bill", "message"),
    [
        ("425AC0000000027", "平成25年法律第27号", "法律", "閣法", None),
        ("426AC1000000104", "平成26年法律第104号", "法律", "衆法", None),
        ("428M60000008031", "平成28年総務省令第31号", "府省令", None, None),
        ("321CONSTITUTION", None, "憲法", None, None),
        ("425AC0000000072", "平成25年法律第27号", "法律", "閣法", "法令ID「425AC0000000072」の末尾3桁が法令番号「平成25年法律第27号」の番号と合いません"),
        ("325AC0000000027", "平成25年法律第27号", "法律", "閣法", "法令ID「325AC0000000027」の元号・年が法令番号「平成25年法律第27号」と合いません（425…のはず）"),
        ("426AC0000000104", "平成26年法律第104号", "法律", "衆法", "衆法の法令IDは 426AC1000000104 の形です（「426AC0000000104」）"),
        ("322CO0000000067", "昭和22年法律第67号", "法律", "閣法", "法令ID「322CO0000000067」は政令の法令IDです（kind: 法律）"),
        ("322CO1000000016", "昭和22年政令第16号", "政令", None, "政令の法令IDは 322CO0000000016 の形です（「322CO1000000016」）"),
        ("324R00000001004", "昭和24年会計検査院規則第4号", "規則", None, None),  # kinds the list added: R, RJNJ, RPMD
        ("324RJNJ01099000", None, "人事院規則", None, None),
        ("412RPMD08219999", None, "内閣総理大臣決定", None, None),
        ("425AC0000000027", "平成25年法律第27号", "法律", None, "法律の法令IDには提出者（bill: 閣法 / 衆法 / 参法）が必要です"),
        ("425AC27", "平成25年法律第27号", "法律", "閣法", "法令ID「425AC27」の形が正しくありません（例: 425AC0000000027）"),
    ],
)
def test_hand_written_law_id_must_agree_with_its_number(law_id: str, number: str | None, kind: str, bill: str | None, message: str | None) -> None:
    assert id_problem(law_id, parse_law_number(number) if number else None, kind, bill) == message


@pytest.mark.parametrize(
    ("pinpoint", "element"),
    [
        ("第9条", "Mp-At_9"),
        ("第21条第1項", "Mp-At_21-Pr_1"),
        ("第9条第1項第3号", "Mp-At_9-Pr_1-It_3"),
        ("第2条第5号", "Mp-At_2-Pr_1-It_5"),  # a 号 with no stated 項 sits in 第1項
        ("第252条の17の2", "Mp-At_252_17_2"),
        ("第252条の17の2第1項", "Mp-At_252_17_2-Pr_1"),
        ("第2条第1項第9号の2", "Mp-At_2-Pr_1-It_9_2"),
        ("第3条から第5条まで", "Mp-At_3"),
        ("第9条第1項ただし書", "Mp-At_9-Pr_1"),
        ("附則第1条", "Sp-At_1"),
        ("別表第二", None),  # no anchor we could verify: the law page itself
        ("附則第3項", None),
    ],
)
def test_pinpoint_anchor_follows_egov_element_ids(pinpoint: str, element: str | None) -> None:
    found = match_pinpoint(clean(pinpoint).text, 0)
    assert found is not None
    assert anchor(found[0]) == element


def test_law_url_links_to_the_article_when_there_is_an_anchor() -> None:
    pin = match_pinpoint("第19条第11号", 0)
    assert pin is not None
    assert law_url("425AC0000000027", pin[0]) == "https://laws.e-gov.go.jp/law/425AC0000000027#Mp-At_19-Pr_1-It_11"
    assert law_url("425AC0000000027") == "https://laws.e-gov.go.jp/law/425AC0000000027"
    assert law_url(None, pin[0]) is None
