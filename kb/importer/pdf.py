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
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

import pdfminer.pdftypes
from pdfminer.cmapdb import FileCMap, FileUnicodeMap
from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTChar, LTPage, LTTextContainer, LTTextLine
from pdfminer.lzw import LZWDecoder
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfinterp import PDFContentParser, PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.psparser import PSBaseParser
from pdfminer.utils import Plane

from kb.importer.sheets.labels import is_label_line

_CID = re.compile(r"\(cid:\d+\)")


class PdfError(Exception):
    """The PDF cannot give text; the message says why, in Japanese."""


# ---------------------------------------------------------------------------------------------
# Limits. A PDF is a program: a few kilobytes can ask for gigabytes (a compressed stream of zeros,
# a form drawing a form drawing a form, a character map of four billion entries). pdfminer.six
# follows whatever the file asks, so reading runs under a budget of work in proportion to the file's
# size, counted in pdfminer's own units (parsing steps, characters drawn, character-map entries,
# forms used); a PDF over it is refused with a reason (PdfError). In proportion to the size, not to
# the pages: a page object is 60 bytes, and a thousand of them can share one costly content stream.
# Units are weighted to cost about the same CPU time: 2 to 3 microseconds, up to 5 on a busy machine. A sheet PDF uses
# about 1.8 units a byte (the seed sheets set over 12 pages, 173 KB: 304,000);
# the budget is 200,000 + 5 a byte: at most about 1 s of CPU plus 2.5 s per 100 KB.
# ---------------------------------------------------------------------------------------------

WORK_BASE = 200_000
WORK_PER_BYTE = 5
STEP_WORK = 3  # one step of pdfminer's tokenizer (a token: 6–7 µs, the costliest unit; fuzz: a 33 KB PDF of tokens took 2.5 s at 1)
CHAR_WORK = 10  # what drawing one character costs (its box, and the layout analysis of the page)
FORM_WORK = 200  # what using a form costs besides parsing it (a sub-interpreter, a figure)
CELLS_PER_WORK = 4  # the layout analysis files each box in the 50-point squares it covers: 4 squares, one unit
TOKEN_BYTES = 1 << 20  # one token (a string, a name) longer than this is not text
CHARS_PER_PAGE = 20_000
CMAP_ENTRIES = 200_000  # character-map entries per document (a full 16-bit range is 65,536)
STREAM_BYTES = 32 << 20  # one decoded stream (an embedded CJK font is up to about 20 MB)
DECODED_BYTES = 128 << 20  # all decoded streams together
PREDICTOR_ROW_BYTES = 1 << 20


class _OverBudget(BaseException):
    """Raised inside pdfminer when a limit is passed. A BaseException, so that pdfminer's own
    `except Exception` recoveries cannot swallow it; `extract_text` turns it into a PdfError."""


@dataclass
class _Budget:
    allowance: int = WORK_BASE  # WORK_BASE + WORK_PER_BYTE × the file's size
    pages: int = 0
    work: int = 0  # pdfminer's parsing steps (a token, a byte it skips, a buffer of a long token) and the rest
    token_bytes: int = 0
    cmap_entries: int = 0
    decoded: int = 0

    @classmethod
    def for_file(cls, size: int) -> _Budget:
        return cls(allowance=WORK_BASE + WORK_PER_BYTE * size)

    def page(self) -> None:
        self.pages += 1

    def spend(self, cost: int = 1) -> None:
        self.work += cost
        if self.work > self.allowance:
            raise _OverBudget(
                f"PDF の処理が多すぎます（{self.pages} ページまでで {self.work:,} 手順。"
                f"この大きさの PDF は {self.allowance:,} 手順までです）"
            )

    def token(self) -> None:
        self.token_bytes = 0

    def chunk(self, size: int) -> None:
        self.token_bytes += size
        if self.token_bytes > TOKEN_BYTES:
            raise _OverBudget(f"PDF の中に長すぎる値があります（{TOKEN_BYTES >> 20} MB 以上）")

    def cmap_entry(self) -> None:
        self.spend()
        self.cmap_entries += 1
        if self.cmap_entries > CMAP_ENTRIES:
            raise _OverBudget(f"PDF のフォントの文字の対応表が大きすぎます（{CMAP_ENTRIES:,} 項目以上）")

    def room(self) -> int:
        """Bytes one more stream may decode to."""
        return max(0, min(STREAM_BYTES, DECODED_BYTES - self.decoded))

    def decode(self, size: int) -> None:
        if size > STREAM_BYTES or self.decoded + size > DECODED_BYTES:
            raise _OverBudget(
                f"PDF の圧縮されたデータを展開すると大きすぎます（1 つ {STREAM_BYTES >> 20} MB、"
                f"合わせて {DECODED_BYTES >> 20} MB まで）"
            )
        self.decoded += size


