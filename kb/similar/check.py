"""提案前チェック: the past proposals a clerk's draft restates, ranked, with their outcome and last answer.

Two stages, both on what the build stored (docs/prior-art.md):
1. candidates — the draft's most informative bigrams (tf-idf over the proposals' asks, `similar_df`)
   and every spelling of the synonyms it uses, as one OR query on the search index, best bm25 first;
2. ranking — each candidate's stored terms (`similar_terms`) against the draft's: the cosine of
   their tf-idf vectors, in which a statute both cite (the draft's citations are resolved with the
   statute registry, so 番号法 and the law's title meet) counts like a word used three times.
Nothing the clerk pastes is stored or logged: the text lives in this call only.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kb.search.query import Database
from kb.search.snippets import Part, snippet
from kb.search.textnorm import bigrams, normalize, runs
from kb.similar.terms import STATUTE_MARK, SYNONYMS, content_runs, join_runs, term_counts, unpack, words_in

MAX_DRAFT = 20_000  # characters; a whole draft sheet is 3,000–10,000
QUERY_TERMS = 40  # most informative bigrams sent to the search index
CANDIDATES = 200  # search hits ranked by their stored terms
COMMON_SHARE = 0.05  # a bigram in more asks than this share is not sent to the search index …
FEW_TERMS = 8  # … unless fewer than this many rarer ones are left (then the rarest this many are sent)
LIMIT = 20
# A match at least this alike counts in the summary as 「同趣旨の可能性がある」: on the 44 hand-written drafts among
# 5,000 proposals the one restated scored 0.24–0.80, the best other one 0.04–0.29 (docs/prior-art.md).
SAME_AIM = 0.15
# Outcome groups of the summary line (vocabulary of data/outcomes: kb/core/vocab.py).
REALISED = "提案の趣旨を踏まえ対応"
ALREADY_POSSIBLE = "現行規定により対応可能"
ANSWER_COLUMNS = (("decision_text", "対応方針（閣議決定）記載内容"), ("second_answer", "各府省からの第2次回答"), ("first_answer", "各府省からの第1次回答"))


class DraftTooLong(ValueError):
    """A draft over MAX_DRAFT characters (refused before any work)."""


@dataclass
class Match:
    proposal_id: str
    year: int
    era: str
    number: int
    title: str
    outcome: str | None
    proponents: list[str]
    ministries: list[str]
    score: float
    shared_statutes: list[str]
    shared_words: list[str]
    answer_heading: str | None = None
    answer_excerpt: list[Part] | None = None


@dataclass
class CheckResult:
    characters: int
    statutes: list[str]  # statute ids the draft cites
    matches: list[Match] = field(default_factory=list)

    @property
    def same_aim(self) -> list[Match]:
        """The matches alike enough to be the same ask (SAME_AIM)."""
        return [m for m in self.matches if m.score >= SAME_AIM]

    def counts(self) -> tuple[int, int, int]:
        """(realised, possible under current rules, not realised) among the matches of the same aim."""
        alike = self.same_aim
        realised = sum(1 for m in alike if m.outcome == REALISED)
        possible = sum(1 for m in alike if m.outcome == ALREADY_POSSIBLE)
        return realised, possible, len(alike) - realised - possible

    @property
    def summary(self) -> str:
        a, b, c = self.counts()
        return f"同趣旨の可能性がある提案 {len(self.same_aim)} 件（提案の趣旨を踏まえ対応 {a} 件・現行規定により対応可能 {b} 件・実現できなかったもの {c} 件）"


def _groups() -> list[list[str]]:
    """Synonym groups: each canonical word with every spelling folded to it."""
    by_target: dict[str, list[str]] = {}
    for word, target in SYNONYMS.items():
        by_target.setdefault(target, [target]).append(word)
    return list(by_target.values())


SYNONYM_GROUPS = _groups()


def _phrase(word: str) -> str:
    return '"' + " ".join(b for run in runs(normalize(word)) for b in bigrams(run)[:-1] or [run]) + '"'


def search_query(weights: dict[str, float], draft: str, df: dict[str, int], n: int, size: int = QUERY_TERMS) -> str:
    """FTS5 query: the heaviest bigrams, and every spelling of each synonym the draft uses, ORed.

    A bigram in more than COMMON_SHARE of the asks only finds candidates the rare ones find too, and costs
    a bm25 score for most of the index (「サー」 of 住民サービス in every ask: 4 ms of 6 at 100,000); it is
    left out unless the draft has fewer than FEW_TERMS others.
    """
    bigrams = sorted((t for t in weights if not t.startswith(STATUTE_MARK)), key=lambda t: (-weights[t], t))
    rare = [t for t in bigrams if df.get(t, 0) <= COMMON_SHARE * n]
    heaviest = (rare if len(rare) >= FEW_TERMS else sorted(bigrams, key=lambda t: (df.get(t, 0), t))[:FEW_TERMS])[:size]
    parts = [f'"{t}"' for t in heaviest]
    text = normalize(draft)
    for group in SYNONYM_GROUPS:
        if any(normalize(word) in text for word in group):
            parts += [_phrase(word) for word in group]
    return " OR ".join(dict.fromkeys(parts))


def weigh(counts: Counter[str], df: dict[str, int], n: int) -> dict[str, float]:
    """Unit-length tf-idf of the terms some proposal has (the others cannot match)."""
    weights = {t: (1.0 + math.log(c)) * math.log((n + 1) / (df[t] + 0.5)) for t, c in counts.items() if t in df}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {t: w / norm for t, w in weights.items() if w > 0}


def cosine(draft: dict[str, float], stored: Counter[str], df: dict[str, int], n: int) -> float:
    """The draft's weights against a stored proposal's terms weighed the same way."""
    weights = {t: (1.0 + math.log(c)) * math.log((n + 1) / (df.get(t, 0) + 0.5)) for t, c in stored.items()}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return sum(w * weights[t] for t, w in draft.items() if t in weights) / norm


async def _rows(db: Database, sql: str, keys: Sequence[str]) -> list[Any]:
    out: list[Any] = []
    for i in range(0, len(keys), 400):
        batch = list(keys[i : i + 400])
        marks = ", ".join(f":k{j}" for j in range(len(batch)))
        out += list(await db.execute(sql.format(marks=marks), {f"k{j}": k for j, k in enumerate(batch)}))
    return out


async def check_draft(
    db: Database, draft: str, cite: Callable[[str], list[str]] | None = None, limit: int = LIMIT
) -> CheckResult:
    """Rank the stored proposals against a draft. `cite` gives the statute ids a text cites (None: ignore statutes)."""
    if len(draft) > MAX_DRAFT:
        raise DraftTooLong(f"貼り付けた文が長すぎます（{len(draft):,} 文字）。{MAX_DRAFT:,} 文字以内にしてください。")
    statutes = cite(draft) if cite else []
    result = CheckResult(len(draft), statutes)
    counts = term_counts(draft, statutes)
    if not counts:
        return result
    n = next(iter(await db.execute("SELECT count(*) FROM similar_terms")))[0]
    df = {r[0]: r[1] for r in await _rows(db, "SELECT term, df FROM similar_df WHERE term IN ({marks})", list(counts))}
    weights = weigh(counts, df, n)
    if not weights:
        return result
    query = search_query(weights, draft, df, n)
    hits = [r[0] for r in await db.execute(
        "SELECT p.id FROM proposals_fts JOIN proposals p ON p.rowid = proposals_fts.rowid"
        " WHERE proposals_fts MATCH :q ORDER BY bm25(proposals_fts, 10, 1, 1), p.id LIMIT :n",
        {"q": query, "n": CANDIDATES},
    )] if query else []  # fmt: skip
    # Proposals citing the same statutes are candidates too (a short draft may share few words) — for statutes
    # few asks cite: one cited everywhere (番号利用法 in a corpus about it) would make every proposal a candidate.
    cited = [t[len(STATUTE_MARK) :] for t in weights if t.startswith(STATUTE_MARK) and df[t] <= COMMON_SHARE * n]
    if cited:
        sql = f"SELECT DISTINCT proposal_id FROM citations WHERE statute_id IN ({{marks}}) LIMIT {CANDIDATES}"
        hits += [r[0] for r in await _rows(db, sql, cited)]
    candidates = list(dict.fromkeys(hits))
    stored = {r[0]: unpack(r[1]) for r in await _rows(db, "SELECT proposal_id, terms FROM similar_terms WHERE proposal_id IN ({marks})", candidates)}
    scored = sorted(((cosine(weights, terms, df, n), pid) for pid, terms in stored.items()), key=lambda sp: (-sp[0], sp[1]))
    best = [(s, pid) for s, pid in scored[:limit] if s > 0]
    result.matches = await _matches(db, best, weights, draft)
    return result


async def _matches(db: Database, best: list[tuple[float, str]], weights: dict[str, float], draft: str) -> list[Match]:
    if not best:
        return []
    columns = "id, year, era, number, title, outcome, proponents, ministries, decision_text, second_answer, first_answer"
    rows = {r["id"]: dict(r) for r in await _rows(db, f"SELECT {columns} FROM proposals WHERE id IN ({{marks}})", [pid for _, pid in best])}
    terms = {r[0]: unpack(r[1]) for r in await _rows(db, "SELECT proposal_id, terms FROM similar_terms WHERE proposal_id IN ({marks})", list(rows))}
    out = []
    runs = join_runs(content_runs(draft))  # once: the shared words of every match are found in it
    for score, pid in best:
        row, mine = rows[pid], terms.get(pid, Counter())
        common = sorted((t for t in weights if t in mine), key=lambda t: (-weights[t], t))
        statutes = [t[len(STATUTE_MARK) :] for t in common if t.startswith(STATUTE_MARK)]
        words = words_in(runs, [t for t in common if not t.startswith(STATUTE_MARK)][:16])
        match = Match(
            pid, row["year"], row["era"], row["number"], row["title"], row["outcome"],
            json.loads(row["proponents"] or "[]"), json.loads(row["ministries"] or "[]"), round(score, 4), statutes, words,
        )  # fmt: skip
        for column, heading in ANSWER_COLUMNS:
            text = row[column]
            if text and text != "—":
                match.answer_heading = heading
                match.answer_excerpt = snippet(text, words, width=120) or [(text[:240] + ("…" if len(text) > 240 else ""), False)]
                break
        out.append(match)
    return out
