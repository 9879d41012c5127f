"""The statute registry: e-Gov's list of every current law (`data/egov_laws.csv`) with `data/statutes.yaml` on top.

The list gives every law's 法令ID, 法令番号 and title; it is never edited by hand. The YAML file is
data an editor changes in a pull request: the 略称 people write (番号法, 自治法), a display name,
notes, and what the list lacks — guidelines and notices (no e-Gov page) and repealed laws. An
entry for a listed law repeats the list's title, so a wrong ID cannot slip in unnoticed. Every
problem is reported as `file:line: field: message`, like proposal files, so `kb check` fails on it.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.core.cache import cache_key, cached
from kb.core.problems import Problem, ProblemError, display_path
from kb.core.yamlio import load
from kb.statutes.clean import clean
from kb.statutes.egov import BILLS, id_problem
from kb.statutes.lawlist import LAW_ID_RE, ListedLaw, law_list_path, read_law_list
from kb.statutes.lawnumber import LawNumber, parse_law_number

LISTED_KINDS = ("憲法", "法律", "政令", "勅令", "府省令", "規則", "人事院規則", "内閣総理大臣決定", "太政官布告", "太政官達")
STATUTE_KINDS = (*LISTED_KINDS, "告示")
OTHER_KINDS = ("ガイドライン", "通知", "要綱", "要領", "指針", "準則", "事務連絡")
KINDS = STATUTE_KINDS + OTHER_KINDS
ENTRY_KEYS = ("id", "title", "short", "kind", "number", "bill", "parent", "aliases", "issuer", "note", "checked", "repealed")
SLUG_HELP = "法令IDが分からないときは英小文字・数字・ハイフンの名前（例: security-policy-guideline）"
DEFAULT_REGISTRY = Path(__file__).resolve().parents[2] / "data" / "statutes.yaml"
# 施行令・施行規則 named after their parent law: 地方自治法 + 施行令 = 地方自治法施行令.
if TYPE_CHECKING:
    from kb.statutes.find import KnownNames

SUBORDINATE_SUFFIXES = ("施行令", "施行規則", "施行細則")


def registry_path() -> Path:
    """The registry file: $KB_STATUTES if set (tests, forks), else data/statutes.yaml of this checkout."""
    return Path(os.environ.get("KB_STATUTES") or DEFAULT_REGISTRY)


def fold_name(name: str) -> str:
    """Key under which names are compared: the same cleaning the text gets."""
    return clean(name).text


def _same_title(a: str, b: str) -> bool:
    return unicodedata.normalize("NFKC", a).strip() == unicodedata.normalize("NFKC", b).strip()


@dataclass(frozen=True, slots=True)  # slots: 9,000 of them pickle and load in half the time
class Statute:
    """One law of e-Gov's list, or one entry of statutes.yaml (a guideline, a notice, a repealed law)."""

    id: str
    title: str
    kind: str
    short: str | None = None
    number: LawNumber | None = None
    bill: str | None = None
    parent: str | None = None
    aliases: tuple[str, ...] = ()
    issuer: str | None = None
    note: str | None = None
    checked: str | None = None
    line: int = 0  # line in statutes.yaml, 0 for a law only in the list
    number_text: str | None = None  # the 法令番号 as e-Gov writes it (kanji numerals)
    listed: bool = False  # in e-Gov's list of current laws
    repealed: str | None = None  # for a law no longer in force: when and how

    def __reduce__(self) -> tuple[type[Statute], tuple[object, ...]]:
        """Pickled as a call of the class: loading the registry cache (9,000 laws) takes half the time of
        the state functions dataclasses give a slotted class (kb.core.cache; one-edit `kb build`)."""
        return (Statute, tuple(getattr(self, f.name) for f in fields(self)))

    @property
    def egov_id(self) -> str | None:
        """The e-Gov 法令ID, when the registry id is one."""
        return self.id if LAW_ID_RE.match(self.id) else None

    @property
    def display_name(self) -> str:
        return self.short or self.title

    @property
    def is_statute(self) -> bool:
        return self.kind in STATUTE_KINDS

    @property
    def number_label(self) -> str | None:
        """法令番号 for people: Arabic digits when it parses (平成25年法律第27号), else e-Gov's words."""
        return self.number.label if self.number else self.number_text


