"""Mentions → citations: which statute each one names, and where in it.

Names resolve through the registry, through the abbreviations the proposal defines
(「以下「番号利用法」という。」, nearest definition before the use), or by law number.
Back-references resolve the way eyecite resolves "Id.": to the last citation of the
matching kind (同法 → the last 法律, 同条 → the last citation with an article), and
are left unresolved when that antecedent is ambiguous (two different laws cited
together just before) or missing — never guessed.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache

from kb.statutes.clean import CleanText
from kb.statutes.egov import law_url
from kb.statutes.find import SUFFIX_KINDS, Form, Mention
from kb.statutes.lawnumber import LawNumber
from kb.statutes.pinpoint import Pinpoint
from kb.statutes.registry import KINDS, Registry, Statute, fold_name

UNREGISTERED = "未登録"  # neither in e-Gov's list of current laws nor in statutes.yaml
AMBIGUOUS = "曖昧な参照"
NO_ANTECEDENT = "参照先なし"
MISMATCH = "題名と法令番号の不一致"
NUMBER_NOT_LISTED = "一覧にない法令番号"
SHARED_NAME = "同名の法令が複数"
SHARED_NUMBER = "同じ法令番号の法令が複数"
UNKNOWN_KIND = "不明"
BACK_KINDS: dict[str, tuple[str, ...]] = {
    "同法": ("法律",),
    "同令": ("政令", "府省令", "勅令"),
    "同規則": ("府省令", "規則", "人事院規則"),
}


@dataclass(frozen=True)
class Target:
    """What a name refers to: a registry entry, or an unregistered statute known by name or number."""

    statute: Statute | None
    title: str
    kind: str
    law_number: LawNumber | None = None
    parent: Statute | None = None
    why: str = UNREGISTERED  # why `statute` is None

    @classmethod
    def of(cls, statute: Statute) -> Target:
        return cls(statute, statute.title, statute.kind, statute.number)

    @property
    def egov_id(self) -> str | None:
        """From the registry only: an ID is never computed from a law number."""
        return self.statute.egov_id if self.statute is not None else None


@dataclass(frozen=True)
class Citation:
    """One citation: the original words and where they are, and what they were resolved to."""

    start: int  # offsets in the original text
    end: int
    quote: str
    form: Form
    name: str
    statute_id: str | None
    title: str
    kind: str
    law_number: str | None
    pinpoint: Pinpoint | None
    egov_id: str | None
    url: str | None
    unresolved: str | None  # why statute_id is None: 未登録 / 曖昧な参照 / 参照先なし
    group: int = 0  # mentions joined by 及び/、 share a group within a part
    part: int = 0
    parent_id: str | None = None

    @property
    def identity(self) -> str:
        """Same statute ⇔ same identity, registered or not (used for ambiguity and counting)."""
        return self.statute_id or f"?{self.title}"

    def as_json(self) -> dict[str, object]:
        """The `kb cite` line: statute id or null, title, kind, pinpoint, e-Gov link, quoted text."""
        return {
            "statute": self.statute_id,
            "title": self.title,
            "kind": self.kind,
            "pinpoint": self.pinpoint.label if self.pinpoint else None,
            "url": self.url,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "form": self.form.value,
            "law_number": self.law_number,
            "egov_id": self.egov_id,
            "unresolved": self.unresolved,
        }


def _position(definition: tuple[tuple[int, int], Target]) -> tuple[int, int]:
    return definition[0]


@dataclass
class Abbreviations:
    """Abbreviations a proposal defines, each with where it was defined (part index, offset)."""

    defined: dict[str, list[tuple[tuple[int, int], Target]]] = field(default_factory=dict)

    def add(self, name: str, at: tuple[int, int], target: Target) -> None:
        """Kept in order of position, so that a lookup is a binary search (a text may define one name many times)."""
        bisect.insort(self.defined.setdefault(fold_name(name), []), (at, target), key=_position)

    def lookup(self, name: str, at: tuple[int, int]) -> Target | None:
        """Nearest definition before `at`; a use before any definition takes the first one."""
        found = self.defined.get(fold_name(name))
        if not found:
            return None
        k = bisect.bisect_right(found, at, key=_position)
        return found[k - 1][1] if k else found[0][1]

    def names(self) -> frozenset[str]:
        return frozenset(self.defined)


def subordinate(target: Target, suffix: str, registry: Registry) -> Target:
    """番号利用法 + 施行令 → the registered 施行令, or an unregistered one named after its parent."""
    if target.statute is not None:
        child = registry.child(target.statute.id, suffix)
        if child is not None:
            return Target.of(child)
    why = target.why if target.statute is None else UNREGISTERED
    return Target(None, target.title + suffix, SUFFIX_KINDS[suffix], parent=target.statute, why=why)


def by_number(number: LawNumber, registry: Registry, title: str | None = None) -> Target:
    """The law a number names in the list; unresolved (and why) when it names none or several."""
    statute = registry.lookup_number(number)
    if statute is not None:
        return Target.of(statute)
    if number in registry.ambiguous_numbers:
        return Target(None, title or number.label, number.kind, number, why=SHARED_NUMBER)
    return Target(None, title or number.label, number.kind, number, why=NUMBER_NOT_LISTED)


def _named(name: str, registry: Registry, kind_hint: str | None, number: LawNumber | None) -> Target | None:
    """A registry name → its law; a name shared by several laws → the one its number names, else unresolved, saying so."""
    statute = registry.lookup_clean(name)
    if statute is not None:
        return Target.of(statute)
    candidates = registry.ambiguous_names.get(name)
    if candidates is None:
        return None
    by_number = registry.lookup_number(number) if number else None
    if by_number is not None and by_number.id in candidates:
        return Target.of(by_number)
    kinds = {registry.statutes[c].kind for c in candidates}
    kind = kinds.pop() if len(kinds) == 1 else kind_hint or UNKNOWN_KIND
    return Target(None, name, kind, number, why=SHARED_NAME)


def _agrees(target: Target, number: LawNumber | None, registry: Registry) -> Target:
    """A title and a law number that name different laws: reported, never settled by picking one."""
    if number is None or target.statute is None:
        return target
    other = registry.lookup_number(number)
    if target.statute.number == number or (other is not None and other.id == target.statute.id):
        return target
    if target.statute.number is None and other is None:
        return target  # a guideline or an entry without a number: nothing to compare
    return Target(None, target.title, target.kind, number, why=MISMATCH)


def name_target(m: Mention, registry: Registry, abbreviations: Abbreviations, at: tuple[int, int]) -> Target | None:
    """What a named mention (not a back-reference or continuation) refers to."""
    base = m.base or m.name
    target: Target | None = None
    if m.form is Form.DEFINED:
        target = abbreviations.lookup(base, at)
    elif m.form is Form.ALIAS:
        target = _named(base, registry, m.kind_hint, m.law_number)
        if target is not None and not m.modified:  # 改正地方自治法（令和5年法律第19号）: the number is the amending act's
            target = _agrees(target, m.law_number, registry)
    elif m.form is Form.LAW_NUMBER and m.law_number is not None:
        target = by_number(m.law_number, registry)
    elif m.form is Form.UNREGISTERED:
        # An unknown name with its number (an old title, a variant spelling): the number decides.
        if m.law_number is not None:
            target = by_number(m.law_number, registry, base)
            if target.statute is None:
                target = replace(target, kind=m.kind_hint or target.kind)
        else:
            target = Target(None, base, m.kind_hint or UNKNOWN_KIND)
    if target is not None and m.suffix:
        target = subordinate(target, m.suffix, registry)
    return target


def _citation(
    ct: CleanText, m: Mention, part: int, target: Target | None, pin: Pinpoint | None, why: str | None, form: Form | None = None
) -> Citation:
    start, end = ct.span(m.start, m.end)
    if target is None:
        kind = m.kind_hint if m.kind_hint in KINDS else UNKNOWN_KIND
        return Citation(start, end, ct.original[start:end], form or m.form, m.name, None, m.name, kind, None, pin, None, None, why, m.group, part)
    statute = target.statute
    egov_id = target.egov_id
    return Citation(
        start, end, ct.original[start:end], form or m.form, m.name,
        statute.id if statute else None, target.title, target.kind,
        target.law_number.label if target.law_number else None, pin, egov_id, law_url(egov_id, pin),
        None if statute else target.why, m.group, part, target.parent.id if target.parent else None,
    )  # fmt: skip


def _target_of(c: Citation, registry: Registry) -> Target:
    """Rebuild the target of an earlier citation, to hand it on to a back-reference."""
    if c.statute_id is not None:
        return Target.of(registry.statutes[c.statute_id])
    parent = registry.statutes.get(c.parent_id or "")
    return Target(None, c.title, c.kind, None, parent)


_LEVELS = ("article", "paragraph", "item", "table")
_Want = tuple[str, str | None]  # what a back-reference looks for: ("back", 同法), ("level", article), ("kind", ガイドライン)


@cache  # few kinds × level sets
def _wants(kind: str, rule_title: bool, levels: tuple[str, ...]) -> tuple[_Want, ...]:
    """Every back-reference a citation can be the antecedent of: by its kind (and a title in 規則 for 同規則), its pinpoint's levels."""
    backs = [("back", back) for back, kinds in BACK_KINDS.items() if kind in kinds and (back != "同規則" or rule_title)]
    return (*backs, *(("level", level) for level in levels), ("kind", kind))