class _BoundedZlib:
    """Stands in for the zlib module inside pdfminer.pdftypes: decompression stops at the budget."""

    error = zlib.error

    def __init__(self, budget: _Budget):
        self.budget = budget

    def decompress(self, data: bytes) -> bytes:
        room = self.budget.room()
        d = zlib.decompressobj()
        out = d.decompress(data, room + 1)
        self.budget.decode(len(out))
        if not d.eof:  # as zlib.decompress: pdfminer then recovers what it can (_decompress_corrupted)
            raise zlib.error("incomplete or truncated stream")
        return out

    def decompressobj(self, *args: Any, **kwargs: Any) -> Any:
        return zlib.decompressobj(*args, **kwargs)


def _decompress_corrupted(budget: _Budget) -> Callable[[bytes], bytes]:
    """pdfminer's recovery of a damaged zlib stream (everything before the damage, if it is in the
    last bytes, the checksum), in linear time: pdfminer's own feeds one byte at a time into a
    growing bytes object, quadratic in the stream's length."""

    def decompress(data: bytes) -> bytes:
        d = zlib.decompressobj()
        out: list[bytes] = []
        size, room = 0, budget.room()
        i, step = 0, 4096
        while i < len(data) and not d.eof:
            chunk = data[i : i + step]
            saved = d.copy()
            try:
                part = d.decompress(chunk, room - size + 1)
            except zlib.error:
                if step == 1:
                    if i < len(data) - 3:  # damaged before the checksum: pdfminer keeps nothing
                        raise
                    break
                d, step = saved, 1  # again from before this chunk, a byte at a time, to keep all before the damage
                continue
            size += len(part)
            if size > room or d.unconsumed_tail:
                budget.decode(room + 1)  # over: raises
            out.append(part)
            i += len(chunk)
        budget.decode(size)
        return b"".join(out)

    return decompress


def _lzwdecode(budget: _Budget) -> Callable[[bytes], bytes]:
    def decode(data: bytes) -> bytes:
        out: list[bytes] = []
        size = 0
        room = budget.room()
        for part in LZWDecoder(BytesIO(data)).run():
            size += len(part)
            if size > room:
                budget.decode(size)
            out.append(part)
        budget.decode(size)
        return b"".join(out)

    return decode


def _rldecode(budget: _Budget) -> Callable[[bytes], bytes]:
    """RunLengthDecode (PDF 1.7, 7.4.5) in linear time, within the budget; a cut-off run ends the data."""

    def decode(data: bytes) -> bytes:
        out = bytearray()
        room = budget.room()
        i = 0
        while i < len(data):
            length = data[i]
            if length == 128:
                break
            if length < 128:
                out += data[i + 1 : i + 2 + length]
                i += 2 + length
            else:
                out += data[i + 1 : i + 2] * (257 - length)
                i += 2
            if len(out) > room:
                budget.decode(len(out))
        budget.decode(len(out))
        return bytes(out)

    return decode


def _predictor(original: Callable[..., bytes]) -> Callable[..., bytes]:
    """pdfminer's predictors allocate a row of `Columns` first: a row past 1 MB is refused."""

    def apply(*args: Any) -> bytes:
        colors, columns, bits = (int(a) for a in args[-4:-1])
        if colors < 1 or columns < 1 or colors * columns * max(bits, 1) > 8 * PREDICTOR_ROW_BYTES:
            raise _OverBudget(f"PDF のデータの幅が読めません（Columns {columns}、Colors {colors}）")
        return original(*args)

    return apply


def _no_image(data: bytes, *args: Any) -> bytes:
    """CCITT fax data is an image: text extraction never needs it (and it may decode to gigabytes)."""
    return b""


_PATCH_LOCK = threading.Lock()


@contextmanager
def _limits(budget: _Budget) -> Iterator[None]:
    """pdfminer.six with `budget` counted: its decoders and parsers replaced or wrapped while reading.

    Module globals and class attributes of pdfminer are swapped and restored: one PDF at a time.
    """
    pdftypes: Any = pdfminer.pdftypes
    token, base_fill, content_fill = PSBaseParser.nexttoken, PSBaseParser.fillbuf, PDFContentParser.fillbuf
    unicode_add, cmap_add = FileUnicodeMap.add_cid2unichr, FileCMap.add_code2cid
    squares_of = Plane._getrange

    def counted_token(self: PSBaseParser) -> Any:
        budget.token()
        return token(self)

    def counted_fill(fill: Callable[[Any], bool]) -> Callable[[Any], bool]:
        # the tokenizer calls fillbuf once per step, whether it reads or not
        def wrapper(self: Any) -> bool:
            budget.spend(STEP_WORK)
            before = self.buf
            changed = fill(self)
            if self.buf is not before:
                budget.chunk(len(self.buf))
            return changed

        return wrapper

    def counted_squares(self: Plane[Any], bbox: tuple[float, float, float, float]) -> Iterator[tuple[float, float]]:
        # A box's squares are bounded only by the page: a page 10 billion points tall (or a character
        # that size) makes each box cover millions of them, and ten characters take minutes.
        x0, y0, x1, y1 = bbox
        width = min(self.x1, x1) - max(self.x0, x0)
        height = min(self.y1, y1) - max(self.y0, y0)
        if width > 0 and height > 0:
            squares = (width / self.gridsize + 2) * (height / self.gridsize + 2)
            budget.spend(int(squares) // CELLS_PER_WORK if squares < 1e15 else 1 << 62)  # 1e15: inf and nan too
        return squares_of(self, bbox)

    def counted_unicode(self: FileUnicodeMap, cid: int, code: Any) -> None:
        budget.cmap_entry()
        unicode_add(self, cid, code)

    def counted_cmap(self: FileCMap, code: str, cid: int) -> None:
        budget.cmap_entry()
        cmap_add(self, code, cid)

    swaps: list[tuple[object, str, object]] = [
        (pdftypes, "zlib", _BoundedZlib(budget)),
        (pdftypes, "decompress_corrupted", _decompress_corrupted(budget)),
        (pdftypes, "lzwdecode", _lzwdecode(budget)),
        (pdftypes, "rldecode", _rldecode(budget)),
        (pdftypes, "apply_png_predictor", _predictor(pdftypes.apply_png_predictor)),
        (pdftypes, "apply_tiff_predictor", _predictor(pdftypes.apply_tiff_predictor)),
        (pdftypes, "ccittfaxdecode", _no_image),
        (PSBaseParser, "nexttoken", counted_token),
        (PSBaseParser, "fillbuf", counted_fill(base_fill)),
        (PDFContentParser, "fillbuf", counted_fill(content_fill)),
        (FileUnicodeMap, "add_cid2unichr", counted_unicode),
        (FileCMap, "add_code2cid", counted_cmap),
        (Plane, "_getrange", counted_squares),
    ]
    with _PATCH_LOCK:
        saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in swaps]
        try:
            for owner, name, value in swaps:
                setattr(owner, name, value)
            yield
        finally:
            for owner, name, value in saved:
                setattr(owner, name, value)


