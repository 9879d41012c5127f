"""Make sheet PDFs for tests and benchmarks: seed text set in a real, embedded Japanese font.

The PDFs are built here from the seeds' own text, so the tests need no binary fixtures.
Each page gets a running header and a page-number footer, long lines wrap at the right
margin as a real sheet's do, and a sheet longer than a page continues on the next one.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_NAME = "IPAexGothic"
PAGE_HEADER = "内閣府地方分権改革推進室"
LABEL_COLUMN = 150.0  # where the value cell of a table row starts (points from the left margin)
DEBIAN_FONTS = [
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
]
MISSING_FONT = (
    "PDF のテストに使う日本語フォント（TrueType の IPAex/IPA ゴシック）が見つかりません。"
    "`make test` は test 用の依存として japanize-matplotlib（ipaexg.ttf を同梱）を入れます。"
    "手で入れるなら `.venv/bin/pip install -e '.[test]'`、または `apt-get install fonts-ipaexfont-gothic`。"
)


def japanese_font() -> Path:
    """The TrueType Japanese font file, or a clear error: the PDF tests must never skip silently."""
    spec = importlib.util.find_spec("japanize_matplotlib")
    candidates = [Path(p) / "fonts" / "ipaexg.ttf" for p in (spec.submodule_search_locations or [])] if spec else []
    for path in candidates + DEBIAN_FONTS:
        if path.is_file():
            return path
    raise RuntimeError(MISSING_FONT)


def _register_font() -> None:
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(japanese_font())))


def _wrap(line: str, width: float, size: float) -> list[str]:
    """Break a line where it reaches the right margin, character by character (Japanese has no spaces)."""
    out, current = [], ""
    for ch in line:
        if current and pdfmetrics.stringWidth(current + ch, FONT_NAME, size) > width:
            out.append(current)
            current = ""
        current += ch
    out.append(current)
    return out


def write_sheets_pdf(
    path: Path,
    sheets: Sequence[str],
    *,
    size: float = 10.5,
    lines_per_page: int | None = None,
    header: str | None = PAGE_HEADER,
    footer: bool = True,
) -> int:
    """Write each sheet's text starting on a new page; return the number of pages.

    `lines_per_page` forces earlier page breaks, so a short sheet still spans two pages.
    """
    _register_font()
    page_w, page_h = A4
    margin = 56.0
    leading = size * 1.6
    width = page_w - 2 * margin
    fit = int((page_h - 2 * margin - 2 * leading) // leading)
    per_page = min(fit, lines_per_page) if lines_per_page else fit
    canvas = Canvas(str(path), pagesize=A4, pageCompression=1)
    canvas.setTitle("提案募集 個票（テスト用に seed の本文から作成）")
    pages = 0

    def start_page() -> float:
        nonlocal pages
        pages += 1
        if header:
            canvas.setFont(FONT_NAME, 8)
            canvas.drawString(margin, page_h - margin + 14, header)
        canvas.setFont(FONT_NAME, size)
        return page_h - margin - leading

    def end_page() -> None:
        if footer:
            canvas.setFont(FONT_NAME, 8)
            canvas.drawCentredString(page_w / 2, margin - 24, f"- {pages} -")
        canvas.showPage()

    for sheet in sheets:
        y, used = start_page(), 0
        for raw in sheet.split("\n"):
            # a tab makes a table row: the first cell on the left, the rest in a column of its own
            label, tab, value = raw.partition("\t")
            cells = [(label, 0.0), (value.replace("\t", "  "), LABEL_COLUMN)] if tab else [(raw, 0.0)]
            rows: list[list[tuple[str, float]]] = []
            for cell, x in cells:
                for n, piece in enumerate(_wrap(cell, width - x, size) if cell.strip() else [""]):
                    if n >= len(rows):
                        rows.append([])
                    rows[n].append((piece, x))
            for row in rows:
                if used >= per_page:
                    end_page()
                    y, used = start_page(), 0
                for piece, x in row:
                    if piece:
                        canvas.drawString(margin + x, y, piece)
                y -= leading
                used += 1
        end_page()
    canvas.save()
    return pages
