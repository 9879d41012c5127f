"""`kb import`: new files, re-imports, later stages, editors' changes, conflicts, bad input.

Later-stage and cut-off sheets are built from seed 000's own text (its stage word replaced
and its later sections cut off), so they are synthetic re-arrangements of a real sheet.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sheet_shapes import MARKDOWN_0070, PLAIN_0071
from typer.testing import CliRunner

from kb.cli import app
from kb.core.vocab import SectionKey, Stage
from kb.files.check import check_paths
from kb.files.fmt import format_paths
from kb.files.parse import parse_file
from kb.pipeline import CHECKS

REPO = Path(__file__).parent.parent
runner = CliRunner()
MEASURES_SHEET = "マイナンバー制度について、各都道府県と教育委員会間の情報連携を容易にするため、"


def kb_import(*args: object):
    return runner.invoke(app, ["import", *map(str, args)])


def first_answer_sheet(tmp_path: Path) -> Path:
    """Seed 000 as its 第1次回答 sheet would have been: same text, stage changed, later sections cut."""
    text = PLAIN_0071.read_text(encoding="utf-8").replace("デジタル庁 最終的な調整結果", "デジタル庁 第1次回答")
    text = text[: text.index("各府省からの第1次回答を踏まえた提案団体からの見解")]
    path = tmp_path / "r6_0071_first_answer.txt"
    path.write_text(text, encoding="utf-8")
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*.md"))}


def test_import_writes_one_file_per_sheet_that_passes_check_and_fmt(tmp_path):
    out = tmp_path / "proposals"
    result = kb_import(PLAIN_0071, MARKDOWN_0070, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"新規: {out / '2024/0071.md'}" in result.output
    assert sorted(snapshot(out)) == ["2024/0070.md", "2024/0071.md"]
    assert check_paths([out]).ok
    assert format_paths([out], check_only=True) == ([], [])


def test_reimporting_the_same_sheet_changes_nothing(tmp_path):
    out = tmp_path / "proposals"
    kb_import(PLAIN_0071, MARKDOWN_0070, "--out", out)
    before = snapshot(out)
    again = kb_import(MARKDOWN_0070, PLAIN_0071, "--out", out)
    assert again.exit_code == 0, again.output
    assert again.output.count("変更なし") == 2
    assert snapshot(out) == before


def test_committed_seed_proposals_are_what_the_importer_reads(tmp_path):
    """proposals/2024/0070.md and 0071.md came from `kb import`; importing the seeds again changes nothing."""
    out = tmp_path / "proposals"
    shutil.copytree(REPO / "proposals" / "2024", out / "2024")
    before = snapshot(out)
    result = kb_import(PLAIN_0071, MARKDOWN_0070, "--out", out)
    assert result.exit_code == 0, result.output
    assert snapshot(out) == before
    assert check_paths([REPO / "proposals"]).ok


def test_later_stage_adds_its_sections_and_source(tmp_path):
    out = tmp_path / "proposals"
    assert kb_import(first_answer_sheet(tmp_path), "--out", out).exit_code == 0
    early = parse_file(out / "2024/0071.md")
    assert list(early.sections)[-1] is SectionKey.FIRST_ANSWER
    assert early.decision is None
    assert [s.stage for s in early.sources] == [Stage.FIRST_ANSWER]

    result = kb_import(PLAIN_0071, "--out", out)
    assert result.exit_code == 0, result.output
    assert "更新:" in result.output and SectionKey.SECOND_ANSWER.value in result.output
    merged = parse_file(out / "2024/0071.md")
    direct_dir = tmp_path / "direct"
    kb_import(PLAIN_0071, "--out", direct_dir)
    direct = parse_file(direct_dir / "2024/0071.md")
    assert [s.stage for s in merged.sources] == [Stage.FIRST_ANSWER, Stage.FINAL]
    assert merged.model_copy(update={"sources": direct.sources}) == direct


def test_a_later_stage_differing_only_in_a_page_break_is_not_a_conflict(tmp_path):
    """Reported by the harvest tests: the same paragraph broken across pages in one stage's PDF
    (「…除く。)」 / 「など、…」) and not in the next stage's made every later sheet a conflict."""
    out = tmp_path / "proposals"
    early = first_answer_sheet(tmp_path)
    text = early.read_text(encoding="utf-8")
    assert "(独自利用事務を除く。)など" in text
    early.write_text(text.replace("(独自利用事務を除く。)など", "(独自利用事務を除く。)\n\nなど"), encoding="utf-8")
    assert kb_import(early, "--out", out).exit_code == 0
    before = (out / "2024/0071.md").read_text(encoding="utf-8")
    result = kb_import(PLAIN_0071, "--out", out)
    assert result.exit_code == 0, result.output
    after = (out / "2024/0071.md").read_text(encoding="utf-8")
    assert "ファイルと個票で内容が違います" not in result.output
    assert "(独自利用事務を除く。)\n\nなど" in after  # the file's text is kept as it is
    assert SectionKey.SECOND_ANSWER.value in after and after != before


