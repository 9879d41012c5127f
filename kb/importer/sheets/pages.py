"""Page furniture: running headers, footers and page numbers are dropped before reading.

Pages are separated by form feeds (`\\f`, as PDF extraction writes them). A line is
furniture when it is a page number (`- 3 -`, `3 / 12`, or a bare number at the top or
bottom of a page), or when the same line (digits aside) stands at the top or bottom of
two or more pages, or next to a page number more than once. Sheet headings and labels
are never furniture, even when every page starts with one; nor is the first line after a
label on the same page: it is that section's text, and the sheets of a ministry's bundle
often end with the same one (the same law under 根拠法令等) beside the page number. A line
is counted once however many page numbers it touches, so a section's text alone on a page
(its label at the foot of the page before) is not taken for a footer.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from kb.core.vocab import is_empty_mark
from kb.importer.sheets.labels import MINISTRY_GROUP, MINISTRY_STAGE, SHEET_TITLE, is_label_line

_PAGE_NUMBER_ANYWHERE = re.compile(
    r"^[ \t\u3000]*(?:[-－–—‐][ \t\u3000]*[0-9０-９]+[ \t\u3000]*[-－–—‐]|[0-9０-９]+[ \t\u3000]*[/／][ \t\u3000]*[0-9０-９]+"
    r"|(?:p|P|ページ)\.?[ \t\u3000]*[0-9０-９]+|[0-9０-９]+[ \t\u3000]*ページ)[ \t\u3000]*$"
)
_BARE_NUMBER = re.compile(r"^[ \t\u3000]*[(（]?[0-9０-９]+[)）]?[ \t\u3000]*$")
_DIGITS = re.compile(r"[0-9０-９]+")
EDGE = 2  # lines at the top and at the bottom of a page that may be furniture


@dataclass
class Lines:
    """The kept lines, each with its 1-based line number in the input."""

    text: list[str]
    numbers: list[int]

    def joined(self) -> str:
        return "\n".join(self.text)


def _protected(line: str) -> bool:
    stripped = line.strip().lstrip("# ")
    return is_empty_mark(stripped) or bool(SHEET_TITLE.search(stripped) or is_label_line(stripped) or MINISTRY_STAGE.fullmatch(stripped) or MINISTRY_GROUP.fullmatch(stripped))


def _edges(page: list[int], lines: list[str]) -> list[int]:
    filled = [i for i in page if lines[i].strip()]
    return filled[:EDGE] + filled[EDGE:][-EDGE:]  # a short page's line is one edge, not both (counted once)


def _first_lines_after_labels(filled: list[int], lines: list[str], page_of: dict[int, int]) -> set[int]:
    """Indexes of each label's first text line when it is on the label's page.

    Across a page break the line is left to the usual test: a running header at the top of
    every page follows whatever ended the page before, a label included.
    """
    out: set[int] = set()
    label_page = -1
    for i in filled:
        line = lines[i]
        if _PAGE_NUMBER_ANYWHERE.match(line) or _BARE_NUMBER.match(line):
            continue
        if page_of[i] == label_page and not _protected(line):
            out.add(i)
        label_page = page_of[i] if is_label_line(line.strip().lstrip("# ")) else -1
    return out


def drop_furniture(text: str) -> Lines:
    """Input text → kept lines (with their input line numbers), furniture removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    pages: list[list[int]] = [[]]
    cleaned: list[str] = []
    for i, line in enumerate(lines):
        for _ in range(line.count("\f")):
            pages.append([])
        pages[-1].append(i)
        cleaned.append(line.replace("\f", ""))
    drop: set[int] = set()
    for i, line in enumerate(cleaned):
        if _PAGE_NUMBER_ANYWHERE.match(line):
            drop.add(i)
    filled = [i for i, line in enumerate(cleaned) if line.strip()]
    page_of = {i: n for n, page in enumerate(pages) for i in page}
    after_label = _first_lines_after_labels(filled, cleaned, page_of)
    edge_lines: Counter[str] = Counter()
    for page in pages:
        for i in _edges(page, cleaned):
            if _BARE_NUMBER.match(cleaned[i]):
                drop.add(i)
            elif not _protected(cleaned[i]) and i not in after_label:
                edge_lines[_DIGITS.sub("#", cleaned[i].strip())] += 1
    beside_numbers: set[int] = set()
    for n, i in enumerate(filled):
        if i in drop:
            for j in filled[max(0, n - 1) : n] + filled[n + 1 : n + 2]:
                if j not in drop and not _protected(cleaned[j]) and j not in after_label:
                    beside_numbers.add(j)
    near_number = Counter(_DIGITS.sub("#", cleaned[j].strip()) for j in beside_numbers)
    # on at least half the pages: a sheet's own last line (「—」) may end two pages by chance
    repeated = {key for key, count in edge_lines.items() if count >= max(2, len(pages) // 2)}
    repeated |= {key for key, count in near_number.items() if count >= 2}
    for page in pages:
        for i in _edges(page, cleaned):
            if i not in after_label and _DIGITS.sub("#", cleaned[i].strip()) in repeated:
                drop.add(i)
    for n, i in enumerate(filled):
        if i in drop:
            for j in filled[max(0, n - 1) : n] + filled[n + 1 : n + 2]:
                if j not in after_label and _DIGITS.sub("#", cleaned[j].strip()) in repeated:
                    drop.add(j)
    for i in sorted(drop):  # blank lines around furniture are part of it, not paragraph breaks
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(cleaned) and not cleaned[j].strip() and j not in drop:
                drop.add(j)
                j += step
    kept = [(i + 1, line) for i, line in enumerate(cleaned) if i not in drop]
    return Lines([line for _, line in kept], [n for n, _ in kept])
