"""Links of an official page, classified by their text (the file name is only a hint).

The link text is what the site keeps stable (official-site.md §2.3): 「総務省 個票(PDF形式:2,104KB)」,
「内閣府 一覧表(PDF形式:391KB)」, 「【別紙】管理番号111(PDF形式:190KB)」, 「令和6年の提案募集について」.
From the text (and the URL as a fallback) each link gets a kind, a year and a 管理番号 when it names one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

DOCUMENT_SUFFIXES = (".pdf", ".xlsx", ".xls")
PAGE_SUFFIXES = (".html", ".htm", "/")

_SIZE = re.compile(r"[(（]\s*(?:PDF|XLSX?|EXCEL|エクセル)?\s*形式\s*[:：]?\s*(?P<size>[\d,.]+\s*[KMG]?B)\s*[)）]", re.I)
_ERA = re.compile(r"(?P<era>平成|令和)\s*(?P<n>\d+|元)\s*年")
_WESTERN = re.compile(r"(?<!\d)(?P<y>20[1-9]\d)\s*年")
_FOLDER_YEAR = re.compile(r"/(?P<y>20[1-9]\d)/")
_ERA_FOLDER = re.compile(r"/(?P<era>[hr])(?P<n>\d{2})/", re.I)
_NUMBER_TEXT = re.compile(r"管理\s*番号\s*(?P<n>\d{1,4})")
# per-proposal sheets: `tb_r6fu_07mic_278_2.pdf` (official-site.md §1.3; the number is a hint only)
_NUMBER_FILE = re.compile(r"^tb_[a-z0-9]+_\d{2}[a-z]+_(?P<n>\d{1,4})(?:_\d+)?\.pdf$", re.I)


def era_year(era: str, n: str) -> int:
    """和暦 → 西暦: 平成26年 → 2014, 令和元年 → 2019."""
    number = 1 if n == "元" else int(n)
    return (1988 if era in ("平成", "h", "H") else 2018) + number


def fold(text: str) -> str:
    """Full-width digits and brackets as ASCII, runs of spaces as one."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


@dataclass
class Link:
    """One `<a href>` of a page, resolved, with what its text and URL say."""

    page: str
    text: str
    href: str
    url: str
    kind: str  # page, sheets, list, attachment, proposal, database, document, other
    year: int | None = None
    number: int | None = None
    size: str | None = None

    @property
    def filename(self) -> str:
        return urlsplit(self.url).path.rsplit("/", 1)[-1]


class _Anchors(HTMLParser):
    """(href, text) of every anchor, spaces collapsed; nested markup inside the anchor contributes its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "base" and values.get("href"):
            self.base = values["href"]
        if tag == "a":
            self._flush()
            self._href = values.get("href")
            self._text = []
        elif tag == "img" and self._href is not None and values.get("alt"):
            self._text.append(values["alt"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def _flush(self) -> None:
        if self._href is not None:
            self.anchors.append((self._href, re.sub(r"\s+", " ", "".join(self._text)).strip()))
        self._href = None
        self._text = []

    def close(self) -> None:
        super().close()
        self._flush()


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """A page's text: the declared charset, else UTF-8, else Shift_JIS (older 内閣府 pages)."""
    declared = re.search(r"charset=([\w-]+)", content_type or "", re.I) or re.search(
        rb"<meta[^>]+charset=[\"']?([\w-]+)", data[:2048], re.I
    )
    names: list[str] = []
    if declared:
        found = declared.group(1)
        names.append(found.decode("ascii", "replace") if isinstance(found, bytes) else found)
    for name in [*names, "utf-8", "cp932"]:
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", "replace")


def text_year(text: str) -> int | None:
    """The year a link text names (令和6年, 平成26年, 2024年), or None."""
    folded = fold(text)
    m = _ERA.search(folded)
    if m:
        return era_year(m.group("era"), m.group("n"))
    w = _WESTERN.search(folded)
    return int(w.group("y")) if w else None


def url_year(url: str) -> int | None:
    """The year a URL's folder names (`/2024/`, `/doc/r06/`), or None."""
    path = urlsplit(url).path
    m = _FOLDER_YEAR.search(path)
    if m:
        return int(m.group("y"))
    e = _ERA_FOLDER.search(path)
    return era_year(e.group("era").upper(), str(int(e.group("n")))) if e else None


def classify(text: str, url: str) -> tuple[str, int | None]:
    """(kind, 管理番号 named by the link text or file name)."""
    path = urlsplit(url).path.lower()
    name = path.rsplit("/", 1)[-1]
    m = _NUMBER_TEXT.search(text)
    number = int(m.group("n")) if m else None
    if path.endswith((".xlsx", ".xls")):
        return "database", number
    if not path.endswith(".pdf"):
        return ("page", number) if path.endswith(PAGE_SUFFIXES) or "." not in name else ("other", number)
    if "別紙" in text or "参考資料" in text:
        return "attachment", number
    f = _NUMBER_FILE.match(name)
    if f:
        return "proposal", number or int(f.group("n"))
    if "個票" in text or "調整結果" in text:
        return "sheets", number
    if "一覧" in text:
        return "list", number
    return "document", number


def page_links(page_url: str, data: bytes, content_type: str | None = None) -> list[Link]:
    """Every link of a page, resolved against the page (or its <base>), fragments dropped."""
    parser = _Anchors()
    parser.feed(decode_html(data, content_type))
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    links: list[Link] = []
    for href, text in parser.anchors:
        href = href.strip()
        if not href or href.startswith(("mailto:", "javascript:", "tel:", "#")):
            continue
        url = urldefrag(urljoin(base, href))[0]
        folded = fold(text)  # classified in half-width; the text is kept as the page shows it
        kind, number = classify(folded, url)
        size = _SIZE.search(folded)
        year = text_year(folded) or url_year(url)
        links.append(Link(page_url, text, href, url, kind, year, number, size.group("size") if size else None))
    return links
