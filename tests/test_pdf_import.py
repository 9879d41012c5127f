"""PDF input: sheets set in a real embedded Japanese font (IPAex Gothic) read like their text.

The PDFs are made by `tests/sheet_pdfs.py` from the seed text: long lines wrap at the
margin, every page has a running header and a page-number footer, and each sheet runs
over several pages. A missing font fails these tests with a message; it never skips them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from sheet_pdfs import PAGE_HEADER, japanese_font, write_sheets_pdf
from sheet_shapes import MARKDOWN_0070, PLAIN_0071, values_beside_labels
from typer.testing import CliRunner

from kb.cli import app
from kb.core.vocab import SectionKey
from kb.importer.pdf import PdfError, extract_text
from kb.importer.sheets import read_sheets

SEEDS = [PLAIN_0071, MARKDOWN_0070]


def models(text: str):
    result = read_sheets(text)
    assert result.problems == []
    return [s.proposal for s in result.sheets]


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in SEEDS]


@pytest.fixture(scope="module")
def two_sheet_pdf(tmp_path_factory, seed_texts) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("pdf") / "r6_final.pdf"
    pages = write_sheets_pdf(path, seed_texts)
    return path, pages


def test_the_test_font_is_a_real_japanese_truetype_font():
    font = japanese_font()
    assert font.suffix == ".ttf" and font.stat().st_size > 1_000_000


def test_pdf_with_two_sheets_reads_like_their_text(two_sheet_pdf, seed_texts):
    path, pages = two_sheet_pdf
    assert pages >= 4
    from_pdf = models(extract_text(path))
    assert [p.id for p in from_pdf] == ["2024-0071", "2024-0070"]
    assert from_pdf == [models(text)[0] for text in seed_texts]


def test_pdf_laid_out_as_a_table_reads_like_the_text(tmp_path, seed_texts):
    """Short values in a cell right of their label (the header table of a real sheet), wrapping inside it."""
    path = tmp_path / "table.pdf"
    write_sheets_pdf(path, [values_beside_labels(text) for text in seed_texts])
    text = extract_text(path)
    assert "提案団体\t宮城県、" in text
    assert "提案事項(事項名)\t都道府県と教育委員会が一つの自治体中間サーバーを利用することを可能とすること\n" in text
    assert models(text) == [models(t)[0] for t in seed_texts]


def test_pdf_page_headers_and_footers_stay_out_of_the_text(two_sheet_pdf):
    text = extract_text(two_sheet_pdf[0])
    assert text.count(PAGE_HEADER) == two_sheet_pdf[1]  # extracted, then dropped by the reader
    for proposal in models(text):
        dumped = str(proposal.model_dump())
        assert PAGE_HEADER not in dumped
        assert "- 2 -" not in dumped


def test_sheet_over_two_pages_breaking_mid_sentence(tmp_path, seed_texts):
    path = tmp_path / "split.pdf"
    # 40 lines a page: the page breaks inside 具体的な支障事例, in the middle of a word (重複|する)
    assert write_sheets_pdf(path, [seed_texts[0]], lines_per_page=40) >= 2
    text = extract_text(path)
    first_page = text.split("\f")[0]
    assert first_page.rstrip().endswith("重複す\n\n- 1 -")
    [proposal] = models(text)
    assert proposal == models(seed_texts[0])[0]
    assert proposal.sections[SectionKey.PROBLEMS].count("\n\n") == 1


def test_kb_import_of_a_pdf_writes_the_same_files_as_the_text(tmp_path, two_sheet_pdf):
    runner = CliRunner()
    from_pdf, from_text = tmp_path / "pdf", tmp_path / "text"
    result = runner.invoke(app, ["import", str(two_sheet_pdf[0]), "--out", str(from_pdf)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["import", *map(str, SEEDS), "--out", str(from_text)])
    assert result.exit_code == 0, result.output
    for name in ("2024/0070.md", "2024/0071.md"):
        assert (from_pdf / name).read_text(encoding="utf-8") == (from_text / name).read_text(encoding="utf-8")


def test_pdf_that_is_not_a_sheet_names_the_page_and_what_is_missing(tmp_path):
    path = tmp_path / "guide.pdf"
    write_sheets_pdf(path, ["地方公共団体における番号制度の導入ガイドラインのポイント\n\n番号制度の概要です。"])
    result = CliRunner().invoke(app, ["import", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "guide.pdf:1ページ: 個票の見出し:" in result.output
    assert not (tmp_path / "out").exists()


def test_pdf_without_text_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "scan.pdf"
    canvas = Canvas(str(path), pagesize=A4)
    canvas.rect(100, 100, 200, 200, fill=1)
    canvas.showPage()
    canvas.save()
    with pytest.raises(PdfError, match="画像だけの PDF"):
        extract_text(path)


def test_file_that_is_not_a_pdf_is_refused(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"this is not a pdf at all")
    with pytest.raises(PdfError, match="PDF として読めません"):
        extract_text(path)
