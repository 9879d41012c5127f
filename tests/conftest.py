from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.db.sqlite_heap import set_heap_limit

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True, scope="module")
def sqlite_heap_per_module() -> Iterator[None]:
    """Each test module starts without the site's SQLite heap cap and without the last module's connections.

    The served site caps SQLite's heap for the whole process (site/plugins/hardening.py); in one pytest
    process the cap and the connections one module's sites leave behind would fall on the next module.
    """
    yield
    gc.collect()
    set_heap_limit(0)


@pytest.fixture(autouse=True, scope="session")
def registry_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registries' cache of this test run, not the user's (kb.core.cache.cache_dir)."""
    import os

    path = tmp_path_factory.mktemp("registry-cache")
    os.environ["KB_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def synthetic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 synthetic proposals (benchmarks/corpus.py; not real proposals), 10 a year, built once per run."""
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    from corpus import generate

    from kb.pipeline import build

    work = tmp_path_factory.mktemp("synthetic")
    generate(120, work / "corpus", REPO / "proposals", seed=3)
    build(work / "kb.db", [work / "corpus"])
    return work / "kb.db"


@pytest.fixture(scope="session")
def search_filter_sets(synthetic_db: Path) -> list[tuple[tuple[str, str], ...]]:
    """/search filters of each kind on `synthetic_db`, alone and together: a year, a code, array items, a value found nowhere."""
    conn = sqlite3.connect(f"file:{synthetic_db}?immutable=1", uri=True)
    try:
        ministry, prefecture = (
            conn.execute("select value from facet_values where facet = ? group by value order by count(*) desc", (f,)).fetchone()[0]
            for f in ("ministries", "proponent_prefectures")
        )
        statute, kind = (  # the least common: a law every proposal cites filters nothing out
            conn.execute("select value from facet_values where facet = ? group by value order by count(*), value", (f,)).fetchone()[0]
            for f in ("statutes", "proponent_kinds")
        )
    finally:
        conn.close()
    return [
        (),
        (("year", "2020"),),
        (("category", "A"),),
        (("ministries", ministry),),
        (("proponent_prefectures", prefecture), ("statutes", statute)),
        (("outcome", "提案の趣旨を踏まえ対応"), ("year", "2019")),
        (("statutes", statute),),
        (("proponent_kinds", kind), ("ministries", ministry)),
        (("theme", "存在しないテーマ"),),
    ]


@pytest.fixture(scope="module")
def synthetic_conn(synthetic_db: Path) -> Iterator[sqlite3.Connection]:
    """`synthetic_db` opened read-only, with the search's SQL functions (`escape_fts`)."""
    from kb.search.query import register_functions

    connection = sqlite3.connect(f"file:{synthetic_db}?immutable=1", uri=True)
    register_functions(connection)
    yield connection
    connection.close()
