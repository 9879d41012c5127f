"""The fast text passes of the build give exactly what the per-character versions gave.

`kb.search.textnorm` folds a text by regex and `str.translate` instead of calling `_fold` per
character, splits runs by regex, and `kb.statutes.clean` slices offsets as ranges. Each is
checked here against the per-character definition it replaced (written out below), on the
real proposals, a synthetic corpus, the characters every fast path leans on, and random text.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.files.disk import iter_proposal_files
from kb.files.parse import parse_file
from kb.search import textnorm
from kb.search.textnorm import (
    OWN_FOLD_RANGES,
    SEPARATOR_RANGES,
    TOKEN_RANGES,
    VARIANT_FOLDS,
    index_text,
    normalize,
    normalize_with_offsets,
    runs,
)
from kb.statutes import clean as clean_module
from kb.statutes.clean import clean

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import generate  # noqa: E402

_fold = textnorm._fold.__wrapped__  # the definition itself, without the cache the module fills


# ---------------------------------------------------------------- the per-character definitions


def reference_normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Cluster by cluster, as before: fold each, join, long vowels; offsets repeated per folded character."""
    if textnorm._HAS_MARK.search(text):
        found = list(textnorm._CLUSTER.finditer(text))
        starts, clusters = [m.start() for m in found], [m.group() for m in found]
    else:
        starts, clusters = list(range(len(text))), list(text)
    folded = [_fold(c) for c in clusters]
    offsets = [start for start, piece in zip(starts, folded) for _ in piece]
    joined = textnorm._KATAKANA_DASH.sub(lambda m: textnorm.LONG_VOWEL * len(m.group()), "".join(folded))
    return joined, offsets


def reference_runs(normalized: str) -> list[str]:
    return ["".join(g) for token, g in groupby(normalized, textnorm._is_token_char) if token]


def reference_index_text(text: str | None) -> str:
    if not text:
        return ""
    tokens = []
    for run in reference_runs(reference_normalize_with_offsets(text)[0]):
        tokens += [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1:]]
    return " ".join(tokens)


def reference_clean(original: str) -> tuple[str, list[int], list[int]]:
    """The matching copy with per-character start and end lists, built a character at a time."""
    norm, starts = reference_normalize_with_offsets(original)
    ends = [len(original)] * len(norm)
    for k in range(len(norm) - 2, -1, -1):
        ends[k] = starts[k + 1] if starts[k + 1] != starts[k] else ends[k + 1]
    keep = [True] * len(norm)
    for m in clean_module._DROPPED_RE.finditer(norm):
        keep[m.start() : m.end()] = [False] * (m.end() - m.start())
    text = "".join(ch for ch, k in zip(norm, keep) if k)
    starts = [s for s, k in zip(starts, keep) if k]
    ends = [e for e, k in zip(ends, keep) if k]
    out, out_starts, out_ends, pos = "", [], [], 0
    for m in clean_module._NUMERAL_RUN.finditer(text):
        before = (out + text[pos : m.start()])[-3:]
        if clean_module._NUMBER_BEFORE.search(before) or (m.group() == "元" and before.endswith(clean_module.ERA_NAMES)):
            digits = str(clean_module.kanji_to_int(m.group()))
            out += text[pos : m.start()] + digits
            out_starts += starts[pos : m.start()] + [starts[m.start()]] * len(digits)
            out_ends += ends[pos : m.start()] + [ends[m.end() - 1]] * len(digits)
            pos = m.end()
    return out + text[pos:], out_starts + starts[pos:], out_ends + ends[pos:]


def assert_same(text: str) -> None:
    normalized, offsets = normalize_with_offsets(text)
    assert (normalized, offsets) == reference_normalize_with_offsets(text)
    assert normalize(text) == normalized
    assert runs(normalized) == reference_runs(normalized)
    assert index_text(text) == reference_index_text(text)
    ct = clean(text)
    assert (ct.text, list(ct.starts), list(ct.ends)) == reference_clean(text)
    assert len(ct.starts) == len(ct.ends) == len(ct.text)
    if ct.text:  # the lazy offsets answer single items the same as the lists
        assert ct.starts[len(ct.text) - 1] == reference_clean(text)[1][-1]


# ---------------------------------------------------------------- the characters the fast paths lean on


def _codes(ranges: tuple[tuple[int, int], ...]) -> Iterator[int]:
    return (code for lo, hi in ranges for code in range(lo, hi + 1))


def test_characters_taken_as_their_own_fold_are() -> None:
    wrong = [hex(c) for c in _codes(OWN_FOLD_RANGES) if _fold(chr(c)) != chr(c) and chr(c) not in VARIANT_FOLDS]
    assert wrong == []


def test_token_and_separator_ranges_agree_with_the_fts5_classes() -> None:
    assert [hex(c) for c in _codes(TOKEN_RANGES) if not textnorm._is_token_char(chr(c))] == []
    assert [hex(c) for c in _codes(SEPARATOR_RANGES) if textnorm._is_token_char(chr(c))] == []


def test_no_character_folds_to_nothing_and_no_token_character_is_white_space() -> None:
    """What `normalize_mapped` (same length means one to one) and `runs` (split on spaces) rely on."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    assert [hex(ord(ch)) for ch in chars if _fold(ch) == ""] == []
    assert [hex(ord(ch)) for ch in chars if textnorm._is_token_char(ch) and ch.isspace()] == []


# ---------------------------------------------------------------- texts


def _section_texts(paths: list[Path]) -> list[str]:
    texts = []
    for path in paths:
        proposal = parse_file(path)
        texts += [t for t in proposal.sections.values() if t] + [v for v in proposal.opinions.values() if v]
        texts += [proposal.title, "\n".join(proposal.proponents)]
    return texts


def test_same_on_the_real_proposals() -> None:
    texts = _section_texts(iter_proposal_files([ROOT / "proposals"]))
    assert len(texts) > 20
    for text in texts:
        assert_same(text)


def test_same_on_a_synthetic_corpus(tmp_path: Path) -> None:
    texts = _section_texts(generate(150, tmp_path, ROOT / "proposals", seed=3))
    for text in texts:
        assert_same(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ＬＧＷＡＮと㈱…サ－ビス、ｶﾞｯｺｳ　第 9 条\n第1項及び別表第二の三の項",
        "か\u3099は\u309aＡ\u0301 ΣΑΣ Σ İstanbul ß ﬁ ①② ½ ㍻ 髙﨑市 霞ヶ関 〜～ —―‐ LGWAN－ASP",
        "平成元年法律第二十七号 一つ一つ 第二百五十二条の十七の二 昭和元年",
        "条\r\n第1項 項\n　第2号 号\r\r\n第3号",
        "\u3000\u00a0\t ", "a" + "\u0301\u0316" * 40 + "b", "\U0001f600絵文字\U00020b9f𠮷", "\x00\x1f\ud7ff\ue000",
    ],
)
def test_same_on_the_characters_that_take_the_slow_paths(text: str) -> None:
    assert_same(text)


MIXED = st.text(
    alphabet=st.sampled_from(
        list("児童保育農地畑番号法律第条項号一二三十百千元年平成令和がカケヶー－ＬlGgwAN１1。、「」（）()・ 　\n\t")
        + ["\u3099", "\u0301", "ｶ", "ﾞ", "㈱", "…", "Σ", "İ", "①", "髙", "〜", "\u3000"]
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(text=MIXED | st.text(max_size=40))
def test_same_on_random_text(text: str) -> None:
    assert_same(text)

