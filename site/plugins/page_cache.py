"""Page cache for the immutable database (issue #16): repeat views answered from memory, and
`Cache-Control`/`ETag` on every cacheable page so that a CDN or reverse proxy can keep them too.

The database is opened immutable and only changes when `kb build` puts a new file in place, so
a page depends only on its URL and on the database file. Through Datasette's `asgi_wrapper`
hook this keeps, per server process, a bounded LRU of complete 200 answers to anonymous GETs:

- key: scheme, Host, root path, raw path and query string (Datasette writes absolute URLs
  from the Host header into `Link` headers and JSON), under the identity of every database
  file (device, inode, size, mtime in ns — `os.stat` per request, ~1 µs). A new file put in
  place by `kb build` (always a rename: a new inode) empties the cache; `kb serve` itself
  builds only before it starts, and Datasette keeps its open connections to the old file,
  so after a rebuild the server is restarted (docs/deploy.md).
- only GET and HEAD without `Cookie` or `Authorization`, not Datasette's live `/-/` pages
  (static files excepted); only status 200 without
  `Set-Cookie`; not a streamed answer (no content-length and more than one body message:
  CSV `_stream=on`) nor one over `max_entry_kb`; not a table page whose facets timed out
  (a moment of load must not be frozen into the cache). HEAD is answered from a stored GET;
  a HEAD that misses goes to Datasette and is not stored.
- bounded in entries and in bytes (body, headers and key); least recently used go first.
- `ETag` (weak) is a hash of the URL key, the data and the code: the rows of `build_info` (the
  build's fingerprint of the kb code and data files) and `build_files` (a content hash per
  proposal file), read once per database file, and Datasette's version, settings, metadata
  and the files of the templates, plugins, static folders and kb package, read once per
  process. Bodies are not hashed: every page prints its own query time (処理時間), so no two
  renders are byte-equal, while pages from the same data and code are the same page. Replicas
  of the same database and image give the same tag, so a proxy can revalidate against any of
  them; a matching `If-None-Match` gets a 304 at once, without rendering, even when the page
  is not in memory. `Cache-Control: public, max-age=…` is short for pages and JSON
  (`max_age`), longer for static files (`static_max_age`). Datasette's `Vary: Cookie,
  Authorization` stays, so a proxy does not give a stored page to a signed-in visitor.
- `x-kb-cache: hit | miss | revalidated | bypass` says what happened (tests and benchmarks
  read it); `revalidated` is a 304 answered from the ETag alone.

Order with site/plugins/hardening.py: this wrapper is `tryfirst`, so pluggy returns it before
hardening's and Datasette applies it first — it sits inside. Hardening's parameter check runs
before a lookup and its security headers (CSP…) are added to every answer, hits and 304s
included, exactly as to a fresh page; the cache never stores them.

Configuration: `plugins: kb-page-cache:` in site/metadata.yml (DEFAULTS below; `enabled:
false` turns it off). `kb serve --workers N` runs N processes, each with its own cache (a
first view per process misses): the bounds are per process.
"""

# No `from __future__ import annotations` here: Datasette loads plugins outside sys.modules.
import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from datasette import __version__ as datasette_version
from datasette import hookimpl
from datasette.app import Datasette

import kb.core
from kb.db.schema import FILES_TABLE, INFO_TABLE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
Key = tuple[str, bytes, str, bytes, bytes]
Identity = tuple[tuple[str, int, int, int, int], ...]

PLUGIN = "kb-page-cache"
DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "max_entries": 2000,
    "max_mb": 64,  # whole cache, per process
    "max_entry_kb": 2048,  # a proposal page is ~30–60 kB, the proposals table ~200 kB
    "max_age": 60,  # seconds a proxy may reuse a page or JSON without asking (then it revalidates by ETag)
    "static_max_age": 3600,  # CSS, JS, favicon
}
STATIC_PREFIXES = ("/-/static/", "/-/static-plugins/", "/static/", "/favicon.ico")
# Datasette's introspection pages (/-/threads, /-/actor.json …) report the live process: never stored.
LIVE_PREFIX = "/-/"
ENTRY_OVERHEAD = 256  # bytes counted per entry besides body, headers and key (the objects themselves)
# Headers this cache sets itself on a stored answer (Datasette sets its own Cache-Control; static files a length).
OWN_HEADERS = frozenset({b"cache-control", b"etag", b"x-kb-cache", b"content-length"})
KB_PACKAGE = Path(kb.core.__file__).resolve().parents[1]
# What the database was built from (kb.db.filestate): the fingerprint of code and data files, a hash per file.
DATA_VERSION_SQL = (
    f"select 'info', key, value from [{INFO_TABLE}] union all "
    f"select 'file', proposal_id, digest from [{FILES_TABLE}] order by 1, 2, 3"
)
VARY = (b"vary", b"Cookie, Authorization")  # as Datasette sends on its pages
# Datasette's table.html writes this when a facet passed facet_time_limit_ms.
TIMED_OUT_MARK = b'class="facets-timed-out"'


