"""Precision and recall of statute-citation extraction on the hand-labelled sets, overall and per kind.

    .venv/bin/python benchmarks/statute_accuracy.py [--verbose]

A citation counts as right only when its quoted text, its statute (e-Gov 法令ID, registry id, or
the title an unresolved statute is grouped under) and its pinpoint all match the label. The sets:
labelled.yaml (the five seed documents and sentences in the shape of real answers),
labelled_written.yaml (sentences covering 政令, 府省令, member bills, numbers, 附則, 別表, 同法,
defined abbreviations), labelled_heldout.yaml (written as held-out, first scored 0.977 / 0.970, then
used to fix the faults it showed) and labelled_heldout2.yaml (written after those fixes, never used
to tune: its first score is the one reported). Per kind counts a label by the kind of the statute it names, an extracted
citation by the kind of what it resolved to.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kb.statutes.accuracy import KIND_GROUPS, Score, score
from kb.statutes.registry import load_registry

HERE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "statutes"
SETS = ("labelled.yaml", "labelled_written.yaml", "labelled_heldout.yaml", "labelled_heldout2.yaml")
TARGET = 0.98


def table(scores: dict[str, Score]) -> list[str]:
    """Markdown table: one row per set and per kind of the combined sets."""
    lines = ["| 対象 | ラベル | 抽出 | 正解 | 適合率 | 再現率 |", "|---|---:|---:|---:|---:|---:|"]
    for name, s in scores.items():
        lines.append(f"| {name} | {s.gold} | {s.found} | {s.matched} | {s.precision:.3f} | {s.recall:.3f} |")
    total = scores["計"]
    for kind in KIND_GROUPS:
        k = total.kinds[kind]
        if k.gold or k.found:
            lines.append(f"| 　{kind} | {k.gold} | {k.found} | {k.matched} | {k.precision:.3f} | {k.recall:.3f} |")
    return lines


def main(argv: list[str]) -> int:
    registry = load_registry()
    paths = [HERE / name for name in SETS if (HERE / name).exists()]
    scores = {p.name: score(p, registry) for p in paths}
    scores["計"] = score(paths, registry)
    print("\n".join(table(scores)))
    total = scores["計"]
    if "--verbose" in argv or total.misses or total.extras:
        for name, key in total.misses:
            print(f"  missed  {name}: {key}")
        for name, key in total.extras:
            print(f"  extra   {name}: {key}")
    ok = total.precision >= TARGET and total.recall >= TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
