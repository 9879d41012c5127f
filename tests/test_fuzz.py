"""A small fuzz that stays in the suite: whatever the text, the only exception is ProblemError
(a PDF's bytes: PdfError, which kb import reports as a problem).

The full campaign (100,000 inputs per target, PDFs included) is benchmarks/fuzz.py, with its
figures in docs/reliability.md; this keeps a few hundred examples per entry point in every run.
Texts mix what each reader looks for (front-matter keys, YAML's special characters, headings, sheet
labels, law titles and numbering) with arbitrary Unicode, lone surrogates included.
"""

from __future__ import annotations

import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb import pipeline
from kb.core.problems import ProblemError
from kb.core.vocab import SECTION_ORDER, SECTION_VARIANTS, Association
from kb.files.parse import parse_lenient, parse_text
from kb.importer.merge import plan_import
from kb.importer.pdf import PdfError, extract_text
from kb.importer.sheets import read_sheets

FUZZ = settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

ANY_CHAR = st.characters(codec=None, categories=None)  # every code point, lone surrogates included
NOISE = st.text(ANY_CHAR, max_size=40)
YAML = st.sampled_from(
    [
        "&a ", "*a", "&r [*r]", "<<: *a", "!!python/object:os.system ", "!tag ", "!!binary ", "!!set ", "? ",
        ": ", "- ", "---", "...", "%YAML 1.1", "{", "}", "[", "]", "|", ">", "#", "'", '"', "\\", "\t", "~",
        "null", ".inf", "1e400", "9" * 5000, "2024-13-45", "\ufeff", "\x00", "\r", "\u2028", "\x85",
    ]
)
HEADINGS = [k.value for k in SECTION_ORDER] + [f for forms in SECTION_VARIANTS.values() for f in forms]
MARKDOWN = st.sampled_from(["## ", "### ", "# ", "```", "    ", "> ", "—", "- ○"]) | st.sampled_from(HEADINGS).map("## ".__add__)
FRONT = st.sampled_from(
    [
        "year: 2024", "era: 令和6年", "era: 令和" + "1" * 30 + "年", "number: 71", "serial: 71", "title: 題",
        "category: B", "policy_field: 11_総務", "theme: デジタル化", "proponents: [宮城県]", "proponents:",
        "  - 宮城県", "ministries: [デジタル庁]", "sheet_ministry: デジタル庁", "decision:", "  date: 2024-12-24",
        "  outcome: 未決定", "sources:", "  - stage: 提案", "    title: 個票", "sections: {}", "opinions: x",
    ]
)
SHEET = st.sampled_from(
    [
        "令和6年 地方分権改革に関する提案募集 提案事項", "デジタル庁 最終的な調整結果", "総務省 第１次回答",
        "整理番号\t71\n(管理番号\t71)", "整理番号 (管理番号)\t70 70 )", "管理番号 " + "9" * 40, "重点募集テーマ 「デジタル化」の 該当\t○",
        "提案区分\tB 地方に対する規制緩和", "提案分野\t11_総務", "提案事項(事項名)", "提案団体", "制度の所管・関係府省",
        "【全国知事会】", "令和6年の地方からの提案等に関する対応方針（令和6年13月45日閣議決定）記載内容", "- 3 -", "\f",
        "$\\beta'$", "○", "—", " " * 300, "宮城県、岩手県、",
    ]
)
LAW = st.sampled_from(
    [
        "地方自治法", "番号法", "行政手続における特定の個人を識別するための番号の利用等に関する法律", "同法", "同条", "施行令",
        "第", "条", "項", "号", "の", "別表第", "附則", "（平成25年法律第27号）", "昭和二十二年法律第六十七号", "以下「", "」という。",
        "一", "二", "十", "百", "千", "万", "〇", "12345", "（", "）", "及び", "並びに",
    ]
)


