"""`kb statutes update`: refresh e-Gov's list of current laws (`data/egov_laws.csv`) from the 法令API.

The list is generated, never edited by hand, so refreshing it must be safe to run by anyone: the whole
list is fetched and checked before anything is written, and any doubt (no network, an HTTP error, a
response of another shape, a list implausibly smaller than the current one) stops the update with a
Japanese message and leaves both files as they were.

What the code relies on, verified from e-Gov's published OpenAPI specification, 法令API Version 2
2.1.138 (`https://laws.e-gov.go.jp/api/2/swagger-ui/lawapi-v2.yaml`, read from the copy in
github.com/Usuiensan/xml-markdown at commit 1a6b5519dd2ebba5e5f35f0493f6691a544fc6cd; this machine had
no network to call the live API), and matched by public clients of `laws.e-gov.go.jp/api/2/laws`
(e.g. github.com/okamyuji/egov-law-sync, which pages the whole list by `count` and `total_count`):

- `GET {base}/laws` → `laws_response`: `total_count` (rows before limit/offset), `count` (rows in this
  page; the only required key), `next_offset` (null after the last page) and `laws[]`, each with
  `law_info` (`law_id`, `law_num` in kanji as v1's LawNo, `law_type`, …) and `revision_info`
  (`law_title`, `repeal_status`: None | Repeal | Expire | Suspend | LossOfEffectiveness,
  `amendment_type`: "1" | "3" | "8", `mission`: New | Partial, …). Query: `limit` (default 100),
  `offset` (default 0), `response_format=json`, `mission`, `omit_current_revision_info`; without
  `asof` it answers for today.
- The spec calls a law 廃止 when `amendment_type` is "8" or `repeal_status` is Repeal, Expire or
  LossOfEffectiveness; those rows, and 一部改正法令 (`mission` Partial), are left out so that the list
  holds what v1's `lawlists/1` holds: 公布済みの現行法令.
- Version 1, `GET {base}/lawlists/1` (XML `DataRoot/Result/Code` 0, `DataRoot/ApplData/LawNameListInfo`
  with `LawId`, `LawName`, `LawNo`), is used when the base URL ends in `/api/1`; the default is v2.

Not verified against the live API: that `limit=1000` is accepted (the spec gives no maximum;
egov-law-sync asks for 5000) and how close the filtered v2 count comes to v1's list (8,945 in 2026-02).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import yaml

from kb.core.problems import Problem, ProblemError, display_path
from kb.files.store import write_atomic
from kb.statutes.lawlist import ListedLaw, law_list_path, parse_law_list, read_law_list, render_law_list

API_ENV = "KB_EGOV_API"
DEFAULT_API = "https://laws.e-gov.go.jp/api/2"
PAGE_SIZE = 1000  # ~10 requests for the whole list; the spec's default is 100
TIMEOUT = 60.0  # seconds per request
USER_AGENT = "bunken-kb/0.1 (kb statutes update; knowledge base of decentralisation reform proposals)"  # ASCII: an HTTP header
REPEALED = frozenset({"Repeal", "Expire", "LossOfEffectiveness"})  # the spec's 廃止, with amendment_type "8"
# Shared with scripts/convert_egov_laws.py: what the provenance file says whichever way the list came.
SOURCE_NAME = "e-Gov 法令検索 法令一覧（公布済みの現行法令）"
SOURCE_LICENSE = "CC0 1.0 Universal（法令は著作権法第13条により著作権の目的とならない）"
PROVENANCE_NAME = "egov-laws.source.yaml"
UNCHANGED = "法令一覧は変更していません"

Get = Callable[[str], bytes]


class UpdateRefused(Exception):
    """The update stopped before writing anything; the message (Japanese) says why."""


class ShapeError(ValueError):
    """A response that is not what the API specification describes; the message names what is missing."""


# --- pure: URLs, responses, comparison, text -------------------------------------------------------


def api_base(url: str | None = None) -> str:
    """The API's base URL: the option, else $KB_EGOV_API, else e-Gov's v2; without a trailing slash."""
    return (url or os.environ.get(API_ENV) or DEFAULT_API).rstrip("/")


def api_version(base: str) -> int:
    """1 for a base ending in /api/1 (the XML law list), else 2."""
    return 1 if urlsplit(base).path.rstrip("/").endswith("/api/1") else 2


def laws_endpoint(base: str) -> str:
    """The endpoint that lists every law, recorded in the provenance file."""
    return f"{base}/lawlists/1" if api_version(base) == 1 else f"{base}/laws"


def v2_page_url(base: str, offset: int, limit: int = PAGE_SIZE) -> str:
    """One page of `GET /laws`: laws themselves (mission New), without the second copy of revision data."""
    query = {
        "limit": limit,
        "offset": offset,
        "mission": "New",
        "omit_current_revision_info": "true",
        "response_format": "json",
    }
    return f"{base}/laws?{urlencode(query)}"


@dataclass(frozen=True)
class Page:
    """One page of `GET /laws`: the current laws in it and what the paging keys say."""

    laws: list[ListedLaw]
    count: int  # rows the API returned, before leaving out repealed laws and amending acts
    left_out: int
    total: int | None
    next_offset: int | None


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ShapeError(f"「{key}」（0以上の整数）がありません")
    return value


def _optional_count(data: Mapping[str, Any], key: str) -> int | None:
    return None if data.get(key) is None else _count(data, key)


def _is_current(revision: Mapping[str, Any]) -> bool:
    """Not repealed, expired or lapsed, and a law rather than an act amending one."""
    if revision.get("repeal_status") in REPEALED or revision.get("amendment_type") == "8":
        return False
    return revision.get("mission") != "Partial"


def parse_v2_page(body: bytes) -> Page:
    """A `laws_response` page → Page; ShapeError naming the first key that is missing or of another type."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ShapeError(f"JSON として読めません（{exc}）") from None
    if not isinstance(data, dict):
        raise ShapeError("JSON のオブジェクトではありません")
    count = _count(data, "count")
    total = _optional_count(data, "total_count")
    next_offset = _optional_count(data, "next_offset")
    items = data.get("laws")
    if not isinstance(items, list):
        raise ShapeError("「laws」のリストがありません")
    if len(items) != count:
        raise ShapeError(f"「count」は {count} ですが「laws」は {len(items)} 件です")
    laws: list[ListedLaw] = []
    left_out = 0
    for n, item in enumerate(items):
        info = item.get("law_info") if isinstance(item, dict) else None
        if not isinstance(info, dict) or not isinstance(info.get("law_id"), str) or not isinstance(info.get("law_num"), str):
            raise ShapeError(f"laws[{n}] に law_info.law_id・law_info.law_num の文字列がありません")
        revision = item.get("revision_info")
        if revision is None:  # no version in force today: nothing to title it with
            left_out += 1
            continue
        if not isinstance(revision, dict) or not isinstance(revision.get("law_title"), str):
            raise ShapeError(f"laws[{n}]（法令ID {info['law_id']}）に revision_info.law_title の文字列がありません")
        if not _is_current(revision):
            left_out += 1
            continue
        laws.append(ListedLaw(info["law_id"].strip(), info["law_num"].strip(), revision["law_title"].strip()))
    return Page(laws, count, left_out, total, next_offset)


