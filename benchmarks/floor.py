"""The parse floor: the least work any build must do — read every file and parse its Markdown, one process.

"Parse" means `kb.files.parse`'s own MarkdownIt instance (CommonMark + the front-matter plugin, inline
rules disabled — exactly what `kb build` runs), so the floor is not flattered by a cheaper
configuration. Also timed: the whole `kb.files.parse.parse_file` (Markdown + YAML + pydantic), one process.
Prints one JSON line; `benchmarks/run.py` runs it in a fresh process.

    python benchmarks/floor.py /tmp/kb-bench/corpus-10000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.files.disk import iter_proposal_files  # noqa: E402
from kb.files.parse import _md as KB_MARKDOWN  # noqa: E402  - the parser kb.files.parse uses, on purpose
from kb.files.parse import parse_file  # noqa: E402


def markdown_floor(files: list[Path]) -> float:
    """Seconds to read and Markdown-parse every file."""
    start = time.perf_counter()
    for path in files:
        KB_MARKDOWN.parse(path.read_text(encoding="utf-8"))
    return time.perf_counter() - start


def parse_files(files: list[Path]) -> float:
    """Seconds for `kb.files.parse.parse_file` on every file: the floor plus YAML and validation."""
    start = time.perf_counter()
    for path in files:
        parse_file(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    args = parser.parse_args()
    files = iter_proposal_files([args.corpus])
    floor = markdown_floor(files)
    parse = parse_files(files)
    print(json.dumps({"files": len(files), "floor_s": floor, "parse_file_s": parse}))


if __name__ == "__main__":
    main()
