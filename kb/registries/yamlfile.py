"""Read a hand-edited YAML data file, keeping the line of every list item for error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# libyaml when present: the registries are read on every `kb check` / `kb build` (0.5 s with pure Python).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DataFileError(ValueError):
    """The file is not valid YAML; carries the 1-based line."""

    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(message)


def item_lines(node: yaml.Node) -> dict[str, list[int]]:
    """Top-level key → 1-based line of each item of the list under it."""
    out: dict[str, list[int]] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(value, yaml.SequenceNode):
                out[key.value] = [item.start_mark.line + 1 for item in value.value]
    return out


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """Data and item lines; raises DataFileError with the line of a YAML syntax error."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataFileError(mark.line + 1 if mark else 1, f"YAML の書き方が正しくありません: {exc}") from None
    if not isinstance(data, dict):
        raise DataFileError(1, "「キー: 値」の形の YAML にしてください")
    return data, item_lines(node) if node is not None else {}
