"""The page cache (site/plugins/page_cache.py) on the real site: hits, bypasses, bounds, ETag/304, rebuilds.

A counting ASGI wrapper is registered below the cache (a `tryfirst` hook registered after the
site's plugins is applied before them, so it sits inside): it counts the requests that reach
Datasette, so a hit is proved by Datasette not being asked, not only by the cache's own header.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from datasette import hookimpl
from datasette.plugins import pm
from served_site import CORPUS

from kb.pipeline import build
from kb.serve import SITE, make_datasette

KB = Path(sys.executable).parent / "kb"
PAGE = "/kb/proposals/2023-0001"
OTHER_PAGES = ["/kb/proposals/2023-0002", "/kb/proposals/2023-0004", "/kb/proposals"]
SECURITY = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")

ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


class Counter:
    """A plugin object whose asgi_wrapper counts requests per path that reach Datasette."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.__name__ = f"kb_test_counter_{id(self)}"  # Datasette lists plugins by module name

    @hookimpl(tryfirst=True)
    def asgi_wrapper(self, datasette: Any) -> Callable[[ASGIApp], ASGIApp]:
        def wrap(app: ASGIApp) -> ASGIApp:
            async def counted(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
                if scope["type"] == "http":
                    self.paths.append(scope["path"])
                await app(scope, receive, send)

            return counted

        return wrap

    def count(self, path: str) -> int:
        return self.paths.count(path)


class Site:
    """The real site's ASGI app (every plugin, with the counter under the cache) and a client for it."""

    def __init__(self, db: Path, page_cache: bool | dict[str, Any] | None = None, public: bool = False) -> None:
        self.ds = make_datasette(db, public=public, page_cache=page_cache)  # registers site/plugins first
        self.counter = Counter()
        pm.register(self.counter, name=self.counter.__name__)
        try:
            self.app = self.ds.app()
        finally:
            pm.unregister(self.counter)
        self.loop = asyncio.new_event_loop()

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
                return await client.request(method, path, headers=headers)

        return self.loop.run_until_complete(go())

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", path, headers)

    def close(self) -> None:
        for database in self.ds.databases.values():  # the site caps SQLite's heap for the whole process
            database.close()
        self.loop.close()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page-cache") / "kb.db"
    build(path, [CORPUS])
    return path


@pytest.fixture
def site(db: Path) -> Iterator[Site]:
    served = Site(db)
    yield served
    served.close()


@pytest.fixture(scope="module")
def module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kb_test_page_cache", SITE / "plugins" / "page_cache.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def test_second_view_of_a_page_is_answered_without_asking_datasette(site: Site) -> None:
    first, second = site.get(PAGE), site.get(PAGE)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.headers["x-kb-cache"], second.headers["x-kb-cache"]) == ("miss", "hit")
    assert site.counter.count(PAGE) == 1
    assert second.content == first.content and "2023-0001" in second.text
    assert second.headers["content-type"] == first.headers["content-type"]


def test_security_headers_of_a_hit_are_those_of_a_fresh_page(site: Site) -> None:
    fresh, hit = site.get(PAGE), site.get(PAGE)
    assert hit.headers["x-kb-cache"] == "hit"
    for name in SECURITY:
        assert hit.headers.get(name) == fresh.headers.get(name) and hit.headers.get(name)
    assert hit.headers.get_list("content-security-policy") == fresh.headers.get_list("content-security-policy")


def test_cacheable_pages_carry_cache_control_and_etag_for_a_proxy(site: Site) -> None:
    page, css = site.get("/search?q=%E5%85%90%E7%AB%A5"), site.get("/static/site.css")
    assert page.headers["cache-control"] == "public, max-age=60"
    assert css.headers["cache-control"] == "public, max-age=3600"
    assert page.headers["etag"].startswith('W/"') and page.headers["etag"] != css.headers["etag"]
    assert "Cookie" in page.headers["vary"]  # a proxy keeps anonymous pages apart from signed-in ones


def test_requests_with_cookies_or_credentials_are_never_answered_from_the_cache(site: Site) -> None:
    site.get(PAGE)
    for headers in ({"cookie": "ds_actor=x"}, {"authorization": "Bearer x"}):
        response = site.get(PAGE, headers)
        assert response.status_code == 200 and response.headers["x-kb-cache"] == "bypass"
        assert response.headers.get("cache-control") != "public, max-age=60"
    assert site.counter.count(PAGE) == 3