def _listed_statute(law: ListedLaw) -> Statute:
    return Statute(id=law.id, title=law.title, kind=law.kind, number=parse_law_number(law.law_number),
                   bill=law.bill, number_text=law.law_number, listed=True)  # fmt: skip


@dataclass(frozen=True)
class ListedIndex:
    """The list's laws with their numbers parsed and titles folded: the costly half of loading, cached on its own."""

    statutes: dict[str, Statute]
    numbers: dict[LawNumber, list[str]]
    titles: dict[str, list[str]]  # folded title → ids
    folded: dict[str, str]  # id → folded title

    @classmethod
    def of(cls, laws: Iterable[ListedLaw]) -> ListedIndex:
        index = cls({}, {}, {}, {})
        for law in laws:
            s = index.statutes[law.id] = _listed_statute(law)
            key = index.folded[law.id] = fold_name(law.title)
            index.titles.setdefault(key, []).append(law.id)
            if s.number:
                index.numbers.setdefault(s.number, []).append(law.id)
        return index


@dataclass
class Registry:
    """Lookups over the laws: by folded name, by law number, by (parent, suffix); names ambiguous between laws are kept apart."""

    statutes: dict[str, Statute] = field(default_factory=dict)
    generic_words: frozenset[str] = frozenset()
    by_name: dict[str, str] = field(default_factory=dict)
    by_number: dict[LawNumber, str] = field(default_factory=dict)
    ambiguous_names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # one title, several laws
    ambiguous_numbers: dict[LawNumber, tuple[str, ...]] = field(default_factory=dict)
    children: dict[tuple[str, str], str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # id → folded official title
    title_names: frozenset[str] = frozenset()  # every folded official title
    # Built from the rest on first use in a process (the automaton, the database rows); never pickled.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, statutes: Sequence[Statute], generic_words: Iterable[str] = (), folded: dict[str, str] | None = None) -> Registry:
        """Index the laws (`folded`: titles already folded, by id, to skip folding 8,945 titles again)."""
        reg = cls({s.id: s for s in statutes}, frozenset(fold_name(w) for w in generic_words))
        owners: dict[str, list[str]] = {}
        numbers: dict[LawNumber, list[str]] = {}
        known = folded or {}
        for s in reg.statutes.values():
            title = known.get(s.id) if known.get(s.id) is not None and not s.line else None
            reg.titles[s.id] = title or fold_name(s.title)
            for name in (s.title, s.short, *s.aliases):
                if name:
                    key = reg.titles[s.id] if name == s.title else fold_name(name)
                    ids = owners.setdefault(key, [])
                    if s.id not in ids:
                        ids.append(s.id)
            if s.number:
                numbers.setdefault(s.number, []).append(s.id)
        for name, ids in owners.items():
            if len(ids) == 1:
                reg.by_name[name] = ids[0]
            else:
                reg.ambiguous_names[name] = tuple(ids)
        for number, ids in numbers.items():
            if len(ids) == 1:
                reg.by_number[number] = ids[0]
            else:
                reg.ambiguous_numbers[number] = tuple(ids)
        reg.title_names = frozenset(reg.titles.values())
        reg._link_children()
        return reg

    def _link_children(self) -> None:
        """施行令・施行規則 under their parent: stated (`parent:`) or read from the title (…法施行令 → …法)."""
        for s in list(self.statutes.values()):
            parent = self.statutes.get(s.parent or "")
            if parent is None:
                title = self.titles[s.id]
                suffix = next((x for x in SUBORDINATE_SUFFIXES if title.endswith(x)), None)
                pid = self.by_name.get(title[: -len(suffix)]) if suffix else None
                parent = self.statutes.get(pid or "")
                if parent is None or parent.id == s.id or not parent.is_statute:
                    continue
                self.statutes[s.id] = s = replace(s, parent=parent.id)
            if not (s.title.startswith(parent.title) and len(s.title) > len(parent.title)):
                continue
            relation = fold_name(s.title[len(parent.title) :])
            self.children.setdefault((parent.id, relation), s.id)
            for name in (parent.short, *parent.aliases):  # 番号法施行令, 自治法施行規則…
                key = fold_name(name) + relation if name else None
                if key and key not in self.by_name and key not in self.ambiguous_names:
                    self.by_name[key] = s.id

    def __repr__(self) -> str:
        return f"Registry({len(self.statutes)} statutes, {len(self.by_name)} names)"

    def lookup_name(self, name: str) -> Statute | None:
        return self.lookup_clean(fold_name(name))

    def lookup_clean(self, name: str) -> Statute | None:
        """Lookup of a name already in clean form (as the finder reports it)."""
        sid = self.by_name.get(name)
        return self.statutes[sid] if sid else None

    def is_title(self, statute: Statute, name: str) -> bool:
        """True when `name` (clean) is the statute's official title, not a short name."""
        return self.titles.get(statute.id) == name

    def lookup_number(self, number: LawNumber) -> Statute | None:
        sid = self.by_number.get(number)
        return self.statutes[sid] if sid else None

    def child(self, parent_id: str, relation: str) -> Statute | None:
        sid = self.children.get((parent_id, fold_name(relation)))
        return self.statutes[sid] if sid else None

    def names(self) -> list[str]:
        """Every folded name the finder should know (ambiguous ones too: found, then left unresolved)."""
        return [*self.by_name, *self.ambiguous_names]

    def is_name(self, name: str) -> bool:
        return name in self.by_name or name in self.ambiguous_names

    def known_names(self) -> KnownNames:
        """The automaton over `names()`, built once per registry and process (not pickled)."""
        found = self.derived.get("known")
        if found is None:
            from kb.statutes.find import KnownNames

            found = self.derived["known"] = KnownNames(self.names(), self.is_name, self.title_names)
        return found

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "derived": {}}  # rebuilt on first use: the automaton does not pickle


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass
class _Context:
    """What an entry is checked against: the list, by id and by number, and where messages point."""

    where: str
    lines: dict[str, int]
    listed: dict[str, Statute]
    listed_numbers: dict[LawNumber, list[str]]
    listed_titles: dict[str, list[str]]
    problems: list[Problem] = field(default_factory=list)


