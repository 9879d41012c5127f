"""`kb harvest` speed on a synthetic copy of the official site served on 127.0.0.1 (tests/harvest_site.py).

SYNTHETIC: the site has YEARS year pages, each with one stage page linking FILES_PER_YEAR per-ministry
bundles of SHEETS_PER_FILE sheets. Every sheet is seed sheet 71's text (proposal stage) with another
管理番号 and year: real sheet text, invented numbering. The delay is 0 (allowed only for 127.0.0.1), so
the figures are the harvester's own cost (HTTP, PDF text extraction, merge, atomic writes), without
the polite 1 s per request a real run adds. The second run shows what a refresh costs the site.

    .venv/bin/python benchmarks/harvest_speed.py [--years 3 --files 4 --sheets 5]
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

from harvest_site import SECTION, Resource, Site, page, pdf, serving  # noqa: E402
from sheet_pdfs import write_sheets_pdf  # noqa: E402
from sheet_shapes import PLAIN_0071  # noqa: E402

from kb.harvest.fetch import Settings  # noqa: E402
from kb.harvest.run import Options, harvest  # noqa: E402
from kb.importer.pdf import extract_text  # noqa: E402

MINISTRIES = ["内閣府", "総務省", "法務省", "文部科学省", "厚生労働省", "農林水産省", "経済産業省", "国土交通省", "環境省"]


def sheet(era: str, number: int) -> str:
    lines = PLAIN_0071.read_text(encoding="utf-8").split("\n")
    text = "\n".join(lines[:49]).replace("デジタル庁 最終的な調整結果", "デジタル庁（内閣府と関係府省との間で調整を行う提案）")
    text = text.replace("令和6年 地方分権", f"{era} 地方分権")
    text = text.replace("整理番号\t71\n(管理番号\t71)", f"整理番号\t{number}\n(管理番号\t{number})")
    old = "都道府県と教育委員会が一つの自治体中間サーバーを利用することを可能とすること"
    return text.replace(old, f"（合成 {number}）{old}")


def build_site(folder: Path, years: int, files: int, sheets: int) -> tuple[dict[str, Resource], int]:
    resources: dict[str, Resource] = {}
    index_links = []
    total = 0
    for y in range(years):
        western, era = 2024 - y, f"令和{6 - y}年"
        index_links.append((f"{western}/teianbosyu_r{6 - y}.html", f"{era}の提案募集について"))
        stage_links = []
        for f in range(files):
            numbers = [1 + f * sheets + s for s in range(sheets)]
            path = folder / f"{western}_{f}.pdf"
            write_sheets_pdf(path, [sheet(era, n) for n in numbers])
            name = f"doc/r{6 - y:02d}/kentou_{f:02d}.pdf"
            resources[f"{SECTION}{name}"] = pdf(path.read_bytes())
            stage_links.append((f"../{name}", f"{MINISTRIES[f % len(MINISTRIES)]} 個票(PDF形式:{path.stat().st_size // 1024}KB)"))
            total += sheets
        resources[f"{SECTION}{western}/teianbosyu_r{6 - y}.html"] = page(f"{era}の提案募集について", [
            ("bosyukekka.html", "提案募集の結果及び関係府省への検討要請について")])  # fmt: skip
        resources[f"{SECTION}{western}/bosyukekka.html"] = page("検討要請", stage_links)
    resources[f"{SECTION}teianbosyu-index.html"] = page("提案募集方式", index_links)
    resources["/robots.txt"] = Resource(b"User-agent: *\nDisallow:\n", content_type="text/plain")
    return resources, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--sheets", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        resources, total = build_site(root, args.years, args.files, args.sheets)
        print(f"site: {args.years} years × {args.files} files × {args.sheets} sheets = {total} sheets "
              f"(PDFs generated in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        site = Site(resources)
        with serving(site):
            options = Options(base=site.base, out=root / "proposals", cache=root / "cache",
                              settings=Settings(delay=0.0, timeout=30))  # fmt: skip
            started = time.perf_counter()
            for path in sorted(root.glob("*.pdf")):
                extract_text(path)
            extraction = time.perf_counter() - started
            started = time.perf_counter()
            first = harvest(options)
            elapsed = time.perf_counter() - started
            files = first.imported_files
            print(f"first run: {elapsed:.2f} s, {first.requests} requests, {files} files, {first.sheets} sheets, "
                  f"{len(first.new)} new proposals: {first.sheets / elapsed:.1f} sheets/s, {files / elapsed:.2f} files/s")
            before = len(site.requests)
            started = time.perf_counter()
            second = harvest(options)
            again = site.requests[before:]
            statuses: dict[int, int] = {}
            for r in again:
                statuses[r.status] = statuses.get(r.status, 0) + 1
            print(f"second run: {time.perf_counter() - started:.2f} s, {len(again)} requests {statuses}, "
                  f"{second.downloaded} downloaded, {second.imported_files} imported")
            polite = first.requests * 1.0
            print(f"at the default delay (1 s) the first run would add {polite:.0f} s of waiting "
                  f"({first.requests} requests); the second {len(again)} s")
            print(f"of the first run, PDF text extraction alone (pdfminer.six, measured apart): {extraction:.2f} s; "
                  f"the rest (HTTP, cache, reading, merge, atomic writes): {elapsed - extraction:.2f} s")
            assert first.ok and second.ok and set(statuses) == {304}


if __name__ == "__main__":
    main()
