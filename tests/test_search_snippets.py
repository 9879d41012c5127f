"""Snippets quote the original text and mark what the (normalised) query matched."""

from __future__ import annotations

from kb.search.snippets import ELLIPSIS, best_snippet, highlight, match_spans, plain_snippet, snippet


def test_snippet_marks_full_width_text_matched_by_a_half_width_query() -> None:
    assert highlight("ＬＧＷＡＮを通じた連携", "lgwan") == [("ＬＧＷＡＮ", True), ("を通じた連携", False)]


def test_snippet_marks_variant_characters_as_written() -> None:
    assert highlight("髙﨑市の提案", "高崎") == [("髙﨑", True), ("市の提案", False)]


def test_match_spans_merge_overlapping_terms() -> None:
    assert match_spans("待機児童の解消", ["待機児", "児童"]) == [(0, 4)]


def test_snippet_cuts_a_window_around_the_first_match_with_ellipses() -> None:
    text = "あ" * 200 + "児童" + "い" * 200
    parts = snippet(text, ["児童"], width=30)
    assert parts is not None
    assert parts[0] == (ELLIPSIS, False) and parts[-1] == (ELLIPSIS, False)
    assert ("児童", True) in parts
    assert sum(len(p) for p, _ in parts[1:-1]) == 30


def test_snippet_shows_line_breaks_as_spaces() -> None:
    assert highlight("第一段落。\n\n児童について", "児童") == [("第一段落。 ", False), ("児童", True), ("について", False)]


def test_best_snippet_prefers_the_field_matching_most_terms() -> None:
    fields = [("支障事例", "保育所が足りない"), ("効果", "農地を保育所に転用できる"), ("回答", None)]
    found = best_snippet(fields, "保育 農地")
    assert found is not None and found.label == "効果"


def test_best_snippet_is_none_when_no_field_matches() -> None:
    assert best_snippet([("支障事例", "関係のない文")], "児童") is None


def test_plain_snippet_returns_text_without_marks() -> None:
    assert plain_snippet("待機児童の解消。", "児童") == "待機児童の解消。"
    assert plain_snippet(None, "児童") is None
