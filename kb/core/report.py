"""Problems printed for people, for GitHub's annotations, or as JSON lines for other tools."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from enum import StrEnum

from kb.core.problems import Problem


class Format(StrEnum):
    TEXT = "text"  # path:line: field: message (what editors read in a terminal)
    GITHUB = "github"  # ::error file=…,line=…,title=…::… (annotations on a pull request's files)
    JSON = "json"  # one object per line


def _escape_data(text: str) -> str:
    """GitHub workflow-command escaping of a message (`%`, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """… and of a property value, where `:` and `,` separate properties."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(problem: Problem) -> str:
    props = [f"file={_escape_property(problem.path)}"]
    if problem.line:
        props.append(f"line={problem.line}")
    props.append(f"title={_escape_property(problem.field)}")
    return f"::error {','.join(props)}::{_escape_data(problem.message)}"


def json_line(problem: Problem) -> str:
    data: dict[str, object] = {"path": problem.path, "line": problem.line, "field": problem.field, "message": problem.message}
    if problem.page:
        data["page"] = problem.page
    return json.dumps(data, ensure_ascii=False)


def format_problems(problems: Iterable[Problem], fmt: Format = Format.TEXT) -> Iterator[str]:
    """One line per problem in the chosen format."""
    for problem in problems:
        if fmt is Format.GITHUB:
            yield github_annotation(problem)
        elif fmt is Format.JSON:
            yield json_line(problem)
        else:
            yield str(problem)
