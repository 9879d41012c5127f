"""Hostile SQL and parameters against the real site: each must be refused or stopped, fast and small.

Starts `kb serve` (one process, 127.0.0.1 only) on a database built from `proposals/` (or
--db), sends every probe once and reports, per probe: the HTTP status, seconds until the
last byte, bytes received and the server's peak memory growth while answering (VmHWM after
the probe minus VmRSS before it, the peak reset before each probe through
/proc/PID/clear_refs). Fails (exit 1) when a probe takes longer than --max-seconds or
makes the server grow by more than --max-mb. Run in the default mode, in `--public` mode
(arbitrary SQL refused), or both:

    .venv/bin/python benchmarks/sql_probes.py --mode both           # figures for docs/reliability.md
    .venv/bin/python benchmarks/sql_probes.py --db /tmp/kb-bench/kb-10000.db --dir /tmp/kb-bench/corpus-10000

The probes are the attacks of issue #17: writes, ATTACH, PRAGMA, load_extension, value bombs
(zeroblob, randomblob, printf widths, doubling CTEs, nested replace()), row bombs (cross
joins, endless recursive CTEs, 1,000 rows of 1–8 MB), aggregate bombs (group_concat,
json_group_array), single calls quadratic in their arguments (instr, replace, trim, like,
glob on 8 MB), JSON depth, long LIKE patterns, deep expressions, long SQL text, CTEs copied
exponentially while the statement is prepared, and the table and search pages' own parameters.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_load import free_port, serving  # noqa: E402

from kb.pipeline import build  # noqa: E402

HOST = "127.0.0.1"  # never any other address
KB = Path(sys.executable).parent / "kb"
REPO = Path(__file__).resolve().parent.parent
MB = 1024 * 1024

ROWS_1000 = "with recursive r(i) as (select 1 union all select i + 1 from r where i < 1000)"


def nested_replace(levels: int, char: str = "x") -> str:
    """replace(replace(…'xxxxxxxxxx'…, 'x', 'xxxxxxxxxx')…): 10^(levels+1) characters from a few bytes of SQL."""
    ten = f"'{char * 10}'"
    sql = ten
    for _ in range(levels):
        sql = f"replace({sql}, '{char}', {ten})"
    return sql


MB_OF_X = nested_replace(5)  # 1,000,000 characters
EIGHT_MB_OF_A = "(" + " || ".join([nested_replace(5, "a")] * 8) + ")"  # 8,000,000: just under the 8 MiB value limit


def exponential_ctes(levels: int) -> str:
    """Each CTE joins the previous one with itself: the statement holds 2^levels copies while it is prepared."""
    parts = ["c0 as (select 1 as x)"]
    for i in range(1, levels + 1):
        parts.append(f"c{i} as (select a.x from c{i - 1} a, c{i - 1} b)")
    return f"with {', '.join(parts)} select count(*) from c{levels}"


def sql(query: str, fmt: str = "") -> str:
    return f"/kb{fmt}?{urlencode({'sql': query})}"


PROBES: list[tuple[str, str]] = [
    # writes and the database around it
    ("insert", sql("insert into proposals (id) values ('x')")),
    ("update", sql("update proposals set title = 'x'")),
    ("delete", sql("delete from proposals")),
    ("create table", sql("create table t (x)")),
    ("drop table", sql("drop table proposals")),
    ("two statements", sql("select 1; drop table proposals")),
    ("attach", sql("attach database '/tmp/kb-probe.db' as x")),
    ("pragma writable_schema", sql("pragma writable_schema = 1")),
    ("pragma function with an argument", sql("select * from pragma_max_page_count(1)")),
    ("pragma read (allowed)", sql("select name from pragma_table_info('proposals')")),
    ("load_extension", sql("select load_extension('/tmp/kb-probe.so')")),
    # one huge value
    ("zeroblob(400 MB)", sql("select zeroblob(400000000)")),
    ("hex(zeroblob(400 MB))", sql("select hex(zeroblob(400000000))")),
    ("randomblob(1 GB)", sql("select length(randomblob(1000000000))")),
    ("printf precision 2,000,000,000", sql("select printf('%.*c', 2000000000, 'x')")),
    ("printf width 400,000,000", sql("select printf('%400000000d', 1)")),
    ("printf of a number (allowed)", sql("select printf('%.1f%%', 12.345)")),
    ("8 MB value (allowed)", sql(f"select length({EIGHT_MB_OF_A})")),
    ("nested replace 10^9", sql(f"select length({nested_replace(8)})")),
    ("doubling CTE", sql("with recursive r(s) as (select 'x' union all select s || s from r) select length(s) from r")),
    ("group_concat of a cross join", sql("select length(group_concat(a.title)) from statutes a, statutes b")),
    ("json_group_array of a cross join", sql("select length(json_group_array(a.title)) from statutes a, statutes b")),
    ("JSON nested 100,000 deep", sql(f"select json(replace(substr({MB_OF_X}, 1, 100000), 'x', '['))")),
    ("json_patch", sql("select json_patch('{\"a\":1}', '{\"b\":2}')")),
    # many rows, or many big rows
    ("endless recursive CTE, count", sql("with recursive r(i) as (select 1 union all select i + 1 from r) select count(*) from r")),
    ("endless recursive CTE, rows", sql("with recursive r(i) as (select 1 union all select i + 1 from r) select i from r")),
    ("cross join of the biggest tables", sql("select count(*) from statutes a, statutes b, citations c")),
    ("cross join rows, JSON", sql("select a.*, b.* from statutes a, statutes b", ".json")),
    ("1000 rows × 1 MB, HTML", sql(f"{ROWS_1000} select {MB_OF_X} from r")),
    ("1000 rows × 1 MB, JSON", sql(f"{ROWS_1000} select {MB_OF_X} from r", ".json")),
    ("1000 rows × 8 MB, JSON", sql(f"{ROWS_1000} select {EIGHT_MB_OF_A} from r", ".json")),
    ("1000 rows × 1 MB Japanese, JSON", sql(f"{ROWS_1000} select replace(substr({MB_OF_X}, 1, 333000), 'x', 'あ') from r", ".json")),
    ("1000 rows × 1 MB, CSV", sql(f"{ROWS_1000} select {MB_OF_X} from r", ".csv")),
    # just under the most a query may return (8 MiB + 12 KiB a row, counted as JSON): what an answer at the limit costs
    ("1000 rows × 20,000 characters, JSON (at the limit)", sql(f"{ROWS_1000} select substr({MB_OF_X}, 1, 20000) from r", ".json")),
    ("1000 rows × 3,400 Japanese characters, JSON (at the limit)", sql(f"{ROWS_1000} select replace(substr({MB_OF_X}, 1, 3400), 'x', 'あ') from r", ".json")),
    ("1000 rows × 3,400 Japanese characters, HTML (at the limit)", sql(f"{ROWS_1000} select replace(substr({MB_OF_X}, 1, 3400), 'x', 'あ') from r")),
    ("json_each over 4M elements", sql(f"select count(*) from json_each('[' || replace(substr({EIGHT_MB_OF_A}, 1, 4000000), 'a', '1,') || '1]')")),
    # one call, quadratic in its arguments (the time limit cannot stop a single call)
    ("instr of 8 MB and 100 kB", sql(f"select instr({EIGHT_MB_OF_A}, substr({EIGHT_MB_OF_A}, 1, 100000) || 'b')")),
    ("replace of 8 MB and 100 kB", sql(f"select length(replace({EIGHT_MB_OF_A}, substr({EIGHT_MB_OF_A}, 1, 100000) || 'b', 'x'))")),
    ("trim of 8 MB by 100 kB", sql(f"select length(trim({EIGHT_MB_OF_A}, substr({nested_replace(5, 'b')}, 1, 100000) || 'a'))")),
    ("like: 8 MB text, 1 kB pattern", sql(f"select {EIGHT_MB_OF_A} like '%' || substr({EIGHT_MB_OF_A}, 1, 990) || 'b'")),
    ("like with _: 8 MB text, 1 kB pattern", sql(f"select {EIGHT_MB_OF_A} like '%' || substr({EIGHT_MB_OF_A}, 1, 990) || '_b'")),
    ("glob: 8 MB text, 1 kB pattern", sql(f"select {EIGHT_MB_OF_A} glob '*' || substr({EIGHT_MB_OF_A}, 1, 990) || 'b'")),
    ("search_snippet of 8 MB, 300 words", sql(f"select length(search_snippet({EIGHT_MB_OF_A}, '{' '.join(['児童'] * 300)}'))")),
    ("search_snippet of 8 MB, 600 bigrams", sql(f"select length(search_snippet({EIGHT_MB_OF_A}, '{' '.join(chr(0x4E00 + i) + chr(0x4E01 + i) for i in range(600))}'))")),
    # parser and compiler
    ("LIKE pattern 60 kB", sql(f"select count(*) from proposals where title like replace(substr({MB_OF_X}, 1, 60000), 'x', '%')")),
    ("LIKE backtracking", sql(f"select {nested_replace(5, 'a')} like '%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b'")),
    ("expression 2,000 deep", sql("select " + "(" * 2000 + "1" + ")" * 2000)),
    ("CTEs copied 2^30 times", sql(exponential_ctes(30))),
    ("compound select of 600", sql(" union all ".join(["select 1"] * 600))),
    ("SQL text 60 kB (allowed)", sql("select 1" + " " * 60_000)),
    # canned queries, table and search pages
    ("canned LIKE with a 3 kB name", "/kb/proposals_of_local_government?" + urlencode({"name": "%" * 3000})),
    ("canned search, 1,500 characters", "/kb/search?" + urlencode({"q": "あい" * 750})),
    ("ranked search, 700 words", "/search?" + urlencode({"q": "児童 " * 700})),
    ("table _where 8 MB per row", "/kb/proposals?" + urlencode({"_where": f"length({EIGHT_MB_OF_A}) > 0"})),
    ("table 300 facets", "/kb/proposals?" + "&".join(["_facet=year"] * 300)),
    ("table junk _sort", "/kb/proposals?_sort=nonexistent"),
    ("table junk _timelimit", "/kb/proposals?_timelimit=abc"),
    ("table NUL in _facet", "/kb/proposals?_facet=%00"),
    ("table huge integer filter", "/kb/proposals?id__gt=99999999999999999999"),
    ("table _size=max all columns", "/kb/proposals.json?_size=max"),
    ("table CSV stream", "/kb/proposals.csv?_stream=on&_size=max"),
    ("database download", "/kb.db"),
]


@dataclass
class Outcome:
    name: str
    status: int
    seconds: float
    bytes: int
    growth_mb: float
    note: str


def _status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux ≥ 4.0)


@contextmanager
def served(db: Path, corpus: Path, public: bool) -> Iterator[tuple[str, int]]:
    """`kb serve` in a child process; yields (base URL, pid) once it answers."""
    port = free_port()
    command = [str(KB), "serve", "--db", str(db), "--dir", str(corpus), "--port", str(port)] + (["--public"] if public else [])
    with serving(command, f"http://{HOST}:{port}", "/", 600, "kb serve") as answered:
        yield answered


def _note(response_text: str, status: int) -> str:
    for marker in ('class="message-error kb-sql-help">', 'class="message-error">', '"error": "'):
        start = response_text.find(marker)
        if start >= 0:
            text = response_text[start + len(marker) :].split("<", 1)[0].split('"', 1)[0]
            return text.encode().decode("unicode_escape", "ignore") if marker.startswith('"') else text
    return "" if status == 200 else response_text[:80]


def probe(client: httpx.Client, pid: int, name: str, path: str) -> Outcome:
    time.sleep(0.2)  # let the previous answer's memory settle
    before = _status_kb(pid)["VmRSS"]
    _reset_peak(pid)
    start = time.perf_counter()
    received = 0
    head = b""
    try:
        with client.stream("GET", path) as response:
            for chunk in response.iter_bytes():
                received += len(chunk)
                if len(head) < 200_000:
                    head += chunk[:200_000]
            status = response.status_code
    except httpx.HTTPError as exc:
        status, head = 0, repr(exc).encode()
    seconds = time.perf_counter() - start
    memory = _status_kb(pid)
    if "VmHWM" not in memory:
        raise SystemExit(f"kb serve died while answering {name!r}")
    peak = memory["VmHWM"]
    text = head.decode("utf-8", "replace")
    return Outcome(name, status, seconds, received, max(0, peak - before) / 1024, _note(text, status)[:90])


def run(db: Path, corpus: Path, public: bool) -> list[Outcome]:
    with served(db, corpus, public) as (base, pid), httpx.Client(base_url=base, timeout=120) as client:
        for path in ("/", "/kb/proposals", "/search?q=%E5%85%90%E7%AB%A5", "/kb?sql=select+1"):
            client.get(path)  # warm up: templates compiled, connections opened
        outcomes = []
        for name, path in PROBES:
            outcome = probe(client, pid, name, path)
            print(f"  {name}: {outcome.status} {outcome.seconds:.2f} s {outcome.growth_mb:.1f} MB", file=sys.stderr, flush=True)
            outcomes.append(outcome)
        return outcomes


def table(outcomes: list[Outcome], mode: str) -> str:
    lines = [
        f"| probe ({mode}) | status | seconds | bytes sent | server RSS growth | what the user sees |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for o in outcomes:
        sent = f"{o.bytes / MB:.1f} MB" if o.bytes >= MB else f"{o.bytes:,}"
        note = o.note.replace("|", "\\|").replace("\n", " ").strip()
        lines.append(f"| {o.name} | {o.status} | {o.seconds:.2f} | {sent} | {o.growth_mb:.1f} MB | {note} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="built database (default: build --dir into a temporary folder)")
    parser.add_argument("--dir", type=Path, default=REPO / "proposals", help="proposal folder")
    parser.add_argument("--mode", choices=["default", "public", "both"], default="both")
    parser.add_argument("--max-seconds", type=float, default=4.0, help="3 s SQL time limit + 1 s for the rest")
    parser.add_argument("--max-mb", type=float, default=100.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kb-probes-"))
    try:
        db = args.db
        if db is None:
            db = tmp / "kb.db"
            print(build(db, [args.dir]).summary(), file=sys.stderr)
        failures: list[str] = []
        modes = ["default", "public"] if args.mode == "both" else [args.mode]
        for mode in modes:
            outcomes = run(db, args.dir, public=mode == "public")
            print(table(outcomes, mode) + "\n")
            for o in outcomes:
                if o.name == "database download":
                    continue  # open data: the file is streamed from disk, whatever its size
                if o.status >= 500 or o.status == 0:
                    failures.append(f"{mode}: {o.name}: status {o.status}")
                if o.seconds > args.max_seconds:
                    failures.append(f"{mode}: {o.name}: {o.seconds:.1f} s > {args.max_seconds} s")
                if o.growth_mb > args.max_mb:
                    failures.append(f"{mode}: {o.name}: {o.growth_mb:.0f} MB > {args.max_mb} MB")
        for failure in failures:
            print("FAIL", failure, file=sys.stderr)
        raise SystemExit(1 if failures else 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
