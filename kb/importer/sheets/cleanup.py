"""Clean-up that keeps meaning: page furniture out, broken lines joined, paragraphs and bullets kept.

Rules (written down for editors in docs/import.md):
- a line that ends a sentence (。！？, or a closing bracket after one) ends its paragraph;
- a blank line ends a paragraph;
- a line starting with ○/〇/◯/●/・ is a list item `- ○…` (the mark stays, so nothing is lost);
- any other line break inside a paragraph was made by the page width and is joined;
- in text where line breaks collapsed into spaces, a space after a sentence end or before a
  bullet mark is such a break;
- spaces between two digits (`1 20`) are removed: PDF copies break numbers that way;
- characters are never normalised (no NFKC): 全角・半角 and bracket kinds stay as printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.core.vocab import EMPTY_MARKS, is_empty_mark

SPACES = " \t\u3000"
BULLETS = "○〇◯●・"
# Runs of spaces are matched from their first character only and never given back (`(?<!…)`, `*+`):
# otherwise every position inside a long run starts a new attempt, and reading is quadratic.
_SENTENCE_END = re.compile(r"[。．！？!?][」』）)】]*+$")
_BREAK_AFTER_END = re.compile(r"(?<=[。．！？])([」』）)】]*+)[ \t\u3000]++(?=\S)")
_BREAK_BEFORE_BULLET = re.compile(rf"(?<![ \t\u3000])[ \t\u3000]++(?=[{BULLETS}]\S)")
_BREAK_BEFORE_DASH = re.compile(r"(?<![ \t\u3000])[ \t\u3000]++(?=—(?:\s|$))")
_MARK_ONLY = re.compile(r"^#++[ \t\u3000]*+$")
_DIGIT_GAP = re.compile(r"(?<=[0-9０-９])[ \t\u3000](?=[0-9０-９])")
_RULE_LINE = re.compile(r"^[ \t\u3000]*+[-－|｜:：]{3}[-－|｜:：\t \u3000]*+$")
_HEADING_MARK = re.compile(r"^#{1,6}(?=\s|$)")
_ASCII_WORD_END = re.compile(r"[A-Za-z0-9]$")
_ASCII_WORD_START = re.compile(r"^[A-Za-z0-9]")
# Greek letters a Markdown converter wrote as TeX (`$\beta'$` for β').
_GREEK = {
    name: chr(code)
    for name, code in [
        ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3B5),
        ("zeta", 0x3B6), ("eta", 0x3B7), ("theta", 0x3B8), ("iota", 0x3B9), ("kappa", 0x3BA),
        ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD), ("xi", 0x3BE), ("pi", 0x3C0), ("rho", 0x3C1),
        ("sigma", 0x3C3), ("tau", 0x3C4), ("upsilon", 0x3C5), ("phi", 0x3C6), ("chi", 0x3C7),
        ("psi", 0x3C8), ("omega", 0x3C9),
    ]
}
_TEX_GREEK = re.compile(r"\$\s*\\(?P<name>[a-z]+)(?P<tail>['′]*)\s*\$")


def untex(text: str) -> str:
    """`$\\beta'$` → `β'`; other TeX is left as it is."""

    def swap(m: re.Match[str]) -> str:
        letter = _GREEK.get(m.group("name"))
        return letter + m.group("tail") if letter else m.group(0)

    return _TEX_GREEK.sub(swap, text)


def close_digit_gaps(text: str) -> str:
    """`第1 9条` → `第19条`: a space between two digits is an extraction artefact."""
    return _DIGIT_GAP.sub("", text)


def _lines(text: str) -> list[str]:
    """Physical lines, with collapsed line breaks restored where the text shows them."""
    text = _BREAK_AFTER_END.sub(lambda m: m.group(1) + "\n", text)
    text = _BREAK_BEFORE_BULLET.sub("\n", text)
    text = _BREAK_BEFORE_DASH.sub("\n", text)
    return [
        line.strip(SPACES) for line in text.split("\n") if not (_RULE_LINE.match(line) or _MARK_ONLY.match(line))
    ]


_CLOSERS = "」』）)】"
_LONGEST_MARK = max(len(m) for m in EMPTY_MARKS)


class _Paragraph:
    """A paragraph being joined line by line, in time linear in its length.

    What the next line depends on (does the paragraph end a sentence, is it an empty mark, does it end
    in an ASCII word) is kept up to date as lines are added, instead of being searched for in the
    whole paragraph at each line: a paragraph of thousands of short lines was quadratic.
    """

    def __init__(self, line: str):
        self.pieces = [line]
        self.ends_sentence = False
        # The paragraph stripped of whitespace, kept while it is short enough to be a mark (None once
        # longer: text is only added at the end, so it never gets shorter), and the whitespace after it
        # (None once longer than a mark: adding text after it would make the core too long).
        self.core: str | None = ""
        self.trail: str | None = ""
        self._add(line)

    def _add(self, piece: str) -> None:
        body = piece.rstrip(_CLOSERS)
        if body:  # closing brackets alone keep the ending the paragraph had
            self.ends_sentence = bool(_SENTENCE_END.search(piece[len(body) - 1 :]))
        if self.core is None:
            return
        content = piece.strip()
        after = piece[len(piece.rstrip()) :]
        if not content:
            if self.core:
                self.trail = None if self.trail is None else self.trail + piece
        elif not self.core:
            self.core, self.trail = content, after
        elif self.trail is None:
            self.core = None
        else:
            self.core, self.trail = self.core + self.trail + piece.rstrip(), after
        if self.core is not None and len(self.core) > _LONGEST_MARK:
            self.core = None
        if self.trail is not None and len(self.trail) > _LONGEST_MARK:
            self.trail = None

    def is_empty_mark(self) -> bool:
        return self.core is not None and is_empty_mark(self.core)

    def join(self, line: str) -> None:
        if _ASCII_WORD_END.search(self.pieces[-1][-1:]) and _ASCII_WORD_START.search(line):
            self.pieces.append(" ")
            self._add(" ")
        self.pieces.append(line)
        self._add(line)

    def text(self) -> str:
        return "".join(self.pieces)


def blocks(text: str, *, keep_lines: bool = False) -> list[str]:
    """Paragraphs and list items, each on one line; `keep_lines` makes every line its own block."""
    out: list[str] = []
    current: _Paragraph | None = None
    for line in _lines(text):
        if not line:
            if current is not None:
                out.append(current.text())
            current = None
            continue
        starts_item = line[0] in BULLETS
        if current is None or starts_item or keep_lines or current.ends_sentence or current.is_empty_mark():
            if current is not None:
                out.append(current.text())
            current = _Paragraph(line)
        else:
            current.join(line)
    if current is not None:
        out.append(current.text())
    return out


def to_markdown(parts: Iterable[str]) -> str:
    """Blocks → Markdown: paragraphs apart by a blank line, bullet items as a tight list."""
    chunks: list[str] = []
    for part in parts:
        is_item = part[0] in BULLETS
        text = f"- {part}" if is_item else _HEADING_MARK.sub(lambda m: "\\" + m.group(0), part)
        if is_item and chunks and chunks[-1].startswith("- "):
            chunks[-1] += "\n" + text
        else:
            chunks.append(text)
    return "\n\n".join(chunks)


def section_text(raw: str, *, keep_lines: bool = False) -> str | None:
    """A section's printed text as stored Markdown; None when the sheet printed `—`; "" when blank."""
    text = close_digit_gaps(untex(raw))
    parts = blocks(text, keep_lines=keep_lines)
    if not parts:
        return ""
    if len(parts) == 1 and is_empty_mark(parts[0]):
        return None
    return to_markdown(parts)


def one_line(raw: str) -> str:
    """A short value (提案事項) on one line: broken lines joined, stray spaces between digits removed."""
    return " ".join(blocks(close_digit_gaps(raw))).strip()
