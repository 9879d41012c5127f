"""One normalisation for search: applied to index text and to queries alike, never to stored text.

Japanese has no spaces, so the search index holds overlapping character bigrams of the
normalised text; this module makes them, and turns a typed query into the matching
FTS5 query. `normalize_with_offsets` keeps a map back to the original text, so that
snippets can quote the original wording while matching on the normalised form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from itertools import chain, repeat

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
    if "-" not in text:
        return text
    return _KATAKANA_DASH.sub(lambda m: LONG_VOWEL * len(m.group()), text)


class _FoldTable(dict[int, str]):
    """Code point → `_fold` of that one character, filled on first sight (for `str.translate`)."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold(chr(code))
        return folded


_FOLDS = _FoldTable()


def _char_class(ranges: Iterable[tuple[int, int]]) -> str:
    """A regex character class body for these inclusive code point ranges."""
    return "".join(re.escape(chr(lo)) + (f"-{re.escape(chr(hi))}" if hi > lo else "") for lo, hi in ranges)


def _without(ranges: Iterable[tuple[int, int]], codes: Iterable[int]) -> list[tuple[int, int]]:
    """The ranges with these code points cut out."""
    out = list(ranges)
    for code in set(codes):
        cut = [[(lo, code - 1), (code + 1, hi)] if lo <= code <= hi else [(lo, hi)] for lo, hi in out]
        out = [(lo, hi) for pieces in cut for lo, hi in pieces if lo <= hi]
    return sorted(out)


# Characters of the blocks Japanese text is written in that are their own fold (NFKC, lower case,
# no variant or dash fold): ASCII but A-Z, CJK punctuation, kana, the unified ideographs — less the
# VARIANT_FOLDS keys. tests/test_textnorm_fast.py checks every one against `_fold`.
OWN_FOLD_RANGES = (
    (0x00, 0x40), (0x5B, 0x7F), (0x3001, 0x301B), (0x301D, 0x3035), (0x3037, 0x3037), (0x303B, 0x3098),
    (0x309D, 0x309E), (0x30A0, 0x30F4), (0x30F7, 0x30FE), (0x4E00, 0x9FFF),
)  # fmt: skip
# Stretches of anything else: folded by `str.translate`, one Python call per stretch. A text without
# marks is thus folded in C but for its full-width letters, digits and brackets.
_CHANGING = re.compile(f"[^{_char_class(_without(OWN_FOLD_RANGES, map(ord, VARIANT_FOLDS)))}]+")


def _fold_stretch(m: re.Match[str]) -> str:
    return m.group().translate(_FOLDS)


def _fold_chars(text: str) -> str:
    """`_fold` of every character (a text without marks: one cluster per character)."""
    return _CHANGING.sub(_fold_stretch, text)


def normalize_mapped(text: str) -> tuple[str, list[int] | None]:
    """Normalised text and, for each of its characters, the offset of the original character it came from;
    None instead of the offsets when each comes from the character at the same place (the usual case)."""
    if not _HAS_MARK.search(text):  # one cluster per character
        joined = _fold_chars(text)
        if len(joined) == len(text):  # every character folded to one (no fold is empty)
            return _long_vowels(joined), None
        lengths = map(len, map(_FOLDS.__getitem__, map(ord, text)))
        return _long_vowels(joined), list(chain.from_iterable(map(repeat, range(len(text)), lengths)))
    starts, clusters = _clusters(text)
    folded = list(map(_fold, clusters))
    joined = "".join(folded)
    if len(joined) == len(folded):
        return _long_vowels(joined), starts
    offsets = [start for start, piece in zip(starts, folded) for _ in piece]
    return _long_vowels(joined), offsets


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Normalised text and, for each of its characters, the offset of the original character it came from."""
    normalized, offsets = normalize_mapped(text)
    return normalized, list(range(len(normalized))) if offsets is None else offsets


def normalize(text: str) -> str:
    """NFKC + lower case + variant folds (ヶ→ケ, 髙→高, dashes) — the key both index and query use."""
    if not _HAS_MARK.search(text):
        return _long_vowels(_fold_chars(text))
    return _long_vowels("".join(map(_fold, _clusters(text)[1])))


@lru_cache(maxsize=1 << 16)
def name_key(name: str) -> str:
    """A name as searches compare it: normalised, without spaces (マイナンバー法, ＮＰＯ法 and NPO法 alike)."""
    return "".join(normalize(name).split())


def _is_token_char(ch: str) -> bool:
    """Same classes FTS5's unicode61 tokenizer keeps as token characters (L*, N*, Co)."""
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or cat == "Co"


class _SeparatorTable(dict[int, int]):
    """Code point → itself for a token character, else a space; filled on first sight (for `str.translate`)."""

    def __missing__(self, code: int) -> int:
        kept = self[code] = code if _is_token_char(chr(code)) else _SPACE
        return kept


_SPACE = ord(" ")
_SEPARATORS = _SeparatorTable()


# Token characters (L*, N*, Co) and separators of ASCII, CJK punctuation, kana and the unified
# ideographs (tests/test_textnorm_fast.py checks every one against `_is_token_char`).
TOKEN_RANGES = (
    (0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0x3005, 0x3007), (0x3021, 0x3029), (0x3031, 0x3035),
    (0x3038, 0x303C), (0x3041, 0x3096), (0x309D, 0x309F), (0x30A1, 0x30FA), (0x30FC, 0x30FF), (0x4E00, 0x9FFF),
)  # fmt: skip
SEPARATOR_RANGES = (
    (0x00, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7F), (0x3000, 0x3004), (0x3008, 0x3020), (0x302A, 0x3030),
    (0x3036, 0x3037), (0x303D, 0x303F), (0x30A0, 0x30A0), (0x30FB, 0x30FB),
)  # fmt: skip
_TOKEN_RUN = re.compile(f"[{_char_class(TOKEN_RANGES)}]+")
_UNSORTED = re.compile(f"[^{_char_class(TOKEN_RANGES)}{_char_class(SEPARATOR_RANGES)}]")


def runs(normalized: str) -> list[str]:
    """Maximal stretches of token characters; punctuation and spaces separate them.

    A text of the characters above only (nearly every text) is split by one regex; any other by
    mapping every non-token character to a space and splitting there (no token character is
    white space: tests/test_textnorm_fast.py checks every code point).
    """
    if _UNSORTED.search(normalized) is None:
        return _TOKEN_RUN.findall(normalized)
    return normalized.translate(_SEPARATORS).split()


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
    return " ".join([run[i : i + 2] for run in runs(normalize(text)) for i in range(len(run))])  # bigrams(run), inlined


# An empty phrase: valid FTS5 that matches nothing (a query of punctuation only).
MATCH_NOTHING = '""'


def fts_phrases(query: str) -> list[str]:
    """A typed query's FTS5 phrases in order: each run a bigram phrase, a 1-character run a prefix."""
    parts: list[str] = []
    for run in runs(normalize(query)):
        if len(run) == 1:
            parts.append(f'"{run}"*')
        else:
            parts.append('"' + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + '"')
    return parts


def fts_query(query: str) -> str:
    """A typed query → FTS5 query: its phrases (`fts_phrases`) ANDed."""
    parts = fts_phrases(query)
    return " AND ".join(parts) if parts else MATCH_NOTHING


def query_terms(query: str) -> list[str]:
    """The normalised runs of a query: what a snippet has to find in the normalised text."""
    return runs(normalize(query))
