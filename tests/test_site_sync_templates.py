"""The bodies of the proposal page, the search page and every table page are rendered by a synchronous overlay of
Datasette's Jinja environment (site/plugins/sync_templates.py, #16): the pages must be the bytes async rendering wrote."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from datasette.plugins import pm
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from served_site import SiteClient, corpus_site

SEARCHES = ["マイナンバー", "番号 事務", "情報連携", "税", "個人情報保護法", "存在しない語ですよ", "児童&category=B"]
# table pages: facets, chosen columns, filters, sorting, no rows, a search box, SQL conditions, another page, other tables
TABLES = [
    "/kb/proposals", "/kb/proposals?_col=title&_col=year", "/kb/proposals?year=2024&_sort_desc=number",
    "/kb/proposals?category=B&_facet=year", "/kb/proposals?year=1900", "/kb/proposals?_where=year>2023",
    "/kb/proposals?ministries__arraycontains=" + quote("内閣府"), "/kb/proposals?_size=2&_next=2", "/kb/statutes",
    "/kb/citations?_sort=statute_id", "/kb/local_governments?_search=" + quote("市"), "/kb/ministries", "/kb/similar_proposals",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("sync-templates"), page_cache=False)  # every request rendered
    client.loop.run_until_complete(client.ds.invoke_startup())
    yield client
    client.close()


def _pages(site: SiteClient) -> dict[str, str]:
    ids = [r["id"] for r in site.json("/kb/proposals.json?_shape=array&_col=id&_size=max")]  # type: ignore[union-attr]
    paths = [f"/kb/proposals/{quote(i)}" for i in ids] + [f"/search?q={quote(q, safe='&=')}" for q in SEARCHES] + TABLES
    pages = {}
    for path in paths:
        response = site.get(path)
        assert response.status_code == 200, path
        pages[path] = re.sub(r"処理時間 [0-9.]+ ms", "処理時間", response.text)  # the footer's timing
    return pages


@pass_context
async def _render_async(context: Context, name: str) -> Markup:
    """What the pages did before: the body rendered by Datasette's own (async) environment, in the same context."""
    template = context.environment.get_template(name)
    return Markup(await template.render_async(context.get_all()))


def test_sync_rendered_bodies_are_the_bytes_async_rendering_writes(site: SiteClient) -> None:
    env = site.ds.jinja_env
    sync_render = env.globals["kb_render_sync"]
    try:
        env.globals["kb_render_sync"] = _render_async
        expected = _pages(site)
    finally:
        env.globals["kb_render_sync"] = sync_render
    rendered = _pages(site)
    ids = sorted(path.rsplit("/", 1)[1] for path in rendered if path.startswith("/kb/proposals/"))
    assert len(rendered) == len(ids) + len(SEARCHES) + len(TABLES) and len(ids) >= 5
    for path, page in rendered.items():
        assert page == expected[path], path
    # the pages are the full ones: the sheet's sections and citations, the hits and facets
    sheet = rendered[f"/kb/proposals/{ids[0]}"]
    assert 'class="kb-sheet-title"' in sheet and 'class="kb-section"' in sheet and "kb-sources" in sheet
    hits = rendered[f"/search?q={quote('番号 事務')}"]
    assert 'class="kb-hit"' in hits and 'id="kb-facets"' in hits
    assert "見つかりませんでした" in rendered[f"/search?q={quote('存在しない語ですよ')}"]
    table = rendered["/kb/proposals?category=B&_facet=year"]
    assert 'class="rows-and-columns"' in table and 'class="kb-count"' in table and "facet-results" in table
    assert "該当する行はありません" in rendered["/kb/proposals?year=1900"]


def test_the_bodies_are_rendered_by_a_synchronous_overlay_sharing_the_filters(site: SiteClient) -> None:
    plugin: Any = pm.get_plugin("sync_templates.py")
    assert plugin is not None
    env = site.ds.jinja_env
    sync = plugin.sync_environment(env)
    assert env.is_async and not sync.is_async
    assert sync is plugin.sync_environment(env)  # made once, its compiled templates kept
    assert sync.filters is env.filters and sync.globals is env.globals and sync.autoescape is env.autoescape
    assert sync.get_template("_kb_sheet.html") is sync.get_template("_kb_sheet.html")
