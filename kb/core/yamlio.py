"""The one YAML reader for hand-edited files: front matter, the registries, the statute registry.

Three things every caller needs and PyYAML does not give together:
- dates stay text (`2024-12-24` is a string), so a bad date is reported by the checks with its
  line instead of crashing the loader, and a date means the same in every file;
- the line of every key and list item (`lines["decision.date"]`, `lines["statutes.3.id"]`), so
  a problem found long after loading still points at its line;
- one parse (libyaml when present: reading YAML is on the build's hot path), and a syntax error
  turned into a `ProblemError` naming file and line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kb.core.problems import Problem, ProblemError, display_path

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_Base):
    """SafeLoader (libyaml when present) that leaves dates as text."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# libyaml's words for the mistakes editors make, in Japanese (the original follows for anything else).
YAML_PROBLEMS: dict[str, str] = {
    "mapping values are not allowed in this context": "1行に「:」が2つあるか、字下げがずれています。値に「: 」を含めるなら全体を \"…\" で囲んでください",
    "mapping values are not allowed here": "1行に「:」が2つあるか、字下げがずれています。値に「: 」を含めるなら全体を \"…\" で囲んでください",
    "did not find expected key": "字下げがそろっていないか、「キー: 値」の形になっていない行があります",
    "did not find expected ',' or ']'": "[ で始めたリストが ] で閉じられていません",
    "did not find expected ',' or '}'": "{ で始めた値が } で閉じられていません",
    "found unexpected end of stream": "引用符（\" または '）が閉じられていません",
    "found character that cannot start any token": "行頭のタブ、または値の先頭の @ ` などの記号は使えません（字下げは半角空白で、記号で始まる値は \"…\" で囲みます）",
    "found undefined alias": "* で始まる値は使えません（YAML の別名）。文字どおり書くなら \"…\" で囲んでください",
    "could not find expected ':'": "「キー: 値」の「:」がない行があります",
    "did not find expected '-' indicator": "リストの字下げがそろっていません（「- 」の位置を合わせてください）",
    "found a tab character that violates indentation": "字下げにタブが使われています。半角空白にしてください",
    "found duplicate anchor": "& で始まる値は使えません（YAML の錨）",
}


def yaml_problem(reason: str) -> str:
    """An editor's explanation of a YAML syntax error, in Japanese."""
    explained = YAML_PROBLEMS.get(reason)
    return explained if explained else f"書き方を確かめてください（YAML の原文: {reason}）"


@dataclass(frozen=True)
class YamlDocument:
    """Data as loaded, and the 1-based line of every key and list item by dotted path."""

    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, path: str, default: int = 1) -> int:
        return self.lines.get(path, default)

    def item_lines(self, key: str) -> list[int]:
        """Lines of the items of the list under top-level `key`, in order."""
        out: list[int] = []
        while f"{key}.{len(out)}" in self.lines:
            out.append(self.lines[f"{key}.{len(out)}"])
        return out


def node_lines(node: yaml.Node | None, first_line: int = 1) -> dict[str, int]:
    """Dotted path → line of every key (its own line, not its value's) and list item; "" is the root.

    Iterative, so that nesting as deep as libyaml allows (1,000) cannot exhaust Python's stack;
    `load` has already refused aliases, so the nodes form a tree, not a graph.
    """
    out: dict[str, int] = {}
    if node is None:
        return out
    out[""] = node.start_mark.line + first_line
    stack: list[tuple[yaml.Node, str]] = [(node, "")]
    while stack:
        n, path = stack.pop()
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                child = f"{path}{key.value}"
                out[child] = key.start_mark.line + first_line
                stack.append((value, child + "."))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                out[f"{path}{i}"] = item.start_mark.line + first_line
                stack.append((item, f"{path}{i}."))
    return out


# What hand-edited files may not use: anchors, aliases, explicit tags and merge keys. Aliases
# let a few hundred bytes expand into gigabytes (or a cycle); tags and merge keys only make the
# text mean something other than what it shows. Checked from libyaml's events, before any node
# is built, and only when one of their marks appears in the text at all.
_SPECIAL_MARKS = re.compile(r"[&*!]|<<")
_DEEP_HINT = re.compile(r"^[ \t-]{8,}", re.M)  # block nesting needs indentation, or "- - - -" on one line
MAX_DEPTH = 10  # front matter needs 3 (sources → item → field); the registries 4
MAX_REPORTED = 10  # problems of this kind per file: a fuzzed file must not print a million lines


