"""What a proposal asks for, as counted terms: the shared vocabulary of 似た提案 and 提案前チェック.

A proposal is compared by what it asks for and why (title, 求める措置, 支障事例, 効果), never by the
ministries' answers, so a draft — which has no answers yet — compares with stored proposals on equal
terms. Terms are character bigrams of kanji, katakana and Latin/digit runs of the search-normalised
text (hiragana runs are grammar: する, ること, について), after folding a few synonyms clerks write
either way, plus one term per statute cited (`§` + statute id), so 番号法 and the law's full title meet.
docs/prior-art.md gives the reasons and the measurements.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from kb.search.textnorm import normalize

# Words people write either way; folded (after search normalisation) before bigrams are taken.
SYNONYMS: dict[str, str] = {
    "マイナンバー法": "番号法",
    "番号利用法": "番号法",
    "マイナンバーカード": "個人番号カード",
    "マイナンバー": "個人番号",
    "教委": "教育委員会",
    "市区町村": "市町村",
}
_SYNONYM = re.compile("|".join(sorted(map(re.escape, SYNONYMS), key=len, reverse=True)))
# Runs that carry meaning: kanji (with 々 〆), katakana, Latin letters and digits.
_CONTENT_RUN = re.compile("[一-鿿々〆ヵヶァ-ヺーA-Za-z0-9]{2,}")
STATUTE_MARK = "§"
_RUN_SEPARATOR = "\x00"  # joins runs for words_in: never inside a run (content runs are letters and digits)
WHOLE_RUN = 10  # a run of at most this many characters is shown whole when any of its bigrams is shared
STATUTE_WEIGHT = 3  # a shared statute counts like a term used three times
# Explicit references to an earlier round: 「令和5年の提案（管理番号12）」「平成30年提案 管理番号 101」.
_EARLIER = re.compile(r"(令和|平成)\s*(元|[0-9]{1,2})\s*年度?[^。\n]{0,12}?提案[^。\n]{0,12}?管理番号\s*([0-9]{1,4})[)）]?")
_ERA_START = {"令和": 2018, "平成": 1988}


def ask_text(title: str | None, measures: str | None, problems: str | None, effects: str | None) -> str:
    """The parts of a sheet that say what is asked and why, in one text."""
    return "\n".join(t for t in (title, measures, problems, effects) if t and t != "—")


def fold(text: str) -> str:
    """Search normalisation, then synonyms folded (サーバ / サーバー need nothing: they share their bigrams but one)."""
    return _SYNONYM.sub(lambda m: SYNONYMS[m.group()], normalize(text))


def content_runs(text: str) -> list[str]:
    """The meaningful runs of a text (folded first): what terms and shown words are taken from."""
    return _CONTENT_RUN.findall(fold(text))


def content_bigrams(text: str) -> list[str]:
    """Bigrams of the meaningful runs of a text (folded first)."""
    return [run[i : i + 2] for run in content_runs(text) for i in range(len(run) - 1)]


def term_counts(text: str, statute_ids: Iterable[str] = ()) -> Counter[str]:
    """The terms of one proposal or draft: bigram counts plus each cited statute."""
    counts = Counter(content_bigrams(text))
    for statute in dict.fromkeys(statute_ids):
        counts[STATUTE_MARK + statute] = STATUTE_WEIGHT
    return counts


def pack(counts: Counter[str]) -> str:
    """Counts as stored text, `term count term count …`, terms in first-seen order (no term has a space)."""
    return " ".join(f"{term} {n}" for term, n in counts.items())


def unpack(packed: str) -> Counter[str]:
    parts = packed.split()
    return Counter(dict(zip(parts[::2], map(int, parts[1::2]), strict=True)))


def earlier_mentions(text: str) -> list[tuple[int, int, str]]:
    """(year, 管理番号, the words) of each earlier proposal a text names explicitly."""
    found = []
    for m in _EARLIER.finditer(normalize(text)):
        era_year = 1 if m.group(2) == "元" else int(m.group(2))
        found.append((_ERA_START[m.group(1)] + era_year, int(m.group(3)), m.group(0)))
    return found


class JoinedRuns(NamedTuple):
    """A text's `content_runs` joined for `words_in`, made once when several lists of bigrams are looked up in it."""

    runs: list[str]
    text: str  # the runs joined by a character no bigram holds
    starts: list[int]  # where each run begins in `text`


def join_runs(runs: list[str]) -> JoinedRuns:
    starts = list(itertools.accumulate((len(run) + 1 for run in runs[:-1]), initial=0))
    return JoinedRuns(runs, _RUN_SEPARATOR.join(runs), starts)


def words_in(runs: list[str] | JoinedRuns, bigrams: Iterable[str], limit: int = 6) -> list[str]:
    """The stretches of a text's `content_runs` spelled by the given bigrams, in the bigrams' order of weight.

    Shared terms are bigrams (中間 間サ サー ーバ); a reader wants the words they come from (中間サーバ),
    found in the text itself rather than guessed by chaining bigrams. Each bigram is looked up with
    `str.find` over the runs joined by a character no bigram holds, so the work per page (ten similar
    proposals, a few thousand characters each) is a few C-level scans, not a Python step per character.
    A page asks for ten lists in one text: `join_runs` once, then pass the result.
    """
    joined = runs if isinstance(runs, JoinedRuns) else join_runs(runs)
    runs, text = joined.runs, joined.text
    rank = {b: i for i, b in enumerate(bigrams)}
    hits: dict[int, int] = {}  # position in `text` → rank of the bigram starting there
    for b, r in rank.items():
        if len(b) != 2 or _RUN_SEPARATOR in b:
            continue
        at = text.find(b)
        while at != -1:
            hits[at] = r
            at = text.find(b, at + 1)
    found: dict[str, int] = {}
    if hits:
        starts = joined.starts
        positions = sorted(hits)
        i = 0
        while i < len(positions):
            j = i
            while j + 1 < len(positions) and positions[j + 1] == positions[j] + 1:
                j += 1
            first, last = positions[i], positions[j]
            run = runs[bisect.bisect_right(starts, first) - 1]
            word = run if len(run) <= WHOLE_RUN else text[first : last + 2]  # a short run is one word: 情報保有機関, not 報保有機
            best = min(hits[k] for k in positions[i : j + 1])
            found[word] = min(best, found.get(word, best))
            i = j + 1
    ordered = sorted(found, key=lambda w: (found[w], -len(w)))
    return [w for w in ordered if not any(w != other and w in other for other in ordered)][:limit]
