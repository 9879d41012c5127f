"""clean: the matching copy of a text, and its map back to the original wording."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.statutes.clean import clean, int_to_kanji, kanji_to_int


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("二十七", 27), ("二百五十二", 252), ("六十三", 63), ("十", 10), ("百", 100), ("千九十", 1090),
     ("二〇一九", 2019), ("十七", 17), ("二", 2), ("元", 1), ("百五十三", 153)],
)  # fmt: skip
def test_kanji_numeral_reads_as_integer(numeral: str, value: int) -> None:
    assert kanji_to_int(numeral) == value


@pytest.mark.parametrize(("value", "numeral"), [(1, "一"), (2, "二"), (10, "十"), (27, "二十七"), (252, "二百五十二"), (1090, "千九十")])
def test_integer_prints_as_kanji_numeral(value: int, numeral: str) -> None:
    assert int_to_kanji(value) == numeral


@pytest.mark.parametrize(
    ("original", "matching"),
    [
        ("昭和二十三年厚生省令第六十三号", "昭和23年厚生省令第63号"),
        ("第二百五十二条の十七の二第一項", "第252条の17の2第1項"),
        ("別表第二の三の項", "別表第2の3の項"),
        ("令和元年政令第1号", "令和1年政令第1号"),
        ("番号法第１９条第１１号", "番号法第19条第11号"),
        ("マイナンバー法\u2009第19条第7号", "マイナンバー法第19条第7号"),
        ("第 9 条 第1項", "第9条第1項"),
        ("（平成２５年法律第２７号。以下「番号利用法」という。）", "(平成25年法律第27号。以下「番号利用法」という。)"),
        ("一つの情報保有機関", "一つの情報保有機関"),
        ("十分な周知を行うべき", "十分な周知を行うべき"),
        ("第一次回答", "第1次回答"),
    ],
)
def test_clean_normalises_only_for_matching(original: str, matching: str) -> None:
    assert clean(original).text == matching


@pytest.mark.parametrize(
    ("original", "needle", "quote"),
    [
        ("本市は昭和二十三年厚生省令第六十三号に従う", "昭和23年厚生省令第63号", "昭和二十三年厚生省令第六十三号"),
        ("条文は第 9 条 第1項です", "第9条第1項", "第 9 条 第1項"),
        ("番号法第１９条第１１号により", "第19条第11号", "第１９条第１１号"),
    ],
)
def test_clean_span_quotes_the_original_wording(original: str, needle: str, quote: str) -> None:
    ct = clean(original)
    start = ct.text.index(needle)
    assert ct.quote(start, start + len(needle)) == quote


@given(st.text(alphabet=st.sampled_from(list("第条項号一二十百〇０１２ 　法の、（）㍻①ｶﾞ\n")), max_size=40))
def test_clean_map_is_monotonic_and_inside_the_original(original: str) -> None:
    ct = clean(original)
    assert len(ct.starts) == len(ct.ends) == len(ct.text)
    for k in range(len(ct.text)):
        assert 0 <= ct.starts[k] < ct.ends[k] <= len(original)
        if k:
            assert ct.starts[k - 1] <= ct.starts[k]
