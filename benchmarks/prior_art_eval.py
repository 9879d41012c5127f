"""How well and how fast 提案前チェック finds the proposal a draft restates (issue #13).

The two real proposals (令和6年 管理番号70・71) are put among N synthetic proposals and every hand-written
draft in tests/fixtures/prior_art/ (each labelled with the proposal it restates) is checked against the
built database. Prints recall@1, recall@10, MRR and the latency of a check, and the similar step's share
of the full build.

Two kinds of synthetic neighbours (every file says it is synthetic, and is written outside proposals/):
- `differing` (the issue's set-up): asks about other topics — procedures under laws drawn from e-Gov's list
  (data/egov_laws.csv, laws about 番号・個人情報・情報通信 left out) and topic words of benchmarks/corpus.py;
- `sentences` (a harder stress case): benchmarks/corpus.py, whose texts are recombined sentences of the two
  real proposals themselves, so every neighbour speaks of 中間サーバー and 個人番号.

    python benchmarks/prior_art_eval.py --n 5000 --kind differing
    python benchmarks/prior_art_eval.py --n 5000 --kind sentences --db /tmp/kb-bench/pa-sent-5000.db
    python benchmarks/prior_art_eval.py --n 100000 --reuse --http                    # corpus and database made before
    python benchmarks/prior_art_eval.py --db kb.db --drafts-only   # the real corpus, once harvested
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import shutil
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from corpus import GOVERNMENTS, MINISTRIES, MINISTRY_FIRST_YEAR, SYNTHETIC_SOURCE, TOPICS, generate  # noqa: E402
from datasette.app import Datasette  # noqa: E402
from datasette.database import Database  # noqa: E402
from http_load import percentile, served  # noqa: E402

from kb.core.models import Decision, Proposal, Source  # noqa: E402
from kb.core.vocab import Category, Outcome, SectionKey, Stage, year_to_era  # noqa: E402
from kb.files.render import render  # noqa: E402
from kb.pipeline import build  # noqa: E402
from kb.similar.check import check_draft  # noqa: E402
from kb.statutes.extract import extract_text  # noqa: E402
from kb.statutes.registry import load_registry  # noqa: E402

DRAFTS = ROOT / "tests" / "fixtures" / "prior_art"
REAL = ROOT / "tests" / "fixtures" / "real"
LAWS = ROOT / "data" / "egov_laws.csv"
OFF_TOPIC = ("番号", "個人情報", "情報通信", "電子", "デジタル", "行政手続")
OTHER_TOPICS = [t for t in TOPICS if t not in ("番号", "住民票", "LGWAN")]
ACTIONS = ["許可", "認可", "届出", "登録", "指定", "承認", "確認", "協議", "報告", "審査", "交付", "検査"]
ASKS = [
    "{law}に基づく{topic}の{action}に係る権限を{gov}に移譲すること。",
    "{topic}に関する{action}の手続について、{law}で定める書類の一部を省略できるようにすること。",
    "{law}における{topic}の{action}の基準を緩和し、地域の実情に応じて条例で定められるようにすること。",
    "{topic}の{action}に要する期間を短縮するため、{law}の規定を見直すこと。",
]
PROBLEMS = [
    "現行の{law}では、{topic}の{action}のたびに国との協議が必要であり、事業者への回答まで数か月を要している。",
    "{gov}では{topic}に係る{action}の件数が年々増えており、審査の事務が担当職員に集中している。",
    "{topic}の{action}に必要な書類が多く、住民や事業者から手続の簡素化を求める声が寄せられている。",
    "{law}の基準が全国一律であるため、{topic}について地域の実情に合った対応ができない。",
]


def _laws(rng: random.Random) -> list[str]:
    with LAWS.open(encoding="utf-8") as f:
        titles = [r["title"] for r in csv.DictReader(f) if r["title"].endswith("法") and not any(w in r["title"] for w in OFF_TOPIC)]
    rng.shuffle(titles)
    return titles


def differing_proposal(rng: random.Random, laws: list[str], year: int, number: int) -> Proposal:
    """A synthetic proposal about a procedure under some law (not the real proposals' topic)."""
    law, topic, action, gov = rng.choice(laws), rng.choice(OTHER_TOPICS), rng.choice(ACTIONS), rng.choice(GOVERNMENTS)
    fill = {"law": law, "topic": topic, "action": action, "gov": gov}
    measures = "".join(rng.choice(ASKS).format(**fill) for _ in range(rng.randint(1, 2)))
    problems = "".join(rng.choice(PROBLEMS).format(**fill) for _ in range(rng.randint(2, 4)))
    return Proposal(
        year=year, era=year_to_era(year), number=number, title=f"{topic}の{action}に係る{law}の見直し",
        category=rng.choice(list(Category)), proponents=[gov], ministries=[rng.choice([m for m in MINISTRIES if year > MINISTRY_FIRST_YEAR.get(m, 0)])],
        decision=Decision(outcome=rng.choice([o for o in Outcome if o is not Outcome.UNDECIDED])),
        sources=[Source(stage=Stage.PROPOSAL, title=SYNTHETIC_SOURCE)],
        sections={
            SectionKey.MEASURES: measures, SectionKey.PROBLEMS: problems, SectionKey.RESIDENTS: "—",
            SectionKey.EFFECTS: f"{topic}の{action}の事務が簡素化され、住民サービスの向上につながる。", SectionKey.STATUTES: law,
        },
    )  # fmt: skip


def make_corpus(n: int, kind: str, out: Path, seed: int = 5) -> None:
    """N synthetic proposals of `kind` and the two real ones under `out` (replaced)."""
    if out.exists():
        shutil.rmtree(out)
    if kind == "sentences":
        generate(n, out, REAL, seed=seed)
    else:
        rng, laws = random.Random(seed), _laws(random.Random(seed))
        for i in range(n):
            year, number = 2014 + i % 12, 100 + i // 12  # numbers 100 and up: never the real 70 and 71
            path = out / str(year) / f"{number:04d}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(differing_proposal(rng, laws, year, number)), encoding="utf-8")
    for real in sorted((REAL / "2024").glob("*.md")):
        target = out / "2024" / real.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real, target)


