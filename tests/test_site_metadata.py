"""site/metadata.yml against the database it describes: every column explained, every query runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlite_utils
from served_site import SiteClient, corpus_site

from kb.db.schema import DB_NAME, FTS_TABLE
from kb.serve import load_metadata

METADATA = load_metadata()
TABLES = METADATA["databases"][DB_NAME]["tables"]
QUERIES = METADATA["databases"][DB_NAME]["queries"]
# Sample parameters for canned queries that take some.
QUERY_PARAMS = {"q": "農地", "name": "熊本", "statute": "番号利用法", "article": "", "id": "2024-0071"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    client = corpus_site(tmp_path_factory.mktemp("metadata"))
    yield client
    client.close()


def _db(site: SiteClient) -> sqlite_utils.Database:
    return sqlite_utils.Database(site.ds.get_database(DB_NAME).path)


def test_every_column_of_every_table_has_a_japanese_description(site: SiteClient) -> None:
    missing = []
    for table in _db(site).tables:
        if table.name.startswith((FTS_TABLE, "sqlite_")):
            continue
        described = (TABLES.get(table.name) or {}).get("columns") or {}
        missing += [f"{table.name}.{c}" for c in table.columns_dict if not described.get(c)]
    assert missing == []


def test_no_description_names_a_column_that_does_not_exist(site: SiteClient) -> None:
    db = _db(site)
    stale = [
        f"{name}.{column}"
        for name, table in TABLES.items()
        if db[name].exists()
        for column in (table.get("columns") or {})
        if column not in db[name].columns_dict
    ]
    assert stale == []


def test_every_table_has_a_japanese_title(site: SiteClient) -> None:
    untitled = [t.name for t in _db(site).tables if not t.name.startswith((FTS_TABLE, "sqlite_"))
                and not (TABLES.get(t.name) or {}).get("title")]  # fmt: skip
    assert untitled == []


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_canned_query_runs_and_returns_rows(site: SiteClient, name: str) -> None:
    params = "".join(f"&{k}={quote(v)}" for k, v in QUERY_PARAMS.items() if f":{k}" in QUERIES[name]["sql"])
    rows = site.json(f"/kb/{name}.json?_shape=array{params}")
    assert isinstance(rows, list) and rows, name


def test_proposals_per_ministry_year_counts_each_link(site: SiteClient) -> None:
    rows = site.json("/kb/proposals_per_ministry_year.json?_shape=array")
    assert {"府省": "デジタル庁", "年": 2023, "提案数": 1} in rows
    assert {"府省": "農林水産省", "年": 2023, "提案数": 2} in rows


def test_proposals_per_outcome_counts_unclassified_separately(site: SiteClient) -> None:
    rows = site.json("/kb/proposals_per_outcome.json?_shape=array")
    assert {"年": 2023, "対応結果": "（未分類）", "提案数": 3} in rows
    assert {"年": 2024, "対応結果": "対応方針に記載なし", "提案数": 1} in rows


def test_fts_table_is_hidden_from_the_table_list(site: SiteClient) -> None:
    tables = {t["name"]: t["hidden"] for t in site.json("/kb.json")["tables"]}
    assert tables[FTS_TABLE] is True
    assert tables["proposals"] is False


def test_site_serves_metadata_from_site_metadata_yml(site: SiteClient) -> None:
    assert (Path(__file__).parent.parent / "site" / "metadata.yml").exists()
    assert site.json("/-/metadata.json")["title"] == METADATA["title"]