def test_errors_are_not_cached(site: Site) -> None:
    for path in ["/kb/no_such_table", "/kb/proposals?_sort=no_such_column"]:
        first, second = site.get(path), site.get(path)
        assert first.status_code in (400, 404) and second.status_code == first.status_code
        assert second.headers["x-kb-cache"] == "miss" and "etag" not in second.headers
        assert site.counter.count(path.split("?")[0]) >= 2


def test_live_datasette_pages_are_not_cached(site: Site) -> None:
    site.get("/-/versions.json")
    assert site.get("/-/versions.json").headers["x-kb-cache"] == "bypass"


def test_query_string_is_part_of_the_key(site: Site) -> None:
    site.get("/search?q=%E5%85%90%E7%AB%A5")
    other = site.get("/search?q=%E8%BE%B2%E5%9C%B0")
    assert other.headers["x-kb-cache"] == "miss"
    assert site.counter.count("/search") == 2


def test_if_none_match_gets_304_from_memory_and_from_the_tag_alone(db: Path) -> None:
    site = Site(db)
    try:
        etag = site.get(PAGE).headers["etag"]  # warms the cache
        hit = site.get(PAGE, {"if-none-match": f'"other", {etag}'})
        assert hit.status_code == 304 and hit.content == b"" and hit.headers["etag"] == etag
        assert hit.headers["x-kb-cache"] == "hit" and hit.headers["cache-control"] == "public, max-age=60"
        assert all(hit.headers.get(name) for name in SECURITY)
        assert site.get(PAGE, {"if-none-match": '"stale"'}).status_code == 200
    finally:
        site.close()
    replica = Site(db)  # another process or replica: nothing in memory, same data and code
    try:
        revalidated = replica.get(PAGE, {"if-none-match": etag})
        assert (revalidated.status_code, revalidated.headers["x-kb-cache"], revalidated.content) == (304, "revalidated", b"")
        assert revalidated.headers["etag"] == etag and "Cookie" in revalidated.headers["vary"]
        assert all(revalidated.headers.get(name) for name in SECURITY)
        assert replica.counter.count(PAGE) == 0  # answered without rendering
        assert replica.get(PAGE).headers["etag"] == etag
    finally:
        replica.close()


def test_etag_differs_between_pages(site: Site) -> None:
    tags = {site.get(path).headers["etag"] for path in [PAGE, *OTHER_PAGES, "/search?q=%E5%85%90%E7%AB%A5"]}
    assert len(tags) == 5


def test_head_is_answered_from_a_stored_get_with_its_length(site: Site) -> None:
    miss = site.request("HEAD", PAGE)
    assert miss.status_code == 200 and miss.headers["x-kb-cache"] == "miss" and miss.content == b""
    body = site.get(PAGE).content
    head = site.request("HEAD", PAGE)
    assert head.status_code == 200 and head.headers["x-kb-cache"] == "hit" and head.content == b""
    assert head.headers["content-length"] == str(len(body))
    assert site.counter.count(PAGE) == 2  # the first HEAD and the GET


def test_entry_bound_evicts_the_least_recently_used_page(db: Path) -> None:
    site = Site(db, page_cache={"max_entries": 2})
    try:
        site.get(PAGE)
        site.get(OTHER_PAGES[0])
        site.get(PAGE)  # now the most recent
        site.get(OTHER_PAGES[1])  # evicts OTHER_PAGES[0]
        assert site.get(PAGE).headers["x-kb-cache"] == "hit"
        assert site.get(OTHER_PAGES[0]).headers["x-kb-cache"] == "miss"
    finally:
        site.close()


def test_byte_bound_holds_and_bigger_answers_are_served_but_not_kept(db: Path) -> None:
    site = Site(db)
    try:
        sizes = {path: len(site.get(path).content) for path in [PAGE, *OTHER_PAGES]}
    finally:
        site.close()
    small = max(sizes[PAGE], sizes[OTHER_PAGES[0]], sizes[OTHER_PAGES[1]])
    assert sizes["/kb/proposals"] > 2 * small  # the table page is the big one
    budget_kb = (2.5 * small + 3000) / 1024  # room for two proposal pages with their headers, not three
    site = Site(db, page_cache={"max_mb": budget_kb / 1024, "max_entry_kb": (small + 1) / 1024 + 1})
    try:
        for path in [PAGE, *OTHER_PAGES[:2]]:
            site.get(path)
        assert [site.get(path).headers["x-kb-cache"] for path in [OTHER_PAGES[1], OTHER_PAGES[0]]] == ["hit", "hit"]
        assert site.get(PAGE).headers["x-kb-cache"] == "miss"  # pushed out by the bytes of the other two
        big = [site.get("/kb/proposals") for _ in range(2)]
        assert [r.status_code for r in big] == [200, 200] and "2023-0001" in big[1].text
        assert big[1].headers["x-kb-cache"] == "miss" and site.counter.count("/kb/proposals") == 2
    finally:
        site.close()