def drafts() -> list[tuple[str, str, str]]:
    """(file name, id restated, text) of every hand-written draft."""
    out = []
    for path in sorted(DRAFTS.glob("[0-9][0-9]_*.md")):
        _, head, body = path.read_text(encoding="utf-8").split("---", 2)
        out.append((path.name, yaml.safe_load(head)["restates"], body.strip()))
    return out


async def evaluate(db_path: Path, repeats: int) -> dict[str, object]:
    registry = load_registry()

    def cite(text: str) -> list[str]:
        return list(dict.fromkeys(c.statute_id for c in extract_text(text, registry) if c.statute_id))

    ds = Datasette([], settings={"num_sql_threads": 0})
    db = ds.add_database(Database(ds, path=str(db_path), is_mutable=False), name="kb")
    cases = drafts()
    await check_draft(db, cases[0][2], cite)  # warm: registry, page cache of SQLite
    ranks: list[int | None] = []
    misses: list[dict[str, object]] = []
    ms: list[float] = []
    target_scores: list[float] = []
    other_scores: list[float] = []  # the best proposal that is not the one restated
    for _ in range(repeats):
        for name, target, text in cases:
            started = time.perf_counter()
            result = await check_draft(db, text, cite)
            ms.append((time.perf_counter() - started) * 1000)
            ids = [m.proposal_id for m in result.matches]
            if len(ranks) < len(cases):
                rank = ids.index(target) + 1 if target in ids else None
                ranks.append(rank)
                target_scores += [m.score for m in result.matches if m.proposal_id == target]
                other_scores += [m.score for m in result.matches if m.proposal_id != target][:1]
                if rank != 1:
                    misses.append({"draft": name, "restates": target, "rank": rank, "first": ids[:3]})
    ms.sort()
    count = len(ranks)
    return {
        "drafts": count,
        "recall_at_1": round(sum(1 for r in ranks if r == 1) / count, 3),
        "recall_at_10": round(sum(1 for r in ranks if r is not None and r <= 10) / count, 3),
        "mrr": round(sum(1 / r for r in ranks if r) / count, 3),
        "check_ms": {"p50": round(percentile(ms, 50), 1), "p95": round(percentile(ms, 95), 1), "max": round(ms[-1], 1), "samples": len(ms)},
        "score_of_the_restated": _spread(target_scores),
        "best_score_of_another": _spread(other_scores),
        "not_first": misses,
    }


