"""Speed of statute-citation extraction (the `kb build` step and `kb statutes`) on a synthetic corpus.

    .venv/bin/python benchmarks/statute_speed.py 4250

Proposals come from benchmarks/corpus.py (sentences of the real proposals recombined), built
in memory; the time is the extraction of every citation of every part (clean → find → resolve).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import sentence_bank, synthetic_proposal  # noqa: E402

from kb.statutes.extract import extract_proposal  # noqa: E402
from kb.statutes.registry import load_registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--real", type=Path, default=ROOT / "proposals")
    args = parser.parse_args()
    rng = random.Random(1)
    bank = sentence_bank(args.real)
    proposals = [synthetic_proposal(rng, bank, 2014 + i % 12, i + 1) for i in range(args.n)]
    chars = sum(len(t or "") for p in proposals for t in [*p.sections.values(), *p.opinions.values()])
    registry = load_registry()
    start = time.perf_counter()
    citations = sum(len(extract_proposal(p, registry)) for p in proposals)
    elapsed = time.perf_counter() - start
    print(f"{args.n} proposals, {chars / 1e6:.1f} M characters, {citations} citations")
    print(f"extraction: {elapsed:.2f} s ({args.n / elapsed:.0f} proposals/s, {chars / elapsed / 1e6:.2f} M chars/s)")


if __name__ == "__main__":
    main()
