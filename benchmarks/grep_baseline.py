"""The naive alternative to the search index: `grep -rl` over the Markdown files, for the same queries.

A query of several words (separated by spaces) needs every word, like the site's search:
the files found for the first word are grepped for the next. grep matches the bytes as
typed (no NFKC, no ヶ/ケ folding), so its counts can differ from the index's.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

REPEAT = 3
ARGS_PER_CALL = 5000  # file names per grep call, well inside the kernel's argument size limit


def grep_files(corpus: Path, query: str) -> list[str]:
    """Files containing every word of the query (fixed strings, recursive)."""
    words = query.split()
    found = subprocess.run(
        ["grep", "-rlF", "--include=*.md", "--", words[0], str(corpus)], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    for word in words[1:]:
        found = [
            hit
            for start in range(0, len(found), ARGS_PER_CALL)
            for hit in subprocess.run(
                ["grep", "-lF", "--", word, *found[start : start + ARGS_PER_CALL]],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.splitlines()
        ]
    return found


def grep_seconds(corpus: Path, query: str, repeat: int = REPEAT) -> tuple[float, int]:
    """Median seconds over `repeat` runs (files in the page cache after the first), and files found."""
    times, count = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = len(grep_files(corpus, query))
        times.append(time.perf_counter() - start)
    return statistics.median(times), count
