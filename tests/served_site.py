"""The real site (site/ config + plugins) over a real database built from tests/fixtures/corpus.

Datasette's own test client is async; tests call it through one event loop per client.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from kb.pipeline import build
from kb.serve import make_datasette

CORPUS = Path(__file__).parent / "fixtures" / "corpus"


class SiteClient:
    def __init__(self, db_path: Path, page_cache: bool | None = None):
        """`page_cache`: False to render every request (make_datasette's override); None keeps the metadata's."""
        self.ds = make_datasette(db_path, page_cache=page_cache)
        self.loop = asyncio.new_event_loop()

    def get(self, path: str) -> httpx.Response:
        return self.loop.run_until_complete(self.ds.client.get(path))

    def json(self, path: str) -> object:
        response = self.get(path)
        assert response.status_code == 200, response.text[:500]
        return response.json()

    def close(self) -> None:
        """Close the loop and every SQLite connection the site opened.

        The site caps SQLite's heap for the whole process (site/plugins/hardening.py): connections left
        open by one test module's site would use up the headroom the next module's queries are given.
        """
        for database in self.ds.databases.values():
            database.close()
        self.loop.close()


def corpus_site(directory: Path, corpus: Path = CORPUS, page_cache: bool | None = None) -> SiteClient:
    db_path = directory / "kb.db"
    build(db_path, [corpus])
    return SiteClient(db_path, page_cache)
