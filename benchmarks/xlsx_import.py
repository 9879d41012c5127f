"""xlsx import speed: python-calamine vs openpyxl (read_only) and the full `kb import` of 5,000 rows.

    .venv/bin/python benchmarks/xlsx_import.py [--rows 5000]

The workbook is SYNTHETIC (tests/xlsx_workbooks.py): the 提案募集方式データベース's 12 columns,
a title row, shared strings with ふりがな runs and `_x000D_`, 支障事例 cells of ~1,000 characters;
the real file (about 4,250 rows) was not available. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from xlsx_workbooks import row_values, write_workbook  # noqa: E402

from kb.pipeline import import_  # noqa: E402


def _calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    return len(CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False))


def _openpyxl(path: Path) -> int:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    n = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return n


def _best(fn, path: Path, runs: int = 3) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    times, n = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        n = fn(path)
        times.append(time.perf_counter() - start)
    return min(times), n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "database.xlsx"
        long_text = "現行の基準では地域の実情に合わず支障がある。_x000D_\n" * 40
        data = [row_values(["28年", "H29", "R6", "令和元年"][i % 4], i // 4 + 1, problems=long_text + str(i)) for i in range(rows)]
        start = time.perf_counter()
        write_workbook(book, data, phonetic={"さいたま市": "サイタマシ"})
        print(f"workbook: {rows} rows (synthetic), {book.stat().st_size / 1e6:.1f} MB, made in {time.perf_counter() - start:.1f} s")
        for name, fn in (("python-calamine", _calamine), ("openpyxl read_only", _openpyxl)):
            seconds, n = _best(fn, book)
            print(f"{name:20s} {seconds:6.2f} s  {n / seconds:9,.0f} rows/s (best of 3, cells only)")
        out = Path(tmp) / "proposals"
        start = time.perf_counter()
        report = import_([book], out)
        seconds = time.perf_counter() - start
        assert report.written, report.problems[:3]
        print(f"kb import (new files) {seconds:6.2f} s  {rows / seconds:9,.0f} rows/s ({len(report.files)} files, kb check of them included)")
        start = time.perf_counter()
        report = import_([book], out)
        seconds = time.perf_counter() - start
        print(f"kb import (unchanged) {seconds:6.2f} s  {rows / seconds:9,.0f} rows/s (every file read, merged, nothing written)")


if __name__ == "__main__":
    main()
