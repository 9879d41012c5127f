"""Looking names up: folding, aliases, ambiguity, years, kinds and suggestions (real registry data)."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.registries.names import NameProblem
from kb.registries.periods import Period
from kb.registries.registry import load_registries

REGISTRIES = load_registries()
LGS = REGISTRIES.local_governments
MINISTRIES = REGISTRIES.ministries


def year(y: int) -> Period:
    return Period(dt.date(y, 1, 1), dt.date(y, 12, 31))


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("宮城県", "040002"),
        ("仙台市", "041009"),
        ("塩竈市", "042030"),
        ("茅ケ崎市", "142077"),  # ヶ/ケ
        ("髙﨑市", "102024"),  # variant characters
        ("宮城県　仙台市", "041009"),  # ideographic space, prefecture in front
        ("仙台市（宮城県）", "041009"),
        ("札幌市中央区", "011011"),  # a ward needs its city
        ("中央区", "131024"),  # alone, 中央区 is the 特別区 in 東京都
        ("塩釜市", "042030"),  # aliases
        ("塩竃市", "042030"),
        ("檮原町", "394050"),
    ],
)
def test_name_resolves_after_folding_and_aliases(written: str, code: str) -> None:
    assert LGS.resolve(written, year(2024)).code == code


def test_same_name_in_two_prefectures_asks_for_the_prefecture() -> None:
    with pytest.raises(NameProblem, match="北海道伊達市、福島県伊達市"):
        LGS.resolve("伊達市", year(2024))
    assert LGS.resolve("福島県伊達市", year(2024)).code == "072133"
    assert LGS.resolve("伊達市(北海道)", year(2024)).code == "012335"


def test_former_name_resolves_only_in_its_years_and_names_its_successor() -> None:
    assert LGS.resolve("富谷町", year(2015)).code == "044237"
    with pytest.raises(NameProblem, match="後継: 富谷市"):
        LGS.resolve("富谷町", year(2017))
    assert LGS.resolve("篠山市", year(2018)).code == "282219"  # renamed, same body and code


def test_a_name_ambiguous_only_while_both_existed() -> None:
    with pytest.raises(NameProblem, match="複数あります"):
        LGS.resolve("那珂川町", year(2017))  # 栃木県 and 福岡県 (a 市 since 2018-10)
    assert LGS.resolve("那珂川町", year(2020)).prefecture == "栃木県"


def test_hamamatsu_wards_follow_the_2024_reorganisation() -> None:
    assert LGS.resolve("浜松市中区", year(2023)).code == "221317"
    with pytest.raises(NameProblem, match="2023-12-31"):
        LGS.resolve("浜松市中区", year(2024))
    assert LGS.resolve("浜松市天竜区", year(2023)).code == "221376"
    assert LGS.resolve("浜松市天竜区", year(2024)).code == "221406"


@pytest.mark.parametrize(
    ("written", "day", "kind"),
    [
        ("仙台市", dt.date(2024, 4, 1), "指定都市"),
        ("松本市", dt.date(2020, 4, 1), "施行時特例市"),
        ("松本市", dt.date(2021, 4, 1), "中核市"),
        ("八王子市", dt.date(2014, 4, 1), "特例市"),
        ("八王子市", dt.date(2015, 4, 1), "中核市"),
        ("枚方市", dt.date(2014, 4, 1), "中核市"),
        ("多賀城市", dt.date(2024, 4, 1), "一般市"),
        ("千代田区", dt.date(2024, 4, 1), "特別区"),
        ("宮城県後期高齢者医療広域連合", dt.date(2024, 4, 1), "広域連合"),
    ],
)
def test_kind_of_a_body_on_a_day(written: str, day: dt.date, kind: str) -> None:
    assert LGS.kind_on(LGS.resolve(written), day) == kind


def test_towns_and_villages_count_as_one_attribute() -> None:
    day = dt.date(2024, 4, 1)
    assert LGS.kind_on(LGS.resolve("七ヶ浜町"), day) == "町"
    assert LGS.attribute_on(LGS.resolve("七ヶ浜町"), day) == "町村"
    assert LGS.attribute_on(LGS.resolve("大衡村"), day) == "町村"


@pytest.mark.parametrize(("typo", "meant"), [("宮城懸", "宮城県"), ("仙台巿", "仙台市"), ("多賀條市", "多賀城市")])
def test_unknown_name_suggests_the_nearest_known_name_first(typo: str, meant: str) -> None:
    with pytest.raises(NameProblem, match=f"もしかして: {meant}"):
        LGS.resolve(typo, year(2024))


def test_ministry_resolves_only_in_the_years_it_existed() -> None:
    assert MINISTRIES.resolve("デジタル庁", year(2021)).name == "デジタル庁"
    with pytest.raises(NameProblem, match="2021-09-01〜"):
        MINISTRIES.resolve("デジタル庁", year(2020))
    with pytest.raises(NameProblem, match="2023-04-01〜"):
        MINISTRIES.resolve("こども家庭庁", year(2022))
    with pytest.raises(NameProblem, match="後継: 個人情報保護委員会"):
        MINISTRIES.resolve("特定個人情報保護委員会", year(2016))


def test_a_decision_in_the_next_january_still_counts_for_the_year() -> None:
    h26 = Period(dt.date(2014, 1, 1), dt.date(2015, 1, 30))  # 平成26年 was decided on 2015-01-30
    assert MINISTRIES.resolve("特定個人情報保護委員会", h26).name == "特定個人情報保護委員会"


def test_ministry_short_name_is_refused_with_the_full_name_suggested() -> None:
    with pytest.raises(NameProblem, match="もしかして: 国土交通省"):
        MINISTRIES.resolve("国交省", year(2024))
    assert MINISTRIES.resolve("厚生労働省 ", year(2024)).name == "厚生労働省"
    assert MINISTRIES.resolve("ﾃﾞｼﾞﾀﾙ庁", year(2024)).name == "デジタル庁"  # half-width kana


def test_lineage_follows_reorganisations_to_the_organisation_of_today() -> None:
    old = MINISTRIES.resolve("特定個人情報保護委員会", year(2015))
    assert MINISTRIES.lineage(old).name == "個人情報保護委員会"
    assert MINISTRIES.lineage(MINISTRIES.resolve("総務省", year(2024))).name == "総務省"
