"""The statute registry (`data/statutes.yaml`): load it, validate it, look names and numbers up.

The registry is data an editor changes in a pull request: official title, law number,
kind, e-Gov 法令ID, aliases, and how the ID was checked. Every problem is reported as
`file:line: field: message`, like proposal files, so `kb check` can fail on a bad entry.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.core.problems import Problem, ProblemError, display_path
from kb.core.yamlio import load
from kb.statutes.clean import clean
from kb.statutes.egov import BILLS, EGOV_ID_RE, derive_law_id, id_problem
from kb.statutes.lawnumber import LawNumber, parse_law_number

STATUTE_KINDS = ("憲法", "法律", "政令", "勅令", "府省令", "規則", "告示")
OTHER_KINDS = ("ガイドライン", "通知", "要綱", "要領", "指針", "事務連絡")
KINDS = STATUTE_KINDS + OTHER_KINDS
ENTRY_KEYS = ("id", "title", "short", "kind", "number", "bill", "parent", "aliases", "issuer", "note", "checked")
SLUG_HELP = "法令IDが分からないときは英小文字・数字・ハイフンの名前（例: security-policy-guideline）"
DEFAULT_REGISTRY = Path(__file__).resolve().parents[2] / "data" / "statutes.yaml"


def registry_path() -> Path:
    """The registry file: $KB_STATUTES if set (tests, forks), else data/statutes.yaml of this checkout."""
    return Path(os.environ.get("KB_STATUTES") or DEFAULT_REGISTRY)


def fold_name(name: str) -> str:
    """Key under which names are compared: the same cleaning the text gets."""
    return clean(name).text


@dataclass(frozen=True)
class Statute:
    """One registry entry: a statute (法律, 政令, 府省令…) or another instrument (ガイドライン, 通知…)."""

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
    line: int = 0

    @property
    def egov_id(self) -> str | None:
        """The e-Gov 法令ID, when the registry id is one."""
        return self.id if EGOV_ID_RE.match(self.id) else None

    @property
    def display_name(self) -> str:
        return self.short or self.title

    @property
    def is_statute(self) -> bool:
        return self.kind in STATUTE_KINDS


@dataclass
class Registry:
    """Lookups over the entries: by folded name, by law number, by (parent, suffix)."""

    statutes: dict[str, Statute] = field(default_factory=dict)
    generic_words: frozenset[str] = frozenset()
    by_name: dict[str, str] = field(default_factory=dict)
    by_number: dict[LawNumber, str] = field(default_factory=dict)
    children: dict[tuple[str, str], str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # id → folded official title

    @classmethod
    def of(cls, statutes: list[Statute], generic_words: Iterable[str] = ()) -> Registry:
        reg = cls({s.id: s for s in statutes}, frozenset(fold_name(w) for w in generic_words))
        for s in statutes:
            reg.titles[s.id] = fold_name(s.title)
            for name in (s.title, s.short, *s.aliases):
                if name:
                    reg.by_name.setdefault(fold_name(name), s.id)
            if s.number:
                reg.by_number.setdefault(s.number, s.id)
        for s in statutes:
            parent = reg.statutes.get(s.parent or "")
            if parent and s.title.startswith(parent.title) and len(s.title) > len(parent.title):
                relation = fold_name(s.title[len(parent.title) :])
                reg.children[(parent.id, relation)] = s.id
                for name in (parent.title, parent.short, *parent.aliases):  # 番号法施行令, 番号利用法施行令…
                    if name:
                        reg.by_name.setdefault(fold_name(name) + relation, s.id)
        return reg

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
        """Every folded name the finder should know, for one matcher."""
        return list(self.by_name)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _entry(raw: Any, i: int, where: str, lines: dict[str, int], problems: list[Problem]) -> Statute | None:
    """Validate one entry on its own; None when it is too broken to use."""
    line = lines.get(f"statutes.{i}", 1)

    def problem(key: str, message: str, sub: int | None = None) -> None:
        at = lines.get(f"statutes.{i}.{key}" + ("" if sub is None else f".{sub}"), line)
        problems.append(Problem(where, at, f"statutes[{i}].{key}", message))

    if not isinstance(raw, dict):
        problems.append(Problem(where, line, f"statutes[{i}]", "「キー: 値」の形で書いてください"))
        return None
    before = len(problems)
    for key in raw:
        if key not in ENTRY_KEYS:
            problem(str(key), f"知らない項目です（使える項目: {', '.join(ENTRY_KEYS)}）")
    sid, title, kind = _text(raw.get("id")), _text(raw.get("title")), _text(raw.get("kind"))
    if sid is None:
        problem("id", f"必須の項目がありません（法令ID、または{SLUG_HELP}）")
    elif not EGOV_ID_RE.match(sid) and not (sid[:1].islower() and sid.replace("-", "").isalnum() and sid.isascii()):
        problem("id", f"「{sid}」は使えません。e-Gov の法令ID（例: 425AC0000000027）か、{SLUG_HELP}")
    if title is None:
        problem("title", "必須の項目がありません（正式な題名）")
    if kind not in KINDS:
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
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(_text(a) for a in aliases):
        problem("aliases", "略称は「- 名前」のリストで書いてください")
        aliases = []
    for key in ("short", "parent", "issuer", "note", "checked"):
        if key in raw and raw[key] is not None and _text(raw[key]) is None:
            problem(key, "空でない文字列で書いてください")
    number_ok = raw.get("number") is None or number is not None
    if sid and EGOV_ID_RE.match(sid) and kind in KINDS and number_ok:
        reason = id_problem(sid, number, kind, bill)
        if reason:
            problem("id", reason)
        if not _text(raw.get("checked")):
            problem("checked", "法令IDをどう確かめたか（checked）を書いてください")
    elif sid and number is not None and kind in KINDS:
        derived = derive_law_id(number, bill)
        if derived:
            problem("id", f"法令番号「{number.label}」から法令ID {derived} が導けます。id に書いてください")
    if len(problems) > before or sid is None or title is None or kind not in KINDS:
        return None
    return Statute(
        id=sid, title=title, kind=kind, short=_text(raw.get("short")), number=number, bill=bill,
        parent=_text(raw.get("parent")), aliases=tuple(a.strip() for a in aliases), issuer=_text(raw.get("issuer")),
        note=_text(raw.get("note")), checked=_text(raw.get("checked")), line=line,
    )  # fmt: skip


def _cross_problems(entries: list[tuple[int, Statute]], where: str, lines: dict[str, int]) -> list[Problem]:
    """Ids unique, parents exist, and no name (title, short, alias) names two entries."""
    problems: list[Problem] = []
    ids: dict[str, int] = {}
    for i, s in entries:
        if s.id in ids:
            problems.append(Problem(where, s.line, f"statutes[{i}].id", f"id「{s.id}」は statutes[{ids[s.id]}] と重複しています"))
        ids.setdefault(s.id, i)
    names: dict[str, tuple[int, str]] = {}
    numbers: dict[LawNumber, int] = {}
    for i, s in entries:
        if s.parent and s.parent not in ids:
            problems.append(
                Problem(where, lines.get(f"statutes.{i}.parent", s.line), f"statutes[{i}].parent", f"親の法令「{s.parent}」がレジストリにありません")
            )
        spelled = [("title", None, s.title), ("short", None, s.short), *(("aliases", k, a) for k, a in enumerate(s.aliases))]
        for key_name, index, name in spelled:
            if not name:
                continue
            key = fold_name(name)
            if key in names and names[key][0] != i:
                j = names[key][0]
                path = f"statutes.{i}.{key_name}" + ("" if index is None else f".{index}")
                field = f"statutes[{i}].{key_name}" + ("" if index is None else f"[{index}]")
                problems.append(
                    Problem(where, lines.get(path, s.line), field, f"名前「{name}」は statutes[{j}]（{names[key][1]}）にも使われています")
                )
            names.setdefault(key, (i, s.title))
        if s.number is not None:
            if s.number in numbers:
                problems.append(
                    Problem(where, lines.get(f"statutes.{i}.number", s.line), f"statutes[{i}].number", f"法令番号「{s.number.label}」は statutes[{numbers[s.number]}] と重複しています")
                )
            numbers.setdefault(s.number, i)
    return problems


def parse_registry(text: str, path: str | Path) -> Registry:
    """Registry from YAML text; ProblemError listing every problem (with lines) if any."""
    where = display_path(path)
    doc = load(text, where)
    data, lines = doc.data, doc.lines
    if not isinstance(data, dict) or not isinstance(data.get("statutes"), list):
        raise ProblemError([Problem(where, 1, "statutes", "「statutes:」の下に法令のリストを書いてください")])
    problems: list[Problem] = []
    for key in data:
        if key not in ("statutes", "generic_words"):
            problems.append(Problem(where, lines.get(str(key), 1), str(key), "知らない項目です（使える項目: statutes, generic_words）"))
    generic = data.get("generic_words") or []
    if not isinstance(generic, list) or not all(_text(w) for w in generic):
        problems.append(Problem(where, lines.get("generic_words", 1), "generic_words", "「- 語」のリストで書いてください"))
        generic = []
    entries = []
    for i, raw in enumerate(data["statutes"]):
        s = _entry(raw, i, where, lines, problems)
        if s is not None:
            entries.append((i, s))
    problems += _cross_problems(entries, where, lines)
    if problems:
        raise ProblemError(problems)
    return Registry.of([s for _, s in entries], [w.strip() for w in generic])


def load_registry(path: str | Path | None = None) -> Registry:
    """The registry at `path` (default: `registry_path()`); cached per file version."""
    p = Path(path) if path is not None else registry_path()
    if not p.exists():
        raise ProblemError([Problem(display_path(p), 0, "ファイル", "法令レジストリがありません")])
    stat = p.stat()
    return _cached(str(p.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _cached(path: str, mtime: int, size: int) -> Registry:
    return parse_registry(Path(path).read_text(encoding="utf-8"), path)


def registry_problems(path: str | Path | None = None) -> list[Problem]:
    """Every problem of the registry file, for `kb check` (empty when it is valid)."""
    try:
        load_registry(path)
    except ProblemError as exc:
        return exc.problems
    return []
