"""Precision and recall of statute-citation extraction on the hand-labelled set.

    .venv/bin/python benchmarks/statute_accuracy.py [--verbose]

A citation counts as right only when its quoted text, its statute (registry id, or the
title an unregistered statute is grouped under) and its pinpoint all match the label.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kb.statutes.accuracy import score
from kb.statutes.registry import load_registry

LABELS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "statutes" / "labelled.yaml"


def main(argv: list[str]) -> int:
    s = score(LABELS, load_registry())
    print(f"labelled citations: {s.gold}  extracted: {s.found}  right: {s.matched}")
    print(f"precision: {s.precision:.3f}  recall: {s.recall:.3f}  (span only: {s.spans}/{s.gold})")
    if "--verbose" in argv or s.misses or s.extras:
        for name, key in s.misses:
            print(f"  missed  {name}: {key}")
        for name, key in s.extras:
            print(f"  extra   {name}: {key}")
    return 0 if s.precision >= 0.95 and s.recall >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
