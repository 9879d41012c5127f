"""Find every mention of a statute or other instrument in a clean text (no resolution yet).

A mention is a name — a registry title or alias, an abbreviation the text defines, a
law number, an unregistered name that looks like a statute (…法, …に関する法律 + 番号),
a named guideline or notice, or a back-reference (同法, 同条, 前条, 本ガイドライン) —
followed by what belongs to it: a 施行令/施行規則 suffix, a parenthetical with its law
number and 「以下「…」という。」 definition, a pinpoint, a range, and the further
pinpoints of a list (第9条第1項及び別表第一). The longest name at a position wins.

Time is linear in the length of the text, however long its clauses (benchmarks/text_linear.py):
every pattern tried at a position reads a bounded stretch from it (an unregistered name has at
most GENERIC_NAME_MAX characters), and no pattern can read the same words in two ways.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

import ahocorasick_rs

from kb.statutes.clean import NAME_CHARS, CleanText
from kb.statutes.lawnumber import LAW_NUMBER_PATTERN, LAW_NUMBER_RE, LawNumber, from_match
from kb.statutes.pinpoint import PARTS, Pinpoint, match_pinpoint

# A name is made of NAME_CHARS (kanji, katakana); hiragana, digits and punctuation end it unless
# a connector (に関する, における…) joins two parts.
_NAME_CHAR = re.compile(f"[{NAME_CHARS}]")
CONNECTORS = ("等に関する", "に関する", "における", "に係る", "のための", "するための", "ための", "に基づく", "による", "に対する", "及び", "並びに", "の")
# The patterns leave out connectors the others already spell: 等に関する is the name character 等 +
# に関する, and where no name character need follow a connector, のための is の + ための. Two ways to
# read the same words make a failing match try both at each one: 2^k for k connectors
# (150 characters of 「法等に関する」 took 108 s).
_CONN = "(?:" + "|".join(c for c in CONNECTORS if c != "等に関する") + ")"
_CONN_LAZY = "(?:" + "|".join(c for c in CONNECTORS if c not in ("等に関する", "のための")) + ")"
# Longest unregistered name the generic patterns return. Of the e-Gov titles made only of name
# characters and connectors, all but two (81 and 82) have at most 80 (data/egov_laws.csv), and
# registered names, up to 148, come from the automaton anyway. The cap makes each try read a
# bounded stretch: without it, every word start of a clause without 。、 rescanned the rest of the
# clause (quadratic).
GENERIC_NAME_MAX = 80
# Characters a pattern's look-ahead reads after a name (若しくは, (平成); the window ends that far after the cap.
_LOOKAHEAD = 8
SUFFIXES = ("施行令", "施行規則", "施行細則")
SUFFIX_KINDS = {"施行令": "政令", "施行規則": "府省令", "施行細則": "府省令"}
MODIFIERS = ("改正", "現行", "旧", "新", "前記", "上記")
# After a name ending in 法, these characters make a different word (法制, 法人, 法的, 法案…).
_NOT_AFTER_LAW = frozenset("制人的務令規学律廷則曹源理益典文科系域案")
# Words ending in 法 that never name a statute.
_NOT_LAW_ENDINGS = ("方法", "手法", "違法", "適法", "合法", "不法", "立法", "司法", "文法", "用法", "療法", "技法", "工法", "作法", "論法", "算法", "製法", "寸法", "便法", "話法", "除法", "乗法", "加法", "減法", "兵法", "仏法", "魔法", "商法的", "憲法上")
OTHER_SUFFIXES = ("ガイドライン", "指針", "要綱", "要領", "準則")
# Words a generic name never starts with: 「…の規定による行動計画策定指針」 names the 指針, not 規定による….
_NOT_NAME_START = ("規定", "定め", "同条", "同項", "同号")
NOTICE_ISSUERS = ("事務次官", "局長", "課長", "部長", "大臣", "次官", "審議官", "長官", "室長")

_BACK = re.compile(
    r"(?P<law>同法|同令|同規則|同施行令|同施行規則)(?![人的務制律廷和])"
    r"|(?P<pin>同条|同項|同号|同表|前条|次条|前項|次項|前号|次号)(?![例目件外])"
    rf"|(?P<other>(?:本|同|当該|現行)(?:{'|'.join(OTHER_SUFFIXES)}|通知))"
)
_SUFFIX = re.compile("|".join(SUFFIXES))
_PART = re.compile("|".join(PARTS))
# The end of an instrument's name: not followed by another name character, unless a pinpoint starts.
_NAME_END = rf"(?:(?![{NAME_CHARS}])|(?=第\d|別表|附則))"
_NAMED_AFTER_LAW = re.compile(rf"[{NAME_CHARS}]{{0,8}}?(?P<suffix>{'|'.join(OTHER_SUFFIXES)}){_NAME_END}")
PIN_BACK_WORDS = ("同条", "同項", "同号", "前条", "次条", "前項", "次項", "前号", "次号")
_PAREN = re.compile(
    r"\((?:"
    rf"(?:{LAW_NUMBER_PATTERN})(?:[。、](?:以下(?:単に)?「(?P<abbr1>[^」]{{1,40}})」(?:という|と総称する|と略す|と略称する)。?)?)?"
    r"|以下(?:単に)?「(?P<abbr2>[^」]{1,40})」(?:という|と総称する|と略す|と略称する)。?"
    r"|(?:令和|平成|昭和)\d+年(?:\d+月)?(?:改定|改訂)?版"
    r")\)"
)
_JOIN = re.compile(r"及び|並びに|又は|若しくは|、|,|・|と")
_PINPOINT_START = re.compile(r"第\d|別表|附則")
_LAW_END_OK = re.compile(r"第\d|別表|附則|上(?![" + NAME_CHARS + r"])|等|改正|違反|及び|並びに|又は|若しくは|以外|施行")
_G_LAW_TITLE = re.compile(rf"[{NAME_CHARS}]+(?:{_CONN_LAZY}[{NAME_CHARS}]*?)*?法律(?=\((?:明治|大正|昭和|平成|令和)|第\d|別表|附則)")
# A guideline's title may join words with ・ (介護予防・日常生活支援総合事業のガイドライン).
_G_OTHER = re.compile(
    rf"[{NAME_CHARS}]+(?:・[{NAME_CHARS}]+)*(?:{_CONN_LAZY}[{NAME_CHARS}・]*?)*?(?P<suffix>{'|'.join(OTHER_SUFFIXES)}){_NAME_END}"
)
_G_NOTICE = re.compile(rf"[{NAME_CHARS}]*?(?:{'|'.join(NOTICE_ISSUERS)})(?P<suffix>通知|通達|事務連絡)(?![{NAME_CHARS}])")
# 「…について」（平成29年3月31日付け総行住第48号総務省自治行政局住民制度課長通知）: a notice's
# title ends in について and its parenthetical names the sender and the kind.
_NOTICE_TITLED = re.compile(
    rf"「?(?P<title>[{NAME_CHARS}]+(?:・[{NAME_CHARS}]+)*(?:(?:{_CONN}|において)[{NAME_CHARS}・]+)*について)」?"
    r"\((?P<meta>[^()]{0,80}?(?P<suffix>通知|通達|事務連絡))\)"
)
_NOTICE_META_MAX = 88  # what _NOTICE_TITLED reads besides the title: 「」, the parenthesis and up to 84 characters in it
# The words a generic name ends with, by the pattern they end: 法 (_G_LAW; 法律 too), 法律
# (_G_LAW_TITLE), ガイドライン… (_G_OTHER), 通知… (_G_NOTICE), について (_NOTICE_TITLED).
_END_WORDS = {
    "law": re.compile("法"),
    "law_title": re.compile("法律"),
    "other": re.compile("|".join(OTHER_SUFFIXES)),
    "notice": re.compile("通知|通達|事務連絡"),
    "titled": re.compile("について"),
}
_BACK_FIRST = "同前次本当現"


# Where a mention other than a known name can start (known names come from the automaton): a
# word start with a back-reference's first character; an opening 「; a name right after a
# modifier (改正番号法); an era name (law numbers); and (`_Clauses`) a word start whose clause
# holds a word a generic name ends with, near enough for a name of GENERIC_NAME_MAX characters.
_OTHER_START = re.compile(  # each branch starts with its characters, so the scan is quick; a modifier's start is its end
    rf"[{_BACK_FIRST}](?<![{NAME_CHARS}].)|「|(?P<mod>改正|現行|前記|上記|[旧新])(?=[{NAME_CHARS}])|明治|大正|昭和|平成|令和"
)
_WORD_START = re.compile(rf"[{NAME_CHARS}](?<![{NAME_CHARS}].)")  # the set first: the engine skips to it in C
_CLAUSE_END = re.compile(r"[。、\n()「」]")
# What a generic name is made of, from its first character to the end of the word it ends with:
# name characters, ・, the connectors' letters (に関する, における, ための…, において) and the end words'
# (について). A stretch of anything else (が, を, は, て…) is a border no generic name crosses, so a
# name ending at a word starts after the last such border before it (`_Clauses.word_starts`).
_CHAIN_CHARS = "".join(sorted({*"・において", *"".join(CONNECTORS), *"".join(w.pattern for w in _END_WORDS.values())} - {"|"}))
_CHAIN = re.compile(rf"[{NAME_CHARS}{re.escape(_CHAIN_CHARS)}]+")


class _Clauses:
    """Where the words a generic name ends with (法, 指針, 通知…) are, and where clauses end.

    "Is there such a word ahead in this clause?" is asked at many positions; answered from
    sorted lists it costs a binary search, where a look-ahead would rescan the clause each time
    (quadratic in a long text without 。、). Which words are ahead also says which patterns can
    match at all, so the others are not tried.
    """

    def __init__(self, text: str):
        self.n = len(text)
        self.kinds = {kind: [m.start() for m in word.finditer(text)] for kind, word in _END_WORDS.items()}
        self.ends = sorted({*self.kinds["law"], *self.kinds["other"], *self.kinds["notice"], *self.kinds["titled"]})
        self.bounds = [m.start() for m in _CLAUSE_END.finditer(text)] if self.ends else []
        self.chains = [m.start() for m in _CHAIN.finditer(text)] if self.ends else []

    def reach(self, i: int) -> int:
        """How far a generic name starting at i may end with one of these words: the end of i's clause,
        at most GENERIC_NAME_MAX characters on; i when no such word starts before that."""
        if not self.ends:
            return i
        b = bisect.bisect_left(self.bounds, i)
        reach = min(self.bounds[b] if b < len(self.bounds) else self.n, i + GENERIC_NAME_MAX)
        return reach if self.has(self.ends, i, reach) else i

    @staticmethod
    def has(where: list[int], lo: int, hi: int) -> bool:
        """Whether the sorted list holds a position in [lo, hi)."""
        k = bisect.bisect_left(where, lo)
        return k < len(where) and where[k] < hi

    def word_starts(self, text: str) -> list[int]:
        """Word starts with such a word ahead in their clause, as `reach` says, and no border of a name (`_CHAIN`)
        between: where a generic name may begin."""
        out: list[int] = []
        ranges: list[tuple[int, int]] = []
        for e in self.ends:
            b = bisect.bisect_left(self.bounds, e)
            c = bisect.bisect_right(self.chains, e) - 1  # the chain holding e (end words are chain characters)
            lo = max(self.bounds[b - 1] + 1 if b else 0, e - GENERIC_NAME_MAX + 1, self.chains[c])
            if ranges and lo <= ranges[-1][1]:  # same clause, overlapping: one range
                ranges[-1] = (ranges[-1][0], e)
            else:
                ranges.append((lo, e))
        for lo, hi in ranges:
            out.extend(m.start() for m in _WORD_START.finditer(text, lo, hi + 1))
        return out


TITLE_WINDOW = 80
_TITLE_BEFORE = re.compile(rf"[{NAME_CHARS}]+(?:{_CONN}[{NAME_CHARS}]+)*(?=\()")
_G_LAW = re.compile(rf"[{NAME_CHARS}]*?法(?P<suffix>{'|'.join(SUFFIXES)})?(?=$|[^{NAME_CHARS}]|{_LAW_END_OK.pattern})")


class Form(StrEnum):
    """How a citation names its statute (stored with every citation)."""

    TITLE = "題名"
    ALIAS = "略称"
    DEFINED = "本文で定義した略称"
    LAW_NUMBER = "法令番号"
    UNREGISTERED = "未登録の名前"
    BACK = "同法・同条などの参照"
    CONTINUATION = "列挙の続き"


@dataclass(frozen=True)
class Mention:
    """One citation as written, in clean-text offsets; `resolve` turns it into a Citation."""

    start: int
    end: int
    form: Form
    name: str  # the name as written (clean), with its suffix: 番号利用法施行令, 同法, 同条
    base: str | None = None  # the name without its suffix: 番号利用法
    suffix: str | None = None  # 施行令 / 施行規則 / 施行細則
    law_number: LawNumber | None = None
    defines: str | None = None  # abbreviation defined in the parenthetical right after
    pinpoint: Pinpoint | None = None
    back: str | None = None  # 同法, 同令, 同条, 前条, 本ガイドライン…
    kind_hint: str | None = None  # kind the words imply: 法律, 政令, ガイドライン, 通知…
    modified: bool = False  # written after 改正・新・旧…: a law number beside it may be the amending act's
    group: int = 0  # mentions joined by 及び, 並びに, 、 share a group (for ambiguity)


class KnownNames:
    """Every registry name (8,945 law titles, aliases, 施行令 of aliases…) in one Aho–Corasick automaton.

    One pass over a text finds the names, whatever their number; a regex alternation of
    thousands of names would try each name at each position (50 × slower, measured). The
    automaton is ahocorasick-rs (Rust): 6 × faster than pyahocorasick on the same texts
    (docs/statutes.md).
    """

    def __init__(self, names: Iterable[str], is_name: Callable[[str], bool], titles: frozenset[str] = frozenset()):
        patterns = list(names)
        self.automaton = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest) if patterns else None
        self.is_name = is_name
        self.titles = titles

    def longest_at(self, text: str) -> dict[int, int]:
        """Start offset → length of the leftmost-longest names, none overlapping (as a reader takes them).

        A name inside a longer one is not reported (自治法 inside 地方自治法): the finder would skip it anyway.
        """
        if self.automaton is None:
            return {}
        return {start: end - start for _, start, end in self.automaton.find_matches_as_indexes(text)}


class NameMatcher:
    """Known names for one text: the registry's automaton plus the abbreviations the text itself defines."""

    def __init__(self, known: KnownNames, defined: frozenset[str] = frozenset(), generic_words: frozenset[str] = frozenset()):
        self.known = known
        self.defined = defined
        self.generic_words = generic_words
        # An automaton too, found overlapping (a name at every start): a regex alternation tried at
        # every position costs the number of names there, quadratic in a text that defines many.
        self._defined = ahocorasick_rs.AhoCorasick(list(defined)) if defined else None

    def is_name(self, name: str) -> bool:
        return name in self.defined or self.known.is_name(name)

    def scan(self, text: str) -> dict[int, tuple[str, int]]:
        """Start offset → (longest known name starting there, its end), before the word rules of `accept`.

        A name broken by a line wrap of raw PDF text (災害対策基\n本法施行令) is found across the
        break; its end then lies one character further than its length says.
        """
        joined, where = _unwrap(text)
        if where is None:
            found = {s: (text[s : s + n], s + n) for s, n in self.known.longest_at(text).items()}
        else:
            found = {where[s]: (joined[s : s + n], where[s + n - 1] + 1) for s, n in self.known.longest_at(joined).items()}
        if self._defined is not None:
            longest: dict[int, int] = {}
            for _, s, e in self._defined.find_matches_as_indexes(text, overlapping=True):
                longest[s] = max(longest.get(s, 0), e)
            for s, e in sorted(longest.items()):
                if len(found.get(s, ("", 0))[0]) < e - s:
                    found[s] = (text[s:e], e)
        return found

    def accept(self, text: str, i: int, name: str, end: int) -> bool:
        """Whether the known name at text[i:end] stands as a word there."""
        # Shorter names must not sit inside a longer word (工業標準化法 is not 標準化法).
        if i > 0 and _NAME_CHAR.match(text[i - 1]) and len(name) < 10 and not text.endswith(MODIFIERS, 0, i):
            return False
        after = text[end : end + 1]
        if name.endswith("法") and after in _NOT_AFTER_LAW and not _SUFFIX.match(text, end):
            return False
        if len(name) <= 2 and not (_PINPOINT_START.match(text, end) or _SUFFIX.match(text, end)):
            # A one- or two-letter abbreviation (法, 令) only counts before a pinpoint; a two-letter
            # title (民法, 刑法) also before a word break (民法上, 民法の).
            return name in self.known.titles and name not in self.defined and (not _NAME_CHAR.match(after) or after in "上等")
        return True

    def known_suffix_at(self, text: str, start: int, end: int) -> int | None:
        """Where a known name ending at `end` starts inside text[start:end] after a modifier (改正番号法)."""
        for j in range(start + 1, end):
            if text.endswith(MODIFIERS, start, j) and self.is_name(text[j:end]):
                return j
        return None