def _entry(raw: Any, i: int, ctx: _Context) -> Statute | None:
    """Validate one entry on its own; None when it is too broken to use."""
    line = ctx.lines.get(f"statutes.{i}", 1)
    problems = ctx.problems

    def problem(key: str, message: str, sub: int | None = None) -> None:
        at = ctx.lines.get(f"statutes.{i}.{key}" + ("" if sub is None else f".{sub}"), line)
        problems.append(Problem(ctx.where, at, f"statutes[{i}].{key}", message))

    if not isinstance(raw, dict):
        problems.append(Problem(ctx.where, line, f"statutes[{i}]", "「キー: 値」の形で書いてください"))
        return None
    before = len(problems)
    for key in raw:
        if key not in ENTRY_KEYS:
            problem(str(key), f"知らない項目です（使える項目: {', '.join(ENTRY_KEYS)}）")
    sid, title, kind = _text(raw.get("id")), _text(raw.get("title")), _text(raw.get("kind"))
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(_text(a) for a in aliases):
        problem("aliases", "略称は「- 名前」のリストで書いてください")
        aliases = []
    for key in ("short", "parent", "issuer", "note", "checked", "repealed"):
        if key in raw and raw[key] is not None and _text(raw[key]) is None:
            problem(key, "空でない文字列で書いてください")
    short, issuer, note = _text(raw.get("short")), _text(raw.get("issuer")), _text(raw.get("note"))
    names = tuple(a.strip() for a in aliases)
    if sid is not None and sid in ctx.listed:
        law = ctx.listed[sid]
        _check_listed(raw, law, problem)
        if len(problems) > before:
            return None
        return replace(law, parent=_text(raw.get("parent")) or law.parent, checked=_text(raw.get("checked")), short=short,
                       aliases=names, issuer=issuer, note=note, line=line)  # fmt: skip
    if title is None:
        problem("title", "必須の項目がありません（正式な題名）")
    if sid is None:
        problem("id", f"必須の項目がありません（法令ID、または{SLUG_HELP}）")
    elif not LAW_ID_RE.match(sid) and not (sid[:1].islower() and sid.replace("-", "").isalnum() and sid.isascii()):
        problem("id", f"「{sid}」は使えません。e-Gov の法令ID（例: 425AC0000000027）か、{SLUG_HELP}")
    repealed = _text(raw.get("repealed"))
    if sid and LAW_ID_RE.match(sid) and repealed is None:
        # A law ID that is not (or no longer) in the list: one problem, not one per field a hand entry needs.
        problem("id", f"法令ID「{sid}」は e-Gov の現行法令の一覧にありません。廃止された法令なら repealed: に廃止の日と経緯を書いてください（新しい法令なら kb statutes update で一覧を更新）")
        return None
    if kind is None:
        problem("kind", f"必須の項目がありません（使える値: {' / '.join(KINDS)}）")
    elif kind not in KINDS:
        problem("kind", f"「{raw.get('kind')}」は使えません。使える値: {' / '.join(KINDS)}")
    number = None
    if raw.get("number") is not None:
        number = parse_law_number(str(raw["number"]))
        if number is None:
            problem("number", f"法令番号として読めません: 「{raw['number']}」（例: 平成25年法律第27号）")
        elif kind in KINDS and number.kind != kind and not (kind == "規則" and number.kind == "府省令"):
            problem("number", f"法令番号「{number.label}」は{number.kind}の番号です（kind: {kind}）")
    bill = _text(raw.get("bill"))
    if bill is not None and kind in KINDS and (kind != "法律" or bill not in BILLS):
        problem("bill", f"bill は法律にだけ書き、値は {' / '.join(BILLS)} のどれかです（「{bill}」）")
    if sid and LAW_ID_RE.match(sid):
        # An ID the list does not hold: a law no longer in force, entered by hand and checked.
        number_ok = raw.get("number") is None or number is not None
        if kind in KINDS and number_ok:
            reason = id_problem(sid, number, kind, bill)
            if reason:
                problem("id", reason)
        if not _text(raw.get("checked")):
            problem("checked", "法令IDをどう確かめたか（checked）を書いてください")
    else:
        listed_ids = ctx.listed_numbers.get(number, []) if number else []
        if len(listed_ids) == 1:
            problem("number", f"法令番号「{number.label if number else ''}」の法令は e-Gov の一覧にあります（法令ID {listed_ids[0]}）。id に書いてください")
        elif title and len(ctx.listed_titles.get(fold_name(title), [])) == 1:
            problem("id", f"題名「{title}」の法令は e-Gov の一覧にあります（法令ID {ctx.listed_titles[fold_name(title)][0]}）。id に書いてください")
    if len(problems) > before or sid is None or title is None or kind not in KINDS:
        return None
    return Statute(id=sid, title=title, kind=kind, number=number, bill=bill, parent=_text(raw.get("parent")),
                   checked=_text(raw.get("checked")), repealed=repealed, short=short, aliases=names, issuer=issuer,
                   note=note, line=line)  # fmt: skip


