"""`kb new --from SHEET`: a new proposal file started from a sheet's content, never over an existing file."""

from __future__ import annotations

from pathlib import Path

from sheet_shapes import MARKDOWN_0070, PLAIN_0071
from typer.testing import CliRunner

from kb.cli import app
from kb.files.parse import parse_file
from kb.pipeline import check

runner = CliRunner()


def kb(*args: object):
    return runner.invoke(app, [*map(str, args)])


def test_new_from_sheet_writes_what_import_would_and_names_the_file(tmp_path: Path) -> None:
    out = tmp_path / "proposals"
    result = kb("new", "--from", PLAIN_0071, "--dir", out)
    assert result.exit_code == 0, result.output
    path = out / "2024" / "0071.md"
    assert result.output.strip() == f"新規: {path}"
    reference = tmp_path / "imported"
    kb("import", PLAIN_0071, "--out", reference)
    assert path.read_text(encoding="utf-8") == (reference / "2024" / "0071.md").read_text(encoding="utf-8")
    assert check([out]).ok


def test_new_from_sheet_takes_year_and_number_that_match_and_a_source_url(tmp_path: Path) -> None:
    out = tmp_path / "proposals"
    url = "https://www.cao.go.jp/bunken-suishin/teianbosyu/doc/r6_digital.pdf"
    result = kb("new", "2024", "71", "--from", PLAIN_0071, "--dir", out, "--source-url", url)
    assert result.exit_code == 0, result.output
    assert parse_file(out / "2024" / "0071.md").sources[0].url == url


def test_new_from_sheet_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "proposals"
    path = out / "2024" / "0071.md"
    path.parent.mkdir(parents=True)
    path.write_text("編集者の書きかけ\n", encoding="utf-8")
    result = kb("new", "--from", PLAIN_0071, "--dir", out)
    assert result.exit_code == 1
    assert f"{path}: ファイル: すでにあります。上書きしません（後の段階の個票を足すときは kb import を使います）" in result.output
    assert path.read_text(encoding="utf-8") == "編集者の書きかけ\n"


def test_new_from_sheet_with_other_year_and_number_names_both(tmp_path: Path) -> None:
    out = tmp_path / "proposals"
    result = kb("new", "2025", "12", "--from", PLAIN_0071, "--dir", out)
    assert result.exit_code == 1
    assert "個票は提案 2024-0071 で、指定された 2025-0012 と一致しません" in result.output
    assert not out.exists()


def test_new_from_sheet_with_several_proposals_needs_year_and_number(tmp_path: Path) -> None:
    both = tmp_path / "both.txt"
    both.write_text(PLAIN_0071.read_text(encoding="utf-8") + MARKDOWN_0070.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "proposals"
    unchosen = kb("new", "--from", both, "--dir", out)
    assert unchosen.exit_code == 1
    assert "個票に 2 件の提案（2024-0071、2024-0070）があります。作る提案の年と管理番号を指定してください" in unchosen.output
    assert not out.exists()
    chosen = kb("new", "2024", "70", "--from", both, "--dir", out)
    assert chosen.exit_code == 0, chosen.output
    assert sorted(p.name for p in (out / "2024").iterdir()) == ["0070.md"]


def test_new_from_input_that_is_not_a_sheet_writes_nothing(tmp_path: Path) -> None:
    guide = tmp_path / "guide.txt"
    guide.write_text("地方公共団体における番号制度の導入ガイドラインのポイント\n", encoding="utf-8")
    out = tmp_path / "proposals"
    result = kb("new", "--from", guide, "--dir", out)
    assert result.exit_code == 1
    assert "個票の見出し" in result.output and "ファイルは作りませんでした" in result.output
    assert not out.exists()


def test_new_from_sheet_prints_check_problems_of_the_file(tmp_path: Path) -> None:
    typo = tmp_path / "typo.txt"
    typo.write_text(PLAIN_0071.read_text(encoding="utf-8").replace("\n宮城県、岩手県、", "\n宮城件、岩手県、"), encoding="utf-8")
    out = tmp_path / "proposals"
    result = kb("new", "--from", typo, "--dir", out)
    assert result.exit_code == 0, result.output
    assert "「宮城件」は地方公共団体の一覧にありません（もしかして: 宮城県" in result.output
    assert (out / "2024" / "0071.md").exists()


def test_new_needs_year_and_number_or_a_sheet(tmp_path: Path) -> None:
    for args in (["new"], ["new", "2025"], ["new", "2024", "--from", str(PLAIN_0071)]):
        result = runner.invoke(app, [*args, "--dir", str(tmp_path / "proposals")])
        assert result.exit_code == 2 and "年と管理番号を両方指定してください" in result.output
    assert not (tmp_path / "proposals").exists()
