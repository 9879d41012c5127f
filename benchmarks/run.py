"""All the benchmarks, at several corpus sizes; results to benchmarks/results.json and tables to docs/benchmarks.md.

    .venv/bin/python benchmarks/run.py --sizes 1000,10000,100000

For each size N: a synthetic corpus (benchmarks/corpus.py, kept in --work for later runs),
the parse floor (benchmarks/floor.py), full builds on every core and on one, the database's
size and what SQLite alone takes to write it (benchmarks/write_floor.py), incremental builds after one file is edited / added / deleted, `kb check`, in-process
search timings (benchmarks/search.py), and the site under 16 concurrent clients over HTTP on
127.0.0.1 (benchmarks/http_load.py) against `grep -rl` (benchmarks/grep_baseline.py).
Results of a size replace that size's earlier results of the same parts (`--parts`); other parts and
sizes are kept, so the big size can run on its own. Every figure in the generated section comes from results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import command_floor  # noqa: E402
import grep_baseline  # noqa: E402
import http_load  # noqa: E402
import measure  # noqa: E402
import page_speed  # noqa: E402
import report  # noqa: E402
import search  # noqa: E402
from corpus import generate  # noqa: E402

from kb.files.disk import iter_proposal_files  # noqa: E402

RESULTS = HERE / "results.json"
DOC = ROOT / "docs" / "benchmarks.md"
PY = sys.executable
KB = str(Path(PY).parent / "kb")
SEED = 1
# The queries: a 1-, 2- and 4-character word and two words, each found in a tenth to a quarter of the
# synthetic proposals, and a word found in every one (the slowest case for ranking and facets).
QUERIES = {"1 character": "税", "2 characters": "保育", "4 characters": "生活保護", "two words": "保育 農地", "in every proposal": "番号"}
EDIT_MARK = "\n（ベンチマークによる追記）\n"
# An edit of the ask itself (具体的な支障事例): its terms change, so the 似た提案 lists, which weigh terms by
# how many proposals hold them, are derived again over the whole corpus (kb/similar/step.py).
ASK_HEADING = "## 具体的な支障事例\n"
ASK_SENTENCE = "\n窓口での確認書類の様式が市町村ごとに異なり、転入者への説明に時間を要している。\n"
INCREMENTAL_SAMPLES = 3
SINGLE_CLIENT_REQUESTS = 30  # one client alone first: the time one page costs the server
PARTS = ("build", "incremental", "check", "http", "pages")  # --parts: what to measure for each size
PART_KEYS = {  # the keys of a size's results each part writes
    "build": ("floor", "full build", "full build, one process", "database", "write floor"),
    "incremental": ("incremental",),
    "check": ("kb check", "kb check --changed"),
    "http": ("search in process", "unigram alternative", "grep", "http"),
    "pages": ("pages",),
}


def machine() -> dict[str, object]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(mem_kb / 2**20, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {p: version(p) for p in ("datasette", "sqlite-utils", "markdown-it-py", "PyYAML", "pydantic", "httpx")},
    }


def commit() -> str:
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "kb", "benchmarks", f":!{RESULTS.relative_to(ROOT)}"],
        cwd=ROOT, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip  (the results file itself is not code)
    return rev + (" + uncommitted changes" if dirty else "")


def check_changed(corpus: Path) -> dict[str, float]:
    """`kb check --changed HEAD` after one edit, in the corpus made a git repository (what a pull request runs)."""
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-C", str(corpus)]
    if not (corpus / ".git").exists():
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "corpus"], check=True)
    edited = iter_proposal_files([corpus])[0]
    original = edited.read_bytes()
    try:
        edited.write_bytes(original + EDIT_MARK.encode())
        runs = [child([KB, "check", "--changed", "HEAD", str(corpus)], "kb check --changed") for _ in range(INCREMENTAL_SAMPLES)]
    finally:
        edited.write_bytes(original)
    return {"wall_s": sorted(r.seconds for r in runs)[len(runs) // 2], "max_rss_mb": max(r.max_rss_mb for r in runs)}


def ensure_corpus(n: int, work: Path) -> Path:
    """The corpus of size n, generated once per seed and kept (a marker file says it is complete)."""
    out = work / f"corpus-{n}"
    marker = work / f"corpus-{n}.done"
    if not (marker.exists() and marker.read_text() == f"{n} {SEED}"):
        shutil.rmtree(out, ignore_errors=True)
        generate(n, out, ROOT / "proposals", SEED)
        marker.write_text(f"{n} {SEED}")
    return out


def warm(corpus: Path) -> dict[str, float]:
    """Read every file once, so that every measurement starts with them in the page cache; their size."""
    total = sum(len(p.read_bytes()) for p in iter_proposal_files([corpus]))
    return {"mb": total / 1e6}


def child(args: list[str], what: str) -> measure.Run:
    return measure.checked(measure.run(args, cwd=ROOT), what)


def build_run(db: Path, corpus: Path, *extra: str) -> dict[str, object]:
    run_ = child([PY, str(HERE / "build_once.py"), str(db), str(corpus), *extra], f"build {' '.join(extra)}")
    return {"wall_s": run_.seconds, "max_rss_mb": run_.max_rss_mb, "tree_rss_mb": run_.tree_rss_mb, **run_.json()}


def db_sizes(db: Path) -> dict[str, object]:
    conn = sqlite3.connect(db)
    parts = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
    conn.close()
    groups: dict[str, float] = {}
    for name, size in parts.items():
        group = "search index (FTS5)" if name.startswith("proposals_fts") else ("indexes" if name.startswith(("idx_", "sqlite_autoindex")) else name)
        groups[group] = groups.get(group, 0) + size / 1e6
    return {"mb": db.stat().st_size / 1e6, "parts_mb": dict(sorted(groups.items(), key=lambda kv: -kv[1]))}


def ask_terms(db: Path, path: Path) -> str | None:
    """The terms the 似た提案 lists read of the proposal in `path`, as the database stores them."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "select t.terms from similar_terms t join build_files f on f.proposal_id = t.proposal_id where f.path = ?", (str(path),)
        ).fetchone()
    finally:
        conn.close()
    return row[0] if row else None