def _levels(p: Pinpoint | None) -> tuple[str, ...]:
    """The levels a pinpoint states, in _LEVELS order (as `_has_level` says)."""
    if p is None:
        return ()
    stated = (bool(p.article), p.paragraph is not None, bool(p.item), p.table is not None)
    return tuple(level for level, has in zip(_LEVELS, stated) if has)


def _place(c: Citation, level: str) -> object:
    """The place `c` cites, cut to `level` (同条 after 第9条及び第19条: two places)."""
    p = c.pinpoint
    assert p is not None
    return (c.identity, p.article, p.paragraph if level != "article" else None, p.item if level == "item" else None, p.table if level == "table" else None)


class _History:
    """The citations before a back-reference, indexed by what back-references look for.

    The antecedent is the last citation of the wanted kind, and is ambiguous when its group (its
    mentions joined by 及び, 、) holds different ones; from the index both are dictionary look-ups,
    where scanning the citations before at every 同法 was quadratic. Citations are indexed when a
    back-reference first asks, so a text without one pays nothing.
    """

    def __init__(self, citations: list[Citation], earlier: Sequence[Citation] = ()):
        self.citations = citations  # grows as the caller appends to it
        self.earlier: Sequence[Citation] | None = earlier  # indexed first, once
        self.indexed = 0
        self.last: dict[_Want, Citation] = {}
        self.rivals: dict[tuple[_Want, int, int], set[str]] = {}  # identities of the wanted citations of a group
        self.places: dict[tuple[str, int, int], set[object]] = {}  # places of a group, per level

    def _catch_up(self) -> None:
        if self.earlier is not None:
            for c in self.earlier:
                self._add(c)
            self.earlier = None
        while self.indexed < len(self.citations):
            self._add(self.citations[self.indexed])
            self.indexed += 1

    def _add(self, c: Citation) -> None:
        levels = _levels(c.pinpoint)
        for level in levels:
            self.places.setdefault((level, c.part, c.group), set()).add(_place(c, level))
        if c.unresolved in (AMBIGUOUS, NO_ANTECEDENT):
            return  # never an antecedent, nor a rival
        for want in _wants(c.kind, c.title.endswith("規則"), levels):
            self.last[want] = c
            self.rivals.setdefault((want, c.part, c.group), set()).add(c.identity)

    def antecedent(self, want: _Want) -> tuple[Citation | None, str | None]:
        """The last citation that is wanted, or why there is none (missing, or ambiguous in its group)."""
        self._catch_up()
        c = self.last.get(want)
        if c is None:
            return None, NO_ANTECEDENT
        if len(self.rivals[(want, c.part, c.group)]) > 1:
            return None, AMBIGUOUS
        return c, None

    def pin_rivals(self, c: Citation, level: str) -> bool:
        """True when c's group cites several different places at this level."""
        self._catch_up()
        return len(self.places.get((level, c.part, c.group), ())) > 1