_WRAP = re.compile(rf"(?<=[{NAME_CHARS}])\n(?=[{NAME_CHARS}])")


def _unwrap(text: str) -> tuple[str, list[int] | None]:
    """The text without line breaks between two name characters, and where each character came from (None: unchanged)."""
    breaks = [m.start() for m in _WRAP.finditer(text)]
    if not breaks:
        return text, None
    keep = set(range(len(text))) - set(breaks)
    where = sorted(keep)
    return "".join(text[i] for i in where), where + [len(text)]


def _word_start(text: str, i: int) -> bool:
    return i == 0 or not (_NAME_CHAR.match(text[i - 1]) or text[i - 1].isdigit())


def _strip_modifier(text: str, start: int, end: int) -> int:
    for mod in MODIFIERS:
        if text.startswith(mod, start) and end - start - len(mod) >= 3:
            return start + len(mod)
    return start


def _match_name(pattern: re.Pattern[str], text: str, i: int, after: int = 0) -> re.Match[str] | None:
    """pattern.match at i for a name of at most GENERIC_NAME_MAX characters (+ `after`, what follows it in the match).

    The pattern sees the text only that far (and the few characters its look-ahead reads), so a try
    costs the same at any position of a long clause. A name whose words run on past the window
    is not a name.
    """
    limit = i + GENERIC_NAME_MAX + after
    m = pattern.match(text, i, limit + _LOOKAHEAD)
    return m if m is not None and m.end() <= limit else None