def _check_listed(raw: dict[str, Any], law: Statute, problem: Callable[[str, str], None]) -> None:
    """An entry for a law of the list: what it states must agree with the list; it adds names and notes."""
    title = _text(raw.get("title"))
    if title is None:
        problem("title", f"必須の項目がありません（e-Gov の法令名「{law.title}」をそのまま書いてください）")
    elif not _same_title(title, law.title):
        problem("title", f"「{title}」は法令ID {law.id} の e-Gov の法令名「{law.title}」と違います（法令IDか題名の誤り）")
    kind = _text(raw.get("kind"))
    if kind is not None and kind != law.kind:
        problem("kind", f"法令ID {law.id} は{law.kind}です（kind: {kind}）")
    if raw.get("number") is not None:
        number = parse_law_number(str(raw["number"]))
        if number is None:
            problem("number", f"法令番号として読めません: 「{raw['number']}」（例: 平成25年法律第27号）")
        elif number != law.number:
            problem("number", f"法令番号「{number.label}」は e-Gov の一覧の「{law.number_text}」と違います")
    bill = _text(raw.get("bill"))
    if bill is not None and bill != law.bill:
        problem("bill", f"法令ID {law.id} の提出者は{law.bill}です（bill: {bill}）" if law.bill else f"法令ID {law.id} には提出者（bill）がありません（bill: {bill}）")
    if _text(raw.get("repealed")):
        problem("repealed", "e-Gov の現行法令の一覧にある法令です（repealed は廃止された法令にだけ書きます）")


