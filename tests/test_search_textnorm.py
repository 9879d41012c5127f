"""Search normalisation and bigram queries, checked against a real SQLite FTS5 table."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.db.schema import FTS_TOKENIZER
from kb.search.textnorm import MATCH_NOTHING, bigrams, fts_query, index_text, normalize, normalize_with_offsets, runs


def test_normalize_folds_full_width_and_case() -> None:
    assert normalize("ＬＧＷＡＮ") == normalize("LGWAN") == normalize("lgwan") == "lgwan"
    assert normalize("第１９条") == "第19条"


def test_normalize_folds_variant_characters() -> None:
    assert normalize("髙﨑市") == "高崎市"
    assert normalize("霞ヶ関") == normalize("霞ケ関") == "霞ケ関"


def test_normalize_composes_half_width_katakana_with_voicing_marks() -> None:
    assert normalize("ｶﾞｯｺｳ") == "ガッコウ"
    assert normalize("か\u3099") == "が"


def test_normalize_reads_dash_after_katakana_as_long_vowel() -> None:
    assert normalize("サ－ビス") == normalize("サ‐ビス") == "サービス"
    assert normalize("LGWAN－ASP") == "lgwan-asp"


def test_offsets_point_back_to_the_original_characters() -> None:
    text = "ＬＧＷＡＮと㈱"
    normalized, offsets = normalize_with_offsets(text)
    assert normalized == "lgwanと(株)"
    assert [text[o] for o in offsets] == list("ＬＧＷＡＮと㈱㈱㈱")


def test_runs_split_on_punctuation_and_spaces() -> None:
    assert runs(normalize("待機児童の解消。LGWAN-ASP 利用")) == ["待機児童の解消", "lgwan", "asp", "利用"]


def test_bigrams_end_with_the_last_character_alone() -> None:
    assert bigrams("児童") == ["児童", "童"]
    assert bigrams("畑") == ["畑"]


def test_index_text_is_space_separated_bigrams() -> None:
    assert index_text("待機児童。畑") == "待機 機児 児童 童 畑"


def test_fts_query_makes_phrases_prefixes_and_and() -> None:
    assert fts_query("待機児童") == '"待機 機児 児童"'
    assert fts_query("畑") == '"畑"*'
    assert fts_query("保育　農地") == '"保育" AND "農地"'
    assert fts_query("。、") == MATCH_NOTHING


def _fts(texts: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(f"create virtual table f using fts5(body, tokenize='{FTS_TOKENIZER}', content='')")
    conn.executemany("insert into f (rowid, body) values (?, ?)", [(i, index_text(t)) for i, t in enumerate(texts)])
    return conn


def _match(conn: sqlite3.Connection, query: str) -> set[int]:
    return {r[0] for r in conn.execute("select rowid from f where f match ?", (fts_query(query),))}


def test_phrase_does_not_match_across_punctuation() -> None:
    conn = _fts(["情報の連携", "情報。連携", "情報連携"])
    assert _match(conn, "情報連携") == {2}
    assert _match(conn, "報連") == {2}


def test_one_character_query_finds_a_character_that_only_ends_a_run() -> None:
    conn = _fts(["予定していた畑。", "畑地", "田んぼ"])
    assert _match(conn, "畑") == {0, 1}


def test_punctuation_only_query_matches_nothing() -> None:
    assert _match(_fts(["何か。"]), "。") == set()


JAPANESE = st.text(alphabet="児童保育農地畑番号がカケヶー－ＬlGgwAN１1。、 ", min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(text=JAPANESE, data=st.data())
def test_every_substring_of_a_run_is_found(text: str, data: st.DataObject) -> None:
    found_runs = runs(normalize(text))
    if not found_runs:
        return
    run = data.draw(st.sampled_from(found_runs))
    start = data.draw(st.integers(0, len(run) - 1))
    end = data.draw(st.integers(start + 1, len(run)))
    assert _match(_fts([text]), run[start:end]) == {0}


@settings(max_examples=150, deadline=None)
@given(text=JAPANESE)
def test_offsets_are_in_range_and_never_go_back(text: str) -> None:
    normalized, offsets = normalize_with_offsets(text)
    assert len(offsets) == len(normalized)
    assert offsets == sorted(offsets)
    assert all(0 <= o < len(text) for o in offsets)


@settings(max_examples=150, deadline=None)
@given(text=st.text(min_size=0, max_size=40) | JAPANESE)
def test_normalize_equals_the_offset_tracking_version(text: str) -> None:
    assert normalize(text) == normalize_with_offsets(text)[0]