def _generic(text: str, i: int, names: NameMatcher, clauses: _Clauses, reach: int) -> tuple[int, int, str, str | None] | None:
    """(start, end, kind, suffix) of an unregistered name at a word start, or None.

    A pattern is tried only when the word it ends with starts before `reach` (`_Clauses.reach`);
    _G_LAW without the test, 法 being nearly always there.
    """
    if not _word_start(text, i) or text.startswith(_NOT_NAME_START, i):
        return None
    kinds = clauses.kinds
    m = _match_name(_G_NOTICE, text, i) if clauses.has(kinds["notice"], i, reach) else None
    if m:
        return i, m.end(), "事務連絡" if m.group("suffix") == "事務連絡" else "通知", None
    m = _match_name(_G_LAW_TITLE, text, i) if clauses.has(kinds["law_title"], i, reach) else None
    if m and any(c in m.group() for c in CONNECTORS):
        return i, m.end(), "法律", None
    m = _match_name(_G_OTHER, text, i) if clauses.has(kinds["other"], i, reach) else None
    if m:
        prefix = m.group()[: -len(m.group("suffix"))]
        if len(prefix) >= 4 and prefix not in MODIFIERS and names.known_suffix_at(text, i, m.end()) is None:
            return _strip_modifier(text, i, m.end()), m.end(), m.group("suffix"), None
        return None
    m = _match_name(_G_LAW, text, i)
    if not m:
        return None
    suffix = m.group("suffix")
    base_end = m.end() - len(suffix or "")
    start = _strip_modifier(text, i, base_end)
    base = text[start:base_end]
    if len(base) < 3 or base in names.generic_words or base.endswith(_NOT_LAW_ENDINGS):
        return None
    if names.known_suffix_at(text, i, base_end) is not None or names.is_name(base):
        return None  # the loop reaches the registered name itself
    return start, m.end(), SUFFIX_KINDS[suffix] if suffix else "法律", suffix