def test_editor_change_survives_reimport_of_the_same_sheet(tmp_path):
    out = tmp_path / "proposals"
    kb_import(PLAIN_0071, "--out", out)
    path = out / "2024/0071.md"
    edited = path.read_text(encoding="utf-8").replace("制度の見直しを求める。", "制度の見直しを求める。（編集者注: 要確認）")
    path.write_text(edited, encoding="utf-8")
    result = kb_import(PLAIN_0071, "--out", out)
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == edited
    assert "編集を残しました" in result.output and SectionKey.MEASURES.value in result.output


def test_conflict_with_a_newer_stage_shows_both_versions_and_writes_nothing(tmp_path):
    out = tmp_path / "proposals"
    kb_import(first_answer_sheet(tmp_path), "--out", out)
    path = out / "2024/0071.md"
    edited = path.read_text(encoding="utf-8").replace(MEASURES_SHEET, "（編集者が書き直した措置の内容）")
    path.write_text(edited, encoding="utf-8")
    result = kb_import(PLAIN_0071, MARKDOWN_0070, "--out", out)
    assert result.exit_code == 1
    assert f"{path}: {SectionKey.MEASURES.value}: ファイルと個票で内容が違います" in result.output
    assert "    （編集者が書き直した措置の内容）" in result.output
    assert f"    {MEASURES_SHEET}" in result.output
    assert "--force" in result.output
    assert path.read_text(encoding="utf-8") == edited
    assert not (out / "2024/0070.md").exists()  # all or nothing


def test_force_takes_the_sheet_version(tmp_path):
    out = tmp_path / "proposals"
    kb_import(first_answer_sheet(tmp_path), "--out", out)
    path = out / "2024/0071.md"
    path.write_text(path.read_text(encoding="utf-8").replace(MEASURES_SHEET, "（編集者版）"), encoding="utf-8")
    result = kb_import(PLAIN_0071, "--out", out, "--force")
    assert result.exit_code == 0, result.output
    assert "（上書き）" in result.output
    assert parse_file(path).sections[SectionKey.MEASURES].startswith(MEASURES_SHEET)


def test_input_that_is_not_a_sheet_writes_nothing(tmp_path):
    out = tmp_path / "proposals"
    guide = tmp_path / "guide.txt"
    guide.write_text("地方公共団体における番号制度の導入ガイドラインのポイント\n\n1 番号制度の概要\n", encoding="utf-8")
    result = kb_import(PLAIN_0071, guide, "--out", out)
    assert result.exit_code == 1
    assert f"{guide}:1: 個票の見出し: 個票の見出し（例:「令和6年 地方分権改革に関する提案募集 提案事項」）が見つかりません" in result.output
    assert "ファイルは1つも書き込みませんでした" in result.output
    assert not out.exists()


