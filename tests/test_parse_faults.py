"""Linter-style table: each broken file and exactly what `kb check` must say about it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.files.check import check_paths

BROKEN = Path(__file__).parent / "fixtures" / "broken"

FAULTS: list[tuple[str, list[tuple[int, str, str]]]] = [
    ("yaml_syntax", [(7, "front matter", "YAML の書き方が正しくありません: [ で始めたリストが ] で閉じられていません")]),
    ("no_front_matter", [(1, "front matter", "ファイルの先頭に「---」で囲んだ front matter (YAML) がありません")]),
    ("missing_title", [(1, "title（提案事項）", "必須の項目がありません")]),
    ("number_not_integer", [(4, "number（管理番号）", "整数で書いてください（「七十一」）")]),
    (
        "category_unknown",
        [(7, "category（提案区分）", "「C 規制強化」は使えません。使える値: A 権限移譲 / B 地方に対する規制緩和")],
    ),
    (
        "heading_unknown",
        [
            (
                34,
                "見出し",
                "知らない見出しです: 「具体的な支障事列」（もしかして: 具体的な支障事例、地域住民や事業者等の具体的な意見・要望、支障事例等）",
            )
        ],
    ),
    ("section_duplicate", [(52, "根拠法令等", "同じ節が2回あります")]),
    ("section_out_of_order", [(30, "根拠法令等", "節の順序が違います: 「制度改正による効果」の後に置いてください")]),
    ("fullwidth_digits", [(4, "number（管理番号）", "全角数字が使われています: 「７１」→「71」と半角で書いてください")]),
    ("key_unknown", [(9, "themes", "知らない項目です（もしかして: theme、sheet_ministry）")]),
    (
        "association_unknown",
        [(71, "見出し", "意見欄の小見出しは「### 団体名」（全国知事会、全国市長会、全国町村会）です: 「全国市町会」")],
    ),
    ("section_empty", [(44, "制度改正による効果", "本文が空です。公表された内容がないときは「—」と書きます")]),
    ("text_before_first_heading", [(30, "本文", "最初の「## 見出し」より前に本文があります")]),
    ("date_invalid", [(22, "decision.date（閣議決定日）", "日付は YYYY-MM-DD で書いてください（「2024-13-45」）")]),
    (
        "outcome_unknown",
        [
            (
                23,
                "decision.outcome（対応結果）",
                "「実現した」は使えません。使える値: 提案の趣旨を踏まえ対応 / 現行規定により対応可能 / 実現できなかったもの / 対応方針に記載なし / 未決定",
            )
        ],
    ),
    ("subheading_outside_opinions", [(36, "見出し", "「### 経緯」は使えません。小見出しは意見欄の団体名だけです")]),
    ("proponents_empty", [(10, "proponents（提案団体）", "空です。少なくとも1つ書いてください")]),
    ("level_one_heading", [(30, "見出し", "「# 提案」は使えません。節は「## 見出し」で書きます")]),
    (
        "stage_unknown",
        [(25, "sources.0.stage（段階）", "「第3次回答」は使えません。使える値: 提案 / 第1次回答 / 第2次回答 / 最終的な調整結果")],
    ),
]


@pytest.mark.parametrize(("name", "expected"), FAULTS, ids=[name for name, _ in FAULTS])
def test_check_reports_fault_at_line(name: str, expected: list[tuple[int, str, str]]) -> None:
    result = check_paths([BROKEN / f"{name}.md"])
    assert [(p.line, p.field, p.message) for p in result.problems] == expected
    assert all(p.path.endswith(f"{name}.md") for p in result.problems)


def test_every_broken_fixture_is_in_the_table() -> None:
    assert sorted(p.stem for p in BROKEN.glob("*.md")) == sorted(name for name, _ in FAULTS)


def test_check_reports_file_name_that_differs_from_number(fixtures: Path) -> None:
    result = check_paths([fixtures / "broken_path"])
    assert [(p.line, p.field, p.message) for p in result.problems] == [
        (4, "number（管理番号）", "ファイル名「0072.md」と管理番号「71」が一致しません（「0071.md」にしてください）")
    ]


def test_check_reports_all_files_at_once() -> None:
    result = check_paths([BROKEN])
    assert len({p.path for p in result.problems}) == len(FAULTS)


def test_check_reports_duplicate_id_across_folders(tmp_path: Path, fixtures: Path) -> None:
    text = (fixtures / "valid" / "2024" / "0071.md").read_text()
    for folder in ("a", "b"):
        (tmp_path / folder / "2024").mkdir(parents=True)
        (tmp_path / folder / "2024" / "0071.md").write_text(text)
    result = check_paths([tmp_path])
    assert [(p.field, p.message) for p in result.problems] == [("id", "提案 2024-0071 は " + str(tmp_path / "a/2024/0071.md") + " にもあります")]
