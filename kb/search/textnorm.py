"""One normalisation for search: applied to index text and to queries alike, never to stored text.

Japanese has no spaces, so the search index holds overlapping character bigrams of the
normalised text; this module makes them, and turns a typed query into the matching
FTS5 query. `normalize_with_offsets` keeps a map back to the original text, so that
snippets can quote the original wording while matching on the normalised form.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import groupby

# Old / variant character forms that NFKC leaves alone but people type either way.
VARIANT_FOLDS: dict[str, str] = {
    "ヶ": "ケ",
    "ヵ": "カ",
    "髙": "高",
    "﨑": "崎",
    "嵜": "崎",
    "國": "国",
    "澤": "沢",
    "邊": "辺",
    "邉": "辺",
    "濱": "浜",
    "齋": "斎",
    "齊": "斉",
    "廣": "広",
    "櫻": "桜",
    "嶋": "島",
    "〜": "~",
    "～": "~",
}
# Dashes and minus signs; after katakana they are almost always a mistyped long-vowel mark ー.
DASHES = frozenset("‐‑‒–—―−－-")
LONG_VOWEL = "ー"
_FOLD_TABLE = str.maketrans(VARIANT_FOLDS)
# Marks that NFKC composes with the character before them (accents, dakuten, half-width ﾞﾟ).
_MARKS = "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u3099-\u309c\uff9e\uff9f]"
_HAS_MARK = re.compile(_MARKS)
# At most 30 marks to a cluster, as Unicode's stream-safe text format has it (UAX #15): NFKC
# reorders a cluster's marks by insertion sort, quadratic in a long run of them (80,000 marks: 6 s).
# Past 30, the marks start a cluster of their own.
MAX_MARKS = 30
_CLUSTER = re.compile(f".{_MARKS}{{0,{MAX_MARKS}}}", re.DOTALL)
_KATAKANA_DASH = re.compile("(?<=[ァ-ヺー])-+")


@lru_cache(maxsize=1 << 16)
def _fold(cluster: str) -> str:
    """One character (with its marks) → NFKC, lower case, variant folds; any dash → '-'."""
    folded = unicodedata.normalize("NFKC", cluster).lower().translate(_FOLD_TABLE)
    return "-" if folded in DASHES else folded


def _clusters(text: str) -> tuple[list[int], list[str]]:
    """Start offsets and clusters: a base character with the marks that follow it, so NFKC can compose them."""
    if not _HAS_MARK.search(text):
        return list(range(len(text))), list(text)
    found = list(_CLUSTER.finditer(text))
    return [m.start() for m in found], [m.group() for m in found]


def _long_vowels(text: str) -> str:
    return _KATAKANA_DASH.sub(lambda m: LONG_VOWEL * len(m.group()), text)


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Normalised text and, for each of its characters, the offset of the original character it came from."""
    starts, clusters = _clusters(text)
    folded = list(map(_fold, clusters))
    joined = "".join(folded)
    if len(joined) == len(folded):  # every cluster folded to one character (no fold is empty): the usual case
        return _long_vowels(joined), starts
    offsets = [start for start, piece in zip(starts, folded) for _ in piece]
    return _long_vowels(joined), offsets


def normalize(text: str) -> str:
    """NFKC + lower case + variant folds (ヶ→ケ, 髙→高, dashes) — the key both index and query use."""
    return _long_vowels("".join(map(_fold, _clusters(text)[1])))


@lru_cache(maxsize=1 << 16)
def name_key(name: str) -> str:
    """A name as searches compare it: normalised, without spaces (マイナンバー法, ＮＰＯ法 and NPO法 alike)."""
    return "".join(normalize(name).split())


def _is_token_char(ch: str) -> bool:
    """Same classes FTS5's unicode61 tokenizer keeps as token characters (L*, N*, Co)."""
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or cat == "Co"


def runs(normalized: str) -> list[str]:
    """Maximal stretches of token characters; punctuation and spaces separate them."""
    return ["".join(group) for is_token, group in groupby(normalized, _is_token_char) if is_token]


def bigrams(run: str) -> list[str]:
    """Overlapping pairs of one run, then its last character alone.

    The trailing single character lets a 1-character prefix query find a character that
    only ever ends a run, and keeps a phrase from matching across two runs.
    """
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1:]] if run else []


def index_text(text: str | None) -> str:
    """Space-separated bigram tokens of a text, ready to store in the FTS5 shadow table."""
    if not text:
        return ""
    return " ".join(token for run in runs(normalize(text)) for token in bigrams(run))


# An empty phrase: valid FTS5 that matches nothing (a query of punctuation only).
MATCH_NOTHING = '""'


def fts_query(query: str) -> str:
    """A typed query → FTS5 query: each run a bigram phrase, a 1-character run a prefix, all ANDed."""
    parts: list[str] = []
    for run in runs(normalize(query)):
        if len(run) == 1:
            parts.append(f'"{run}"*')
        else:
            parts.append('"' + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + '"')
    return " AND ".join(parts) if parts else MATCH_NOTHING


def query_terms(query: str) -> list[str]:
    """The normalised runs of a query: what a snippet has to find in the normalised text."""
    return runs(normalize(query))