@dataclass(frozen=True)
class CacheConfig:
    enabled: bool
    max_entries: int
    max_bytes: int
    max_entry_bytes: int
    max_age: int
    static_max_age: int


def cache_config(plugin_config: Optional[Mapping[str, Any]]) -> CacheConfig:
    """The settings of `plugins: kb-page-cache:` over DEFAULTS; unknown keys are an error (a typo would be silent)."""
    given = dict(plugin_config or {})
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"{PLUGIN}: unknown settings {unknown}; known: {sorted(DEFAULTS)}")
    values = {**DEFAULTS, **given}
    return CacheConfig(
        enabled=bool(values["enabled"]),
        max_entries=int(values["max_entries"]),
        max_bytes=int(float(values["max_mb"]) * 1024 * 1024),
        max_entry_bytes=int(float(values["max_entry_kb"]) * 1024),
        max_age=int(values["max_age"]),
        static_max_age=int(values["static_max_age"]),
    )


@dataclass(frozen=True)
class Entry:
    headers: Headers  # as Datasette sent them, with our Cache-Control and ETag
    body: bytes
    etag: bytes
    size: int


class LruStore:
    """Entries by key, least recently used evicted first, bounded in count and in bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.entries: OrderedDict[Key, Entry] = OrderedDict()
        self.bytes = 0

    def get(self, key: Key) -> Optional[Entry]:
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return entry

    def put(self, key: Key, entry: Entry) -> bool:
        """Store an entry (False when it alone passes the byte bound), evicting the oldest to fit."""
        if entry.size > self.max_bytes or self.max_entries <= 0:
            return False
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        self.entries[key] = entry
        self.bytes += entry.size
        while len(self.entries) > self.max_entries or self.bytes > self.max_bytes:
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= evicted.size
        return True

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0


def request_key(scope: Scope) -> Key:
    """What the answer depends on besides the database: scheme, Host, root path, raw path, query string."""
    host = b""
    for name, value in scope.get("headers") or ():
        if name == b"host":
            host = value
            break
    raw_path = scope.get("raw_path") or str(scope.get("path", "")).encode("utf-8")
    scheme, root = str(scope.get("scheme", "http")), str(scope.get("root_path", ""))
    return (scheme, host, root, raw_path, scope.get("query_string", b""))


def is_cacheable_request(scope: Scope) -> bool:
    """GET or HEAD of a page (not a live /-/ one) without cookies or credentials (the answer could be theirs alone)."""
    if scope.get("method") not in ("GET", "HEAD"):
        return False
    path = str(scope.get("path", ""))
    if path.startswith(LIVE_PREFIX) and not path.startswith(STATIC_PREFIXES):
        return False
    return not any(name in (b"cookie", b"authorization") for name, _ in scope.get("headers") or ())


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> Optional[bytes]:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def is_cacheable_answer(status: int, headers: Headers) -> bool:
    return status == 200 and header(headers, b"set-cookie") is None


def cache_control(path: str, config: CacheConfig) -> bytes:
    max_age = config.static_max_age if path.startswith(STATIC_PREFIXES) else config.max_age
    return f"public, max-age={max_age}".encode("ascii")


def etag_of(version: bytes, key: Key) -> bytes:
    """A weak validator: the same URL on the same data and code is the same page, on every replica."""
    h = hashlib.blake2b(version, digest_size=16)
    for part in key:
        h.update(b"\0" + (part if isinstance(part, bytes) else part.encode("utf-8")))
    return b'W/"' + h.hexdigest().encode("ascii") + b'"'


def site_version(datasette: Datasette) -> bytes:
    """What pages are made with besides the data: Datasette's version, settings and metadata, and the files
    of the templates, plugins, static folders and the kb package (read once per process)."""
    h = hashlib.blake2b(datasette_version.encode("utf-8"), digest_size=16)
    h.update(json.dumps([datasette.settings_dict(), datasette.metadata()], sort_keys=True, default=str).encode())
    folders = [datasette.template_dir, datasette.plugins_dir, *(folder for _, folder in datasette.static_mounts)]
    for folder in [*(Path(f) for f in folders if f), KB_PACKAGE]:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(folder)).encode("utf-8") + b"\0" + path.read_bytes())
    return h.digest()


async def data_version(datasette: Datasette, identity: "Identity") -> bytes:
    """What every database was built from (DATA_VERSION_SQL); a database without those tables by its file."""
    h = hashlib.blake2b(digest_size=16)
    files = {entry[0]: entry for entry in identity}
    for name, database in datasette.databases.items():
        if name not in files:
            continue
        try:
            rows = (await database.execute(DATA_VERSION_SQL, log_sql_errors=False)).rows
        except Exception:  # not built by kb build: this file alone (no equality across copies)
            h.update(repr(files[name]).encode("utf-8"))
            continue
        h.update(name.encode("utf-8") + b"\0")
        for row in rows:
            h.update("\0".join(str(value) for value in row).encode("utf-8") + b"\n")
    return h.digest()


def matches_if_none_match(value: Optional[bytes], etag: bytes) -> bool:
    """RFC 9110 weak comparison of `If-None-Match` with our tag (`*` matches any)."""
    if value is None:
        return False
    wanted = etag.removeprefix(b"W/")
    for candidate in value.split(b","):
        candidate = candidate.strip()
        if candidate == b"*" or candidate.removeprefix(b"W/") == wanted:
            return True
    return False


def stored_headers(headers: Headers, length: int, etag: bytes, control: bytes) -> Headers:
    """Datasette's headers with ours; a content-length, which HEAD answers and proxies use."""
    kept = [(k, v) for k, v in headers if k.lower() not in OWN_HEADERS]
    return [*kept, (b"content-length", str(length).encode("ascii")), (b"cache-control", control), (b"etag", etag)]


