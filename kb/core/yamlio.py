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
    """Dotted path → line of every key (its own line, not its value's) and list item; "" is the root."""
    out: dict[str, int] = {}

    def walk(n: yaml.Node, path: str) -> None:
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                child = f"{path}{key.value}"
                walk(value, child + ".")
                out[child] = key.start_mark.line + first_line
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                out[f"{path}{i}"] = item.start_mark.line + first_line
                walk(item, f"{path}{i}.")

    if node is not None:
        out[""] = node.start_mark.line + first_line
        walk(node, "")
    return out


def load(text: str, where: str, *, field: str = "YAML", first_line: int = 1) -> YamlDocument:
    """Parse once; `first_line` is the file line the text starts on. Raises ProblemError on bad YAML."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + first_line if mark else first_line
        reason = getattr(exc, "problem", None) or str(exc)
        raise ProblemError([Problem(where, line, field, f"YAML の書き方が正しくありません: {yaml_problem(reason)}")]) from None
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
