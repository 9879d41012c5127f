"""What a one-edit `kb build` cannot go below on this machine: start Python, import what it needs, copy the file.

Each part in fresh processes, the median of `--runs` (the machine is shared and noisy):
- `python -c pass`: the interpreter's start;
- the libraries one edit needs — sqlite-utils (without numpy, as kb/db/build.py imports it), pydantic,
  typer, markdown-it-py, PyYAML, ahocorasick-rs — and nothing of ours;
- `import kb.cli` and `import kb.db.build`, `kb.pipeline`: those libraries plus our modules (models, the
  statute finder's patterns, the steps);
- copying the database file beside itself (`cp`, page cache warm, no fsync): what writing a new file
  and renaming it costs before anything is changed in it (docs/reliability.md: builds never write in place);
- the same copy made as `kb build` makes it and then fsync-ed (`kb.db.dbfile.start_copy`, which hands each
  copied chunk to the kernel to write out at once): a new file is renamed over the database only once it
  is on disk, so this is the floor of any build that replaces the file; it moves with the disk's speed.
Prints a Markdown table.

    python benchmarks/command_floor.py --db /tmp/kb-bench/kb-10000.db
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = """
import sys
for name in ("numpy", "pandas"):
    sys.modules[name] = None
import sqlite_utils
for name in ("numpy", "pandas"):
    del sys.modules[name]
import pydantic, typer, markdown_it, yaml, ahocorasick_rs
"""
PARTS = {
    "Python start (`python -c pass`)": "pass",
    "the libraries one edit needs (sqlite-utils without numpy, pydantic, typer, markdown-it-py, PyYAML, ahocorasick-rs)": LIBRARIES,
    "`import kb.cli, kb.db.build, kb.pipeline` (the libraries and our modules)": "import kb.cli, kb.db.build, kb.pipeline",
}


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return time.perf_counter() - start


def copy_seconds(db: Path) -> float:
    """`cp` of the database to a temporary file beside it (removed after)."""
    fd, name = tempfile.mkstemp(dir=db.parent, prefix=f".{db.name}.floor.", suffix=".tmp")
    os.close(fd)
    try:
        return timed(["cp", str(db), name])
    finally:
        os.unlink(name)


def durable_copy_seconds(db: Path) -> float:
    """The database copied beside itself the way an incremental build copies it, then fsync-ed.

    The copy is removed before returning, synchronously (a build hands that to a background `rm`), so that
    the kernel freeing one copy does not overlap the next one being timed."""
    from kb.core import tempfiles
    from kb.db import dbfile

    start = time.perf_counter()
    try:
        copy = dbfile.start_copy(db)
    except BaseException:
        tempfiles.remove_own(db)  # the temporary file made before the source could be opened
        raise
    try:
        copy.wait()
        with open(copy.dst, "rb+") as f:
            os.fsync(f.fileno())
        return time.perf_counter() - start
    finally:
        copy.cancel()
        copy.dst.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a built database whose copy to time")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rows = [(name, statistics.median(timed([sys.executable, "-c", code]) for _ in range(args.runs))) for name, code in PARTS.items()]
    if args.db:
        with open(args.db, "rb") as f:  # warm the page cache, as after the build that wrote it
            while f.read(1 << 24):
                pass
        size = args.db.stat().st_size / 1e6
        rows.append((f"`cp` of the database ({size:,.0f} MB), no fsync", statistics.median(copy_seconds(args.db) for _ in range(args.runs))))
        rows.append(
            (f"the database copied as `kb build` copies it, then fsync-ed ({size:,.0f} MB)", statistics.median(durable_copy_seconds(args.db) for _ in range(args.runs)))
        )
    print(f"| part (median of {args.runs} runs; the imports in fresh processes) | seconds |\n| --- | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} s |")


if __name__ == "__main__":
    main()