def not_modified(etag: bytes, control: bytes) -> Headers:
    """Headers of a 304 answered from the tag alone (RFC 9110 15.4.5)."""
    return [(b"cache-control", control), (b"etag", etag), VARY]


def not_modified_headers(headers: Headers) -> Headers:
    """Headers a 304 repeats (RFC 9110 15.4.5): the validators and caching headers, no body length or type."""
    keep = (b"cache-control", b"etag", b"vary", b"expires", b"content-location", b"date")
    return [(k, v) for k, v in headers if k.lower() in keep]


def database_identity(datasette: Datasette) -> Optional[Identity]:
    """Device, inode, size and mtime of every database file served; None when one cannot be read."""
    found = []
    for name, database in datasette.databases.items():
        if database.is_memory or not database.path:
            continue
        try:
            st = os.stat(database.path)
        except OSError:
            return None
        found.append((name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(found)


class PageCache:
    """The ASGI middleware: answer from the store, or let Datasette answer and keep a copy."""

    def __init__(
        self,
        app: ASGIApp,
        config: CacheConfig,
        identity: Callable[[], Optional[Identity]],
        version: Callable[[Identity], Awaitable[bytes]],
    ) -> None:
        self.app = app
        self.config = config
        self.identity = identity
        self.version_of = version
        self.store = LruStore(config.max_entries, config.max_bytes)
        self.stored_identity: Optional[Identity] = None
        self.version = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        identity = self.identity() if is_cacheable_request(scope) else None
        if identity is None:
            await self.app(scope, receive, _marking(send, b"bypass"))
            return
        if identity != self.stored_identity:
            self.store.clear()  # a new database file: no page of the old one may be served
            version = await self.version_of(identity)
            self.store.clear()  # … nor one stored while the version was read
            self.version, self.stored_identity = version, identity
        key = request_key(scope)
        entry = self.store.get(key)
        if_none_match = header(scope.get("headers") or (), b"if-none-match")
        if entry is not None:
            await _answer(send, entry, scope["method"] == "HEAD", if_none_match, b"hit")
            return
        path = str(scope.get("path", ""))
        etag = etag_of(self.version, key)
        if matches_if_none_match(if_none_match, etag):
            await send({"type": "http.response.start", "status": 304, "headers": [
                *not_modified(etag, cache_control(path, self.config)), (b"x-kb-cache", b"revalidated")]})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["method"] == "HEAD":
            await self.app(scope, receive, _marking(send, b"miss"))
            return
        await self.app(scope, receive, Recorder(self, key, path, etag, send).send)


def _marking(send: Send, state: bytes) -> Send:
    async def marked(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"x-kb-cache", state)]}
        await send(message)

    return marked