def parse_v1_list(body: bytes) -> list[ListedLaw]:
    """v1 `lawlists/1` XML → rows; ShapeError when it is not DataRoot/ApplData/LawNameListInfo."""
    from xml.etree import ElementTree as ET

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    def child(el: ET.Element, name: str) -> ET.Element | None:
        return next((c for c in el if local(c.tag) == name), None)

    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ShapeError(f"XML として読めません（{exc}）") from None
    if local(root.tag) != "DataRoot":
        raise ShapeError(f"根の要素が DataRoot ではなく {local(root.tag)} です")
    result = child(root, "Result")
    code = child(result, "Code") if result is not None else None
    if code is not None and (code.text or "").strip() != "0":
        message = child(result, "Message") if result is not None else None
        raise ShapeError(f"Result の Code が {(code.text or '').strip()} です（{(message.text or '').strip() if message is not None else ''}）")
    appl = child(root, "ApplData")
    if appl is None:
        raise ShapeError("DataRoot/ApplData がありません")
    laws = []
    for n, info in enumerate(el for el in appl if local(el.tag) == "LawNameListInfo"):
        values = {}
        for name in ("LawId", "LawName", "LawNo"):
            el = child(info, name)
            if el is None or not (el.text or "").strip():
                raise ShapeError(f"LawNameListInfo[{n}] に {name} がありません")
            values[name] = (el.text or "").strip()
        laws.append(ListedLaw(values["LawId"], values["LawNo"], values["LawName"]))
    return laws