def _cross_problems(entries: list[tuple[int, Statute]], ctx: _Context) -> list[Problem]:
    """Ids unique, parents exist, and no name (title, short, alias) names two laws."""
    problems: list[Problem] = []
    where, lines = ctx.where, ctx.lines
    ids: dict[str, int] = {}
    for i, s in entries:
        if s.id in ids:
            problems.append(Problem(where, s.line, f"statutes[{i}].id", f"id「{s.id}」は statutes[{ids[s.id]}] と重複しています"))
        ids.setdefault(s.id, i)
    names: dict[str, tuple[int, str]] = {}
    numbers: dict[LawNumber, int] = {}
    for i, s in entries:
        if s.parent and s.parent not in ids and s.parent not in ctx.listed:
            problems.append(Problem(where, lines.get(f"statutes.{i}.parent", s.line), f"statutes[{i}].parent", f"親の法令「{s.parent}」がレジストリにありません"))
        spelled = [("title", None, s.title), ("short", None, s.short), *(("aliases", k, a) for k, a in enumerate(s.aliases))]
        for key_name, index, name in spelled:
            if not name:
                continue
            key = fold_name(name)
            path = f"statutes.{i}.{key_name}" + ("" if index is None else f".{index}")
            label = f"statutes[{i}].{key_name}" + ("" if index is None else f"[{index}]")
            at = lines.get(path, s.line)
            if key in names and names[key][0] != i:
                j = names[key][0]
                problems.append(Problem(where, at, label, f"名前「{name}」は statutes[{j}]（{names[key][1]}）にも使われています"))
            elif key_name != "title" and any(other != s.id for other in ctx.listed_titles.get(key, [])):
                other = next(o for o in ctx.listed_titles[key] if o != s.id)
                problems.append(Problem(where, at, label, f"名前「{name}」は別の法令（法令ID {other}）の題名です"))
            names.setdefault(key, (i, s.title))
        if s.number is not None and not s.listed:
            if s.number in numbers:
                problems.append(Problem(where, lines.get(f"statutes.{i}.number", s.line), f"statutes[{i}].number", f"法令番号「{s.number.label}」は statutes[{numbers[s.number]}] と重複しています"))
            numbers.setdefault(s.number, i)
    return problems


def parse_registry(text: str, path: str | Path, laws: Sequence[ListedLaw] | ListedIndex = ()) -> Registry:
    """Registry from statutes.yaml's text over the listed laws; ProblemError listing every problem (with lines) if any."""
    where = display_path(path)
    doc = load(text, where)
    data, lines = doc.data, doc.lines
    if not isinstance(data, dict) or not isinstance(data.get("statutes"), list):
        raise ProblemError([Problem(where, 1, "statutes", "「statutes:」の下に法令のリストを書いてください")])
    index = laws if isinstance(laws, ListedIndex) else ListedIndex.of(laws)
    listed = dict(index.statutes)
    ctx = _Context(where, lines, index.statutes, index.numbers, index.titles)
    for key in data:
        if key not in ("statutes", "generic_words"):
            ctx.problems.append(Problem(where, lines.get(str(key), 1), str(key), "知らない項目です（使える項目: statutes, generic_words）"))
    generic = data.get("generic_words") or []
    if not isinstance(generic, list) or not all(_text(w) for w in generic):
        ctx.problems.append(Problem(where, lines.get("generic_words", 1), "generic_words", "「- 語」のリストで書いてください"))
        generic = []
    entries = []
    for i, raw in enumerate(data["statutes"]):
        entry = _entry(raw, i, ctx)
        if entry is not None:
            entries.append((i, entry))
    problems = ctx.problems + _cross_problems(entries, ctx)
    if problems:
        raise ProblemError(problems)
    for _, s in entries:
        listed[s.id] = s  # an entry for a listed law replaces the bare row; others are added
    return Registry.of(list(listed.values()), [w.strip() for w in generic], index.folded)