async def _answer(send: Send, entry: Entry, head: bool, if_none_match: Optional[bytes], state: bytes) -> None:
    if matches_if_none_match(if_none_match, entry.etag):
        headers = [*not_modified_headers(entry.headers), (b"x-kb-cache", state)]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [*entry.headers, (b"x-kb-cache", state)]})
    await send({"type": "http.response.body", "body": b"" if head else entry.body})


class Recorder:
    """The `send` given to Datasette on a miss: holds a 200 answer until its body is complete.

    Holding is bounded: an answer with a content-length over max_entry_bytes, or streamed
    without a content-length, is passed on as it comes and not stored.
    """

    def __init__(self, cache: PageCache, key: Key, path: str, etag: bytes, send: Send) -> None:
        self.cache = cache
        self.key = key
        self.path = path
        self.etag = etag
        self.downstream = send
        self.start: Optional[Message] = None
        self.chunks: list[bytes] = []
        self.held = 0
        self.sized = False  # the answer said its length (a file), so its chunks are held until complete
        self.passing = False

    async def send(self, message: Message) -> None:
        if self.passing:
            await self.downstream(message)
        elif message["type"] == "http.response.start":
            headers: Headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            length = header(headers, b"content-length")
            too_big = length is not None and (not length.isdigit() or int(length) > self.cache.config.max_entry_bytes)
            if not is_cacheable_answer(message["status"], headers) or too_big:
                await self._pass(message)
            else:
                self.start = {**message, "headers": headers}
                self.sized = length is not None
        elif message["type"] == "http.response.body" and self.start is not None:
            body = bytes(message.get("body", b""))
            self.chunks.append(body)
            self.held += len(body)
            if not message.get("more_body", False):
                await self._complete()
            elif self.held > self.cache.config.max_entry_bytes or not self.sized:
                await self._pass(None)  # streamed, or longer than it said: not stored
        else:
            await self.downstream(message)

    async def _pass(self, message: Optional[Message]) -> None:
        """Give up storing: send what is held (marked as a miss), then everything as it comes."""
        self.passing = True
        if self.start is not None:
            await _marking(self.downstream, b"miss")(self.start)
            for chunk in self.chunks:
                await self.downstream({"type": "http.response.body", "body": chunk, "more_body": True})
            self.chunks = []
        if message is not None:
            await _marking(self.downstream, b"miss")(message)

    async def _complete(self) -> None:
        assert self.start is not None
        body = b"".join(self.chunks)
        self.chunks = []
        config = self.cache.config
        if len(body) > config.max_entry_bytes or TIMED_OUT_MARK in body:
            await _marking(self.downstream, b"miss")(self.start)
            await self.downstream({"type": "http.response.body", "body": body})
            return
        headers = stored_headers(self.start["headers"], len(body), self.etag, cache_control(self.path, config))
        size = len(body) + sum(len(k) + len(v) for k, v in headers) + sum(map(len, self.key)) + ENTRY_OVERHEAD
        entry = Entry(headers=headers, body=body, etag=self.etag, size=size)
        self.cache.store.put(self.key, entry)
        await _answer(self.downstream, entry, False, None, b"miss")


@hookimpl(tryfirst=True)
def asgi_wrapper(datasette: Datasette) -> Callable[[ASGIApp], ASGIApp]:
    """`tryfirst`: applied before hardening's wrapper, so the cache sits inside it (see the module's docstring)."""
    config = cache_config(datasette.plugin_config(PLUGIN))
    code: list[bytes] = []  # site_version, read on the first request rather than at start-up

    async def version(identity: Identity) -> bytes:
        if not code:
            code.append(site_version(datasette))
        return code[0] + await data_version(datasette, identity)

    def wrap(app: ASGIApp) -> ASGIApp:
        if not config.enabled:
            return app
        return PageCache(app, config, lambda: database_identity(datasette), version)

    return wrap
