"""Field by field: both seed sheets read into exactly what the sheets print.

Expected values are copied from the seeds (tests/fixtures/sheets/); for each section the
first and the last sentence are pinned, and `None` means the sheet printed 「—」.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sheet_shapes import MARKDOWN_0070, PLAIN_0071

from kb.core.models import Proposal
from kb.core.vocab import Association, Category, Outcome, SectionKey, Stage
from kb.importer.sheets import read_sheets

OPEN, CLOSE = "（(「『", "）)」』"


def sentences(text: str) -> list[str]:
    """Sentences of a section: split after 。 outside brackets, and at line ends (list items)."""
    out, current, depth = [], "", 0
    for ch in text:
        if ch == "\n":
            if current.strip():
                out.append(current.strip())
            current, depth = "", 0
            continue
        current += ch
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth = max(0, depth - 1)
        elif ch == "。" and depth == 0:
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


def read_one(path) -> tuple[Proposal, object]:
    result = read_sheets(path.read_text(encoding="utf-8"))
    assert result.problems == []
    assert len(result.sheets) == 1
    return result.sheets[0].proposal, result.sheets[0]


FRONT_0071 = {
    "year": 2024,
    "era": "令和6年",
    "number": 71,
    "serial": 71,
    "title": "都道府県と教育委員会が一つの自治体中間サーバーを利用することを可能とすること",
    "category": Category.B,
    "policy_field": "11_総務",
    "theme": "デジタル化",
    "proponents": ["宮城県", "岩手県", "仙台市", "塩竈市", "多賀城市", "広島県", "宮城県後期高齢者医療広域連合"],
    "co_proponents": ["花巻市", "茨城県", "長野県", "宇和島市", "熊本市", "鹿児島市"],
    "ministries": ["デジタル庁", "総務省"],
    "sheet_ministry": "デジタル庁",
}
FRONT_0070 = {
    "year": 2024,
    "era": "令和6年",
    "number": 70,
    "serial": 70,
    "title": "特定個人情報の取扱範囲や対象者が限定的である事務について、府内ネットワークのような閉鎖的な領域で取り扱う場合の具体的な技術的対策を示すこと",
    "category": Category.B,
    "policy_field": "11_総務",
    "theme": "デジタル化",
    "proponents": ["宮城県", "岩手県", "仙台市", "多賀城市", "秋田県", "広島県", "宮城県後期高齢者医療広域連合"],
    "co_proponents": ["花巻市", "熊本市", "山鹿市", "鹿児島市"],
    "ministries": ["総務省"],
    "sheet_ministry": "総務省",
}
SECTIONS_0071 = {
    SectionKey.MEASURES: (
        'マイナンバー制度について、各都道府県と教育委員会間の情報連携を容易にするため、行政手続における特定の個人を識別するための番号の利用等に関する法律(以下「番号法」という。)上、情報保有機関として、各都道府県と教育委員会を区別せず、一つの情報保有機関とみなすなど、共同して一つの自治体中間サーバーを利用可能とするよう、制度の見直しを求める。',
        'マイナンバー制度について、各都道府県と教育委員会間の情報連携を容易にするため、行政手続における特定の個人を識別するための番号の利用等に関する法律(以下「番号法」という。)上、情報保有機関として、各都道府県と教育委員会を区別せず、一つの情報保有機関とみなすなど、共同して一つの自治体中間サーバーを利用可能とするよう、制度の見直しを求める。',
    ),
    SectionKey.PROBLEMS: (
        '番号法上では、マイナンバー制度に係り、都道府県と教育委員会は別の情報保有機関とされ、都道府県と教育委員会との間で情報連携を行う場合には、機関間連携として自治体の条例で必要な規定を定めなければならない。',
        'これらを踏まえ、番号法の見直しにより都道府県と教育委員会を一つの情報保有機関とみなすことにするなど、都道府県と教育委員会が共同して一つの自治体中間サーバーを利用できるようにすることで、都道府県と教育委員会の間でより事務的に容易である庁内連携が可能となり、サーバー管理上の事務負担等が軽減され、本提案における支障は解決すると考える。',
    ),
    SectionKey.RESIDENTS: None,
    SectionKey.EFFECTS: (
        '都道府県と教育委員会が別の情報保有機関として実施していた事務やシステム管理作業を統一することができ、また、機関間連携に係る取扱いを廃止することができ、事務効率の向上、コスト削減に繋がる。',
        '都道府県と教育委員会が別の情報保有機関として実施していた事務やシステム管理作業を統一することができ、また、機関間連携に係る取扱いを廃止することができ、事務効率の向上、コスト削減に繋がる。',
    ),
    SectionKey.STATUTES: (
        '行政手続における特定の個人を識別するための番号の利用等に関する法律別表第二',
        '行政手続における特定の個人を識別するための番号の利用等に関する法律別表第二',
    ),
    SectionKey.CO_PROBLEMS: (
        '- ○当市においても提案団体が示すような市部局と教育委員会部局で自治体中間サーバーをそれぞれ管理しないといけないといった業務負担が生じている。',
        '- ○当県においても、都道府県のみならず市町村でも同様の支障が発生しており、小規模自治体では中間サーバーに関する本庁担当者と教育委員会の担当者をそれぞれ用意するのが困難な状況であることから、事務負担及び運用コストなども考慮した制度の見直しなどを求める。',
    ),
    SectionKey.FIRST_ANSWER: (
        '個人番号については、行政事務を処理する者が当該行政事務の処理に関して必要な限度で利用することができる（行政手続における特定の個人を識別するための番号の利用等に関する法律（平成25年法律第27号。以下「番号利用法」という。）第9条第1項）。',
        '中間サーバーにおいて取り扱う特定個人情報についても、それぞれのシステムで分かれて管理しており、事務の執行機関ごとにそれぞれの職員の権限でそれぞれのシステムにログインして事務を行う運用となっている。',
    ),
    SectionKey.PROPONENT_VIEW: (
        '番号利用法第9条第1項において、番号利用法別表に掲げられた各項の上欄に行政機関等の行政事務を処理する者が、同表の下欄に掲げられた事務の処理に関する業務を行うため、必要な限度で個人番号を利用することができる」と規定されている。',
        'そのため、中間サーバーにおいて、都道府県知事、教育委員会を別として管理を分けずとも、番号利用法第9条第1項の規定に反する運用にはならないものと思料するため、求めている措置について検討をしていただきたい。',
    ),
    SectionKey.CO_PROPONENT_VIEW: None,
    SectionKey.OPINIONS: '',
    SectionKey.SECOND_ANSWER: (
        '同一団体内の異なる執行機関における情報連携は、行政手続における特定の個人を識別するための番号の利用等に関する法律(平成25年法律第27号。以下「番号利用法」という。)第19条第11号に基づき、機関間連携に係る条例を定めることで実施可能である。',
        'こうした考え方や制度趣旨に沿って、中間サーバーにおいても取り扱う特定個人情報について、それぞれの執行機関ごとに区画を分けて管理されている。',
    ),
    SectionKey.DECISION: None,
}
OPINIONS_0071 = {
    Association.GOVERNORS: (
        '行政手続のオンライン化やデジタル基盤の統一化・共通化などにより、デジタル技術の活用による住民へのサービスの向上・負担軽減や地方公共団体の業務の効率化・高度化が図られるよう、提案の実現に向けて特に積極的な検討を求める。',
        '行政手続のオンライン化やデジタル基盤の統一化・共通化などにより、デジタル技術の活用による住民へのサービスの向上・負担軽減や地方公共団体の業務の効率化・高度化が図られるよう、提案の実現に向けて特に積極的な検討を求める。',
    ),
}
SECTIONS_0070 = {
    SectionKey.MEASURES: (
        '児童手当を始めとした自治体内部で完結する職員などの個人番号利用事務については、通常の番号利用事務とは区別し、個人番号利用や事務処理が、より効率的に実施できるよう、特定個人情報の取扱範囲や対象者が限定的である事務について、府内ネットワークのような閉鎖的な領域で取り扱う場合の具体的な技術的対策を地方公共団体における情報セキュリティポリシーに関するガイドラインに示すことを求める。',
        '児童手当を始めとした自治体内部で完結する職員などの個人番号利用事務については、通常の番号利用事務とは区別し、個人番号利用や事務処理が、より効率的に実施できるよう、特定個人情報の取扱範囲や対象者が限定的である事務について、府内ネットワークのような閉鎖的な領域で取り扱う場合の具体的な技術的対策を地方公共団体における情報セキュリティポリシーに関するガイドラインに示すことを求める。',
    ),
    SectionKey.PROBLEMS: (
        '現在、職員の児童手当に関する申請については、マイナンバーを記載した紙媒体の申請書を集約事務担当所属あて持参しており、手交が難しい地方機関の職員からは、特定記録郵便等により提出されている状況にある。',
        'こうした支障を解決するため、職員からの児童手当に係る申請をオンライン化するために、当県セキュリティポリシーで特定個人情報の取扱範囲や対象者が限定的である事務における特定個人情報の取扱いについて、独自にセキュリティポリシーの見直しを検討しているが、「地方公共団体における情報セキュリティポリシーに関するガイドライン」の ii-19、iii-36 では、上記のような取扱いについて、特段の規定がないため、対象や取扱い範囲が限定的な番号利用事務について通常の番号利用事務とは別に具体的な技術的対策を示すこと、例えば、対象や取扱い範囲を示すとともにネットワークまたはグループウェアに対し、どの程度の水準のセキュリティ対策ツールの導入等を行えばよいかを求めるもの。',
    ),
    SectionKey.RESIDENTS: None,
    SectionKey.EFFECTS: (
        '従来は個人番号を記入した児童手当関係の申請書を郵送や持参により提出していたが、オンライン申請による提出が可能になり、業務の効率化につながる。',
        '従来は個人番号を記入した児童手当関係の申請書を郵送や持参により提出していたが、オンライン申請による提出が可能になり、業務の効率化につながる。',
    ),
    SectionKey.STATUTES: (
        '地方公共団体における情報セキュリティポリシーに関するガイドライン(令和5年3月版)',
        '地方公共団体における情報セキュリティポリシーに関するガイドライン(令和5年3月版)',
    ),
    SectionKey.CO_PROBLEMS: None,
    SectionKey.FIRST_ANSWER: (
        '本ガイドラインで記述した構成や例文は、参考として示したものであり、各地方公共団体が独自の構成、表現により、情報セキュリティポリシーを定めることや、策定した情報セキュリティポリシーに基づき、独自のセキュリティ対策を行うことを妨げるものではない。',
        'これに伴うセキュリティ対策についてはガイドライン第3編第2章 3.(2)を参照いただきたい。',
    ),
    SectionKey.PROPONENT_VIEW: (
        '本提案の趣旨は、組織内だけで完結する事務において、MN 接続系 NW 以外の NW での MN の取扱いを行う場合の基準をお示しいただきたいというものである。',
        'また、ガイドラインにおいてインターネット接続系で MN を取扱う際の技術的対策または最低限守るべきルール等をお示しいただきたい。',
    ),
    SectionKey.CO_PROPONENT_VIEW: None,
    SectionKey.OPINIONS: '',
    SectionKey.SECOND_ANSWER: (
        'MNがマイナンバーということであれば、職員のマイナンバーに係る事務処理(いわゆる人給庶務システム)に該当する業務については、現行ガイドラインではLGWAN接続系ネットワークでの利用を想定しています。',
        '(第3編 3.情報システム全体の強靭性の向上(3)インターネット接続系(注11)参照)',
    ),
    SectionKey.DECISION: None,
}
OPINIONS_0070 = {
    Association.GOVERNORS: (
        '行政手続のオンライン化やデジタル基盤の統一化・共通化などにより、デジタル技術の活用による住民へのサービスの向上・負担軽減や地方公共団体の業務の効率化・高度化が図られるよう、提案の実現に向けて特に積極的な検討を求める。',
        'また、現行制度の枠組み内でも支障事例に対応している事例等がある場合には、十分な周知を行うべきである。',
    ),
}
CASES = [
    pytest.param(PLAIN_0071, FRONT_0071, SECTIONS_0071, OPINIONS_0071, "デジタル庁", id="0071-plain"),
    pytest.param(MARKDOWN_0070, FRONT_0070, SECTIONS_0070, OPINIONS_0070, "総務省", id="0070-markdown"),
]


@pytest.mark.parametrize(("path", "front", "sections", "opinions", "ministry"), CASES)
def test_seed_front_matter_values(path, front, sections, opinions, ministry):
    proposal, sheet = read_one(path)
    for key, value in front.items():
        assert getattr(proposal, key) == value, key
    assert sheet.stage is Stage.FINAL
    assert proposal.decision is not None
    assert proposal.decision.date == dt.date(2024, 12, 24)
    assert proposal.decision.outcome is Outcome.NOT_IN_DECISION
    assert [s.model_dump(exclude_none=True) for s in proposal.sources] == [
        {
            "stage": Stage.FINAL,
            "ministry": ministry,
            "title": f"令和6年 地方分権改革に関する提案募集 提案事項 {ministry} 最終的な調整結果",
        }
    ]
    assert sheet.missing == []


@pytest.mark.parametrize(("path", "front", "sections", "opinions", "ministry"), CASES)
def test_seed_sections_first_and_last_sentence(path, front, sections, opinions, ministry):
    proposal, _ = read_one(path)
    assert list(proposal.sections) == list(sections)
    for key, expected in sections.items():
        text = proposal.sections[key]
        if expected is None or expected == "":
            assert text == expected, key
            continue
        found = sentences(text)
        assert (found[0], found[-1]) == expected, key


@pytest.mark.parametrize(("path", "front", "sections", "opinions", "ministry"), CASES)
def test_seed_association_views_split_per_association(path, front, sections, opinions, ministry):
    proposal, _ = read_one(path)
    assert list(proposal.opinions) == list(opinions)
    for assoc, (first, last) in opinions.items():
        found = sentences(proposal.opinions[assoc])
        assert (found[0], found[-1]) == (first, last)


def test_seed_bullets_become_list_items_keeping_the_mark():
    proposal, _ = read_one(PLAIN_0071)
    items = proposal.sections[SectionKey.CO_PROBLEMS].split("\n")
    assert len(items) == 4
    assert all(item.startswith("- ○") for item in items)


def test_seed_paragraphs_are_kept():
    proposal, _ = read_one(PLAIN_0071)
    assert proposal.sections[SectionKey.PROBLEMS].count("\n\n") == 1
    assert proposal.sections[SectionKey.PROPONENT_VIEW].count("\n\n") == 2
    other, _ = read_one(MARKDOWN_0070)
    assert other.sections[SectionKey.PROPONENT_VIEW].count("\n\n") == 5
    assert other.opinions[Association.GOVERNORS].count("\n\n") == 1


def test_seed_original_characters_are_kept():
    """No NFKC: full-width brackets, half-width brackets and spaced numbers stay as printed."""
    proposal, _ = read_one(PLAIN_0071)
    assert "（平成25年法律第27号。" in proposal.sections[SectionKey.FIRST_ANSWER]
    assert "(平成25年法律第27号。" in proposal.sections[SectionKey.SECOND_ANSWER]
    other, _ = read_one(MARKDOWN_0070)
    assert "年間 200 件ほど" in other.sections[SectionKey.PROBLEMS]
    assert "令和6年5月 31 日" in other.sections[SectionKey.PROPONENT_VIEW]
    assert "LGWAN 接続系" in other.sections[SectionKey.FIRST_ANSWER]
    assert "( β' モデルとして定義された対策)" in other.sections[SectionKey.SECOND_ANSWER]
