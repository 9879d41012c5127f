"""`kb harvest`: crawl, download what changed, import each sheet file through the merge, sum up.

One file is imported at a time (`run_import`, atomic writes): a failure in one file (unreadable
PDF, conflict with an editor's text) is reported and the others go on. The cache remembers which
content of each URL was imported, so a re-run after a kill or a failure re-imports exactly what
did not get in, and downloads only what the site changed (conditional GETs).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from kb.core import tempfiles
from kb.core.models import proposal_id
from kb.core.problems import display_path
from kb.harvest.cache import Cache
from kb.harvest.crawl import IMPORTED_KINDS, Crawl, crawl
from kb.harvest.fetch import Fetcher, FetchError, Settings
from kb.harvest.links import Link
from kb.importer.merge import run_import

DEFAULT_BASE = "https://www.cao.go.jp/bunken-suishin/teianbosyu/"
NO_SHEET_FIELD = "個票の見出し"  # the reader's problem when a text holds no sheet at all


class Events:
    """What a run tells its watcher (the progress bar); does nothing by itself."""

    def page(self, url: str) -> None:
        """A page is about to be read."""

    def files(self, total: int) -> None:
        """The crawl is over: `total` files to fetch and import."""

    def file_done(self, url: str) -> None:
        """One file was fetched and imported (or failed)."""


@dataclass
class Options:
    base: str = DEFAULT_BASE
    out: Path = Path("proposals")
    cache: Path = Path(".kb-cache/harvest")
    years: Collection[int] = ()
    dry_run: bool = False
    log: Path | None = None
    settings: Settings = field(default_factory=Settings)
    max_pages: int = 2000


@dataclass
class Summary:
    """What a run did; `render()` is the Japanese summary the command prints."""

    pages: int = 0
    pages_changed: int = 0
    files: int = 0  # documents considered
    downloaded: int = 0  # new or changed content
    skipped_unchanged: int = 0  # content already imported
    imported_files: int = 0
    not_sheets: int = 0  # PDFs without any sheet (募集要項, …)
    not_imported: int = 0  # links found but not imported (attachments, xlsx without importer)
    robots: int = 0
    off_host: int = 0
    sheets: int = 0
    rows: int = 0  # rows of the xlsx database imported
    new: set[str] = field(default_factory=set)
    updated: set[str] = field(default_factory=set)
    unchanged: set[str] = field(default_factory=set)
    kept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # --dry-run: what would be fetched
    requests: int = 0
    not_modified: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures

    def render(self) -> str:
        lines = [f"取得予定: {line}" for line in self.planned]
        lines.append(f"ページ: {self.pages}（更新あり {self.pages_changed}）")
        if self.dry_run:
            lines.append(f"ファイル: {self.files}（--dry-run のため取得していません）")
        else:
            lines.append(
                f"ファイル: {self.files}（ダウンロード {self.downloaded}、取り込み {self.imported_files}、"
                f"取り込み済みで変更なし {self.skipped_unchanged}、個票なし {self.not_sheets}）"
            )
            lines.append(f"個票: {self.sheets}" + (f"（ほかに xlsx の行 {self.rows}）" if self.rows else ""))
            unchanged = self.unchanged - self.new - self.updated
            lines.append(f"提案: 新規 {len(self.new)}、更新 {len(self.updated - self.new)}、変更なし {len(unchanged)}")
        lines.append(
            f"取り込まないリンク: {self.not_imported}、robots.txt で除外: {self.robots}、サイト外: {self.off_host}"
        )
        lines.append(f"HTTP リクエスト: {self.requests}（うち 304 未変更 {self.not_modified}）")
        lines += [f"注意: {w}" for w in self.warnings]
        lines += [f"編集を残しました: {k}" for k in self.kept]
        if self.failures:
            lines.append(f"失敗: {len(self.failures)} 件")
            lines += [f"  {where}: {reason}" for where, reason in self.failures]
        return "\n".join(lines)


def xlsx_importer_present() -> bool:
    """The xlsx database is imported once `kb import` can read it (kb/importer/xlsx.py)."""
    return importlib.util.find_spec("kb.importer.xlsx") is not None


def importable(link: Link) -> bool:
    if link.kind == "database":
        return xlsx_importer_present()
    return link.kind in IMPORTED_KINDS


def _log_links(found: Crawl, out: IO[str]) -> None:
    for item in found.found:
        link = item.link
        record = {
            "page": link.page, "text": link.text, "href": link.href, "url": link.url, "size": link.size,
            "kind": link.kind, "year": link.year, "number": link.number, "action": item.action,
        }  # fmt: skip
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _provenance(link: Link, url: str, sha256: str, retrieved: str) -> dict[str, Any]:
    """Where the file came from: `url` is where it was fetched, after any redirect from `link.url`."""
    return {
        "url": url,
        "page": link.page,
        "link_text": link.text or None,
        "retrieved": dt.date.fromisoformat(retrieved),
        "sha256": sha256,
    }


def _cross_check(link: Link, ids: list[tuple[int, int]]) -> list[str]:
    """Year and 管理番号 from the sheets against what the link text / file name / page said."""
    where = f"{link.text or link.filename}（{link.url}）"
    notes = []
    years = sorted({y for y, _ in ids})
    if link.year is not None and years and years != [link.year]:
        shown = "、".join(f"{y}年" for y in years)
        notes.append(f"{where}: リンク・ページからは {link.year}年 ですが、個票は {shown} です")
    if link.number is not None and ids and link.number not in {n for _, n in ids}:
        shown = "、".join(proposal_id(y, n) for y, n in ids)
        notes.append(f"{where}: リンク・ファイル名からは管理番号 {link.number} ですが、個票は {shown} です")
    return notes


def _import_one(link: Link, fetcher: Fetcher, cache: Cache, options: Options, summary: Summary) -> None:
    try:
        got = fetcher.get(link.url, limit=options.settings.max_file_bytes)
    except FetchError as exc:
        summary.failures.append((link.text or link.filename, str(exc)))
        return
    summary.downloaded += got.changed
    if got.entry.imported == got.entry.sha256:
        summary.skipped_unchanged += 1
        return
    provenance = _provenance(link, got.url, got.entry.sha256, got.entry.retrieved)
    report = run_import([cache.body_path(got.url)], options.out, provenance=provenance)
    problems = [replace(p, path=link.url) for p in report.problems]
    if problems and all(p.field == NO_SHEET_FIELD for p in problems) and link.kind not in ("sheets", "proposal"):
        summary.not_sheets += 1  # a PDF of the section that is not a sheet (募集要項, スケジュール, …)
        got.entry.imported = got.entry.sha256
        cache.put(got.entry, None)
        return
    label = link.text or link.filename
    if not report.ok:
        reasons = [str(p) for p in problems] + [str(c).split("\n")[0] for c in report.conflicts]
        more = f"（ほか {len(reasons) - 3} 件）" if len(reasons) > 3 else ""
        summary.failures.append((label, "取り込めませんでした: " + " / ".join(reasons[:3]) + more))
        return
    summary.imported_files += 1
    for problem in report.skipped:  # xlsx rows refused one by one: the other rows are in
        summary.failures.append((label, f"この行は取り込めませんでした: {replace(problem, path=link.url)}"))
    body = display_path(cache.body_path(got.url))
    summary.warnings += [w.replace(body, link.url) for w in report.warnings]
    ids = []
    for change in report.files:
        pid = change.proposal.id
        ids.append((change.proposal.year, change.proposal.number))
        if link.kind == "database":
            summary.rows += 1
        else:
            summary.sheets += 1
        if change.created and change.changed:
            summary.new.add(pid)
        elif change.changed:
            summary.updated.add(pid)
        else:
            summary.unchanged.add(pid)
        if change.kept:
            summary.kept.append(f"{display_path(change.path)}: {'、'.join(change.kept)}（{label}）")
    summary.warnings += _cross_check(link, ids)
    got.entry.imported = got.entry.sha256
    cache.put(got.entry, None)


def harvest(options: Options, events: Events | None = None) -> Summary:
    """Crawl the section, then fetch and import every sheet file that changed since the last run."""
    events = events or Events()
    cache = Cache(options.cache)
    fetcher = Fetcher(options.base, cache, options.settings)  # ValueError (a delay too short) before anything is touched
    cache.remove_stale()
    if options.out.is_dir():
        tempfiles.remove_stale_below(options.out)  # what a killed import left in any year folder
    summary = Summary(dry_run=options.dry_run)
    try:
        found = crawl(options.base, fetcher, years=options.years, importable=importable, on_page=events.page,
                      max_pages=options.max_pages)  # fmt: skip
        if options.log:
            options.log.parent.mkdir(parents=True, exist_ok=True)
            with options.log.open("w", encoding="utf-8") as out:
                _log_links(found, out)
        summary.pages, summary.pages_changed = len(found.pages), found.pages_changed
        summary.failures += found.failures
        summary.files = len(found.documents)
        for item in found.found:
            summary.robots += item.action == "robots"
            summary.off_host += item.action == "off-host"
            summary.not_imported += item.action == "not-imported"
        if options.dry_run:
            for link in found.documents:
                state = "キャッシュあり（条件付き GET）" if cache.get(link.url) else "新規"
                summary.planned.append(f"{link.year or '年不明'} {link.kind} 「{link.text}」 {link.url} {state}")
        else:
            events.files(len(found.documents))
            # the sheets first: the database's rows only fill what the sheets lack (kb/importer/fill.py),
            # and its page is nearer the index than the stage pages, so the crawl finds it first
            for link in sorted(found.documents, key=lambda link: link.kind == "database"):
                _import_one(link, fetcher, cache, options, summary)
                events.file_done(link.url)
    finally:
        summary.requests, summary.not_modified = fetcher.counts.requests, fetcher.counts.not_modified
        fetcher.close()
    return summary
