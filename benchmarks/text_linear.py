"""Text passes scale linearly on adversarial input (issue #17): citation extraction and search text.

    .venv/bin/python benchmarks/text_linear.py                     # every input, 10k–80k characters, 1M if 80k took < 2 s
    .venv/bin/python benchmarks/text_linear.py --only 法の,同法の    # some inputs (names contain one of the words)
    .venv/bin/python benchmarks/text_linear.py --sizes 10000,20000 --no-million --timeout 20

Each input is a generator of n characters: a unit repeated (「法の」 × n/2), a random draw of the pieces
the finder's patterns look for, or the real proposals in `proposals/` with 。、 and line breaks taken out
(one clause as long as the whole text). The statutes table times `kb.statutes.extract.cite_lines`, what
`kb cite` runs (clean → find → resolve → JSON); the search table times `kb.search.textnorm.index_text`
plus `kb.search.snippets.best_snippet` and `highlight` over the same text. A time is the CPU time of
the measuring process (`time.process_time`: other work on a shared machine inflates it less than
the wall clock; the loaded registry is frozen out of garbage collection, `gc.freeze`, and each run
starts after a collection), the best of up to 5 rounds through all sizes (no further round once
the rounds would pass 8 s); each input runs in a forked process killed when a run takes over
`--timeout` CPU seconds (later sizes are then skipped).

The ratio t(2n)/t(n) is 2 for a linear pass and 4 for a quadratic one. Printed for each doubling and,
per doubling, over the span 10k → 80k and from 80k to 1M: 2 ** (log2(t(b)/t(a)) / log2(b/a)). Exit
status 1 when a span's ratio exceeds 2.6, a single doubling's 3.0, a 20,000-character input takes over
1 s, or a run times out. A single doubling may cross a cache size and cost up to 30 % more per character
from then on (「民法、同法、」 between 20k and 40k: 2.7, then 2.1 up to 1M); growth that goes on is what
makes a pass super-linear, and the spans measure that. A ratio whose larger time is under 0.2 s is not
judged (on a shared machine such a run varies by ±30 %); the 80k → 1M ratio always is. An input that
fails is measured twice more, each size keeping its best time, before it counts.
"""

from __future__ import annotations

import argparse
import gc
import math
import multiprocessing as mp
import os
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.search.snippets import best_snippet, highlight  # noqa: E402
from kb.search.textnorm import index_text  # noqa: E402
from kb.statutes.extract import cite_lines  # noqa: E402
from kb.statutes.registry import Registry, load_registry  # noqa: E402

SIZES = (10_000, 20_000, 40_000, 80_000)
MILLION = 1_000_000
MAX_RATIO = 2.6  # per doubling, over 10k → 80k and over 80k → 1M
STEP_MAX = 3.0  # per single doubling: one can cross a cache size (below); a quadratic pass gives 4
MAX_AT_20K = 1.0
NOISE_FLOOR = 0.2  # seconds: on a shared machine a run this short varies by ±30 %, so its ratio is noise
RETRIES = 2
MILLION_IF_UNDER = 2.0  # run 1M characters when 80k took less than this (seconds)

Make = Callable[[int], str]