@dataclass(frozen=True)
class Changes:
    """How a new list differs from the current one, each part sorted by 法令ID."""

    added: list[ListedLaw] = field(default_factory=list)
    renamed: list[tuple[ListedLaw, ListedLaw]] = field(default_factory=list)  # (current, new): title or number changed
    dropped: list[ListedLaw] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.added or self.renamed or self.dropped)


def compare(current: Iterable[ListedLaw], new: Iterable[ListedLaw]) -> Changes:
    """Added (new IDs), renamed (same ID, another title or number) and dropped (IDs gone)."""
    old = {law.id: law for law in current}
    fresh = {law.id: law for law in new}
    return Changes(
        added=[fresh[i] for i in sorted(fresh.keys() - old.keys())],
        renamed=[
            (old[i], fresh[i])
            for i in sorted(fresh.keys() & old.keys())
            if (old[i].title, old[i].law_number) != (fresh[i].title, fresh[i].law_number)
        ],
        dropped=[old[i] for i in sorted(old.keys() - fresh.keys())],
    )


def too_small(current: int, new: int) -> bool:
    """Fewer than half the current rows: more likely a broken answer than half of Japan's laws repealed."""
    return current > 0 and new * 2 < current


def kind_counts(laws: Iterable[ListedLaw]) -> dict[str, int]:
    """Rows per kind (法律, 政令, …), most first: the provenance file's summary."""
    return dict(Counter(law.kind for law in laws).most_common())


def render_provenance(facts: Mapping[str, object], writer: str, list_name: str = "egov_laws.csv") -> str:
    """The provenance file (`data/LICENSES/egov-laws.source.yaml`): who wrote it, then the facts in order."""
    header = f"# Written by {writer}: where {list_name} came from.\n"
    return header + yaml.safe_dump(dict(facts), allow_unicode=True, sort_keys=False)


def provenance_path(law_list: Path) -> Path:
    """The provenance file beside the list: `LICENSES/egov-laws.source.yaml` in the list's folder."""
    return law_list.parent / "LICENSES" / PROVENANCE_NAME


# --- I/O: HTTP, the whole list, the update --------------------------------------------------------


