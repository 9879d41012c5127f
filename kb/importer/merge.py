"""`kb import`: sheets (text or PDF) → proposal files, merged into what is already there.

Merging is per item (each front-matter value, each section, each association's view):
- the sheet has it and the file does not → added (a later stage adds its sections);
- both have it and it is the same → nothing to do (re-importing a sheet changes nothing);
- both have it and they differ → a conflict: both versions are shown and nothing is
  written, unless `--force` (then the sheet's version is taken). When the file already
  lists this very sheet among its sources, the difference is an editor's change made
  after the import, so the file's version is kept without asking; only if the file's text
  is the start of the sheet's (an earlier import of a cut-off sheet) is the rest added.
Everything is checked before anything is written: one problem or conflict → no file changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import accumulate
from pathlib import Path
from typing import Any

from kb.core.models import Proposal, Source, is_database_source, relative_path
from kb.core.problems import Problem, ProblemError, display_path
from kb.core.vocab import EMPTY_MARK, SECTION_ORDER, STAGE_ORDER, Association, SectionKey, field_label
from kb.files.parse import parse_file, parse_text
from kb.files.render import render
from kb.files.store import write_atomic
from kb.importer.fill import fill, folded
from kb.importer.pdf import PdfError, extract_text
from kb.importer.sheets import Sheet, read_sheets
from kb.importer.xlsx import WORKBOOK_SUFFIXES, XlsxRow, read_workbook

_MISSING = object()


@dataclass
class Conflict:
    """An item that differs between a file and a sheet, with both versions."""

    path: Path
    item: str
    in_file: str
    in_sheet: str
    sheet: str

    def __str__(self) -> str:
        def block(text: str) -> str:
            return "\n".join(f"    {line}" for line in text.split("\n"))

        return (
            f"{display_path(self.path)}: {self.item}: ファイルと個票で内容が違います\n"
            f"  ファイル:\n{block(self.in_file)}\n"
            f"  個票（{self.sheet}）:\n{block(self.in_sheet)}"
        )


@dataclass
class FileChange:
    """What importing does to one proposal file."""

    path: Path
    proposal: Proposal
    created: bool
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    text: str = ""
    old_text: str | None = None

    @property
    def changed(self) -> bool:
        return self.text != self.old_text


@dataclass
class ImportReport:
    files: list[FileChange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: bool = False
    # xlsx rows refused one by one (a bad cell): each row is its own file, so the others are still
    # written, but the import is not complete (the command exits non-zero)
    skipped: list[Problem] = field(default_factory=list)
    # `kb check`'s problems in the files written (filled by kb.pipeline): shown, but the import stands
    check_problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.conflicts


def _show(value: Any) -> str:
    if value is _MISSING:
        return "（なし）"
    if value is None:
        return EMPTY_MARK
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "（なし）"
    if isinstance(value, dict):
        return "\n".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _items(p: Proposal) -> dict[str, Any]:
    """Every mergeable item of a proposal, keyed by the label shown to editors."""
    data = p.model_dump(mode="json", exclude={"sections", "opinions", "sources", "decision"})
    items: dict[str, Any] = {}
    for key, value in data.items():
        if value not in (None, []) or key in ("proponents", "ministries"):
            items[field_label(key)] = value
    if p.decision:
        for key, value in p.decision.model_dump(mode="json").items():
            if value is not None:
                items[field_label(f"decision.{key}")] = value
    for key in SECTION_ORDER:
        if key in p.sections:
            items[key.value] = p.sections[key]
    for assoc in Association:
        if assoc in p.opinions:
            items[f"{SectionKey.OPINIONS.value} / {assoc.value}"] = p.opinions[assoc]
    return items


def _from_items(items: dict[str, Any], sources: list[Source]) -> Proposal:
    data: dict[str, Any] = {"sections": {}, "opinions": {}, "sources": [s.model_dump() for s in sources]}
    labels = {field_label(k): k for k in Proposal.model_fields}
    decision_labels = {field_label(f"decision.{k}"): k for k in ("date", "outcome")}
    for label, value in items.items():
        if label in labels:
            data[labels[label]] = value
        elif label in decision_labels:
            data.setdefault("decision", {})[decision_labels[label]] = value
        elif " / " in label:
            data["opinions"][Association(label.split(" / ")[1])] = value
        else:
            data["sections"][SectionKey(label)] = value
    return Proposal.model_validate(data)


# Source fields `kb harvest` fills (plan_import's `provenance`): where and when the file was fetched.


def _source_key(s: Source) -> tuple[str, str | None, str]:
    return (s.stage.value, s.ministry, s.title)


def merge(
    path: Path, existing: Proposal, sheet: Sheet, *, force: bool
) -> tuple[Proposal, list[str], list[str], list[str], list[Conflict]]:
    """(merged, added, replaced, kept, conflicts) for one sheet going into one existing proposal."""
    incoming = sheet.proposal
    seen_before = {_source_key(s) for s in existing.sources}
    same_sheet = all(_source_key(s) in seen_before for s in incoming.sources)
    sheet_name = incoming.sources[0].title if incoming.sources else sheet.stage.value
    old, new = _items(existing), _items(incoming)
    merged = dict(old)
    added, replaced, kept, conflicts = [], [], [], []
    # A file made from the xlsx database alone: a published sheet is the better text (the database holds
    # short forms, e.g. of 提案事項), so the sheet's values replace it — reported, not silent.
    database_only = bool(existing.sources) and all(is_database_source(s) for s in existing.sources)
    for label, value in new.items():
        before = old.get(label, _MISSING)
        if before is _MISSING:
            merged[label] = value
            added.append(label)
        elif before == value:
            continue
        elif folded(before) == folded(value) and not force:
            # the same text broken into lines or paragraphs elsewhere (another stage's PDF breaks its
            # pages elsewhere): not a change, and the file's layout may be an editor's
            continue
        elif force or database_only:
            merged[label] = value
            replaced.append(label)
        elif same_sheet and isinstance(before, str) and isinstance(value, str) and value.startswith(before):
            merged[label] = value
            added.append(f"{label}（続き）")
        elif same_sheet:
            kept.append(label)
        else:
            conflicts.append(Conflict(path, label, _show(before), _show(value), sheet_name))
    sources = list(existing.sources)
    for source in incoming.sources:
        known = [i for i, s in enumerate(sources) if _source_key(s) == _source_key(source)]
        if not known:
            sources.append(source)
            added.append(f"出典「{source.title}」")
        elif source.sha256 and (source.sha256, source.retrieved) != (sources[known[0]].sha256, sources[known[0]].retrieved):
            # `kb harvest`: the same sheet fetched again (a changed file): its provenance is the new one
            sources[known[0]] = sources[known[0]].model_copy(update=source.provenance())
            replaced.append(f"出典「{source.title}」の取得情報")
        elif source.url and not sources[known[0]].url:
            sources[known[0]] = sources[known[0]].model_copy(update={"url": source.url})
            added.append(f"出典の URL（{source.url}）")
    sources.sort(key=lambda s: STAGE_ORDER.index(s.stage))
    return _from_items(merged, sources), added, replaced, kept, conflicts


def _read_input(path: Path) -> tuple[str | None, bool, list[Problem]]:
    """(text, is_pdf, problems) of one input file."""
    where = display_path(path)
    if not path.is_file():
        return None, False, [Problem(where, 0, "ファイル", "ファイルがありません")]
    if path.suffix.lower() == ".pdf":
        try:
            return extract_text(path), True, []
        except PdfError as exc:
            return None, True, [Problem(where, 0, "PDF", str(exc))]
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):  # text saved on Windows is often CP932 (Shift_JIS)
        try:
            return data.decode(encoding), False, []
        except UnicodeDecodeError:
            continue
    return None, False, [Problem(where, 0, "ファイル", "UTF-8（または Shift_JIS）のテキストか PDF を指定してください")]


class _Pages:
    """The page (1-based) each line of PDF text is on: pages are separated by form feeds.

    Counted once per input: an input may hold thousands of sheets, each with a problem to place.
    """

    def __init__(self, text: str):
        self.before = list(accumulate(chunk.count("\f") for chunk in text.split("\n")))

    def page(self, line: int) -> int:
        return 1 + self.before[min(max(line, 1), len(self.before)) - 1]


def _located(where: str, problem: Problem, pages: _Pages | None) -> Problem:
    """A problem found in an input's text, placed in the input: its line, or its page for a PDF."""
    return replace(problem, path=where, page=pages.page(problem.line) if pages else 0)