def _structure_problems(text: str, where: str, field: str, first_line: int) -> list[Problem]:
    """Anchors, aliases, tags, merge keys and nesting deeper than MAX_DEPTH, each with its line."""
    if not _SPECIAL_MARKS.search(text) and not _DEEP_HINT.search(text) and text.count("[") + text.count("{") < MAX_DEPTH:
        return []  # the usual case: none of them can be present
    problems: list[Problem] = []
    depth = 0
    loader = Loader(text)
    try:
        while len(problems) < MAX_REPORTED and loader.check_event():
            event = loader.get_event()
            line = event.start_mark.line + first_line
            if isinstance(event, yaml.AliasEvent):
                problems.append(Problem(where, line, field, f"「*{event.anchor}」（YAML の別名）は使えません。値をそのまま書いてください（* で始まる文字は \"…\" で囲みます）"))
                continue
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                problems.append(Problem(where, line, field, f"「&{anchor}」（YAML の錨）は使えません（& で始まる文字は \"…\" で囲みます）"))
            tag = getattr(event, "tag", None)
            if tag is not None and isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                shown = "!!" + tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else tag
                problems.append(Problem(where, line, field, f"「{shown}」（YAML のタグ）は使えません（! で始まる文字は \"…\" で囲みます）"))
            if isinstance(event, yaml.ScalarEvent) and event.value == "<<" and event.implicit[0]:
                problems.append(Problem(where, line, field, "「<<」（YAML の合併キー）は使えません。項目はそれぞれ書いてください"))
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    problems.append(Problem(where, line, field, f"入れ子が深すぎます（{MAX_DEPTH} 段まで）"))
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass  # a syntax error: `load` reports it with its own message
    finally:
        loader.dispose()
    return problems


_COMMENT_START = re.compile(r"(?:^|(?<=[ \t]))#", re.M)


@dataclass(frozen=True)
class Comment:
    line: int
    after_value: bool  # `key: value  # …`: the editor may have meant the `#…` as part of the value


def comments(text: str, first_line: int = 1) -> list[Comment]:
    """Every YAML comment (`# …` outside any value), one per line. Empty for text that is not valid YAML.

    Comments are not data: a file rewritten from its data (`kb fmt`, `kb import`) loses them.
    """
    if "#" not in text:
        return []
    lines = text.split("\n")
    marks = [(n, m.start()) for n, line in enumerate(lines) for m in _COMMENT_START.finditer(line)]
    if not marks:
        return []
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    loader = Loader(text)
    try:
        while loader.check_token():
            token = loader.get_token()
            if isinstance(token, yaml.ScalarToken):
                spans.append(((token.start_mark.line, token.start_mark.column), (token.end_mark.line, token.end_mark.column)))
    except yaml.YAMLError:
        return []  # the syntax error is reported by `load`
    finally:
        loader.dispose()
    out: list[Comment] = []
    k = 0
    for mark in marks:  # both in text order: one pass
        while k < len(spans) and spans[k][1] <= mark:
            k += 1
        inside = k < len(spans) and spans[k][0] <= mark < spans[k][1]
        line = mark[0] + first_line
        if not inside and (not out or out[-1].line != line):
            out.append(Comment(line, bool(lines[mark[0]][: mark[1]].strip())))
    return out


def load(text: str, where: str, *, field: str = "YAML", first_line: int = 1) -> YamlDocument:
    """Parse once; `first_line` is the file line the text starts on. Raises ProblemError on bad YAML.

    Anchors, aliases, tags, merge keys and deep nesting are refused (`_structure_problems`).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: only from a str made with errors="surrogateescape"
        line = text.count("\n", 0, exc.start) + first_line
        raise ProblemError([Problem(where, line, field, "文字として読めない部分があります。UTF-8 で保存してください")]) from None
    refused = _structure_problems(text, where, field, first_line)
    if refused:
        raise ProblemError(refused)
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + first_line if mark else first_line
        reason = getattr(exc, "problem", None) or str(exc)
        raise ProblemError([Problem(where, line, field, f"YAML の書き方が正しくありません: {yaml_problem(reason)}")]) from None
    except RecursionError:  # nesting libyaml accepts (up to 1,000) but the gate above did not see
        raise ProblemError([Problem(where, first_line, field, f"入れ子が深すぎます（{MAX_DEPTH} 段まで）")]) from None
    except ValueError as exc:  # an integer of more than 4,300 digits (Python's limit on int())
        message = f"値が長すぎる数字です。文字として書くなら \"…\" で囲んでください（{str(exc)[:60]}）"
        raise ProblemError([Problem(where, first_line, field, message)]) from None
    finally:
        loader.dispose()
    return YamlDocument(data, node_lines(node, first_line))


def read(path: Path) -> YamlDocument:
    """A data file of `key: value` pairs at the top; ProblemError (with file and line) otherwise."""
    where = display_path(path)
    doc = load(path.read_text(encoding="utf-8"), where)
    if not isinstance(doc.data, dict):
        raise ProblemError([Problem(where, 1, "YAML", "「キー: 値」の形の YAML にしてください")])
    return doc


def parse_date(value: Any) -> dt.date | None:
    """`YYYY-MM-DD` text as a date; None for anything else (the caller reports it)."""
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None
