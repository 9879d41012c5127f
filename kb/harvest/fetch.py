"""The polite HTTP client: one request at a time, a delay between them, robots.txt, retries, limits.

Every GET is conditional when the cache holds the URL (If-None-Match / If-Modified-Since), so a
re-run costs the site one small 304 per unchanged page or file. Redirects are followed by hand,
only on the same host (and robots.txt asked again for the new path). Timeouts, connection
errors and 5xx are retried with exponential backoff; 4xx are not. A body over its size limit is
abandoned while streaming. The delay counts from the end of the previous request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from kb.harvest.cache import Cache, Entry

USER_AGENT = "bunken-kb-harvest/0.1 (+https://github.com/bunken-kb/bunken-kb; docs/harvest.md)"
MIN_DELAY = 1.0  # seconds between requests to a real host (docs/harvest.md: politeness)
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
MAX_REDIRECTS = 5


class FetchError(Exception):
    """A URL could not be fetched; the message says why, in Japanese."""


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK


@dataclass
class Settings:
    delay: float = MIN_DELAY
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 2.0  # first retry waits this long, then twice as long each time
    max_page_bytes: int = 5 << 20
    max_file_bytes: int = 100 << 20
    user_agent: str = USER_AGENT


@dataclass
class Result:
    """One fetched URL: its body (from the network or the cache) and what happened."""

    url: str
    body: bytes
    entry: Entry
    changed: bool  # a new or different body was downloaded (False: 304 or cached)


@dataclass
class Counts:
    requests: int = 0
    not_modified: int = 0
    downloaded: int = 0
    retried: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class Fetcher:
    """GETs on one host, politely, through the cache."""

    def __init__(
        self,
        host_url: str,
        cache: Cache,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        today: Callable[[], dt.date] = dt.date.today,
    ):
        if settings.delay < MIN_DELAY and not is_loopback(host_url):
            raise ValueError(f"待ち時間は {MIN_DELAY} 秒以上にしてください（127.0.0.1・localhost だけは 0 にできます）")
        parts = urlsplit(host_url)
        self.scheme, self.host = parts.scheme, parts.netloc
        self.cache = cache
        self.settings = settings
        self.sleep = sleep
        self.today = today
        self.counts = Counts()
        self._last: float | None = None
        self._robots: urllib.robotparser.RobotFileParser | None = None
        self.client = httpx.Client(
            timeout=settings.timeout,
            follow_redirects=False,
            headers={"User-Agent": settings.user_agent},
            verify=self.scheme == "https",  # plain http never uses TLS (the host is fixed): skip loading the CA bundle
        )

    def close(self) -> None:
        self.client.close()

    def on_host(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and parts.netloc == self.host

    # -- politeness ---------------------------------------------------------------------------

    def _wait(self) -> None:
        if self._last is not None:
            left = self._delay() - (time.monotonic() - self._last)
            if left > 0:
                self.sleep(left)

    def _delay(self) -> float:
        crawl_delay = self._robots.crawl_delay(self.settings.user_agent) if self._robots else None
        return max(self.settings.delay, float(crawl_delay or 0))

    def robots(self) -> urllib.robotparser.RobotFileParser:
        """The host's robots.txt (fetched once per run; absent or 4xx: everything allowed, as RFC 9309 says)."""
        if self._robots is None:
            parser = urllib.robotparser.RobotFileParser()
            url = f"{self.scheme}://{self.host}/robots.txt"
            try:
                result = self._get(url, limit=self.settings.max_page_bytes, check_robots=False)
                parser.parse(result.body.decode("utf-8", "replace").splitlines())
            except FetchError as exc:
                # 4xx: no rules, everything allowed; unreachable or 5xx: nothing (RFC 9309 2.3.1.3, 2.3.1.4)
                parser.parse([] if "HTTP 4" in str(exc) else ["User-agent: *", "Disallow: /"])
            self._robots = parser
        return self._robots

    def allowed(self, url: str) -> bool:
        return self.robots().can_fetch(self.settings.user_agent, url)

    # -- GET ----------------------------------------------------------------------------------

    def get(self, url: str, *, limit: int) -> Result:
        """The URL's body, from a conditional GET through the cache. FetchError on any failure."""
        return self._get(url, limit=limit, check_robots=True)

    def _get(self, url: str, *, limit: int, check_robots: bool) -> Result:
        for _ in range(MAX_REDIRECTS + 1):
            if not self.on_host(url):
                raise FetchError(f"{url}: 公式サイトのホスト（{self.host}）の外には行きません")
            if check_robots and not self.allowed(url):
                raise FetchError(f"{url}: robots.txt で禁止されています")
            outcome = self._attempts(url, limit)
            if isinstance(outcome, Result):
                return outcome
            url = outcome  # a redirect on the host
        raise FetchError(f"{url}: リダイレクトが多すぎます")

    def _attempts(self, url: str, limit: int) -> Result | str:
        """One GET, retried on timeouts, connection errors and 5xx; a Result or the URL redirected to."""
        cached = self.cache.get(url)
        headers = {}
        if cached and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        reason = ""
        for attempt in range(self.settings.retries + 1):
            if attempt:
                self.counts.retried += 1
                self.sleep(self.settings.backoff * 2 ** (attempt - 1))
            self._wait()
            self.counts.requests += 1
            try:
                with self.client.stream("GET", url, headers=headers) as response:
                    status = response.status_code
                    self.counts.statuses[status] = self.counts.statuses.get(status, 0) + 1
                    if status >= 500:
                        reason = f"HTTP {status}"
                        continue
                    if status in (301, 302, 303, 307, 308) and "location" in response.headers:
                        return urljoin(url, response.headers["location"])
                    if status == 304 and cached:
                        self.counts.not_modified += 1
                        return Result(url, self.cache.body(url), cached, changed=False)
                    if status != 200:
                        raise FetchError(f"{url}: HTTP {status}")
                    data = self._read(response, url, limit)
                    entry = Entry(
                        url=url,
                        sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data),
                        retrieved=self.today().isoformat(),
                        etag=response.headers.get("etag"),
                        last_modified=response.headers.get("last-modified"),
                        content_type=response.headers.get("content-type"),
                        imported=cached.imported if cached else None,
                    )
                    self.counts.downloaded += 1
                    self.cache.put(entry, data)
                    return Result(url, data, entry, changed=cached is None or cached.sha256 != entry.sha256)
            except httpx.TimeoutException:
                reason = f"{self.settings.timeout:g} 秒で応答がありません（タイムアウト）"
            except httpx.TransportError as exc:
                reason = f"接続できません（{type(exc).__name__}）"
            finally:
                self._last = time.monotonic()
        raise FetchError(f"{url}: {reason}（{self.settings.retries + 1} 回試しました）")

    def _read(self, response: httpx.Response, url: str, limit: int) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"{url}: 大きすぎます（{int(declared):,} バイト、上限 {limit:,} バイト）")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise FetchError(f"{url}: 大きすぎます（上限 {limit:,} バイトを超えました）")
            chunks.append(chunk)
        return b"".join(chunks)