def load_registry(path: str | Path | None = None, law_list: str | Path | None = None) -> Registry:
    """statutes.yaml at `path` (default `registry_path()`) over the law list (default `law_list_path()`).

    Cached per file contents, in the process and between runs (`kb.core.cache`): reading 8,945
    titles and numbers through the text normalisation takes half a second.
    """
    p = Path(path) if path is not None else registry_path()
    lp = Path(law_list) if law_list is not None else law_list_path()
    if not p.exists():
        raise ProblemError([Problem(display_path(p), 0, "ファイル", "法令レジストリがありません")])
    return _cached(str(p.resolve()), str(lp.resolve()), cache_key([p, lp], "statutes"))


@lru_cache(maxsize=4)
def _listed_index(law_list: str, key: str) -> tuple[ListedIndex | None, tuple[Problem, ...]]:
    def build() -> tuple[ListedIndex | None, tuple[Problem, ...]]:
        try:
            return ListedIndex.of(read_law_list(law_list)), ()
        except ProblemError as exc:
            return None, tuple(exc.problems)

    return cached("lawlist", key, build, tuple)


def listed_index(law_list: str | Path | None = None) -> tuple[ListedIndex | None, tuple[Problem, ...]]:
    """The law list's index (or its problems), cached by the file's contents: every edit of statutes.yaml reuses it."""
    lp = Path(law_list) if law_list is not None else law_list_path()
    return _listed_index(str(lp.resolve()), cache_key([lp], "lawlist"))


@dataclass(frozen=True)
class _Loaded:
    """What loading gave, kept in the cache either way: the registry, or every problem of both files."""

    registry: Registry | None
    problems: tuple[Problem, ...] = ()


@lru_cache(maxsize=8)
def _cached(path: str, law_list: str, key: str) -> Registry:
    loaded = cached("statutes", key, lambda: _build(path, law_list), _Loaded)
    if loaded.registry is None:
        raise ProblemError(loaded.problems)
    return loaded.registry


def _build(path: str, law_list: str) -> _Loaded:
    """The registry, or the problems: the list's alone when the list is broken (statutes.yaml is checked
    against the list, so checking it against nothing would report every entry)."""
    index, list_problems = listed_index(law_list)
    if index is None:
        return _Loaded(None, list_problems)
    try:
        return _Loaded(parse_registry(Path(path).read_text(encoding="utf-8"), path, index))
    except ProblemError as exc:
        return _Loaded(None, tuple(exc.problems))


def registry_problems(path: str | Path | None = None, law_list: str | Path | None = None) -> list[Problem]:
    """Every problem of the registry files, for `kb check` (empty when they are valid).

    Kept in its own small cache entry: a check of one file need not load 9,000 laws to learn
    that the files it already checked are still fine.
    """
    p = Path(path) if path is not None else registry_path()
    lp = Path(law_list) if law_list is not None else law_list_path()
    if not p.exists():
        return [Problem(display_path(p), 0, "ファイル", "法令レジストリがありません")]

    def load() -> tuple[Problem, ...]:
        try:
            load_registry(p, lp)
        except ProblemError as exc:
            return tuple(exc.problems)
        return ()

    return list(cached("statute-problems", cache_key([p, lp], "statute-problems"), load, tuple))