def _title_before_number(text: str, i: int, floor: int, number: LawNumber) -> Mention | None:
    """An unregistered title written just before its number: 児童福祉施設の…基準（昭和23年厚生省令第63号）.

    The number proves the words before the parenthesis are a title; the title reaches back
    over name characters and connectors (の, に関する, 及び…) to the nearest other word.
    """
    if i == 0 or text[i - 1] != "(":
        return None
    lo = max(floor, i - 1 - TITLE_WINDOW)
    m = _TITLE_BEFORE.search(text, lo, i)
    if m is None or m.end() != i - 1:
        return None
    p = _PAREN.match(text, i - 1)
    if p is None or not p.group("number"):
        return None
    title = m.group()
    return Mention(m.start(), p.end(), Form.UNREGISTERED, title, base=title, law_number=number,
                   defines=p.group("abbr1"), kind_hint=number.kind)  # fmt: skip


def _head(text: str, i: int, names: NameMatcher, known_at: dict[int, tuple[str, int]], clauses: _Clauses, floor: int = 0) -> Mention | None:
    """The name part of a mention starting at i (no pinpoint yet)."""
    m = _BACK.match(text, i)
    if m:
        back = m.group()
        if m.group("law"):
            base, suffix = ("同法", back[1:]) if back in ("同施行令", "同施行規則") else (back, None)
            kind = {"同法": "法律", "同令": "令", "同規則": "規則"}.get(base, "法律")
            mention = Mention(i, m.end(), Form.BACK, back, base=base, suffix=suffix, back=base, kind_hint=kind)
            return _with_suffix(text, mention) if suffix is None and base == "同法" else mention
        hint = next((s for s in (*OTHER_SUFFIXES, "通知") if back.endswith(s)), None)
        return Mention(i, m.end(), Form.BACK, back, back=back, kind_hint=hint)
    m = LAW_NUMBER_RE.match(text, i)
    if m:
        number = from_match(m)
        titled = _title_before_number(text, i, floor, number)
        if titled is not None:
            return titled
        return Mention(i, m.end(), Form.LAW_NUMBER, m.group(), law_number=number, kind_hint=number.kind)
    at = i + (text[i] == "「")
    reach = clauses.reach(at)
    if reach > at and clauses.has(clauses.kinds["titled"], at, reach) and (text[i] == "「" or _word_start(text, i)):
        m = _match_name(_NOTICE_TITLED, text, i, _NOTICE_META_MAX)
        if m and len(m.group("title")) <= GENERIC_NAME_MAX:
            title = m.group("title")
            form = Form.ALIAS if names.is_name(title) else Form.UNREGISTERED
            kind = "事務連絡" if m.group("suffix") == "事務連絡" else "通知"
            return Mention(i, m.end(), form, title, base=title, kind_hint=kind)
    known, end = known_at.get(i, (None, i))
    if known is not None and names.accept(text, i, known, end):
        other = _NAMED_AFTER_LAW.match(text, end)
        if other is not None:  # 住宅宿泊事業法施行要領: an instrument named after the law, not the law
            return Mention(i, other.end(), Form.UNREGISTERED, text[i : other.end()], base=text[i : other.end()], kind_hint=other.group("suffix"))
        form = Form.DEFINED if known in names.defined else Form.ALIAS
        modified = text.endswith(MODIFIERS, 0, i)  # not text[:i]: a copy per name is quadratic
        return _with_suffix(text, Mention(i, end, form, known, base=known, modified=modified))
    found = _generic(text, i, names, clauses, reach) if reach > at else None
    if found is not None:
        start, end, kind, suffix = found
        name = text[start:end]
        base = name[: -len(suffix)] if suffix else name
        return Mention(start, end, Form.UNREGISTERED, name, base=base, suffix=suffix, kind_hint=kind)
    return None