class _Aggregator(PDFPageAggregator):
    """The page layout, with a limit on the characters one page may draw."""

    def __init__(self, rsrcmgr: PDFResourceManager, laparams: LAParams, budget: _Budget):
        super().__init__(rsrcmgr, laparams=laparams)
        self.budget = budget
        self.chars = 0

    def begin_page(self, page: PDFPage, ctm: Any) -> None:
        self.chars = 0
        super().begin_page(page, ctm)

    def render_char(self, *args: Any, **kwargs: Any) -> float:
        self.budget.spend(CHAR_WORK)
        self.chars += 1
        if self.chars > CHARS_PER_PAGE:
            raise _OverBudget(f"PDF の 1 ページの文字が多すぎます（{CHARS_PER_PAGE:,} 字まで）")
        return super().render_char(*args, **kwargs)


class _Interpreter(PDFPageInterpreter):
    """Counts each use of a form: nested forms multiply (a form drawing another form 40 times, 8 deep)."""

    def do_Do(self, xobjid_arg: Any) -> None:
        budget = getattr(self.device, "budget", None)
        if isinstance(budget, _Budget):
            budget.spend(FORM_WORK)
        super().do_Do(xobjid_arg)


_ENCRYPTED = "暗号化された PDF は読めません（パスワードを外して保存し直してから取り込んでください）"


def _layouts(fp: BinaryIO, budget: _Budget) -> Iterator[LTPage]:
    """Each page's layout; anything pdfminer raises on a broken file becomes a PdfError.

    Boxes are not grouped into a reading order (`boxes_flow=None`): only lines are used here, and
    the grouping is the one step whose time grows with the square of a page's text boxes.
    """
    try:
        rsrcmgr = PDFResourceManager(caching=True)
        device = _Aggregator(rsrcmgr, LAParams(boxes_flow=None), budget)
        interpreter = _Interpreter(rsrcmgr, device)
        for page in PDFPage.get_pages(fp):
            budget.page()
            interpreter.process_page(page)
            yield device.get_result()
    except (PDFEncryptionError, PDFPasswordIncorrect):
        raise PdfError(_ENCRYPTED) from None
    except Exception as exc:  # noqa: BLE001 - a broken file makes pdfminer raise anything (IndexError, …)
        raise PdfError(f"PDF として読めません（{type(exc).__name__}）") from None


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
    """The PDF's text, page by page (form feed between pages), lines rebuilt from their boxes.

    PdfError when the file is not a readable PDF or passes a limit (see `_Budget`).
    """
    try:
        budget = _Budget.for_file(Path(path).stat().st_size)
    except OSError as exc:
        raise PdfError(f"PDF を開けません（{exc.strerror or type(exc).__name__}）") from None
    try:
        with _limits(budget), open(path, "rb") as fp:
            pages = [_rows(page) for page in _layouts(fp, budget)]
    except _OverBudget as exc:
        raise PdfError(str(exc)) from None
    # one right edge for all pages: a last page of short lines must not look wrapped
    right = max((row.x1 for rows in pages for row in rows), default=0.0)
    text = "\n\f".join(_page_text(rows, right) for rows in pages)
    if not text.strip():
        raise PdfError("PDF に文字がありません（画像だけの PDF は読めません。OCR でテキストにしてから取り込んでください）")
    if len(_CID.findall(text)) > max(10, len(text) // 50):
        raise PdfError("PDF の文字を Unicode に直せません（フォントに文字の対応表がありません）")
    return text
