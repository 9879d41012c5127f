"""Find every mention of a statute or other instrument in a clean text (no resolution yet).

A mention is a name — a registry title or alias, an abbreviation the text defines, a
law number, an unregistered name that looks like a statute (…法, …に関する法律 + 番号),
a named guideline or notice, or a back-reference (同法, 同条, 前条, 本ガイドライン) —
followed by what belongs to it: a 施行令/施行規則 suffix, a parenthetical with its law
number and 「以下「…」という。」 definition, a pinpoint, a range, and the further
pinpoints of a list (第9条第1項及び別表第一). The longest name at a position wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache

from kb.statutes.clean import CleanText
from kb.statutes.lawnumber import LAW_NUMBER_PATTERN, LAW_NUMBER_RE, LawNumber, from_match
from kb.statutes.pinpoint import Pinpoint, match_pinpoint

# Characters a Japanese statute name is made of (kanji, katakana); hiragana, digits and
# punctuation end a name unless a connector (に関する, における…) joins two parts.
NAME_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヶヵ\u30a1-\u30faー"
_NAME_CHAR = re.compile(f"[{NAME_CHARS}]")
CONNECTORS = ("等に関する", "に関する", "における", "に係る", "のための", "するための", "ための", "に基づく", "による", "に対する", "及び", "並びに", "の")
_CONN = "(?:" + "|".join(CONNECTORS) + ")"
SUFFIXES = ("施行令", "施行規則", "施行細則")
SUFFIX_KINDS = {"施行令": "政令", "施行規則": "府省令", "施行細則": "府省令"}
MODIFIERS = ("改正", "現行", "旧", "新", "前記", "上記")
# After a name ending in 法, these characters make a different word (法制, 法人, 法的, 法案…).
_NOT_AFTER_LAW = frozenset("制人的務令規学律廷則曹源理益典文科系域案")
# Words ending in 法 that never name a statute.
_NOT_LAW_ENDINGS = ("方法", "手法", "違法", "適法", "合法", "不法", "立法", "司法", "文法", "用法", "療法", "技法", "工法", "作法", "論法", "算法", "製法", "寸法", "便法", "話法", "除法", "乗法", "加法", "減法", "兵法", "仏法", "魔法", "商法的", "憲法上")
OTHER_SUFFIXES = ("ガイドライン", "指針", "要綱", "要領")
NOTICE_ISSUERS = ("事務次官", "局長", "課長", "部長", "大臣", "次官", "審議官", "長官", "室長")

_BACK = re.compile(
    r"(?P<law>同法|同令|同規則|同施行令|同施行規則)(?![人的務制律廷和])"
    r"|(?P<pin>同条|同項|同号|同表|前条|次条|前項|次項|前号|次号)(?![例目件外])"
    rf"|(?P<other>(?:本|同|当該|現行)(?:{'|'.join(OTHER_SUFFIXES)}|通知))"
)
_SUFFIX = re.compile("|".join(SUFFIXES))
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
_G_LAW_TITLE = re.compile(rf"[{NAME_CHARS}]+(?:{_CONN}[{NAME_CHARS}]*?)*?法律(?=\((?:明治|大正|昭和|平成|令和)|第\d|別表|附則)")
_G_OTHER = re.compile(rf"[{NAME_CHARS}]+(?:{_CONN}[{NAME_CHARS}]*?)*?(?P<suffix>{'|'.join(OTHER_SUFFIXES)})(?![{NAME_CHARS}])")
_G_NOTICE = re.compile(rf"[{NAME_CHARS}]*?(?:{'|'.join(NOTICE_ISSUERS)})(?P<suffix>通知|通達|事務連絡)(?![{NAME_CHARS}])")
# 「…について」（平成29年3月31日付け総行住第48号総務省自治行政局住民制度課長通知）: a notice's
# title ends in について and its parenthetical names the sender and the kind.
_NOTICE_TITLED = re.compile(
    rf"「?(?P<title>[{NAME_CHARS}]+(?:(?:{_CONN}|による|において)[{NAME_CHARS}]+)*について)」?"
    r"\((?P<meta>[^()]{0,80}?(?P<suffix>通知|通達|事務連絡))\)"
)
_GENERIC_ENDS = "法|ガイドライン|指針|要綱|要領|通知|通達|事務連絡|について"
_BACK_FIRST = "同前次本当現"


def start_pattern(first_chars: frozenset[str]) -> re.Pattern[str]:
    """Where a mention can start, so the finder skips every other position.

    A word start (after a non-name character) whose first character begins a known name or a
    back-reference, or whose clause holds a word a generic name ends with; an opening 「; a
    name right after a modifier (改正番号法); an era name (law numbers).
    """
    firsts = re.escape("".join(sorted(first_chars | set(_BACK_FIRST))))
    return re.compile(
        rf"(?<![{NAME_CHARS}])(?:[{firsts}]|(?=[^。、\n()「」]*?(?:{_GENERIC_ENDS}))[{NAME_CHARS}])"
        rf"|「|(?<=改正|現行|前記|上記)[{NAME_CHARS}]|(?<=[旧新])[{NAME_CHARS}]|明治|大正|昭和|平成|令和"
    )


# A generic name needs one of these words before the end of its clause: a cheap test that
# spares the name patterns at most word starts.
_MAY_BE_GENERIC = re.compile(r"[^。、\n()「」]*?(?:法|ガイドライン|指針|要綱|要領|通知|通達|事務連絡|について)")
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
    group: int = 0  # mentions joined by 及び, 並びに, 、 share a group (for ambiguity)


class NameMatcher:
    """Longest-first matcher over known names (registry names plus a text's own abbreviations)."""

    def __init__(self, names: frozenset[str], defined: frozenset[str], generic_words: frozenset[str]):
        self.names = names | defined
        self.defined = defined
        self.generic_words = generic_words
        ordered = sorted(self.names, key=len, reverse=True)
        self._re = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._first = frozenset(n[0] for n in self.names)
        self.start_re = start_pattern(self._first)

    def match_at(self, text: str, i: int) -> str | None:
        """The longest known name starting at i that stands as a word there."""
        if self._re is None or text[i] not in self._first:
            return None
        m = self._re.match(text, i)
        if not m:
            return None
        name = m.group()
        # Shorter names must not sit inside a longer word (工業標準化法 is not 標準化法).
        if i > 0 and _NAME_CHAR.match(text[i - 1]) and len(name) < 10 and not text[:i].endswith(MODIFIERS):
            return None
        after = text[m.end() : m.end() + 1]
        if name.endswith("法") and after in _NOT_AFTER_LAW and not _SUFFIX.match(text, m.end()):
            return None
        if len(name) <= 2 and not (_PINPOINT_START.match(text, m.end()) or _SUFFIX.match(text, m.end())):
            return None  # a one- or two-letter abbreviation (法, 令) only counts before a pinpoint
        return name

    def known_suffix_at(self, text: str, start: int, end: int) -> int | None:
        """Where a known name ending at `end` starts inside text[start:end] after a modifier (改正番号法)."""
        for j in range(start + 1, end):
            if text[start:j].endswith(MODIFIERS) and text[j:end] in self.names:
                return j
        return None


@lru_cache(maxsize=64)
def name_matcher(names: frozenset[str], defined: frozenset[str], generic_words: frozenset[str]) -> NameMatcher:
    return NameMatcher(names, defined, generic_words)


def _word_start(text: str, i: int) -> bool:
    return i == 0 or not (_NAME_CHAR.match(text[i - 1]) or text[i - 1].isdigit())


def _strip_modifier(text: str, start: int, end: int) -> int:
    for mod in MODIFIERS:
        if text.startswith(mod, start) and end - start - len(mod) >= 3:
            return start + len(mod)
    return start


def _generic(text: str, i: int, names: NameMatcher) -> tuple[int, int, str, str | None] | None:
    """(start, end, kind, suffix) of an unregistered name at a word start, or None."""
    if not _word_start(text, i):
        return None
    m = _G_NOTICE.match(text, i)
    if m:
        return i, m.end(), "事務連絡" if m.group("suffix") == "事務連絡" else "通知", None
    m = _G_LAW_TITLE.match(text, i)
    if m and any(c in m.group() for c in CONNECTORS):
        return i, m.end(), "法律", None
    m = _G_OTHER.match(text, i)
    if m:
        prefix = m.group()[: -len(m.group("suffix"))]
        if len(prefix) >= 4 and prefix not in MODIFIERS and names.known_suffix_at(text, i, m.end()) is None:
            return _strip_modifier(text, i, m.end()), m.end(), m.group("suffix"), None
        return None
    m = _G_LAW.match(text, i)
    if not m:
        return None
    suffix = m.group("suffix")
    base_end = m.end() - len(suffix or "")
    start = _strip_modifier(text, i, base_end)
    base = text[start:base_end]
    if len(base) < 3 or base in names.generic_words or base.endswith(_NOT_LAW_ENDINGS):
        return None
    if names.known_suffix_at(text, i, base_end) is not None or base in names.names:
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


def _head(text: str, i: int, names: NameMatcher, floor: int = 0) -> Mention | None:
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
    may_be_generic = _MAY_BE_GENERIC.match(text, i + (text[i] == "「")) is not None
    if may_be_generic and (text[i] == "「" or _word_start(text, i)):
        m = _NOTICE_TITLED.match(text, i)
        if m:
            title = m.group("title")
            form = Form.ALIAS if title in names.names else Form.UNREGISTERED
            kind = "事務連絡" if m.group("suffix") == "事務連絡" else "通知"
            return Mention(i, m.end(), form, title, base=title, kind_hint=kind)
    known = names.match_at(text, i)
    if known is not None:
        form = Form.DEFINED if known in names.defined else Form.ALIAS
        return _with_suffix(text, Mention(i, i + len(known), form, known, base=known))
    found = _generic(text, i, names) if may_be_generic else None
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


def _tail(text: str, mention: Mention) -> Mention:
    """Attach the parenthetical (law number, definition, edition) and the pinpoint after a name."""
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
        return replace(mention, end=pin[1], law_number=number, defines=defines, pinpoint=pin[0])
    return replace(mention, end=end, law_number=number, defines=defines)


def find_mentions(ct: CleanText, names: NameMatcher) -> list[Mention]:
    """All mentions in reading order; list continuations come right after the mention they extend."""
    text = ct.text
    out: list[Mention] = []
    group = 0
    i = 0
    while i < len(text):
        start = names.start_re.search(text, i)
        if start is None:
            break
        i = start.start()
        head = _head(text, i, names, out[-1].end if out else 0)
        if head is None:
            i += 1
            continue
        mention = _tail(text, head)
        if not (out and _JOIN.fullmatch(text[out[-1].end : mention.start])):
            group += 1
        mention = replace(mention, group=group)
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