def _with_suffix(text: str, mention: Mention) -> Mention:
    m = _SUFFIX.match(text, mention.end)
    if not m:
        return mention
    return replace(mention, end=m.end(), name=mention.name + m.group(), suffix=m.group(), kind_hint=SUFFIX_KINDS[m.group()])


def _tail(text: str, mention: Mention, group: int) -> Mention:
    """Attach the parenthetical (law number, definition, edition) and the pinpoint after a name, and its group."""
    end = mention.end
    number, defines = mention.law_number, None
    p = _PAREN.match(text, end)
    if p and mention.form is not Form.BACK and mention.law_number is None and mention.defines is None:
        if p.group("number"):
            number = from_match(p)
        defines = p.group("abbr1") or p.group("abbr2")
        end = p.end()
    pin = match_pinpoint(text, end)
    if pin is not None:
        return replace(mention, end=pin[1], law_number=number, defines=defines, pinpoint=pin[0], group=group)
    part = _PART.match(text, end) if mention.form is Form.BACK and mention.back in PIN_BACK_WORDS else None
    if part is not None:  # 同条ただし書, 同項各号: the part of the place the back-reference names
        return replace(mention, end=part.end(), pinpoint=Pinpoint(part=part.group()), group=group)
    return replace(mention, end=end, law_number=number, defines=defines, group=group)