def _has_level(p: Pinpoint, level: str) -> bool:
    return {"article": bool(p.article), "paragraph": p.paragraph is not None, "item": bool(p.item), "table": p.table is not None}[level]


_PIN_BACKS: dict[str, tuple[str, int]] = {
    "同条": ("article", 0), "前条": ("article", -1), "次条": ("article", 1),
    "同項": ("paragraph", 0), "前項": ("paragraph", -1), "次項": ("paragraph", 1),
    "同号": ("item", 0), "前号": ("item", -1), "次号": ("item", 1),
    "同表": ("table", 0),
}  # fmt: skip


def _shift(p: Pinpoint, level: str, step: int, extra: Pinpoint | None) -> Pinpoint | None:
    """The antecedent's pinpoint cut to `level`, moved by `step` (前条 = −1), plus what the text adds."""
    if level == "table":  # 同表: the table itself, not the row the antecedent named
        return Pinpoint(supplementary=p.supplementary, table=p.table)
    article, paragraph, item = p.article, p.paragraph, p.item
    if level == "article":
        paragraph, item = None, None
        if step:
            if article is None or len(article) != 1 or article[0] + step < 1:
                return None  # 前条 of 第252条の17の2 cannot be known without the statute's text
            article = (article[0] + step,)
    elif level == "paragraph":
        item = None
        if step:
            if paragraph is None or paragraph + step < 1:
                return None
            paragraph = paragraph + step
    elif level == "item" and step:
        if item is None or len(item) != 1 or item[0] + step < 1:
            return None
        item = (item[0] + step,)
    base = Pinpoint(supplementary=p.supplementary, article=article, paragraph=paragraph if level != "article" else None, item=item if level == "item" else None)
    if extra is None:
        return base
    return replace(
        base,
        paragraph=extra.paragraph if extra.paragraph is not None else base.paragraph,
        item=extra.item or base.item,
        part=extra.part,
        through=extra.through.inherit(base) if extra.through else None,
    )


