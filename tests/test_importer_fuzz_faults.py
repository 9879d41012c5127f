"""Faults the fuzzer (benchmarks/fuzz.py) found in `kb import`, each kept as the input that showed it.

Every hostile input must end as problems or warnings in the report (or a ProblemError), in time
linear in its size: never an exception, never a hang. The inputs are the seed sheets with the
fuzzer's change made by hand, reduced to what shows the fault.
"""

from __future__ import annotations

import resource
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sheet_pdfs import write_sheets_pdf
from sheet_shapes import MARKDOWN_0070, PLAIN_0071

from kb.importer.merge import plan_import
from kb.importer.pdf import PdfError, extract_text
from kb.importer.sheets import read_sheets

SEED = PLAIN_0071.read_text(encoding="utf-8")
DECISION_DATE = "(令和6年12月24日閣議決定)"


def _import(tmp_path: Path, text: str, name: str = "sheet.txt"):
    sheet = tmp_path / name
    sheet.write_text(text, encoding="utf-8")
    return plan_import([sheet], tmp_path / "proposals")


@pytest.mark.parametrize(
    "printed",
    [
        "(令和6年13月45日閣議決定)",  # ValueError in datetime.date: month must be in 1..12
        "(令和6年2月30日閣議決定)",
        "(令和6年0月0日閣議決定)",
    ],
)
def test_impossible_decision_date_is_a_warning_not_a_crash(tmp_path, printed):
    assert DECISION_DATE in SEED
    report = _import(tmp_path, SEED.replace(DECISION_DATE, printed))
    assert report.problems == []
    [change] = report.files
    assert change.proposal.decision is None or change.proposal.decision.date is None
    assert any("閣議決定日" in w and printed.strip("()") in w for w in report.warnings), report.warnings


def test_era_year_of_thousands_of_digits_is_not_a_sheet_heading(tmp_path):
    # int() refuses more than 4,300 digits (ValueError); an era year has one or two
    heading = "令和6年 地方分権改革に関する提案募集 提案事項"
    assert heading in SEED
    report = _import(tmp_path, SEED.replace(heading, heading.replace("6", "1" * 5000)))
    assert report.files == []
    assert [p.field for p in report.problems] == ["個票の見出し"]


@pytest.mark.parametrize("digits", [20, 5000])
def test_decision_date_with_an_era_year_of_many_digits_is_no_date(tmp_path, digits):
    # 20 digits: OverflowError in datetime.date; 5,000: ValueError in int()
    report = _import(tmp_path, SEED.replace(DECISION_DATE, f"(令和{'9' * digits}年12月24日閣議決定)"))
    assert report.problems == []
    [change] = report.files
    assert change.proposal.decision is None or change.proposal.decision.date is None


@pytest.mark.parametrize("digits", [5, 300, 5000])
def test_number_too_long_for_a_file_name_is_a_problem(tmp_path, digits):
    # 管理番号 names the file (<year>/<4 digits>.md): 300 digits is a name the OS refuses,
    # 5,000 digits more than int() reads
    number = "1" * digits
    assert "(管理番号\t71)" in SEED
    report = _import(tmp_path, SEED.replace("(管理番号\t71)", f"(管理番号\t{number})"))
    assert report.files == []
    assert any("管理番号" in p.field and "4桁" in p.message for p in report.problems), report.problems


def _seconds(fn) -> float:
    """CPU seconds, not wall time: the suite may share the machine (quadratic here is minutes of CPU)."""
    start = time.process_time()
    fn()
    return time.process_time() - start


@pytest.mark.parametrize(
    "run",
    [
        " " * 50_000,  # a line indented by a run of spaces (labels and bullets searched after every space)
        "\u3000" * 50_000 + "x",
        "\t \t" * 20_000 + "○",
        "-" * 50_000 + "x",  # almost a table rule
    ],
    ids=["spaces", "ideographic-spaces", "tabs-before-bullet", "rule-then-text"],
)
def test_long_runs_of_spaces_or_rules_are_read_in_linear_time(run):
    # quadratic matching of a 50,000-character run takes minutes; linear takes milliseconds
    text = SEED.replace("\n具体的な支障事例\n", f"\n具体的な支障事例\n{run}\n", 1)
    text = text.replace("\n【全国知事会】\n", f"\n{run}【全国知事会】\n", 1)
    assert _seconds(lambda: read_sheets(text)) < 2.0