def _where(where: str, line: int, pages: _Pages | None) -> str:
    """`path:line` (or `path:Nページ`) for warnings about a sheet."""
    return f"{where}:{pages.page(line)}ページ" if pages else f"{where}:{line}"


INPUT_SUFFIXES = (".pdf", ".txt", ".md", *WORKBOOK_SUFFIXES)


def expand_inputs(inputs: Iterable[Path]) -> list[Path]:
    """Files as given; a folder stands for its PDF and text files (sorted)."""
    out: list[Path] = []
    for path in inputs:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)
        else:
            out.append(path)
    return out


def plan_import(
    inputs: Iterable[Path],
    out_dir: Path,
    *,
    force: bool = False,
    url: str | None = None,
    fresh: bool = False,
    provenance: dict[str, Any] | None = None,
) -> ImportReport:
    """Read every input and work out every file change; writes nothing.

    `fresh` plans every file as new, as if `out_dir` were empty (`kb new --from`, which then
    refuses a file that exists instead of merging into it). `provenance` (PROVENANCE fields,
    from `kb harvest`) goes into every sheet's sources, as `url` does.
    """
    report = ImportReport()
    incoming: dict[Path, list[tuple[Sheet, str]]] = {}
    for path in expand_inputs(inputs):
        if path.suffix.lower() in WORKBOOK_SUFFIXES and path.is_file():  # the database: rows, merged after the sheets
            book = read_workbook(path, url=url)
            report.problems += book.problems
            report.skipped += book.row_problems
            report.warnings += book.warnings
            for row in book.rows:
                if provenance:
                    row.proposal.sources = [s.model_copy(update=provenance) for s in row.proposal.sources]
                target = out_dir / relative_path(row.proposal.year, row.proposal.number)
                incoming.setdefault(target, []).append((row, f"{display_path(path)}:{row.line}"))
            continue
        text, is_pdf, problems = _read_input(path)
        report.problems += problems
        if text is None:
            continue
        result = read_sheets(text)
        shown, pages = display_path(path), _Pages(text) if is_pdf else None
        for problem in result.problems:
            report.problems.append(_located(shown, problem, pages))
        for sheet in result.sheets:
            if url or provenance:
                update = {**(provenance or {}), **({"url": url} if url else {})}
                sheet.proposal.sources = [s.model_copy(update=update) for s in sheet.proposal.sources]
            where = _where(shown, sheet.line, pages)
            target = out_dir / relative_path(sheet.proposal.year, sheet.proposal.number)
            incoming.setdefault(target, []).append((sheet, where))
            if sheet.missing:
                report.warnings.append(
                    f"{where}: 提案 {sheet.proposal.id}: 個票が途中で切れています。ない項目: {'、'.join(sheet.missing)}"
                )
            for note in sheet.notes:
                report.warnings.append(f"{where}: 提案 {sheet.proposal.id}: {note}")
    for target, sheets in incoming.items():
        sheets.sort(key=lambda item: (isinstance(item[0], XlsxRow), STAGE_ORDER.index(item[0].stage)))
        change = _plan_file(target, sheets, force=force, report=report, fresh=fresh)
        if change is not None:
            report.files.append(change)
            if change.changed:
                report.problems += _unwritable(target)
    return report


