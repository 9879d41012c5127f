"""e-Gov 法令検索: 法令ID derivation, consistency of registry IDs, and links with article anchors.

An ID is `{era}{yy}{type}{category}{number}`. Only two classes can be computed from the
法令番号 alone: 閣法 (法律 submitted by the Cabinet, category 0000000) and 政令. A
member's bill uses other category digits, and a 府省令's category is a bitmask of the
issuing ministries fixed at enactment — those IDs come from the registry or stay unknown.
"""

from __future__ import annotations

import re

from kb.statutes.lawnumber import LawNumber
from kb.statutes.pinpoint import Pinpoint

EGOV_LAW_URL = "https://laws.e-gov.go.jp/law/{id}"
EGOV_ID_RE = re.compile(r"^(?:321CONSTITUTION|[1-5]\d{2}(?:AC|CO|IO|M\d)[0-9A-F]{7}\d{3})$")
BILLS: dict[str, str] = {"閣法": "0000000", "衆法": "1000000", "参法": "0100000"}
TYPE_CODES: dict[str, str] = {"法律": "AC", "政令": "CO", "勅令": "IO", "府省令": "M", "規則": "M"}


def derive_law_id(number: LawNumber, bill: str | None = None) -> str | None:
    """The 法令ID of a 閣法 (bill='閣法') or a 政令; None whenever it cannot be known from the number."""
    if number.number > 999:
        return None
    prefix = f"{number.era_code}{number.year:02d}"
    if number.kind == "政令":
        return f"{prefix}CO0000000{number.number:03d}"
    if number.kind == "法律" and bill == "閣法":
        return f"{prefix}AC0000000{number.number:03d}"
    return None


def id_problem(law_id: str, number: LawNumber | None, kind: str, bill: str | None) -> str | None:
    """Why a registry 法令ID disagrees with its law number, kind or bill (Japanese), or None."""
    if not EGOV_ID_RE.match(law_id):
        return f"法令ID「{law_id}」の形が正しくありません（例: 425AC0000000027）"
    if law_id == "321CONSTITUTION":
        return None if kind == "憲法" else "321CONSTITUTION は日本国憲法の法令IDです"
    if number is None:
        return "法令IDを書くときは法令番号（number）も書いてください"
    era_year = f"{number.era_code}{number.year:02d}"
    if law_id[:3] != era_year:
        return f"法令ID「{law_id}」の元号・年が法令番号「{number.label}」と合いません（{era_year}…のはず）"
    if number.number > 999 or law_id[-3:] != f"{number.number:03d}":
        return f"法令ID「{law_id}」の末尾3桁が法令番号「{number.label}」の番号と合いません"
    expected_type = TYPE_CODES.get(kind)
    if expected_type is None or not law_id[3:].startswith(expected_type):
        return f"法令ID「{law_id}」の種別が kind「{kind}」と合いません"
    if kind == "法律":
        if bill not in BILLS:
            return "法律の法令IDには提出者（bill: 閣法 / 衆法 / 参法）が必要です"
        if law_id[5:12] != BILLS[bill]:
            return f"{bill}の法令IDは {era_year}AC{BILLS[bill]}{number.number:03d} の形です（「{law_id}」）"
    derived = derive_law_id(number, bill)
    if derived is not None and derived != law_id:
        return f"法令番号「{number.label}」から導ける法令IDは {derived} です（「{law_id}」）"
    return None


def anchor(pin: Pinpoint | None) -> str | None:
    """e-Gov element id for a pinpoint: #Mp-At_9-Pr_1-It_3; a 号 with no stated 項 sits in 第1項.

    Original 附則 articles are `Sp-At_N`. 別表 and 附則 paragraphs have no anchor we could
    verify, so they link to the law page only.
    """
    if pin is None or pin.table is not None or not pin.article:
        return None
    parts = [f"{'Sp' if pin.supplementary else 'Mp'}-At_{pin.article_key}"]
    if pin.paragraph is not None or pin.item:
        parts.append(f"Pr_{pin.paragraph or 1}")
    if pin.item:
        parts.append(f"It_{pin.item_key}")
    return "-".join(parts)


def law_url(law_id: str | None, pin: Pinpoint | None = None) -> str | None:
    """One click to the law, or to the article when the pinpoint has an anchor."""
    if not law_id:
        return None
    url = EGOV_LAW_URL.format(id=law_id)
    a = anchor(pin)
    return f"{url}#{a}" if a else url