def incremental(db: Path, corpus: Path) -> dict[str, object]:
    """One file edited (then restored), its ask edited (then restored), a file added, deleted; and no change —
    as `kb build` and in-process phases. The corpus is put back as it was however a build ends (it is kept
    between runs, and the next run would otherwise measure an edited corpus)."""
    files = iter_proposal_files([corpus])
    target = files[len(files) // 2]
    original = target.read_bytes()
    text = original.decode("utf-8")
    added = target.parent / "9999.md"
    out: dict[str, list[dict[str, object]]] = {"edit (kb build)": [], "edit": [], "add": [], "delete": [], "no change": []}
    try:
        for _ in range(INCREMENTAL_SAMPLES):
            target.write_bytes(original + EDIT_MARK.encode())
            cli = child([KB, "build", str(corpus), "--db", str(db)], "kb build (incremental)")
            out["edit (kb build)"].append({"wall_s": cli.seconds, "output": cli.stdout.strip()})
            target.write_bytes(original)
            out["edit"].append(build_run(db, corpus))
        if ASK_HEADING in text:  # every synthetic proposal has the section
            before = ask_terms(db, target)
            target.write_text(text.replace(ASK_HEADING, ASK_HEADING + ASK_SENTENCE, 1), encoding="utf-8")
            cli = child([KB, "build", str(corpus), "--db", str(db)], "kb build (ask edited)")
            out["ask edited (kb build)"] = [{"wall_s": cli.seconds, "output": cli.stdout.strip()}]
            if ask_terms(db, target) == before:  # the case measures the lists derived again: the terms must have moved
                raise SystemExit(f"ask edited: {target}'s stored ask terms did not change")
            target.write_bytes(original)
            out["ask edited"] = [build_run(db, corpus)]  # the edit undone: the same work, phases measured in process
        else:
            print(f"  {target}: no {ASK_HEADING.strip()} section, the ask-edit case is left out", flush=True)
        number = int(target.stem)
        added.write_text(text.replace(f"number: {number}\n", "number: 9999\n", 1), encoding="utf-8")
        out["add"].append(build_run(db, corpus))
        added.unlink()
        out["delete"].append(build_run(db, corpus))
        out["no change"].append(build_run(db, corpus))
    finally:
        target.write_bytes(original)
        added.unlink(missing_ok=True)
    for kind, samples in out.items():
        if not kind.endswith("(kb build)"):
            expected = "unchanged" if kind == "no change" else "incremental"
            if any(s["mode"] != expected for s in samples):
                raise SystemExit(f"{kind}: expected an {expected} build, got {[s['mode'] for s in samples]}")
    # The floor of any build that replaces the file, in the same run: the copy made as the build makes it, fsync-ed
    # (benchmarks/command_floor.py). It moves with the disk's speed, which the edits above pay as well.
    out["durable copy"] = [{"wall_s": command_floor.durable_copy_seconds(db)} for _ in range(INCREMENTAL_SAMPLES)]
    return out


def http_scenarios(db: Path) -> dict[str, list[str]]:
    """Name → the paths the clients request in turn."""
    conn = sqlite3.connect(db)
    ids = [r[0] for r in conn.execute("SELECT id FROM proposals ORDER BY random() LIMIT 200")]
    conn.close()
    scenarios = {f"/search, {label} ({q})": [f"/search?q={quote(q)}"] for label, q in QUERIES.items()}
    scenarios[f"table page with its 9 facets, search {QUERIES['2 characters']}"] = [f"/kb/proposals?_search={quote(QUERIES['2 characters'])}"]
    scenarios["table page with its 9 facets, all proposals"] = ["/kb/proposals"]
    scenarios["proposal page (200 different proposals)"] = [f"/kb/proposals/{quote(i)}" for i in ids]
    return scenarios


def site_under_load(
    db: Path, corpus: Path, workers: int, clients: int, max_requests: int, max_seconds: float
) -> dict[str, object]:
    out: dict[str, object] = {}
    with http_load.served(db, corpus, workers) as base:
        for name, paths in http_scenarios(db).items():
            alone = http_load.load(base, paths, 1, SINGLE_CLIENT_REQUESTS, max_seconds)
            result = asdict(http_load.load(base, paths, clients, max_requests, max_seconds))
            result["one_client_p50_ms"] = alone.p50_ms
            if paths[0].startswith("/kb/proposals?") or paths[0] == "/kb/proposals":
                result["facets_timed_out"] = http_load.timed_out_facets(base, paths[0])
            out[name] = result
    return out


def run_size(n: int, args: argparse.Namespace) -> dict[str, object]:
    work: Path = args.work
    corpus = ensure_corpus(n, work)
    result: dict[str, object] = {
        "measured": dt.datetime.now().isoformat(timespec="minutes"),
        "commit": commit(),
        "corpus": {"files": len(iter_proposal_files([corpus])), **warm(corpus)},
    }
    db = work / f"kb-{n}.db"
    if "build" in args.parts:
        print(f"[{n}] floor", flush=True)
        result["floor"] = child([PY, str(HERE / "floor.py"), str(corpus)], "floor").json()
        print(f"[{n}] full build", flush=True)
        result["full build"] = build_run(db, corpus, "--full")
        if n in args.single_sizes:
            print(f"[{n}] full build, one process", flush=True)
            single = work / f"kb-{n}-single.db"
            result["full build, one process"] = build_run(single, corpus, "--full", "--jobs", "1")
            single.unlink()
        result["database"] = db_sizes(db)
        print(f"[{n}] write floor (SQLite alone writing the same database)", flush=True)
        result["write floor"] = child([PY, str(HERE / "write_floor.py"), str(db)], "write floor").json()
    elif not db.exists():
        raise SystemExit(f"{db}: no database of {n} proposals to measure; run with --parts build first")
    if "pages" in args.parts and n in args.page_sizes:
        print(f"[{n}] pages against the floors (#16)", flush=True)
        result["pages"] = page_speed.measure(
            db, args.page_rounds, n in args.many_sizes, args.clients, args.requests, args.seconds, args.page_workers
        )
    if "incremental" in args.parts and n in args.incremental_sizes:
        print(f"[{n}] incremental", flush=True)
        result["incremental"] = incremental(db, corpus)
    if "check" in args.parts and n in args.check_sizes:
        print(f"[{n}] kb check", flush=True)
        run_ = child([KB, "check", str(corpus)], "kb check")
        result["kb check"] = {"wall_s": run_.seconds, "max_rss_mb": run_.max_rss_mb}
        print(f"[{n}] kb check --changed (one file edited)", flush=True)
        result["kb check --changed"] = check_changed(corpus)
    if "http" in args.parts and n in args.http_sizes:
        print(f"[{n}] search in process", flush=True)
        result["search in process"] = {q: search.query_times(db, q) for q in QUERIES.values()}
        if n in args.unigram_sizes:
            result["unigram alternative"] = search.unigram_comparison(db, [q for q in QUERIES.values() if len(q) == 1])
        print(f"[{n}] grep", flush=True)
        result["grep"] = {q: dict(zip(("seconds", "files"), grep_baseline.grep_seconds(corpus, q))) for q in QUERIES.values()}
        print(f"[{n}] site under load", flush=True)
        result["http"] = {
            "clients": args.clients,
            "max_requests": args.requests,
            "max_seconds": args.seconds,
            "by_workers": {
                str(w): site_under_load(db, corpus, w, args.clients, args.requests, args.seconds) for w in args.serve_workers
            },
        }
    return result


def sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=sizes, default=sizes("1000,10000,100000"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/kb-bench"), help="corpora and databases (kept)")
    parser.add_argument("--single-sizes", type=sizes, default=sizes("1000,10000"), help="sizes also built on one process")
    parser.add_argument("--incremental-sizes", type=sizes, default=sizes("1000,10000,100000"))
    parser.add_argument("--check-sizes", type=sizes, default=sizes("10000"))
    parser.add_argument("--http-sizes", type=sizes, default=sizes("10000,100000"))
    parser.add_argument("--unigram-sizes", type=sizes, default=sizes("10000"))
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--serve-workers", type=sizes, default=sizes("1,2"), help="kb serve --workers values to measure")
    parser.add_argument("--requests", type=int, default=800, help="most requests per scenario")
    parser.add_argument("--seconds", type=float, default=30, help="most seconds per scenario")
    parser.add_argument("--parts", type=lambda t: [p for p in t.split(",") if p], default=list(PARTS),
                        help=f"what to measure, of {','.join(PARTS)} (without build, the size's database must exist)")
    parser.add_argument("--page-sizes", type=sizes, default=sizes("5000,100000"), help="sizes whose pages are timed (#16)")
    parser.add_argument("--many-sizes", type=sizes, default=sizes("5000"), help="of those, sizes also timed under many clients")
    parser.add_argument("--page-rounds", type=int, default=200, help="one-client rounds of each kind of page")
    parser.add_argument("--page-workers", type=int, default=2, help="processes of each server under many clients")
    parser.add_argument("--doc-only", action="store_true", help="only rewrite docs/benchmarks.md from results.json")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = json.loads(args.results.read_text(encoding="utf-8")) if args.results.exists() else {"sizes": {}}
    if not args.doc_only:
        results["machine"] = machine()
        for n in args.sizes:
            # the parts measured now replace the same parts of earlier runs; the others are kept, with their dates
            earlier = dict(results["sizes"].get(str(n), {}))
            dated = earlier.get("parts measured") or {  # a result from before parts were dated: its one date
                part: earlier["measured"] for part in PARTS if any(key in earlier for key in PART_KEYS[part])
            }
            for part in args.parts:  # a part measured again leaves nothing of its earlier run (a skipped one-process build)
                for key in PART_KEYS[part]:
                    earlier.pop(key, None)
            now = run_size(n, args)
            dates = {**{p: d for p, d in dated.items() if p not in args.parts}, **{p: now["measured"] for p in args.parts}}
            commits = {**{p: c for p, c in earlier.get("parts commit", {}).items() if p not in args.parts}, **{p: now["commit"] for p in args.parts}}
            results["sizes"][str(n)] = {**earlier, **now, "parts measured": dates, "parts commit": commits}
            results["sizes"] = dict(sorted(results["sizes"].items(), key=lambda kv: int(kv[0])))
            args.results.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    args.doc.write_text(report.update_doc(args.doc.read_text(encoding="utf-8"), results), encoding="utf-8")
    print(f"{args.results} and {args.doc} written")


if __name__ == "__main__":
    main()