def test_sheet_missing_required_fields_names_them_and_writes_nothing(tmp_path):
    text = PLAIN_0071.read_text(encoding="utf-8")
    cut = tmp_path / "cut.txt"
    cut.write_text(text[: text.index("提案団体")], encoding="utf-8")
    result = kb_import(cut, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{cut}:3: 提案団体: 提案団体が見つかりません" in result.output
    assert f"{cut}:3: 制度の所管・関係府省: 制度の所管・関係府省が見つかりません" in result.output
    assert not (tmp_path / "out").exists()


def test_cut_off_sheet_imports_what_is_there_and_later_gets_completed(tmp_path):
    text = PLAIN_0071.read_text(encoding="utf-8")
    cut = tmp_path / "cut.txt"
    cut.write_text(text[: text.index("エラー対応やシステム更新作業等")], encoding="utf-8")
    out = tmp_path / "proposals"
    result = kb_import(cut, "--out", out)
    assert result.exit_code == 0, result.output
    assert "個票が途中で切れています。ない項目: 地域住民や事業者等の具体的な意見・要望、支障事例等" in result.output
    assert list(parse_file(out / "2024/0071.md").sections) == [SectionKey.MEASURES, SectionKey.PROBLEMS]

    full = kb_import(PLAIN_0071, "--out", out)
    assert full.exit_code == 0, full.output
    assert f"{SectionKey.PROBLEMS.value}（続き）" in full.output
    reference = tmp_path / "reference"
    kb_import(PLAIN_0071, "--out", reference)
    assert (out / "2024/0071.md").read_bytes() == (reference / "2024/0071.md").read_bytes()


def test_existing_file_with_problems_is_left_alone(tmp_path):
    out = tmp_path / "proposals"
    kb_import(PLAIN_0071, "--out", out)
    path = out / "2024/0071.md"
    broken = path.read_text(encoding="utf-8").replace("category: B 地方に対する規制緩和", "category: Z")
    path.write_text(broken, encoding="utf-8")
    result = kb_import(PLAIN_0071, "--out", out)
    assert result.exit_code == 1
    assert "既存のファイルに問題があるため取り込みません" in result.output
    assert path.read_text(encoding="utf-8") == broken


@pytest.mark.parametrize("option", ["--source-url", "--url"])  # --url: the earlier name, kept working
def test_source_url_option_records_where_the_sheet_came_from(tmp_path, option):
    out = tmp_path / "proposals"
    url = "https://www.cao.go.jp/bunken-suishin/teianbosyu/doc/r6_digital.pdf"
    assert kb_import(PLAIN_0071, "--out", out, option, url).exit_code == 0
    assert parse_file(out / "2024/0071.md").sources[0].url == url
    assert f"    url: {url}\n" in (out / "2024/0071.md").read_text(encoding="utf-8")
    several = kb_import(PLAIN_0071, MARKDOWN_0070, "--out", out, option, url)
    assert several.exit_code == 2 and "--source-url は入力ファイルが1つのときだけ使えます" in several.output


def test_import_prints_check_problems_of_written_files(tmp_path):
    """A sheet's typo (宮城件 for 宮城県) is imported as printed, and `kb check`'s problem is shown at once."""
    text = PLAIN_0071.read_text(encoding="utf-8")
    assert "\n宮城県、岩手県、" in text
    typo = tmp_path / "typo.txt"
    typo.write_text(text.replace("\n宮城県、岩手県、", "\n宮城件、岩手県、"), encoding="utf-8")
    out = tmp_path / "proposals"
    result = kb_import(typo, "--out", out)
    assert result.exit_code == 0, result.output
    path = out / "2024/0071.md"
    assert f"新規: {path}" in result.output  # written all the same, for the editor to fix
    assert parse_file(path).proponents[0] == "宮城件"
    line = path.read_text(encoding="utf-8").splitlines().index("  - 宮城件") + 1
    assert f"{path}:{line}: proponents.0（提案団体）: 「宮城件」は地方公共団体の一覧にありません（もしかして: 宮城県" in result.output
    assert "書き込んだファイルに kb check の問題が 1 件あります" in result.output
    assert [str(p) for p in check_paths([out], CHECKS).problems] == [
        line for line in result.output.splitlines() if line.startswith(str(path))
    ]


def test_import_of_a_clean_sheet_prints_no_check_problems(tmp_path):
    result = kb_import(PLAIN_0071, "--out", tmp_path / "proposals")
    assert result.exit_code == 0 and "kb check の問題" not in result.output


def test_shift_jis_text_is_read_too(tmp_path):
    sjis = tmp_path / "sjis.txt"
    # CP932 has no 「—」 (U+2014); Windows text prints 「―」 (U+2015), which reads as 「—」 too
    sjis.write_bytes(PLAIN_0071.read_text(encoding="utf-8").replace("—", "―").encode("cp932"))
    out, reference = tmp_path / "sjis_out", tmp_path / "utf8_out"
    assert kb_import(sjis, "--out", out).exit_code == 0
    kb_import(PLAIN_0071, "--out", reference)
    assert snapshot(out) == snapshot(reference)


def test_a_folder_stands_for_its_sheets(tmp_path):
    folder = tmp_path / "sheets"
    folder.mkdir()
    shutil.copy(PLAIN_0071, folder)
    shutil.copy(MARKDOWN_0070, folder)
    result = kb_import(folder, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(snapshot(tmp_path / "out")) == ["2024/0070.md", "2024/0071.md"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("sheet.txt", b"\xff\xfe\xfd\xfc", "UTF-8（または Shift_JIS）のテキストか PDF を指定してください"),
        ("missing.txt", None, "ファイルがありません"),
    ],
)
def test_unreadable_input_is_reported(tmp_path, name, data, message):
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    result = kb_import(path, "--out", tmp_path / "out")
    assert result.exit_code == 1 and message in result.output
