"""kill -9 at random moments of `kb build` (full and incremental), `kb fmt` and `kb import` (#17).

For each command: time one uninterrupted run, then `--runs` times restore the starting state,
start the command, kill it with SIGKILL after a random fraction of that time, and check that
- the data is intact: the database opens, passes `PRAGMA integrity_check` and holds every
  proposal (the old database, or the new one if the rename already happened); every proposal
  file is byte for byte either what it was or what the command writes — never half of it;
- the next run (not killed) succeeds and leaves no temporary file (`.*.tmp`) behind.

The corpus is synthetic (benchmarks/corpus.py) and the import's sheets are copies of a real
sheet's text with other 管理番号 (synthetic too); everything lives in a temporary folder.

    python benchmarks/kills.py --runs 20 --size 2000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KB = [sys.executable, "-c", "from kb.cli import main; main()"]
SHEET = REPO / "tests" / "fixtures" / "sheets" / "r6_0071_digital_final_plain.txt"


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KB, *args], cwd=cwd, capture_output=True, text=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.md"))}


def temps(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders if folder.exists() for p in folder.rglob(".*.tmp"))


def db_ok(db: Path, expected: int) -> str:
    """'' when the database is whole and holds `expected` proposals, else what is wrong."""
    if not db.exists():
        return "database missing"
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            count = conn.execute("select count(*) from proposals").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"unreadable database: {exc}"
    if check != "ok":
        return f"integrity_check: {check}"
    return "" if count == expected else f"{count} proposals, expected {expected}"


@dataclass
class Scenario:
    name: str
    prepare: Callable[[], None]  # the starting state, restored before every run
    args: list[str]
    verify: Callable[[], str]  # after a kill: '' when the data is intact
    settle: list[str]  # the next run, not killed
    verify_after: Callable[[], str]  # after the next run
    folders: list[Path]
    failures: list[str] = field(default_factory=list)
    kills: int = 0
    finished_before_kill: int = 0
    leftovers_seen: int = 0  # temp files present right after a kill (removed by the next run)


def timed(s: Scenario, cwd: Path) -> float:
    s.prepare()
    start = time.perf_counter()
    result = subprocess.run([*KB, *s.args], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{s.name}: the uninterrupted run failed:\n{result.stdout}\n{result.stderr}")
    return seconds


def kill_runs(s: Scenario, cwd: Path, runs: int, rng: random.Random) -> None:
    duration = min(timed(s, cwd), timed(s, cwd))  # the first run may be slower (cold caches)
    for _ in range(runs):
        s.prepare()
        proc = subprocess.Popen([*KB, *s.args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.02, 0.9) * duration)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            s.kills += 1
        else:
            s.finished_before_kill += 1
        proc.wait()
        s.leftovers_seen += len(temps(*s.folders))
        problem = s.verify()
        if problem:
            s.failures.append(f"after kill: {problem}")
        settled = run(s.settle, cwd)
        if settled.returncode != 0:
            s.failures.append(f"next run failed: {settled.stderr.strip()[:300]}")
        left = temps(*s.folders)
        if left:
            s.failures.append(f"next run left {len(left)} temp files: {left[0].name}")
        problem = s.verify_after()
        if problem:
            s.failures.append(f"after next run: {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--size", type=int, default=2000, help="synthetic proposals in the corpus")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="kb-kills-"))
    try:
        scenarios = make_scenarios(work, args.size)
        for s in scenarios:
            kill_runs(s, work, args.runs, rng)
            print(f"{s.name}: {s.kills} kills, {s.finished_before_kill} finished first, "
                  f"{s.leftovers_seen} temp files left by kills, {len(s.failures)} failures", flush=True)  # fmt: skip
        report(scenarios, args)
        if any(s.failures for s in scenarios):
            for s in scenarios:
                for failure in s.failures:
                    print(f"FAIL {s.name}: {failure}")
            raise SystemExit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def make_scenarios(work: Path, size: int) -> list[Scenario]:
    corpus = work / "corpus"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "corpus.py"), str(size), str(corpus)], check=True)
    pristine = work / "pristine"
    shutil.copytree(corpus, pristine)
    db = work / "kb.db"
    built = run(["build", "--db", str(db), str(corpus)], work)
    if built.returncode != 0:
        raise SystemExit(built.stderr)
    good_db = work / "good.db"
    shutil.copy(db, good_db)
    n = len(list(corpus.rglob("*.md")))
    edited = sorted(corpus.rglob("*.md"))[size // 2]
    edited_text = edited.read_text(encoding="utf-8").replace("## 求める措置の具体的内容\n\n", "## 求める措置の具体的内容\n\n（編集）", 1)

    def restore_db() -> None:
        shutil.copy(good_db, db)
        for p in temps(work):
            p.unlink()

    def restore_corpus() -> None:
        shutil.rmtree(corpus)
        shutil.copytree(pristine, corpus)

    def prepare_full() -> None:
        restore_db()

    def prepare_incremental() -> None:
        restore_db()
        restore_corpus()
        edited.write_text(edited_text, encoding="utf-8")

    # kb fmt: every file needs formatting (a blank line removed after each heading), so it writes all of them.
    unformatted = work / "unformatted"
    if not unformatted.exists():
        shutil.copytree(pristine, unformatted)
        for p in unformatted.rglob("*.md"):
            p.write_text(re.sub(r"^(## .+)\n\n", r"\1\n", p.read_text(encoding="utf-8"), flags=re.M), encoding="utf-8")
    before_fmt = snapshot(unformatted)
    after_fmt = snapshot(pristine)

    def prepare_fmt() -> None:
        restore_corpus()
        shutil.rmtree(corpus)
        shutil.copytree(unformatted, corpus)

    def files_whole(before: dict[str, bytes], after: dict[str, bytes]) -> Callable[[], str]:
        def verify() -> str:
            now = snapshot(corpus)
            bad = [k for k, v in now.items() if v not in (before.get(k), after.get(k))]
            missing = [k for k in before if k not in now]
            if bad or missing:
                return f"{len(bad)} files neither old nor new (e.g. {bad[:1]}), {len(missing)} missing"
            return ""

        return verify

    def fmt_done() -> str:
        return "" if snapshot(corpus) == after_fmt else "files differ from the formatted corpus"

    # kb import: sheets of synthetic proposals (a real sheet's text with other 管理番号) into an empty year.
    sheets = work / "sheets"
    sheets.mkdir(exist_ok=True)
    text = SHEET.read_text(encoding="utf-8")
    count = max(50, size // 10)
    for k in range(count):
        number = 5000 + k
        (sheets / f"{number}.txt").write_text(
            text.replace("整理番号\t71", f"整理番号\t{number}").replace("(管理番号\t71)", f"(管理番号\t{number})"), encoding="utf-8"
        )
    target = work / "imported"
    sheet_args = [str(p) for p in sorted(sheets.glob("*.txt"))]

    def prepare_import() -> None:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()

    reference = work / "imported-ref"
    shutil.rmtree(reference, ignore_errors=True)
    reference.mkdir()
    ref = run(["import", "--out", str(reference), *sheet_args], work)
    if not list(reference.rglob("*.md")):
        raise SystemExit(f"the reference import wrote nothing:\n{ref.stdout}\n{ref.stderr}")
    after_import = snapshot(reference)

    def import_whole() -> str:
        now = snapshot(target)
        bad = [k for k, v in now.items() if v != after_import.get(k)]
        return f"{len(bad)} files differ from a complete import (e.g. {bad[:1]})" if bad else ""

    def import_done() -> str:
        return "" if snapshot(target) == after_import else "imported files differ from the reference"

    build_args = ["build", "--db", str(db), str(corpus)]
    return [
        Scenario("kb build --full", prepare_full, [*build_args, "--full"], lambda: db_ok(db, n), build_args, lambda: db_ok(db, n), [work]),
        Scenario("kb build (incremental)", prepare_incremental, build_args, lambda: db_ok(db, n), build_args, lambda: db_ok(db, n), [work]),
        Scenario("kb fmt", prepare_fmt, ["fmt", str(corpus)], files_whole(before_fmt, after_fmt), ["fmt", str(corpus)], fmt_done, [corpus]),
        Scenario("kb import", prepare_import, ["import", "--out", str(target), *sheet_args], import_whole,
                 ["import", "--out", str(target), *sheet_args], import_done, [target]),  # fmt: skip
    ]


def report(scenarios: list[Scenario], args: argparse.Namespace) -> None:
    print()
    print("| command | runs | killed mid-run | temp files left by kills | failures (data not intact, or left after the next run) |")
    print("|---|---|---|---|---|")
    for s in scenarios:
        print(f"| `{s.name}` | {args.runs} | {s.kills} | {s.leftovers_seen} | {len(s.failures)} |")


if __name__ == "__main__":
    main()