def resolve_mentions(
    ct: CleanText,
    mentions: Sequence[Mention],
    registry: Registry,
    abbreviations: Abbreviations,
    part: int = 0,
    earlier: Sequence[Citation] = (),
) -> list[Citation]:
    """Citations for one text part. `earlier` holds the proposal's citations in the parts before,
    which only 本ガイドライン-style references reach; 同法・同条 stay within the part."""
    out: list[Citation] = []
    here = _History(out)  # 同法・同条: this part
    everywhere = _History(out, earlier)  # 本ガイドライン: the parts before too
    for m in mentions:
        if m.form is Form.CONTINUATION:
            prev = out[-1] if out else None
            if prev is None:
                out.append(_citation(ct, m, part, None, m.pinpoint, NO_ANTECEDENT))
                continue
            pin = m.pinpoint.inherit(prev.pinpoint) if m.pinpoint and prev.pinpoint else m.pinpoint
            target = None if prev.unresolved in (AMBIGUOUS, NO_ANTECEDENT) else _target_of(prev, registry)
            out.append(_citation(ct, m, part, target, pin, prev.unresolved))
            continue
        if m.form is not Form.BACK:
            target = name_target(m, registry, abbreviations, (part, m.start))
            form = m.form
            if target is not None and target.statute is not None:
                if registry.is_title(target.statute, m.base or m.name):
                    form = Form.TITLE
                elif m.form is Form.UNREGISTERED:
                    form = Form.LAW_NUMBER  # an unknown spelling settled by its number
            out.append(_citation(ct, m, part, target, m.pinpoint, UNREGISTERED if target is None else None, form))
            continue
        back = m.back or ""
        if back in BACK_KINDS:
            ante, why = here.antecedent(("back", back))
            target = _target_of(ante, registry) if ante else None
            if target is not None and m.suffix:
                target = subordinate(target, m.suffix, registry)
            out.append(_citation(ct, m, part, target, m.pinpoint, why))
        elif back in _PIN_BACKS:
            level, step = _PIN_BACKS[back]
            ante, why = here.antecedent(("level", level))
            if ante is not None and here.pin_rivals(ante, level):
                ante, why = None, AMBIGUOUS
            pin = _shift(ante.pinpoint, level, step, m.pinpoint) if ante and ante.pinpoint else None
            if ante is not None and pin is None:
                ante, why = None, AMBIGUOUS
            out.append(_citation(ct, m, part, _target_of(ante, registry) if ante else None, pin, why))
        else:  # 本ガイドライン, 当該通知: the instrument the proposal is discussing
            ante, why = everywhere.antecedent(("kind", m.kind_hint))
            out.append(_citation(ct, m, part, _target_of(ante, registry) if ante else None, m.pinpoint, why))
    return out
