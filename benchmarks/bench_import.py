"""Import throughput (sheets per second, text and PDF) and the pdfminer.six / pypdf comparison.

Inputs are built from the two seed sheets (tests/fixtures/sheets/), repeated under new
管理番号 so that one input holds many sheets, as a ministry's PDF does (synthetic copies;
only the numbers differ). PDFs are set in IPAex Gothic by tests/sheet_pdfs.py. The table
replaces the section `## 取り込み (kb import)` of docs/benchmarks.md and nothing else.

    .venv/bin/python benchmarks/bench_import.py            # 200 sheets of text, 40 in a PDF
    .venv/bin/python benchmarks/bench_import.py --sheets 1000 --pdf-sheets 100 --no-write
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import pypdf  # noqa: E402
from pdfminer.high_level import extract_text as pdfminer_plain_text  # noqa: E402

from kb.importer.merge import run_import  # noqa: E402
from kb.importer.pdf import extract_text  # noqa: E402
from kb.importer.sheets import read_sheets  # noqa: E402
from sheet_pdfs import write_sheets_pdf  # noqa: E402
from sheet_shapes import MARKDOWN_0070, PLAIN_0071, collapse_like_viewer  # noqa: E402

HEADING = "## 取り込み (kb import)"
DOC = ROOT / "docs" / "benchmarks.md"


def numbered_copies(count: int) -> list[str]:
    """`count` sheets: the two seeds in turn, each copy under its own 管理番号 (1, 2, …)."""
    seeds = [PLAIN_0071.read_text(encoding="utf-8"), MARKDOWN_0070.read_text(encoding="utf-8")]
    out = []
    for n in range(1, count + 1):
        text = seeds[n % 2]
        text = text.replace("整理番号\t71\n(管理番号\t71)", f"整理番号\t{n}\n(管理番号\t{n})")
        text = text.replace("整理番号 (管理番号)\t70 70 )", f"整理番号 (管理番号)\t{n} {n} )")
        out.append(text)
    return out


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _chars(text: str) -> str:
    return re.sub(r"\s", "", text)


def pdf_library_comparison(tmp: Path) -> list[tuple[str, str, str, str]]:
    """Per library: extraction time per page, characters kept, and sheets read equal to the text."""
    seeds = [PLAIN_0071.read_text(encoding="utf-8"), MARKDOWN_0070.read_text(encoding="utf-8")]
    path = tmp / "seeds.pdf"
    pages = write_sheets_pdf(path, seeds)
    expected = [read_sheets(s).sheets[0].proposal for s in seeds]
    source = _chars("".join(seeds).replace("\t", ""))

    def pypdf_text() -> str:
        return "\n\f".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)

    rows = []
    for name, fn in [
        ("pdfminer.six（kb.importer.pdf: 行の位置で折り返し・段落を復元）", lambda: extract_text(path)),
        ("pdfminer.six（extract_text そのまま）", lambda: pdfminer_plain_text(str(path))),
        ("pypdf（extract_text）", pypdf_text),
    ]:
        seconds = best_of(3, fn)
        text = fn()
        body = _chars(text)
        kept = sum(1 for ch in set(source) if ch in body) / len(set(source))
        missing = sum(max(0, source.count(ch) - body.count(ch)) for ch in set(source))
        result = read_sheets(text)
        equal = sum(1 for got, want in zip([s.proposal for s in result.sheets], expected) if got == want)
        rows.append(
            (
                name,
                f"{seconds / pages * 1000:.0f} ms",
                f"{kept:.0%}（欠け {missing} 字）",
                f"{equal} / {len(expected)}",
            )
        )
    return rows


def measure(sheets: int, pdf_sheets: int) -> str:
    copies = numbered_copies(sheets)
    shapes = {
        "テキスト（プレーン・Markdown 風を交互）": "\n".join(copies),
        "テキスト（PDF ビューアのコピー、1行に潰れた形）": "".join(collapse_like_viewer(c) for c in copies),
    }
    rows = []
    for name, text in shapes.items():
        result = read_sheets(text)
        assert len(result.sheets) == sheets and not result.problems, (name, result.problems[:3])
        seconds = best_of(3, lambda: read_sheets(text))
        rows.append((name, sheets, seconds))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pdf = tmp / "many.pdf"
        pages = write_sheets_pdf(pdf, numbered_copies(pdf_sheets))
        extract_seconds = best_of(2, lambda: extract_text(pdf))
        text = extract_text(pdf)
        assert len(read_sheets(text).sheets) == pdf_sheets
        read_seconds = best_of(3, lambda: read_sheets(text))
        rows.append((f"PDF（{pages} ページ、抽出 + 読み取り）", pdf_sheets, extract_seconds + read_seconds))
        rows.append(("　うち PDF からの文字の抽出（pdfminer.six）", pdf_sheets, extract_seconds))
        source = tmp / "sheets.txt"
        source.write_text("\n".join(copies), encoding="utf-8")
        out = tmp / "proposals"
        run_seconds = best_of(1, lambda: run_import([source], out))
        rows.append(("`kb import` 全体（読み取り + ファイル書き出し、新規）", sheets, run_seconds))
        again = best_of(1, lambda: run_import([source], out))
        rows.append(("`kb import` 全体（同じ個票の取り込み直し、変更なし）", sheets, again))
        comparison = pdf_library_comparison(tmp)

    lines = [
        HEADING,
        "",
        f"`benchmarks/bench_import.py --sheets {sheets} --pdf-sheets {pdf_sheets}` の結果（{platform.python_implementation()} "
        f"{platform.python_version()}、{platform.machine()}、2 コア）。入力は seed の個票 2 枚を管理番号だけ変えて並べた合成データ。",
        "時間は数回測った最小値。",
        "",
        "| 入力 | 個票数 | 時間 | 個票/秒 |",
        "|---|---:|---:|---:|",
    ]
    for name, count, seconds in rows:
        lines.append(f"| {name} | {count} | {seconds:.2f} s | {count / seconds:,.0f} |")
    lines += [
        "",
        "PDF ライブラリの比較（seed 2 枚を IPAex ゴシックで組んだ PDF。ページ見出し・ページ番号つき）:",
        "",
        "| 抽出方法 | 1 ページあたり | seed の文字が残った割合 | 本文のテキストと同じモデルになった個票 |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in comparison]
    lines.append("")
    return "\n".join(lines)


def write_section(section: str, doc: Path = DOC) -> None:
    """Replace only our section of docs/benchmarks.md (others own the rest)."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sheets", type=int, default=200)
    parser.add_argument("--pdf-sheets", type=int, default=40)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    section = measure(args.sheets, args.pdf_sheets)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"→ {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