def _document(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(parts, max_size=30).flatmap(
        lambda items: st.sampled_from(["\n", "", " ", "\r\n"]).map(lambda sep: sep.join(items))
    )


PROPOSAL_TEXT = st.builds(
    lambda front, body, fenced: ("---\n" if fenced else "") + front + ("\n---\n" if fenced else "\n") + body,
    _document(FRONT | YAML | NOISE),
    _document(MARKDOWN | NOISE | YAML),
    st.booleans(),
)
SHEET_TEXT = _document(SHEET | st.sampled_from(HEADINGS) | NOISE | st.sampled_from([a.value for a in Association]))
LAW_TEXT = _document(LAW | NOISE).map(lambda s: s.replace("\n", ""))


@FUZZ
@given(PROPOSAL_TEXT)
def test_parser_raises_only_problem_errors_on_any_text(text: str) -> None:
    located, problems = parse_lenient(text, "2024/0071.md")
    assert located is not None or problems
    try:
        parse_text(text)
    except ProblemError as exc:
        assert exc.problems


@settings(FUZZ, max_examples=60)  # a file and every check per example: the slowest entry point
@given(PROPOSAL_TEXT)
def test_checker_reports_problems_and_never_raises_on_any_file(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "2024" / "0071.md"
        path.parent.mkdir()
        path.write_bytes(text.encode("utf-8", "surrogatepass"))  # a lone surrogate: bytes that are not UTF-8
        pipeline.check([path])  # kb check: returns problems, whatever is in the file


@FUZZ
@given(SHEET_TEXT)
def test_sheet_reader_returns_problems_and_never_raises_on_any_text(text: str) -> None:
    result = read_sheets(text)
    assert result.sheets or result.problems


@settings(FUZZ, max_examples=120)
@given(SHEET_TEXT, st.booleans())
def test_importer_reports_problems_and_never_raises_on_any_sheet_file(text: str, existing: bool) -> None:
    # kb import of a .txt file (read as UTF-8 or CP932), into an empty folder or one holding the proposals
    with tempfile.TemporaryDirectory() as tmp:
        sheet = Path(tmp) / "sheet.txt"
        sheet.write_bytes(text.encode("utf-8", "surrogatepass"))
        out = Path(tmp) / "proposals"
        if existing:
            for source in (Path(__file__).parent.parent / "proposals").glob("*/*.md"):
                (out / source.parent.name).mkdir(parents=True, exist_ok=True)
                (out / source.parent.name / source.name).write_bytes(source.read_bytes())
        report = plan_import([sheet], out)
        assert report.files or report.problems


@pytest.fixture(scope="module")
def registry() -> pipeline.Registry:
    return pipeline.statute_registry()


@settings(FUZZ, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=LAW_TEXT)
def test_cite_returns_citations_and_never_raises_on_any_text(registry: pipeline.Registry, text: str) -> None:
    for line in pipeline.cite(text, registry):
        assert line.startswith("{")


def _small_pdf() -> bytes:
    """One page, a plain and a deflated content stream, a Type1 font: every part a mutation can reach."""
    plain = b"BT /F1 10 Tf 40 800 Td (Reiwa 6 nen) Tj 0 -14 Td (Kanri bangou 71) Tj ET"
    packed = zlib.compress(b"BT /F1 9 Tf 40 700 Td [(Teian) -250 (jikou)] TJ T* (ABC) Tj ET")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents [5 0 R 6 0 R] >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(plain), plain),
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(packed), packed),
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


SMALL_PDF = _small_pdf()
PDF_TOKEN = st.sampled_from(
    [
        b"<<", b">>", b"[", b"]", b"(", b")", b"obj", b"endobj", b"stream", b"endstream", b"R", b"99 0 R", b"/Foo",
        b"/FlateDecode", b"/LZWDecode", b"/RunLengthDecode", b"/Length 0", b"/Length 999999999", b"/Kids [2 0 R 3 0 R]",
        b"/Count -1", b"/Prev 0", b"/Encrypt 4 0 R", b"9999999999", b"-1", b"1e308", b"nan", b"/MediaBox [0 9999999999 595 842]",
        b"/F1 1e300 Tf", b"1e308 0 0 1e308 0 0 Tm", b"/Fm0 Do", b"xref", b"trailer", b"startxref", b"%%EOF",
    ]
)
PDF_EDIT = st.tuples(st.floats(0, 1), st.sampled_from(["insert", "delete", "flip", "truncate", "repeat"]), PDF_TOKEN | st.binary(max_size=40))


@settings(FUZZ, max_examples=150)
@given(st.lists(PDF_EDIT, min_size=1, max_size=6))
def test_pdf_reader_raises_only_pdf_errors_on_mutated_bytes(edits: list[tuple[float, str, bytes]]) -> None:
    # kb import turns a PdfError into a problem naming the file; anything else would be a traceback
    data = bytearray(SMALL_PDF)
    for where, op, chunk in edits:
        at = int(where * len(data))
        if op == "insert":
            data[at:at] = b" " + chunk + b" "
        elif op == "delete":
            del data[at : at + 1 + len(chunk) * 4]
        elif op == "flip" and data:
            data[min(at, len(data) - 1)] ^= 1 << (len(chunk) % 8)
        elif op == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + 64] * (1 + len(chunk))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sheet.pdf"
        path.write_bytes(bytes(data))
        try:
            text = extract_text(path)
        except PdfError as exc:
            assert str(exc)
        else:
            assert text.strip()


def test_unharmed_small_pdf_gives_its_text(tmp_path: Path) -> None:
    # the mutation test starts from a PDF the reader can read: otherwise every example is one refusal
    path = tmp_path / "sheet.pdf"
    path.write_bytes(SMALL_PDF)
    text = extract_text(path)
    assert "Kanri bangou 71" in text and "ABC" in text