def _spread(scores: list[float]) -> dict[str, float] | None:
    """Min, median, max: where a threshold for 「同趣旨の可能性」 can sit."""
    if not scores:
        return None
    ordered = sorted(scores)
    return {"min": ordered[0], "median": ordered[len(ordered) // 2], "max": ordered[-1]}


def over_http(db_path: Path, corpus: Path, repeats: int) -> dict[str, object]:
    """The check as a tool calls it: `kb serve` on 127.0.0.1, one client posting every draft to /-/prior-art.json."""
    cases = drafts()
    ms: list[float] = []
    with served(db_path, corpus) as base, httpx.Client(base_url=base, timeout=60) as client:
        client.post("/-/prior-art.json", json={"draft": cases[0][2]})  # warm: the registry, SQLite's pages
        for _ in range(repeats):
            for _, _, text in cases:
                started = time.perf_counter()
                response = client.post("/-/prior-art.json", json={"draft": text})
                ms.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"/-/prior-art.json: {response.status_code} {response.text[:300]}")
    ms.sort()
    return {"p50": round(percentile(ms, 50), 1), "p95": round(percentile(ms, 95), 1), "max": round(ms[-1], 1), "samples": len(ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="synthetic proposals beside the two real ones")
    parser.add_argument("--kind", choices=["differing", "sentences"], default="differing")
    parser.add_argument("--dir", type=Path, help="corpus folder (default /tmp/kb-bench/pa-<kind>-<n>)")
    parser.add_argument("--db", type=Path, help="database (default beside the corpus)")
    parser.add_argument("--drafts-only", action="store_true", help="check the drafts against --db as it is (no corpus, no build)")
    parser.add_argument("--repeats", type=int, default=3, help="times every draft is checked (latency samples)")
    parser.add_argument("--http", action="store_true", help="also time the check over HTTP (kb serve, POST /-/prior-art.json)")
    parser.add_argument("--reuse", action="store_true", help="use the corpus and database already made (no generation, no build)")
    args = parser.parse_args()
    result: dict[str, object] = {}
    if args.drafts_only:
        if args.db is None:
            raise SystemExit("--drafts-only には --db が必要です")
        db = args.db
    else:
        corpus = args.dir or Path(f"/tmp/kb-bench/pa-{args.kind}-{args.n}")
        db = args.db or corpus.with_suffix(".db")
    if not args.drafts_only and not args.reuse:
        make_corpus(args.n, args.kind, corpus)
        db.unlink(missing_ok=True)
        built = build(db, [corpus], full=True)
        laps = dict(built.seconds)
        total = sum(laps.values())
        result = {
            "corpus": f"{args.kind}, {args.n:,} synthetic + 2 real",
            "build_s": round(total, 2),
            "similar_step_s": round(laps.get("step similar", 0.0), 2),
            "similar_share_of_build": round(laps.get("step similar", 0.0) / total, 3),
        }
    elif args.reuse:
        result = {"corpus": f"{args.kind}, {args.n:,} synthetic + 2 real (reused)"}
    result.update(asyncio.run(evaluate(db, args.repeats)))
    if args.http:
        if args.drafts_only:
            raise SystemExit("--http は --drafts-only と一緒には使えません（kb serve にはコーパスのフォルダが要ります）")
        result["check_ms_http"] = over_http(db, corpus, args.repeats)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