def find_mentions(ct: CleanText, names: NameMatcher) -> list[Mention]:
    """All mentions in reading order; list continuations come right after the mention they extend."""
    text = ct.text
    known_at = names.scan(text)
    clauses = _Clauses(text)
    others = (m.end() if m.group("mod") else m.start() for m in _OTHER_START.finditer(text))
    starts = sorted({*known_at, *others, *clauses.word_starts(text)})
    out: list[Mention] = []
    group = 0
    i = 0
    for at in starts:
        if at < i:
            continue
        i = at
        head = _head(text, i, names, known_at, clauses, out[-1].end if out else 0)
        if head is None:
            continue
        if not (out and _JOIN.fullmatch(text, out[-1].end, head.start)):
            group += 1
        mention = _tail(text, head, group)
        out.append(mention)
        i = mention.end
        # 第9条第1項及び別表第一, 第19条第7号又は第8号: each further pinpoint is its own citation;
        # `resolve` fills the levels it leaves out from the citation before.
        while True:
            j = _JOIN.match(text, i)
            if not j or not _PINPOINT_START.match(text, j.end()):
                break
            pin = match_pinpoint(text, j.end())
            if pin is None:
                break
            mention = Mention(j.end(), pin[1], Form.CONTINUATION, mention.name, pinpoint=pin[0], kind_hint=mention.kind_hint, group=group)
            out.append(mention)
            i = mention.end
    return out