def _reason(exc: BaseException, timeout: float) -> str:
    """What went wrong on the wire, in words an editor can act on."""
    import socket
    from urllib.error import HTTPError, URLError

    if isinstance(exc, HTTPError):
        return f"HTTP {exc.code} {exc.reason}".rstrip() + _api_message(exc)
    if isinstance(exc, URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return f"{timeout:g} 秒待っても応答がありません"
    if isinstance(exc, ConnectionRefusedError):
        return "接続を拒否されました"
    if isinstance(exc, socket.gaierror):
        return "ホスト名を引けません。ネットワークにつながっていない可能性があります"
    return str(exc) or type(exc).__name__


def _api_message(exc: Any) -> str:
    """e-Gov's own explanation from an error response (`{"code": …, "message": …}`), when it sent one."""
    try:
        message = json.loads(exc.read(4096)).get("message")
    except (OSError, ValueError, AttributeError):  # any body at all may come back with an error status
        return ""
    return f"「{message}」" if isinstance(message, str) and message else ""


def http_get(url: str, timeout: float = TIMEOUT) -> bytes:
    """One GET with the project's User-Agent; UpdateRefused (naming the URL) on any network or HTTP failure.

    urllib.request is loaded here, not at the top: every `kb` command imports this module through kb.pipeline.
    """
    import gzip
    import urllib.request
    from http.client import HTTPException
    from urllib.error import HTTPError

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body: bytes = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return body
    except HTTPError as exc:
        raise UpdateRefused(f"e-Gov の法令API がエラーを返しました（{url}: {_reason(exc, timeout)}）。{UNCHANGED}") from None
    except (OSError, HTTPException, EOFError) as exc:
        raise UpdateRefused(f"e-Gov の法令API に接続できませんでした（{url}: {_reason(exc, timeout)}）。{UNCHANGED}") from None


def _shape_refusal(url: str, problem: str) -> UpdateRefused:
    return UpdateRefused(f"e-Gov の法令API の応答が想定の形ではありません（{url}: {problem}）。{UNCHANGED}")


@dataclass(frozen=True)
class Fetched:
    """Every current law the API listed, and how it was fetched."""

    laws: list[ListedLaw]
    endpoint: str
    pages: int
    left_out: int = 0  # repealed laws and amending acts the API listed


def fetch_v2(base: str, get: Get, page_size: int = PAGE_SIZE) -> Fetched:
    """Every page of `GET /laws`, one request at a time, following `next_offset` until it is null.

    The pages must add up: each `next_offset` moves forward, and the rows received equal the first
    page's `total_count`, so a list that changed or broke half-way is refused rather than written short.
    """
    laws: list[ListedLaw] = []
    received = left_out = pages = offset = 0
    total: int | None = None
    while True:
        url = v2_page_url(base, offset, page_size)
        try:
            page = parse_v2_page(get(url))
        except ShapeError as exc:
            raise _shape_refusal(url, str(exc)) from None
        pages += 1
        if pages == 1:
            total = page.total
        laws += page.laws
        received += page.count
        left_out += page.left_out
        if page.next_offset is None:
            break
        if page.count == 0 or page.next_offset <= offset or (total is not None and page.next_offset > total):
            raise _shape_refusal(url, f"「next_offset」{page.next_offset} が先へ進みません（offset {offset}、total_count {total}）")
        offset = page.next_offset
    if total is not None and received != total:
        raise _shape_refusal(laws_endpoint(base), f"「total_count」は {total} 件ですが、受け取ったのは {received} 件です")
    return Fetched(laws, laws_endpoint(base), pages, left_out)


def fetch_v1(base: str, get: Get) -> Fetched:
    """v1's whole list in one XML response."""
    url = laws_endpoint(base)
    try:
        return Fetched(parse_v1_list(get(url)), url, 1)
    except ShapeError as exc:
        raise _shape_refusal(url, str(exc)) from None


def fetch_law_list(base: str, get: Get, page_size: int = PAGE_SIZE) -> Fetched:
    """The current laws from whichever API version the base URL names."""
    return fetch_v1(base, get) if api_version(base) == 1 else fetch_v2(base, get, page_size)


@dataclass
class LawListUpdate:
    """What `kb statutes update` fetched, how it differs, and what it wrote."""

    path: Path
    provenance: Path
    fetched: Fetched
    current: int  # rows of the list before the update (0 when there was none)
    changes: Changes
    had_list: bool = True
    dry_run: bool = False
    written: list[Path] = field(default_factory=list)
    too_small: bool = False  # shown on a dry run, refused otherwise
    registry_problems: list[Problem] = field(default_factory=list)  # statutes.yaml against the new list

    def render(self) -> str:
        """The summary and the lists, Japanese, `ID<TAB>法令名` per law so it pastes into a spreadsheet."""
        f, c = self.fetched, self.changes
        new = len(f.laws)
        how = [f"{f.pages} ページ"] if f.pages > 1 else []
        if f.left_out:
            how.append(f"廃止・失効等と一部改正法令の {f.left_out:,} 件は除外")
        lines = [f"e-Gov の法令API（{f.endpoint}）から現行法令 {new:,} 件を取得しました" + (f"（{'。'.join(how)}）" if how else "")]
        where = display_path(self.path)
        if not self.had_list:
            lines.append(f"{where}: 現在の一覧はありません（新しく作ります）")
        else:
            lines.append(
                f"{where}: {self.current:,} 件 → {new:,} 件（追加 {len(c.added):,} 件、"
                f"題名・法令番号の変更 {len(c.renamed):,} 件、削除 {len(c.dropped):,} 件）"
            )
            lines += _listed("追加", c.added)
            if c.renamed:
                lines.append(f"題名・法令番号の変更 {len(c.renamed):,} 件:")
                lines += [f"  {law.id}\t{law.title}\t{_what_changed(old, law)}" for old, law in c.renamed]
            lines += _listed("削除", c.dropped)
            if not c.any:
                lines.append("変更はありません")
        if self.too_small:
            lines.append(f"注意: 現在の一覧（{self.current:,} 件）の半分に満たない件数です。--force なしでは書き込みません")
        if self.registry_problems:
            lines.append(f"注意: 新しい一覧では data/statutes.yaml の {len(self.registry_problems)} 件の項目を直す必要があります（--force なしでは書き込みません）:")
            lines += [f"  {p}" for p in self.registry_problems]
        if self.dry_run:
            lines.append("--dry-run のため、何も書き込んでいません")
        else:
            lines.append("書き込みました: " + "、".join(display_path(p) for p in self.written))
        return "\n".join(lines)


def registry_against(laws: Sequence[ListedLaw]) -> list[Problem]:
    """Problems statutes.yaml would have over `laws`: entries whose law was dropped or renamed."""
    from kb.statutes.registry import parse_registry, registry_path

    path = registry_path()
    if not path.exists():
        return []
    try:
        parse_registry(path.read_text(encoding="utf-8"), path, laws)
    except ProblemError as exc:
        return exc.problems
    return []


def _listed(label: str, laws: Sequence[ListedLaw]) -> list[str]:
    if not laws:
        return []
    return [f"{label} {len(laws):,} 件:"] + [f"  {law.id}\t{law.title}" for law in laws]


def _what_changed(old: ListedLaw, new: ListedLaw) -> str:
    parts = []
    if old.title != new.title:
        parts.append(f"題名: {old.title} → {new.title}")
    if old.law_number != new.law_number:
        parts.append(f"法令番号: {old.law_number} → {new.law_number}")
    return "、".join(parts)


def _current_list(path: Path) -> tuple[list[ListedLaw], bool]:
    """The list as it is (empty and False when there is none); UpdateRefused when it cannot be read."""
    if not path.exists():
        return [], False
    try:
        return read_law_list(path), True
    except ProblemError as exc:
        shown = "\n".join(str(p) for p in exc.problems[:10])
        raise UpdateRefused(
            f"{shown}\n現在の法令一覧が読めないため、比べられません。git で元に戻すか、ファイルを消してからもう一度実行してください。{UNCHANGED}"
        ) from None


def update_law_list(
    api_url: str | None = None,
    *,
    path: Path | None = None,
    provenance: Path | None = None,
    dry_run: bool = False,
    force: bool = False,
    get: Get | None = None,
    timeout: float = TIMEOUT,
    page_size: int = PAGE_SIZE,
    today: dt.date | None = None,
) -> LawListUpdate:
    """Fetch the list, compare it with `path` (default `law_list_path()`), and write both files.

    The CSV is rendered, read back with `parse_law_list` and written atomically only when it changed;
    the provenance file (default: `LICENSES/egov-laws.source.yaml` beside the list) records the
    endpoint, the date, the count and the kinds. UpdateRefused, with nothing written, on any failure.
    """
    base = api_base(api_url)
    target = path or law_list_path()
    source_file = provenance or provenance_path(target)
    current, had_list = _current_list(target)  # a broken list stops us before any request
    fetched = fetch_law_list(base, get or (lambda url: http_get(url, timeout)), page_size)
    if not fetched.laws:
        raise UpdateRefused(f"e-Gov の法令API（{fetched.endpoint}）が現行法令を1件も返しませんでした。{UNCHANGED}")
    text = render_law_list(fetched.laws)
    try:
        laws = parse_law_list(text, target)  # what we write must read back without a problem
    except ProblemError as exc:
        shown = "\n".join(f"  {p.field}: {p.message}" for p in exc.problems[:10])
        more = f"\n  …ほか {len(exc.problems) - 10} 件" if len(exc.problems) > 10 else ""
        raise UpdateRefused(f"取得した法令一覧に問題があります:\n{shown}{more}\n{UNCHANGED}") from None
    result = LawListUpdate(target, source_file, fetched, len(current), compare(current, laws), had_list, dry_run)
    result.too_small = too_small(len(current), len(laws))
    result.registry_problems = registry_against(laws)
    if dry_run:
        return result
    if result.registry_problems and not force:
        shown = "\n".join(f"  {p}" for p in result.registry_problems[:20])
        more = f"\n  …ほか {len(result.registry_problems) - 20} 件" if len(result.registry_problems) > 20 else ""
        raise UpdateRefused(
            f"新しい一覧では data/statutes.yaml の項目が合わなくなります（法令IDの削除・題名の変更）:\n{shown}{more}\n"
            f"statutes.yaml を直してから、または --force で一覧を書き込んでから同じ変更で直してください。{UNCHANGED}"
        )
    if result.too_small and not force:
        raise UpdateRefused(
            f"取得した現行法令は {len(laws):,} 件で、現在の一覧（{len(current):,} 件）の半分に満たないため書き込みません。"
            f"e-Gov の応答が欠けている可能性があります。確かめたうえで書き込むなら --force を付けてください。{UNCHANGED}"
        )
    if not had_list or target.read_text(encoding="utf-8") != text:
        write_atomic(target, text)
        result.written.append(target)
    facts: dict[str, object] = {
        "name": SOURCE_NAME,
        "api": fetched.endpoint,
        "license": SOURCE_LICENSE,
        "retrieved": (today or dt.date.today()).isoformat(),
        "count": len(laws),
        "left_out": fetched.left_out,
        "kinds": kind_counts(laws),
    }
    write_atomic(source_file, render_provenance(facts, "kb statutes update", target.name))
    result.written.append(source_file)
    return result
