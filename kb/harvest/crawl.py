"""Discovery: the section's index page → year pages → stage pages, collecting every document link.

No URL is built from a template (official-site.md §0): pages are found by following the links
of pages already read, within the section (the base URL's folder, on its host). A page's year
comes from the text of the link that led to it (「令和6年の提案募集について」), else from its
folder (`/2024/`), else from the page that linked it; with years asked for, a page or document of
another year is not fetched. Every link found is reported, with what was done with it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from urllib.parse import urljoin

from kb.harvest.fetch import Fetcher, FetchError
from kb.harvest.links import Link, page_links, url_year

INDEX_PAGE = "teianbosyu-index.html"  # the section's top page (official-site.md §2.1, confirmed)
IMPORTED_KINDS = ("sheets", "proposal", "list", "document")  # PDFs that may hold sheets
MAX_PAGES = 2000


@dataclass
class Found:
    """A link and what the crawl did with it (the JSONL log's record)."""

    link: Link
    action: str  # follow, seen, out-of-section, off-host, robots, out-of-years, download, not-imported, ignored


@dataclass
class Crawl:
    pages: list[str] = field(default_factory=list)  # pages read
    pages_changed: int = 0
    documents: list[Link] = field(default_factory=list)  # to download, first link of each URL
    found: list[Found] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)


def start_pages(base: str) -> list[str]:
    """The pages the crawl starts from: `base` itself when it names a page, else the section's index."""
    return [base] if not base.endswith("/") else [urljoin(base, INDEX_PAGE)]


def section_of(base: str) -> str:
    """The folder the crawl stays in: the base URL's own folder."""
    return base.rsplit("/", 1)[0] + "/"


def crawl(
    base: str,
    fetcher: Fetcher,
    *,
    years: Collection[int] = (),
    importable: Callable[[Link], bool],
    on_page: Callable[[str], None] = lambda url: None,
    max_pages: int = MAX_PAGES,
) -> Crawl:
    """Read the section's pages breadth first; every document link is classified, not fetched."""
    result = Crawl()
    section = section_of(base)
    queue: deque[tuple[str, int | None]] = deque((url, url_year(url)) for url in start_pages(base))
    queued = {url for url, _ in queue}
    documents: set[str] = set()
    while queue:
        url, year = queue.popleft()
        if len(result.pages) >= max_pages:
            result.failures.append((url, f"ページ数の上限（{max_pages}）に達したため読みませんでした"))
            continue
        on_page(url)
        try:
            page = fetcher.get(url, limit=fetcher.settings.max_page_bytes)
        except FetchError as exc:
            result.failures.append((url, str(exc)))
            continue
        result.pages.append(url)
        result.pages_changed += page.changed
        queued.add(page.url)  # a page that moved: its links are relative to where it is now
        for link in page_links(page.url, page.body, page.entry.content_type):
            # the database spans every year (「平成26年〜令和7年」): no year of its own
            link.year = None if link.kind == "database" else link.year or year
            if not fetcher.on_host(link.url):
                action = "off-host"
            elif years and link.kind == "database":
                action = "out-of-years"  # imported whole or not at all: only by a run over every year
            elif years and link.year is not None and link.year not in years and link.kind != "page":
                action = "out-of-years"
            elif link.kind == "page":
                if not link.url.startswith(section):
                    action = "out-of-section"
                elif link.url in queued:
                    action = "seen"
                elif years and link.year is not None and link.year not in years:
                    action = "out-of-years"
                elif not fetcher.allowed(link.url):
                    action = "robots"
                else:
                    action = "follow"
                    queued.add(link.url)
                    queue.append((link.url, link.year))
            elif link.kind == "other":
                action = "ignored"
            elif not importable(link):
                action = "not-imported"
            elif link.url in documents:
                action = "seen"
            elif not fetcher.allowed(link.url):
                action = "robots"
            else:
                action = "download"
                documents.add(link.url)
                result.documents.append(link)
            result.found.append(Found(link, action))
    return result