@pytest.mark.parametrize("line", ["a", "あ", "\x0b"], ids=["ascii-words", "kana", "vertical-tabs"])
def test_paragraph_of_thousands_of_short_lines_is_joined_in_linear_time(line):
    # found by the fuzzer: a sheet with one line repeated 4,006 times (2 CPU s). Each joined line
    # searched the whole paragraph so far for its end (quadratic: 20,000 lines of "a" took 6 s)
    from kb.importer.sheets.cleanup import blocks

    text = "x\n" + (line + "\n") * 20_000
    result: list[str] = []
    assert _seconds(lambda: result.extend(blocks(text))) < 1.0
    assert result == ["x" + (" " if line == "a" else "") + (" ".join if line == "a" else "".join)([line] * 20_000)]


def test_paragraph_joined_line_by_line_keeps_sentence_ends_marks_and_spaces():
    from kb.importer.sheets.cleanup import blocks

    lines = ["前文。」", "」", "次の文", "ABC", "def", "。", "な", "し", "—", "続き", "\x0b", "\x0b", "—", "後"]
    assert blocks("\n".join(lines)) == ["前文。」", "」次の文ABC def。", "なし", "—", "続き\x0b\x0b—後"]
    # a mark with whitespace (not spaces, which lines lose) around it is still a mark, and ends its paragraph
    lines = ["\x0b", "\x0b\x0b\x0bな", "し\x0b\x0b\x0b", "\x0b", "続き", "ー\x0c\x0c\x0c\x0c", "後", "x\x0b\x0b\x0b", "-", "末"]
    assert blocks("\n".join(lines)) == ["\x0b\x0b\x0b\x0bなし\x0b\x0b\x0b", "\x0b続きー\x0c\x0c\x0c\x0c後x\x0b\x0b\x0b-末"]


def test_pdf_with_thousands_of_broken_sheets_reports_them_in_linear_time(tmp_path, monkeypatch):
    # each problem's page was found by splitting the whole text again: quadratic in the number of sheets
    import kb.importer.merge as merge

    heading = "令和6年 地方分権改革に関する提案募集 提案事項\n"
    text = "\n\f".join(heading * 20 for _ in range(1000))  # 20,000 sheets without a ministry line, 1,000 pages
    monkeypatch.setattr(merge, "extract_text", lambda path: text)
    pdf = tmp_path / "many.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    report = None

    def run() -> None:
        nonlocal report
        report = plan_import([pdf], tmp_path / "proposals")

    assert _seconds(run) < 2.0
    assert report is not None and len(report.problems) == 20_000
    assert {p.page for p in report.problems} == set(range(1, 1001))


# --- PDF bytes ---------------------------------------------------------------------------------
# pdfminer.six raises whatever a broken file leads it to (PSEOF, AssertionError, RecursionError, …)
# and follows whatever a file asks (decompress gigabytes, draw a form 40⁸ times): `kb import` must
# turn both into a PdfError with a reason, within seconds (the budget grows with the file's size: about
# 1 CPU s + 2.5 s per 100 KB at worst; the costliest file here, 93 KB, takes 2.9–3.4 CPU s on a busy 2-core
# machine; 5 s allowed, a hang is minutes) and well under 500 MB.


