"""Proposal file (Markdown + YAML front matter) → `Proposal`, with every problem located.

The parser keeps section text exactly as written (Markdown included): it only
finds where each `##` section starts and ends, using markdown-it-py's tokens,
which carry source lines, so that a heading inside a code block or a list is
never mistaken for a section.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from annotated_types import Ge, Le
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from kb.core.models import Proposal, ProposalFile
from kb.core.problems import Problem, ProblemError, display_path
from kb.core.suggest import maybe, nearest
from kb.core.vocab import (
    ASSOCIATION_ALIASES,
    SECTION_ORDER,
    Association,
    SectionKey,
    field_label,
    fold_label,
    is_empty_mark,
    section_for_heading,
)
from kb.core.yamlio import comments
from kb.core.yamlio import load as load_yaml
from kb.files.disk import read_text

FRONT_MATTER_KEYS = [k for k in Proposal.model_fields if k not in ("sections", "opinions")]

# Only block structure matters here (headings and their lines); inline parsing is skipped for speed.
_md = MarkdownIt("commonmark").use(front_matter_plugin).disable("inline")


def _bounds(err: ErrorDetails) -> str:
    """`2014〜2100 の範囲` for a field with both bounds, `1 以上` for one."""
    field = Proposal.model_fields.get(str(err["loc"][0])) if err["loc"] else None
    lo = next((m.ge for m in field.metadata if isinstance(m, Ge)), None) if field else None
    hi = next((m.le for m in field.metadata if isinstance(m, Le)), None) if field else None
    if lo is not None and hi is not None:
        return f"{lo}〜{hi} の範囲"
    if lo is not None:
        return f"{lo} 以上"
    return f"{hi} 以下" if hi is not None else "正しい範囲"


def _pydantic_message(err: ErrorDetails) -> str:
    kind = err["type"]
    if err.get("input", "") is None:
        return "値が書かれていません"
    if kind == "enum":
        return f"「{err.get('input')}」は使えません。使える値: {err['ctx']['expected']}"
    if kind == "missing":
        return "必須の項目がありません"
    if kind == "value_error":
        return str(err["ctx"]["error"])
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"整数で書いてください（「{err.get('input')}」）"
    if kind in ("string_type",):
        return f"文字列で書いてください（「{err.get('input')}」）"
    if kind in ("list_type",):
        return "リスト（「- 」で始まる行）で書いてください"
    if kind in ("too_short", "string_too_short"):
        return "空です。少なくとも1つ書いてください"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"範囲外の値です（「{err.get('input')}」）。{_bounds(err)}で書いてください"
    if kind.startswith("date"):
        return f"日付は YYYY-MM-DD で書いてください（「{err.get('input')}」）"
    if kind in ("model_type", "dict_type"):
        return "「キー: 値」の形で書いてください"
    return err["msg"]


def _validation_problems(exc: ValidationError, where: str, lines: dict[str, int]) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        path = ".".join(loc)
        line = 1
        for n in range(len(loc), 0, -1):
            if ".".join(loc[:n]) in lines:
                line = lines[".".join(loc[:n])]
                break
        if err["type"] == "extra_forbidden":
            known = FRONT_MATTER_KEYS if len(loc) == 1 else []
            message = f"知らない項目です{maybe(nearest(loc[-1], known, n=2, cutoff=0.4))}"
        else:
            message = _pydantic_message(err)
        if loc and loc[0] in ("sections", "opinions"):
            continue  # built by the parser itself; reported there
        problems.append(Problem(where, line, field_label(path) if path else "front matter", message))
    return problems


def _front_matter(tokens: list[Token], where: str) -> tuple[dict[str, Any] | None, dict[str, int], list[Problem]]:
    if not tokens or tokens[0].type != "front_matter":
        return None, {}, [Problem(where, 1, "front matter", "ファイルの先頭に「---」で囲んだ front matter (YAML) がありません")]
    token = tokens[0]
    assert token.map is not None  # block tokens always carry their lines
    first_line = token.map[0] + 2  # content starts on the line after the opening ---
    try:
        doc = load_yaml(token.content, where, field="front matter", first_line=first_line)
    except ProblemError as exc:
        return None, {}, exc.problems
    if not isinstance(doc.data, dict):
        return None, {}, [Problem(where, first_line - 1, "front matter", "front matter は「キー: 値」の形で書いてください")]
    return doc.data, doc.lines, [Problem(where, c.line, "front matter", TRAILING_COMMENT) for c in comments(token.content, first_line) if c.after_value]


# A `#` after a value starts a YAML comment: `number: 第1号 #2` reads as 第1号, and `kb fmt` drops
# the rest. Whole-line comments are instructions (the `kb new` template) and may go.
TRAILING_COMMENT = (
    "値の後の「 #」から行末までは YAML のコメントとして読まれ、値に入りません（kb fmt で消えます）。"
    "値に含めるなら全体を \"…\" で囲み、メモなら消してください"
)


def _headings(tokens: list) -> list[tuple[int, int, str]]:
    """(level, 0-based line, text) of every top-level ATX heading."""
    out = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.level == 0 and tok.markup.startswith("#"):
            out.append((int(tok.tag[1]), tok.map[0], tokens[i + 1].content.strip()))
    return out


def _block(lines: list[str], start: int, end: int) -> str:
    """Lines [start, end) joined, blank lines trimmed at both ends; inner text untouched."""
    chunk = lines[start:end]
    while chunk and not chunk[0].strip():
        chunk.pop(0)
    while chunk and not chunk[-1].strip():
        chunk.pop()
    return "\n".join(chunk)


def _body(tokens: list, lines: list[str], body_start: int, where: str):
    problems: list[Problem] = []
    sections: dict[SectionKey, str | None] = {}
    opinions: dict[Association, str | None] = {}
    headings = _headings(tokens)
    canonical = [k.value for k in SECTION_ORDER]

    first = headings[0][1] if headings else len(lines)
    stray = _block(lines, body_start, first)
    if stray:
        line = next(i for i in range(body_start, first) if lines[i].strip()) + 1
        problems.append(Problem(where, line, "本文", "最初の「## 見出し」より前に本文があります"))

    current: SectionKey | None = None
    section_lines: dict[str, int] = {}
    order_seen: list[tuple[SectionKey, int]] = []
    for n, (level, line0, text) in enumerate(headings):
        end = headings[n + 1][1] if n + 1 < len(headings) else len(lines)
        content = _block(lines, line0 + 1, end)
        line = line0 + 1
        if level == 1:
            problems.append(Problem(where, line, "見出し", f"「# {text}」は使えません。節は「## 見出し」で書きます"))
            current = None
            continue
        if level == 2:
            key = section_for_heading(text)
            if key is None:
                current = None
                guesses = nearest(text, canonical, n=2, cutoff=0.4)
                problems.append(Problem(where, line, "見出し", f"知らない見出しです: 「{text}」{maybe(guesses)}"))
                if guesses:  # most likely that section, misspelled: `kb check` does not also call it missing
                    section_lines.setdefault(f"misspelled.{SectionKey(guesses[0]).column}", line)
                continue
            current = key
            if key in sections:
                problems.append(Problem(where, line, key.value, "同じ節が2回あります"))
                continue
            order_seen.append((key, line))
            section_lines[f"sections.{key.column}"] = line
            sections[key] = _section_text(content, key, line, where, problems, has_children=_has_h3(headings, n))
            continue
        # level >= 3: only association views inside the opinions section
        if current is not SectionKey.OPINIONS:
            problems.append(
                Problem(where, line, "見出し", f"「{'#' * level} {text}」は使えません。小見出しは意見欄の団体名だけです")
            )
            continue
        assoc = ASSOCIATION_ALIASES.get(fold_label(text))
        if level != 3 or assoc is None:
            names = "、".join(a.value for a in Association)
            problems.append(Problem(where, line, "見出し", f"意見欄の小見出しは「### 団体名」（{names}）です: 「{text}」"))
            continue
        if assoc in opinions:
            problems.append(Problem(where, line, assoc.value, "同じ団体の意見が2回あります"))
            continue
        opinions[assoc] = _section_text(content, SectionKey.OPINIONS, line, where, problems, label=assoc.value)
    problems += _order_problems(order_seen, where)
    return sections, opinions, section_lines, problems


def _order_problems(seen: list[tuple[SectionKey, int]], where: str) -> list[Problem]:
    """Report only the sections that moved: those outside the longest run already in order."""
    n = len(seen)
    best = [1] * n
    prev = [-1] * n
    for i in range(n):
        for j in range(i):
            if seen[j][0].order < seen[i][0].order and best[j] + 1 > best[i]:
                best[i], prev[i] = best[j] + 1, j
    keep: set[int] = set()
    i = max(range(n), key=lambda k: best[k]) if n else -1
    while i >= 0:
        keep.add(i)
        i = prev[i]
    in_order = [seen[k][0] for k in sorted(keep)]
    problems = []
    for k, (key, line) in enumerate(seen):
        if k in keep:
            continue
        before = [s for s in in_order if s.order < key.order]
        where_to = f"「{before[-1].value}」の後に置いてください" if before else "先頭に置いてください"
        problems.append(Problem(where, line, key.value, f"節の順序が違います: {where_to}"))
    return problems


def _has_h3(headings: list[tuple[int, int, str]], n: int) -> bool:
    return n + 1 < len(headings) and headings[n + 1][0] >= 3


def _section_text(
    content: str, key: SectionKey, line: int, where: str, problems: list[Problem], *, has_children: bool = False, label: str = ""
) -> str | None:
    if not content:
        if has_children:
            return ""
        problems.append(
            Problem(where, line, label or key.value, "本文が空です。公表された内容がないときは「—」と書きます")
        )
        return ""
    if is_empty_mark(content):
        return None
    return content


_PATH_RE = re.compile(r"^(\d{4})$")


def _path_problems(path: Path, data: dict[str, Any], lines: dict[str, int], where: str) -> list[Problem]:
    """A file under a year folder must be `<year>/<管理番号 4 digits>.md` and say so inside."""
    if not _PATH_RE.match(path.parent.name):
        return []
    problems = []
    year, number = data.get("year"), data.get("number")
    if isinstance(year, int) and str(year) != path.parent.name:
        problems.append(
            Problem(where, lines.get("year", 1), field_label("year"), f"フォルダ「{path.parent.name}」と年「{year}」が一致しません")
        )
    if isinstance(number, int) and path.name != f"{number:04d}.md":
        problems.append(
            Problem(
                where,
                lines.get("number", 1),
                field_label("number"),
                f"ファイル名「{path.name}」と管理番号「{number}」が一致しません（「{number:04d}.md」にしてください）",
            )
        )
    return problems


# Front-matter fields without which there is no proposal to check further.
REQUIRED_FIELDS = frozenset({"year", "era", "number", "title", "category", "proponents", "ministries"})


def _validate(data: dict[str, Any], where: str, key_lines: dict[str, int]) -> tuple[Proposal | None, bool, list[Problem]]:
    """(proposal, complete, problems): when only optional fields are wrong, a proposal without them.

    The partial proposal lets the checks after parsing (registries, era ↔ year, …) report their
    problems in the same run; it is never written or built (`complete` is False).
    """
    try:
        return Proposal.model_validate(data), True, []
    except ValidationError as exc:
        problems = _validation_problems(exc, where, key_lines)
        bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
    if bad & REQUIRED_FIELDS or bad & {"sections", "opinions"}:
        return None, False, problems
    try:
        return Proposal.model_validate({k: v for k, v in data.items() if k not in bad}), False, problems
    except ValidationError:
        return None, False, problems


def parse_lenient(text: str, path: str | Path | None = None) -> tuple[ProposalFile | None, list[Problem]]:
    """Parse what can be parsed: the file (complete or not) when there is a proposal to check, and every problem."""
    where = display_path(path) if path is not None else "<text>"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: only from a str made with errors="surrogateescape"
        line = text.count("\n", 0, exc.start) + 1
        return None, [Problem(where, line, "ファイル", "文字として読めない部分があります。UTF-8 で保存してください")]
    tokens = _md.parse(text)
    lines = text.split("\n")
    data, key_lines, problems = _front_matter(tokens, where)
    body_start = tokens[0].map[1] if tokens and tokens[0].type == "front_matter" and tokens[0].map else 0
    sections, opinions, section_lines, body_problems = _body(tokens, lines, body_start, where)
    problems += body_problems
    if data is None:
        return None, problems
    for reserved in ("sections", "opinions"):
        if reserved in data:
            problems.append(Problem(where, key_lines.get(reserved, 1), reserved, "知らない項目です（本文の節は「## 見出し」で書きます）"))
            del data[reserved]
    if path is not None:
        problems += _path_problems(Path(path), data, key_lines, where)
    proposal, complete, invalid = _validate({**data, "sections": sections, "opinions": opinions}, where, key_lines)
    problems += invalid
    if proposal is None:
        return None, problems
    located = ProposalFile(
        Path(path) if path is not None else Path(where), proposal, {**key_lines, **section_lines}, complete and not problems
    )
    return located, problems


def _strict(located: ProposalFile | None, problems: list[Problem]) -> ProposalFile:
    if problems or located is None:
        raise ProblemError(problems)
    return located


def parse_document(text: str, path: str | Path | None = None) -> ProposalFile:
    """Parse one proposal file's text, keeping the line of every front-matter field for later checks.

    Raises ProblemError listing every problem.
    """
    return _strict(*parse_lenient(text, path))


def parse_text(text: str, path: str | Path | None = None) -> Proposal:
    """Parse one proposal file's text; raise ProblemError listing every problem."""
    return parse_document(text, path).proposal


def read_document(path: str | Path) -> ProposalFile:
    """Read and parse one file (UTF-8), with its front-matter lines; ProblemError on any problem."""
    return _strict(*read_lenient(path))


def read_lenient(path: str | Path) -> tuple[ProposalFile | None, list[Problem]]:
    """`parse_lenient` of a file (UTF-8)."""
    path = Path(path)
    try:
        text = read_text(path)
    except ProblemError as exc:  # missing, unreadable, not a regular file, too large, not UTF-8
        return None, exc.problems
    return parse_lenient(text, path)


def parse_file(path: str | Path) -> Proposal:
    """Read and parse one file (UTF-8)."""
    return read_document(path).proposal
