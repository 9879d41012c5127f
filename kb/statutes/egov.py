"""e-Gov 法令検索: consistency of hand-written 法令IDs, and links with article anchors.

IDs come from e-Gov's list (kb/statutes/lawlist.py), never from a computation. Only an ID an editor
writes by hand — a repealed law, no longer in the list — is checked here against its law number, kind
and bill: `{era}{yy}{type}{category}{number}`, where a 閣法 has category 0000000, a 衆法 1000000 and
a 参法 0100000, and a 府省令's category is a bitmask of the ministries fixed at enactment.
"""

from __future__ import annotations

from kb.statutes.lawlist import LAW_ID_RE, kind_of_id
from kb.statutes.lawnumber import LawNumber
from kb.statutes.pinpoint import Pinpoint

EGOV_LAW_URL = "https://laws.e-gov.go.jp/law/{id}"
BILLS: dict[str, str] = {"閣法": "0000000", "衆法": "1000000", "参法": "0100000"}
# Kinds whose IDs carry no law number to compare (人事院規則一―九九, a 内閣総理大臣決定 by date).
_UNNUMBERED_IDS = ("憲法", "人事院規則", "内閣総理大臣決定")


def id_problem(law_id: str, number: LawNumber | None, kind: str, bill: str | None) -> str | None:
    """Why a hand-written 法令ID disagrees with its law number, kind or bill (Japanese), or None."""
    if not LAW_ID_RE.match(law_id):
        return f"法令ID「{law_id}」の形が正しくありません（例: 425AC0000000027）"
    id_kind = kind_of_id(law_id)
    if id_kind != kind and not (kind == "規則" and id_kind == "府省令"):
        return f"法令ID「{law_id}」は{id_kind}の法令IDです（kind: {kind}）"
    if id_kind in _UNNUMBERED_IDS:
        return None
    if number is None:
        return "法令IDを書くときは法令番号（number）も書いてください"
    era_year = f"{number.era_code}{number.year:02d}"
    if law_id[:3] != era_year:
        return f"法令ID「{law_id}」の元号・年が法令番号「{number.label}」と合いません（{era_year}…のはず）"
    if number.number > 999 or law_id[-3:] != f"{number.number:03d}":
        return f"法令ID「{law_id}」の末尾3桁が法令番号「{number.label}」の番号と合いません"
    if id_kind == "法律":
        if bill not in BILLS:
            return "法律の法令IDには提出者（bill: 閣法 / 衆法 / 参法）が必要です"
        if law_id[5:12] != BILLS[bill]:
            return f"{bill}の法令IDは {era_year}AC{BILLS[bill]}{number.number:03d} の形です（「{law_id}」）"
    if id_kind == "政令" and law_id[5:12] != "0000000":
        return f"政令の法令IDは {era_year}CO0000000{number.number:03d} の形です（「{law_id}」）"
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
