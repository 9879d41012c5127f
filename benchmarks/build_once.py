"""One `kb.pipeline.build` in a fresh process, reported as one JSON line (mode, counts, seconds per phase).

`benchmarks/run.py` runs this as a child so that it can measure the process tree's
memory and wall time, including the interpreter start and imports a `kb build` pays.

    python benchmarks/build_once.py /tmp/kb-bench/kb-10000.db /tmp/kb-bench/corpus-10000 --full --jobs 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

START = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.pipeline import build  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--jobs", type=int)
    args = parser.parse_args()
    imported = time.perf_counter()
    result = build(args.db, [args.corpus], full=args.full, jobs=args.jobs)
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "mode": result.mode,
                "parsed": result.parsed,
                "proposals": result.counts.get("proposals", 0),
                "counts": result.counts,
                "import_s": imported - START,
                "build_s": done - imported,
                "phases": result.seconds,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