def test_store_never_passes_its_bounds(module: ModuleType) -> None:
    store = module.LruStore(max_entries=5, max_bytes=10_000)
    for n in range(200):
        size = 500 + (n * 7919) % 3000
        entry = module.Entry(headers=[], body=b"x" * size, etag=b'"e"', size=size)
        assert store.put(("http", b"h", "", f"/p/{n}".encode(), b""), entry)
        assert len(store.entries) <= 5 and store.bytes <= 10_000
        assert store.bytes == sum(e.size for e in store.entries.values())
    assert not store.put(("http", b"h", "", b"/huge", b""), module.Entry(headers=[], body=b"", etag=b"", size=10_001))


def test_if_none_match_comparison_follows_rfc_9110(module: ModuleType) -> None:
    tag = b'"abc"'
    assert module.matches_if_none_match(b'"abc"', tag)
    assert module.matches_if_none_match(b'W/"abc"', tag)
    assert module.matches_if_none_match(b'"x", "abc"', tag)
    assert module.matches_if_none_match(b"*", tag)
    assert not module.matches_if_none_match(b'"abcd"', tag)
    assert not module.matches_if_none_match(None, tag)


def test_unknown_setting_is_refused(module: ModuleType) -> None:
    with pytest.raises(ValueError, match="max_entires"):
        module.cache_config({"max_entires": 10})


def test_turned_off_the_site_answers_without_cache_headers(db: Path) -> None:
    site = Site(db, page_cache=False)
    try:
        responses = [site.get(PAGE) for _ in range(2)]
        assert all(r.status_code == 200 and "x-kb-cache" not in r.headers and "etag" not in r.headers for r in responses)
        assert site.counter.count(PAGE) == 2
    finally:
        site.close()


def test_rebuilt_database_is_never_answered_with_pages_of_the_old_one(tmp_path: Path) -> None:
    corpus = tmp_path / "proposals"
    shutil.copytree(CORPUS, corpus)
    db = tmp_path / "kb.db"
    build(db, [corpus])
    site = Site(db)
    try:
        site.get(PAGE)
        etag = site.get(PAGE).headers["etag"]
        assert site.get(PAGE).headers["x-kb-cache"] == "hit"
        (corpus / "2023" / "0002.md").unlink()
        # `kb build` in its own process, as beside a running server: a new file renamed into place
        subprocess.run([str(KB), "build", "--db", str(db), str(corpus)], check=True, capture_output=True, timeout=120)
        after = site.get(PAGE)
        assert after.status_code == 200 and after.headers["x-kb-cache"] == "miss"
        assert site.counter.count(PAGE) == 2
        db.rename(tmp_path / "moved.db")  # a database that cannot be found: nothing is answered from memory
        assert site.get(PAGE).headers["x-kb-cache"] == "bypass"
        (tmp_path / "moved.db").rename(db)
    finally:
        site.close()
    restarted = Site(db)  # the server restarted on the new file, as docs/deploy.md asks
    try:
        page = restarted.get(PAGE, {"if-none-match": etag})
        assert page.status_code == 200 and page.headers["etag"] != etag  # a proxy's old copy is not confirmed
        assert restarted.get(OTHER_PAGES[0]).status_code == 404  # 2023-0002 is gone from the new database
    finally:
        restarted.close()


def test_public_mode_caches_pages_and_not_refused_sql(db: Path) -> None:
    site = Site(db, public=True)
    try:
        path = "/kb?sql=select+1"
        assert [site.get(path).status_code for _ in range(2)] == [403, 403]
        assert site.counter.count("/kb") == 2
        first = site.get(PAGE)
        second = site.get(PAGE)
        assert second.headers["x-kb-cache"] == "hit", (first.status_code, first.headers, second.headers)
    finally:
        site.close()
