"""The write floor: what SQLite alone takes to write the database a full build writes, one process.

Every row of a built database is read into memory first (not timed), then written to a fresh file
the way `kb build` writes one (kb/db/dbfile.py: journal and synchronous off, one fsync at the end):
each table created and filled with `executemany`, the search index filled from the bigram text the
build indexed (`kb.search.index.stored_texts`) and merged, the indexes and triggers created,
`ANALYZE`, fsync. No parsing, no citation finding, no Python per row beyond the sqlite3 module's own.
A full build can overlap its parsing with these writes but cannot go below them: one SQLite file has
one writer. `benchmarks/run.py` reports it against the parse floor (benchmarks/floor.py).

    python benchmarks/write_floor.py /tmp/kb-bench/kb-10000.db
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.db.schema import FTS_TABLE  # noqa: E402
from kb.search.index import create_index, optimize, stored_texts  # noqa: E402


def _schema(src: sqlite3.Connection) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, CREATE) of the plain tables in creation order, and the CREATE of every index and trigger."""
    rows = src.execute("select type, name, sql from sqlite_master where sql is not null order by rowid").fetchall()
    tables = [
        (name, sql)
        for kind, name, sql in rows
        if kind == "table" and not name.startswith(("sqlite_", f"{FTS_TABLE}_")) and name != FTS_TABLE
    ]
    later = [sql for kind, name, sql in rows if kind in ("index", "trigger") and not name.startswith(f"{FTS_TABLE}_")]
    return tables, later


def write_floor(db: Path) -> dict[str, float | int]:
    """Seconds SQLite takes to write `db`'s content into a fresh file, by part (reading it is not counted)."""
    import sqlite_utils

    src = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    tables, later = _schema(src)
    ids = [r[0] for r in src.execute("select id from proposals order by rowid")]
    texts = stored_texts(sqlite_utils.Database(src), ids)  # the bigram text the build indexed, by rowid
    seconds = {"tables_s": 0.0, "search_index_s": 0.0, "indexes_s": 0.0, "analyze_s": 0.0, "fsync_s": 0.0}
    rows_written = 0
    with tempfile.TemporaryDirectory(dir=db.parent) as tmp:
        path = Path(tmp) / "floor.db"
        dst = sqlite3.connect(path, isolation_level=None)
        dst.execute("PRAGMA journal_mode = OFF")
        dst.execute("PRAGMA synchronous = OFF")
        for name, sql in tables:
            rows = src.execute(f"select * from [{name}]").fetchall()  # read: not timed
            width = len(rows[0]) if rows else 0
            start = time.perf_counter()
            dst.execute(sql)
            if rows:
                dst.execute("BEGIN")
                dst.executemany(f"insert into [{name}] values ({', '.join('?' * width)})", rows)
                dst.execute("COMMIT")
            seconds["tables_s"] += time.perf_counter() - start
            rows_written += len(rows)
            del rows
        wrapped = sqlite_utils.Database(dst)
        start = time.perf_counter()
        create_index(wrapped)
        dst.execute("BEGIN")
        dst.executemany(
            f"INSERT INTO {FTS_TABLE} (rowid, title, names, body) VALUES (?, ?, ?, ?)",
            [(rowid, *text) for rowid, text in texts.items()],
        )
        dst.execute("COMMIT")
        optimize(wrapped)
        seconds["search_index_s"] = time.perf_counter() - start
        start = time.perf_counter()
        for sql in later:
            dst.execute(sql)
        seconds["indexes_s"] = time.perf_counter() - start
        start = time.perf_counter()
        dst.execute("ANALYZE")
        seconds["analyze_s"] = time.perf_counter() - start
        dst.close()
        start = time.perf_counter()
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        seconds["fsync_s"] = time.perf_counter() - start
        size = path.stat().st_size
    src.close()
    return {**seconds, "total_s": sum(seconds.values()), "rows": rows_written, "indexed": len(texts), "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    args = parser.parse_args()
    print(json.dumps(write_floor(args.db)))


if __name__ == "__main__":
    main()