def _pdf(objects: list[bytes], *, trailer: bytes = b"") -> bytes:
    """A PDF whose object n is objects[n-1], with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def _stream(data: bytes, attrs: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), attrs) + data + b"\nendstream"


def _page(content: bytes, resources: bytes = b"/Font << /F1 4 0 R >>") -> list[bytes]:
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << %s >> /Contents 5 0 R >>" % resources,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        content,
    ]


def _form(body: bytes, resources: bytes) -> bytes:
    return _stream(body, b"/Type /XObject /Subtype /Form /BBox [0 0 500 500] /Resources << %s >> " % resources)


def _nested_forms(depth: int, fanout: int) -> bytes:
    """A page drawing form 0, which draws form 1 `fanout` times, …: fanout ** depth uses of the last."""
    objects = _page(_stream(b"/Fm0 Do"), b"/Font << /F1 4 0 R >> /XObject << /Fm0 6 0 R >>")
    for d in range(depth):
        last = d == depth - 1
        body = b"BT /F1 9 Tf 10 10 Td (abc) Tj ET" if last else b" ".join([b"/Fm%d Do" % (d + 1)] * fanout)
        objects.append(_form(body, b"/Font << /F1 4 0 R >> /XObject << /Fm%d %d 0 R >>" % (d + 1, 7 + d)))
    return _pdf(objects)


def _bomb(unit: bytes, size: int, layers: int) -> bytes:
    data = zlib.compress(unit * (size // len(unit)), 1)  # level 1: the test's own time
    for _ in range(layers - 1):
        data = zlib.compress(data, 9)
    filters = b"[" + b" ".join([b"/FlateDecode"] * layers) + b"]"
    return _pdf(_page(_stream(data, b"/Filter " + filters + b" ")))


def _tounicode(cmap: bytes) -> bytes:
    objects = _page(_stream(b"BT /F1 10 Tf 40 800 Td <00410042> Tj ET"))
    objects[3] = b"<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /DescendantFonts [7 0 R] /ToUnicode 6 0 R >>"
    objects.append(_stream(b"begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange " + cmap + b" endcmap"))
    objects.append(b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /X /W [0 [500]] "
                   b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> >>")
    return _pdf(objects)


def _shared_content_pages(pages: int) -> bytes:
    """Many small page objects drawing one costly content stream: a budget per page would grow with
    each page (60 bytes) while each page costs the whole stream again."""
    content = _stream(zlib.compress(b"BT /F1 1 Tf " + b"(A) Tj " * 10_000 + b"ET"), b"/Filter /FlateDecode ")
    first_page = 5
    kids = b" ".join(b"%d 0 R" % (first_page + n) for n in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> >>" % (kids, pages),
        content,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *[b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R >>"] * pages,
    ]
    return _pdf(objects)


def _truncated_sheet_pdf(tmp_path: Path) -> bytes:
    whole = tmp_path / "whole.pdf"
    write_sheets_pdf(whole, [SEED])
    data = whole.read_bytes()
    return data[: len(data) * 2 // 3]


HOSTILE_PDFS: dict[str, Callable[[Path], bytes]] = {
    # broken files: pdfminer raised these, and kb import crashed with them
    "truncated (PSEOF)": lambda tmp: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R",
    "truncated sheet": _truncated_sheet_pdf,
    "unknown filter (PDFNotImplementedError)": lambda tmp: _pdf(_page(_stream(b"x", b"/Filter /Foo "))),
    "Crypt filter": lambda tmp: _pdf(_page(_stream(b"x", b"/Filter /Crypt "))),
    "cut-off run-length data (RuntimeError)": lambda tmp: _pdf(_page(_stream(b"\x05ab", b"/Filter /RunLengthDecode "))),
    "encrypted (PDFEncryptionError)": lambda tmp: _pdf(
        [*_page(_stream(b"BT ET")), b"<< /Filter /Foo >>"], trailer=b"/Encrypt 6 0 R /ID [(a) (b)] "
    ),
    "wrong password (PDFPasswordIncorrect)": lambda tmp: _pdf(
        [*_page(_stream(b"BT ET")), b"<< /Filter /Standard /V 1 /R 2 /O (%s) /U (%s) /P -4 >>" % (b"x" * 32, b"x" * 32)],
        trailer=b"/Encrypt 6 0 R /ID [(a) (b)] ",
    ),
    "/Prev pointing into an object": lambda tmp: _pdf(_page(_stream(b"BT ET"))).replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev 17 "),
    "predictor row of 100 MB": lambda tmp: _pdf(
        _page(_stream(zlib.compress(b"BT ET"), b"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 100000000 /Colors 1000 >> "))
    ),
    # small files asking for far too much work or memory
    "flate bomb (40 MB of spaces in 2 KB, two layers)": lambda tmp: _bomb(b" ", 40 << 20, 2),
    "flate bomb (40 MB of NULs, one layer)": lambda tmp: _bomb(b"\0", 40 << 20, 1),
    "30 MB content of NULs (a parsing step per byte)": lambda tmp: _bomb(b"\0", 30 << 20, 1),
    "one string of 8 MB": lambda tmp: _pdf(_page(_stream(zlib.compress(b"BT (" + b"a" * (8 << 20) + b") Tj ET"), b"/Filter /FlateDecode "))),
    "forms nested 8 deep, each drawn 40 times": lambda tmp: _nested_forms(8, 40),
    "ToUnicode range of 4 billion codes": lambda tmp: _tounicode(b"1 beginbfrange <00000000> <FFFFFFFF> <0041> endbfrange"),
    "cidrange of 2 billion codes": lambda tmp: _tounicode(b"1 begincidrange <00000000> <7FFFFFFF> 0 endcidrange"),
    "50,000 characters on one page": lambda tmp: _pdf(_page(_stream(b"BT /F1 1 Tf " + b"(ABCDEFGHIJ) Tj " * 5000 + b"ET"))),
    "1,000 pages sharing one content stream of 30,000 steps": lambda tmp: _shared_content_pages(1000),
    "ten characters on a page 10 billion points tall (layout grid squares)": lambda tmp: _pdf(
        [*_page(b"")[:2],
         b"<< /Type /Page /Parent 2 0 R /MediaBox [0 9999999999 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
         *_page(_stream(b"BT /F1 10 Tf 40 800 Td (Reiwa 6) Tj 0 -20 Td (ABC) Tj ET"))[3:]]
    ),
    "a page tree listing one page 20,000 times": lambda tmp: _pdf(
        [*_page(_stream(b"BT /F1 9 Tf (x) Tj ET"))[:1], b"<< /Type /Pages /Kids [%s] /Count 20000 >>" % b" ".join([b"3 0 R"] * 20000),
         *_page(_stream(b"BT /F1 9 Tf (x) Tj ET"))[2:]]
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE_PDFS))
def test_hostile_pdf_is_a_problem_within_seconds(tmp_path, name):
    pdf = tmp_path / "hostile.pdf"
    pdf.write_bytes(HOSTILE_PDFS[name](tmp_path))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = None

    def run() -> None:
        nonlocal report
        report = plan_import([pdf], tmp_path / "proposals")

    seconds = _seconds(run)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert report is not None
    assert report.files == [] and len(report.problems) >= 1
    assert all(p.field in ("PDF", "個票の見出し") for p in report.problems), report.problems
    assert seconds < 5.0 and grown_mb < 300, (seconds, grown_mb, report.problems)


def test_pdf_limits_leave_pdfminer_as_it_was(tmp_path):
    # the limits swap pdfminer's decoders and wrap its tokenizer only while one PDF is read
    import pdfminer.pdftypes
    from pdfminer.psparser import PSBaseParser

    before = (pdfminer.pdftypes.zlib, pdfminer.pdftypes.rldecode, PSBaseParser.nexttoken, PSBaseParser.fillbuf)
    pdf = tmp_path / "bomb.pdf"
    pdf.write_bytes(_bomb(b" ", 40 << 20, 2))
    with pytest.raises(PdfError, match="展開すると大きすぎます"):
        extract_text(pdf)
    assert (pdfminer.pdftypes.zlib, pdfminer.pdftypes.rldecode, PSBaseParser.nexttoken, PSBaseParser.fillbuf) == before


def test_limits_leave_room_for_real_sheets(tmp_path, monkeypatch):
    # the seed sheets set over 8 pages, with page headers and footers, read well inside every limit
    from kb.importer import pdf as pdf_module

    budgets: list[pdf_module._Budget] = []
    made = pdf_module._Budget.for_file

    def recording(size: int) -> pdf_module._Budget:
        budgets.append(made(size))
        return budgets[-1]

    monkeypatch.setattr(pdf_module._Budget, "for_file", staticmethod(recording))
    path = tmp_path / "two.pdf"
    write_sheets_pdf(path, [SEED, MARKDOWN_0070.read_text(encoding="utf-8")], lines_per_page=25)
    assert "管理番号" in extract_text(path)
    [used] = budgets
    assert used.work * 3 < used.allowance  # 304,466 of 1,066,560 (a parsing step weighs 3 since the fuzz found a 2.5 s PDF)
    assert used.cmap_entries * 10 < pdf_module.CMAP_ENTRIES


# --- the folder written into ------------------------------------------------------------------


def _sheet_file(tmp_path: Path) -> Path:
    sheet = tmp_path / "sheet.txt"
    sheet.write_text(SEED, encoding="utf-8")
    return sheet


def test_existing_file_not_in_utf8_is_a_problem_not_a_crash(tmp_path):
    # UnicodeDecodeError: the existing file was read with read_text before the parser could say why
    existing = tmp_path / "proposals" / "2024" / "0071.md"
    existing.parent.mkdir(parents=True)
    original = (Path(__file__).parent.parent / "proposals" / "2024" / "0071.md").read_text(encoding="utf-8")
    existing.write_bytes(original.encode("cp932", "replace"))
    report = plan_import([_sheet_file(tmp_path)], tmp_path / "proposals")
    assert report.files == []
    assert any("UTF-8" in p.message for p in report.problems), report.problems


def test_existing_path_that_is_a_folder_is_a_problem_not_a_crash(tmp_path):
    (tmp_path / "proposals" / "2024" / "0071.md").mkdir(parents=True)
    report = plan_import([_sheet_file(tmp_path)], tmp_path / "proposals")
    assert report.files == [] and report.problems


@pytest.mark.parametrize("blocker", ["proposals", "proposals/2024"])
def test_output_folder_that_is_a_file_is_a_problem_and_nothing_is_written(tmp_path, blocker):
    # the write failed (NotADirectoryError) after planning: a traceback instead of a problem
    from kb.importer.merge import run_import

    blocked = tmp_path / blocker
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("not a folder", encoding="utf-8")
    report = run_import([_sheet_file(tmp_path)], tmp_path / "proposals")
    assert not report.ok and not report.written
    assert any("フォルダ" in p.message for p in report.problems), report.problems
    assert blocked.read_text(encoding="utf-8") == "not a folder"


def test_damaged_zlib_streams_are_recovered_as_pdfminer_does():
    # the replacement for pdfminer's decompress_corrupted keeps exactly what pdfminer's keeps
    import random

    from pdfminer.pdftypes import decompress_corrupted

    from kb.importer.pdf import _Budget, _decompress_corrupted

    rng = random.Random(17)
    for n in range(60):
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 5000))) if n % 2 else b"abc" * rng.randint(0, 5000)
        data = zlib.compress(raw)
        if n % 3 == 0:  # cut off
            data = data[: rng.randint(0, len(data))]
        elif n % 3 == 1 and data:  # a wrong checksum
            data = data[: -rng.randint(1, 4)] + bytes(rng.randint(1, 4))
        elif data:  # a damaged byte anywhere
            damaged = bytearray(data)
            damaged[rng.randrange(len(damaged))] ^= 0xFF
            data = bytes(damaged)

        def recovered(decompress: Callable[[bytes], bytes]) -> bytes | str:
            try:
                return decompress(data)
            except zlib.error:
                return "error"

        assert recovered(_decompress_corrupted(_Budget())) == recovered(decompress_corrupted), n


def test_damaged_zlib_stream_of_megabytes_is_recovered_in_linear_time():
    # pdfminer feeds a damaged stream one byte at a time into a growing bytes object: quadratic
    from kb.importer.pdf import _Budget, _decompress_corrupted

    data = zlib.compress(bytes(range(256)) * 40_000)[:-2]  # 10 MB, checksum cut
    assert _seconds(lambda: _decompress_corrupted(_Budget())(data)) < 2.0


def test_predictor_rows_of_a_few_bits_still_decode():
    # the row limit refuses 100 MB rows, not a narrow 1-bit one (4 columns: half a byte)
    from pdfminer.utils import apply_png_predictor

    from kb.importer.pdf import _predictor

    rows = bytes([0, 0, 0])  # three rows of no whole byte, each with its filter type (0: none)
    assert _predictor(apply_png_predictor)(10, 1, 4, 1, rows) == apply_png_predictor(10, 1, 4, 1, rows)


def test_pdf_of_parsing_steps_alone_is_refused_within_its_time(monkeypatch):
    # fuzz finding (seed 2, input 14,257): a 33 KB PDF whose stream inflates to 32 MB of tokens ran 2.5 CPU s on
    # a busy machine (1.7 s on a quiet one), over the 2 s a PDF under 128 KiB gets: pdfminer parsed 366,000
    # tokens (6–7 µs each) because a parsing step counted as one unit of the budget (2–3 µs). CPU time varies too
    # much with load for a test (0.6–1.3 s now), so the tokens are counted: at most 130,000 (under 1 s).
    from pdfminer.psparser import PSBaseParser

    hostile = Path(__file__).parent / "fixtures" / "pdf_fuzz" / "tokens_of_a_32mb_stream.pdf"
    tokens = 0
    original = PSBaseParser.nexttoken

    def counted(self: PSBaseParser) -> object:
        nonlocal tokens
        tokens += 1
        return original(self)

    monkeypatch.setattr(PSBaseParser, "nexttoken", counted)
    with pytest.raises(PdfError, match="処理が多すぎます"):
        extract_text(hostile)
    assert 0 < tokens <= 130_000, tokens