def rep(unit: str) -> Make:
    """The unit repeated to n characters."""
    return lambda n: (unit * (n // len(unit) + 1))[:n]


def prefixed(head: str, unit: str) -> Make:
    """A head once, then the unit repeated, n characters in all."""
    return lambda n: head + rep(unit)(n - len(head))


# Pieces the finder's patterns react to: name characters, connectors, generic ends, pinpoints, numbers, quotes.
PIECES = (
    "法", "の", "法律", "第1条", "第2項", "同法", "同条", "前条", "本指針", "指針", "ガイドライン", "通知", "局長",
    "について", "に関する", "等", "等に関する", "のための", "による", "及び", "並びに", "・", "別表", "附則",
    "(", ")", "「", "」", "平成", "令和5年", "法律第12号", "以下", "という", "地方自治法", "民法", "改正", "施行令",
    "地方", "公共", "団体", "事務", "1", "12", "一", "十",
)  # fmt: skip


def random_pieces(seed: int) -> Make:
    def make(n: int) -> str:
        rng = random.Random(seed)
        out: list[str] = []
        size = 0
        while size < n:
            piece = rng.choice(PIECES)
            out.append(piece)
            size += len(piece)
        return "".join(out)[:n]

    return make


def many_definitions(n: int) -> str:
    """Each clause defines an abbreviation of its own (民法(以下「一丁法」という。)一丁法第1条、…), then uses it."""
    out: list[str] = []
    size = 0
    for i in range(n):
        short = chr(0x4E00 + i % 3000) + chr(0x4E00 + i // 3000 % 3000) + "法"
        out.append(f"民法(以下「{short}」という。){short}第1条、")
        size += len(out[-1])
        if size >= n:
            break
    return "".join(out)[:n]


def proposals_text() -> str:
    """Bodies of the real proposals without 。、 and line breaks: one clause as long as all of them."""
    bodies = []
    for path in sorted((ROOT / "proposals").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        bodies.append(text.split("\n---\n", 1)[-1])
    return re.sub(r"[。、，,\s]", "", "".join(bodies))


def real(n: int) -> str:
    return rep(proposals_text())(n)


STATUTE_INPUTS: dict[str, Make] = {
    "法の": rep("法の"),
    "法": rep("法"),
    "の法律": rep("の法律"),
    "第": rep("第"),
    "第1条": rep("第1条"),
    "同法": rep("同法"),
    "(平成": rep("(平成"),
    "「": rep("「"),
    "数字": rep("1234567890"),
    "漢字だけ": rep("地方公共団体事務処理"),
    "及び": rep("及び"),
    "法等に関する": rep("法等に関する"),
    "法のための": rep("法のための"),
    "法による": rep("法による"),
    "法について": rep("法について"),
    "指針の": rep("指針の"),
    "法・": rep("法・"),
    "課長の": rep("課長の"),
    "同法の": rep("同法の"),
    "民法、同法、": rep("民法、同法、"),
    "民法第1条、同条、": rep("民法第1条、同条、"),
    "本指針の": rep("本指針の"),
    "民法": rep("民法"),
    "改正民法": rep("改正民法"),
    "一つ": rep("一つ"),
    "条+改行": rep("第1条\n"),
    "改行で折れた名前": rep("地方\n自治"),
    "法律(平成1年法律第1号)": rep("法律(平成1年法律第1号)"),
    "略称の定義と使用": rep("民法(以下「甲」という。)甲第1条"),
    "多数の略称": many_definitions,
    "第1条の1の1…": prefixed("民法第1条", "の1"),
    "混合": rep("法の第1条同法及び指針の(平成「地方自治法等に関する"),
    "ランダム（句読点なし）": random_pieces(1),
    "ランダム（句読点あり）": lambda n: random_pieces(2)(n).replace("等", "、").replace("一", "。"),
    "提案の本文（。、なし）": real,
    "結合文字の長い列": prefixed("a", "\u0301\u0316"),
}

SEARCH_INPUTS: dict[str, Make] = {
    "ア-": rep("ア-"),
    "-": rep("-"),
    "濁点の結合文字": rep("か\u3099"),
    "結合文字の長い列": prefixed("a", "\u0301\u0316"),  # marks of falling class: NFKC sorts them
    "㍻（展開される文字）": rep("㍻"),
    "空白": rep(" \u3000"),
    "ああ": rep("ああ"),
    "法の": rep("法の"),
    "提案の本文（。、なし）": real,
}
SEARCH_QUERY = "ああ 法の 平成 アー 地方"


@dataclass
class Row:
    name: str
    times: dict[int, float]
    timed_out: int | None = None  # the size that did not finish


ROUNDS = 5
ROUNDS_BUDGET = 8.0  # seconds: no further round when it would take the rounds past this


def _cpu(run: Callable[[], object]) -> float:
    gc.collect()  # garbage of the run before is not this run's
    start = time.process_time()
    run()
    return time.process_time() - start


def _child(conn: Connection, task: Callable[[str], object], make: Make, sizes: list[int]) -> None:
    """Round 1 reports each size as it finishes (so a runaway size can be stopped); later rounds only lower the minima."""
    texts = {n: make(n) for n in sizes}
    best: dict[int, float] = {}
    for n in sizes:
        best[n] = _cpu(partial(task, texts[n]))
        conn.send(best[n])
    spent = last = sum(best.values())
    for _ in range(ROUNDS - 1):
        if spent + last > ROUNDS_BUDGET:
            break
        last = 0.0
        for n in sizes:
            took = _cpu(partial(task, texts[n]))
            best[n], last = min(best[n], took), last + took
        spent += last
    conn.send(best)
    conn.close()


def _cpu_of(pid: int) -> float:
    """CPU seconds a process has used (Linux /proc; the wall clock elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return time.monotonic()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(conn: Connection, pid: int, timeout: float) -> bool:
    """Wait for the child's next message; False once it has spent `timeout` CPU seconds without one
    (or ten times that of wall clock: a loaded machine gives a process a small share of a core)."""
    cpu, wall = _cpu_of(pid), time.monotonic()
    while not conn.poll(0.5):
        if _cpu_of(pid) - cpu > timeout or time.monotonic() - wall > 10 * timeout:
            return False
    return True


def measure(name: str, task: Callable[[str], object], make: Make, sizes: list[int], timeout: float) -> Row:
    """Best CPU time of one input at each size over up to ROUNDS rounds through the sizes, in a forked process.

    Rounds go through every size in turn, so that a burst of load on the shared machine slows all
    sizes alike instead of one; a run that takes over `timeout` seconds is stopped.
    """
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, task, make, sizes))
    proc.start()
    child.close()
    pid = proc.pid
    assert pid is not None
    row = Row(name, {})
    for n in sizes:
        if not _wait(parent, pid, timeout):
            row.timed_out = n
            break
        row.times[n] = parent.recv()
    if row.timed_out is None and _wait(parent, pid, ROUNDS_BUDGET + timeout):
        row.times.update(parent.recv())
    proc.kill()
    proc.join()
    return row


def ratio(row: Row, small: int, big: int) -> float | None:
    """Growth per doubling from `small` to `big` characters."""
    a, b = row.times.get(small), row.times.get(big)
    if a is None or b is None or a <= 0:
        return None
    return float(2 ** (math.log2(b / a) / math.log2(big / small)))


def judged_ratios(sizes: list[int], million: bool) -> list[tuple[int, int, float]]:
    """(small, large, limit): each doubling, limited to STEP_MAX; the whole 10k–80k span and 80k → 1M, to MAX_RATIO."""
    steps = [(a, b, STEP_MAX) for a, b in pairwise(sizes)]
    spans = [(sizes[0], sizes[-1], MAX_RATIO)] if len(sizes) > 2 else []
    return steps + spans + ([(sizes[-1], MILLION, MAX_RATIO)] if million else [])


def too_steep(row: Row, a: int, b: int, limit: float) -> bool:
    r = ratio(row, a, b)
    return r is not None and r > limit and row.times.get(b, 0.0) >= NOISE_FLOOR


def failures_of(row: Row, sizes: list[int], args: argparse.Namespace) -> list[str]:
    out = [
        f"{row.name}: t({b})/t({a}) per doubling {ratio(row, a, b):.2f} > {limit}"
        for a, b, limit in judged_ratios(sizes, args.million)
        if too_steep(row, a, b, limit)
    ]
    if row.timed_out is not None:
        out.append(f"{row.name}: {row.timed_out} characters did not finish in {args.timeout:.0f} s")
    if row.times.get(20_000, 0.0) > MAX_AT_20K:
        out.append(f"{row.name}: 20,000 characters took {row.times[20_000]:.2f} s > {MAX_AT_20K} s")
    return out


def measure_row(name: str, task: Callable[[str], object], make: Make, sizes: list[int], args: argparse.Namespace) -> Row:
    """Every size and, if 80k was quick enough, 1M; an input that fails is measured again (up to RETRIES times,
    each size keeping its best time): load on the shared machine comes in bursts of seconds."""
    row = measure(name, task, make, sizes, args.timeout)
    for attempt in range(RETRIES + 1):
        if attempt:
            again = measure(name, task, make, sizes, args.timeout)
            row.times.update({n: min(t, row.times.get(n, math.inf)) for n, t in again.times.items() if n != MILLION})
        if args.million and row.timed_out is None and MILLION not in row.times and row.times.get(sizes[-1], math.inf) < MILLION_IF_UNDER:
            extra = measure(name, task, make, [MILLION], args.timeout)
            row.times.update(extra.times)
            row.timed_out = extra.timed_out
        if row.timed_out is not None or not failures_of(row, sizes, args):
            break
    return row


def run_table(title: str, inputs: dict[str, Make], task: Callable[[str], object], sizes: list[int], args: argparse.Namespace) -> list[str]:
    """Measure every input, print its row as it comes, return the failures."""
    failures: list[str] = []
    judged = judged_ratios(sizes, args.million)
    head = ["入力", *(f"{n // 1000}k" for n in sizes)]
    for a, b, _ in judged:
        if b == MILLION:
            head.append("1M")
        head.append(f"×{b // 1000}k/{a // 1000}k" if b == 2 * a else f"{a // 1000}k→{'1M' if b == MILLION else f'{b // 1000}k'} の倍ごと")
    print(f"\n### {title}\n")
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))

    def cell(row: Row, n: int, digits: int) -> str:
        return f"{row.times[n]:.{digits}f}" if n in row.times else (f"> {args.timeout:.0f}" if n == row.timed_out else "–")

    for name, make in inputs.items():
        if args.only and not any(word in name for word in args.only):
            continue
        row = measure_row(name, task, make, sizes, args)
        cells = [name, *(cell(row, n, 3) for n in sizes)]
        for a, b, limit in judged:
            if b == MILLION:
                cells.append(cell(row, MILLION, 2))
            r = ratio(row, a, b)
            cells.append("–" if r is None else f"{r:.2f}" + (" !" if too_steep(row, a, b, limit) else ""))
        failures += [f"{title}: {failure}" for failure in failures_of(row, sizes, args)]
        print("| " + " | ".join(cells) + " |", flush=True)
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated sizes, each double the one before")
    parser.add_argument("--only", type=lambda s: s.split(","), default=None, help="only inputs whose name contains one of these words")
    parser.add_argument("--timeout", type=float, default=60.0, help="CPU seconds before a run is stopped (default 60)")
    parser.add_argument("--no-million", dest="million", action="store_false", help="skip the 1,000,000-character runs")
    parser.add_argument("--no-search", dest="search", action="store_false", help="skip the search-text table")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    registry: Registry = load_registry()
    cite_lines("地方自治法第2条", registry)  # build the automaton before forking
    gc.collect()
    gc.freeze()  # the registry's objects are not scanned by every collection (steps in the times, not growth)

    def cite(text: str) -> object:
        return cite_lines(text, registry)

    def search(text: str) -> object:
        index_text(text)
        best_snippet([("本文", text)], SEARCH_QUERY)
        return highlight(text, SEARCH_QUERY)

    failures = run_table("kb cite（kb.statutes.extract.cite_lines）、CPU 秒", STATUTE_INPUTS, cite, sizes, args)
    if args.search:
        failures += run_table("検索用テキスト（index_text + best_snippet + highlight）、CPU 秒", SEARCH_INPUTS, search, sizes, args)
    print()
    for failure in failures:
        print("FAIL", failure)
    print("OK: every pass is linear" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
