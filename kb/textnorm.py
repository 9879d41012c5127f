"""One normalisation for search: applied to index text and to queries alike, never to stored text.

Japanese has no spaces, so the search index holds overlapping character bigrams of the
normalised text; this module makes them, and turns a typed query into the matching
FTS5 query. `normalize_with_offsets` keeps a map back to the original text, so that
snippets can quote the original wording while matching on the normalised form.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

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


def _is_katakana(ch: str) -> bool:
    return "ァ" <= ch <= "ヺ" or ch == LONG_VOWEL


def _is_mark(ch: str) -> bool:
    """Characters that combine with the previous one under NFKC (dakuten, half-width ﾞﾟ, accents)."""
    return unicodedata.category(ch).startswith("M") or ch in "\uff9e\uff9f\u309b\u309c"


def _clusters(text: str) -> Iterator[tuple[int, str]]:
    """(offset, cluster): a base character with the marks that follow it, so NFKC can compose them."""
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or not _is_mark(text[i]):
            yield start, text[start:i]
            start = i


def _fold_cluster(cluster: str, previous: str) -> str:
    folded = unicodedata.normalize("NFKC", cluster).lower().translate(_FOLD_TABLE)
    if folded in DASHES:
        return LONG_VOWEL if previous and _is_katakana(previous[-1]) else "-"
    return folded


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Normalised text and, for each of its characters, the offset of the original character it came from."""
    out: list[str] = []
    offsets: list[int] = []
    previous = ""
    for start, cluster in _clusters(text):
        folded = _fold_cluster(cluster, previous)
        out.append(folded)
        offsets.extend([start] * len(folded))
        previous = folded or previous
    return "".join(out), offsets


def normalize(text: str) -> str:
    """NFKC + lower case + variant folds (ヶ→ケ, 髙→高, dashes) — the key both index and query use."""
    return normalize_with_offsets(text)[0]


def _is_token_char(ch: str) -> bool:
    """Same classes FTS5's unicode61 tokenizer keeps as token characters (L*, N*, Co)."""
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or cat == "Co"


def runs(normalized: str) -> list[str]:
    """Maximal stretches of token characters; punctuation and spaces separate them."""
    out: list[str] = []
    current: list[str] = []
    for ch in normalized:
        if _is_token_char(ch):
            current.append(ch)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


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