def _unwritable(target: Path) -> list[Problem]:
    """Why `target` cannot be written, found before anything is: a file where a folder must be."""
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        message = f"「{display_path(folder)}」はフォルダではなくファイルです。{display_path(target)} を書けません"
        return [Problem(display_path(folder), 0, "フォルダ", message)]
    return []


def _plan_file(
    target: Path, sheets: list[tuple[Sheet, str]], *, force: bool, report: ImportReport, fresh: bool = False
) -> FileChange | None:
    old_text = None
    current: Proposal | None = None
    if target.exists() and not fresh:
        try:
            current = parse_file(target)  # reads the file as kb check does: not UTF-8 is a problem
            old_text = target.read_text(encoding="utf-8")
        except ProblemError as exc:
            report.problems += exc.problems
            report.problems.append(
                Problem(display_path(target), 0, "ファイル", "既存のファイルに問題があるため取り込みません（kb check で確認してください）")
            )
            return None
        except (OSError, UnicodeDecodeError) as exc:  # a folder of that name, no permission, …
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            report.problems.append(Problem(display_path(target), 0, "ファイル", f"既存のファイルを読めません（{reason}）"))
            return None
    change = FileChange(target, sheets[0][0].proposal, created=current is None, old_text=old_text)
    for sheet, _where_text in sheets:
        if current is None:
            current = sheet.proposal
            change.added.append("新しい提案")
            continue
        if isinstance(sheet, XlsxRow):  # fills what the file lacks, never overwrites (kb.importer.fill)
            current, added, differing = fill(current, sheet.proposal)
            change.added += added
            report.warnings += [f"{_where_text}: 提案 {current.id}: {note}" for note in differing]
            continue
        current, added, replaced, kept, conflicts = merge(target, current, sheet, force=force)
        change.added += added
        change.replaced += replaced
        change.kept += kept
        report.conflicts += conflicts
    assert current is not None
    change.proposal = current
    change.text = render(current)
    try:
        reread: Proposal | None = parse_text(change.text, target)
    except ProblemError:
        reread = None
    if reread != current:
        report.problems.append(
            Problem(display_path(target), 0, "ファイル", "書き出した内容を読み直すと元と一致しません（取り込みの不具合です）")
        )
    return change


def run_import(
    inputs: Iterable[Path],
    out_dir: Path,
    *,
    force: bool = False,
    url: str | None = None,
    provenance: dict[str, Any] | None = None,
) -> ImportReport:
    """Plan, and write every changed file only if nothing went wrong."""
    report = plan_import(list(inputs), out_dir, force=force, url=url, provenance=provenance)
    if report.ok:
        for change in report.files:
            if change.changed:
                write_atomic(change.path, change.text)
        report.written = True
    return report
