"""PDF → sheet text, with pdfminer.six (pure Python; its layout analysis gives each line's box).

The boxes matter: a line that reaches the right margin was wrapped by the page width and
is joined to the next one, and a taller gap between lines is a paragraph break. So the
text handed to `kb.importer.sheets` has the sheet's own line structure, not the page's. Pages are
separated by form feeds so that page headers and footers can be recognised. Why pdfminer
and not pypdf: docs/import.md (measured there).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTChar, LTPage, LTTextContainer, LTTextLine
from pdfminer.pdfparser import PDFSyntaxError

from kb.importer.sheets.labels import is_label_line

_CID = re.compile(r"\(cid:\d+\)")


class PdfError(Exception):
    """The PDF cannot give text; the message says why, in Japanese."""


@dataclass
class Row:
    """Text on one baseline (table cells on the same row are joined with a tab)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


def _lines(item: object) -> list[LTTextLine]:
    if isinstance(item, LTTextLine):
        return [item]
    if isinstance(item, LTTextContainer) or hasattr(item, "__iter__"):
        out: list[LTTextLine] = []
        for child in item:
            if not isinstance(child, LTChar):
                out += _lines(child)
        return out
    return []


def _size(line: LTTextLine) -> float:
    sizes = [ch.size for ch in line if isinstance(ch, LTChar)]
    return statistics.median(sizes) if sizes else line.height


def _rows(page: LTPage) -> list[Row]:
    lines = [ln for ln in _lines(page) if ln.get_text().strip()]
    lines.sort(key=lambda ln: (-round(ln.y1, 0), ln.x0))
    rows: list[Row] = []
    for ln in lines:
        text, size = ln.get_text().rstrip("\n"), _size(ln)
        same = rows and abs(rows[-1].top - ln.y1) < size * 0.5
        if same:
            row = rows[-1]
            gap = "\t" if ln.x0 - row.x1 > size else ""
            row.text += gap + text
            row.x1 = max(row.x1, ln.x1)
            row.bottom = min(row.bottom, ln.y0)
        else:
            rows.append(Row(text, ln.x0, ln.x1, ln.y1, ln.y0, size))
    return rows


def _page_text(rows: list[Row], right: float) -> str:
    """One page's text; `right` is the text block's right edge over the whole document."""
    if not rows:
        return ""
    steps = [a.top - b.top for a, b in zip(rows, rows[1:]) if a.top > b.top]
    # the usual line pitch: the lower quartile, since blank lines make many steps twice as tall
    leading = sorted(steps)[len(steps) // 4] if steps else rows[0].size * 1.5
    out = rows[0].text
    for prev, row in zip(rows, rows[1:]):
        step = prev.top - row.top
        wrapped = prev.x1 >= right - prev.size * 1.5 and step <= leading * 1.3
        if wrapped and not is_label_line(row.text) and not is_label_line(prev.text):
            out += row.text
        elif step > leading * 1.5:
            out += "\n\n" + row.text
        else:
            out += "\n" + row.text
    return out


def extract_text(path: str | Path) -> str:
    """The PDF's text, page by page (form feed between pages), lines rebuilt from their boxes."""
    try:
        pages = [_rows(page) for page in extract_pages(str(path), laparams=LAParams())]
    except (PDFSyntaxError, ValueError, TypeError, KeyError) as exc:
        raise PdfError(f"PDF として読めません（{type(exc).__name__}）") from None
    # one right edge for all pages: a last page of short lines must not look wrapped
    right = max((row.x1 for rows in pages for row in rows), default=0.0)
    text = "\n\f".join(_page_text(rows, right) for rows in pages)
    if not text.strip():
        raise PdfError("PDF に文字がありません（画像だけの PDF は読めません。OCR でテキストにしてから取り込んでください）")
    if len(_CID.findall(text)) > max(10, len(text) // 50):
        raise PdfError("PDF の文字を Unicode に直せません（フォントに文字の対応表がありません）")
    return text
