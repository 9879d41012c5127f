"""The list page's facets (site/plugins/facets.py) and the counts the build stores for them (kb.db.facet_counts).

Counts are checked against a plain count in Python over the built `proposals` rows, on the test corpus
(real-shaped fixtures) and on a synthetic corpus made by benchmarks/corpus.py.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
import yaml
from datasette.tracer import capture_traces
from served_site import CORPUS, SiteClient

from kb.db.facet_counts import ARRAY_FACETS, COLUMN_FACETS
from kb.db.schema import FACET_COUNTS_TABLE, FACET_VALUES_TABLE
from kb.pipeline import build
from kb.search.query import escape_fts

ROOT = Path(__file__).resolve().parent.parent

METADATA = ROOT / "site" / "metadata.yml"
# Long text columns of `proposals`: a facet query that reads them is what made the list page slow.
TEXT_COLUMNS = {
    "measures", "problems", "residents_views", "effects", "legal_basis", "co_proponent_problems", "first_answer",
    "proponent_view", "co_proponent_view", "association_opinions", "review_points", "second_answer", "decision_text",
}  # fmt: skip
ALL = "/kb/proposals.json?_size=0"


def expected_counts(db_path: Path, where: str = "", params: tuple[Any, ...] = ()) -> dict[str, dict[Any, int]]:
    """Every facet of the list page counted plainly: rows per value, each row once per array item."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    counts: dict[str, Counter[Any]] = {c: Counter() for c in (*COLUMN_FACETS, *ARRAY_FACETS)}
    for row in conn.execute(f"SELECT * FROM proposals {where}", params):
        for column in COLUMN_FACETS:
            if row[column] is not None:
                counts[column][row[column]] += 1
        for column in ARRAY_FACETS:
            for value in set(json.loads(row[column] or "[]")):
                counts[column][value] += 1
    conn.close()
    return {c: dict(n) for c, n in counts.items() if n}


def shown_counts(data: Any) -> dict[str, dict[Any, int]]:
    return {name: {r["value"]: r["count"] for r in f["results"]} for name, f in data["facet_results"].items() if f["results"]}


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db_path = tmp_path_factory.mktemp("facets") / "kb.db"
    build(db_path, [CORPUS])
    return db_path


@pytest.fixture(scope="module")
def site(corpus_db: Path) -> Any:
    client = SiteClient(corpus_db)
    yield client
    client.close()


@pytest.fixture(scope="module")
def synthetic_site(synthetic_db: Path) -> Any:
    client = SiteClient(synthetic_db)
    yield client
    client.close()


def test_every_facet_of_the_list_page_is_one_the_build_counts() -> None:
    facets = yaml.safe_load(METADATA.read_text(encoding="utf-8"))["databases"]["kb"]["tables"]["proposals"]["facets"]
    configured = [next(iter(f.items())) for f in facets]
    assert {c for t, c in configured if t == "kb_column"} == set(COLUMN_FACETS)
    assert {c for t, c in configured if t == "kb_array"} == set(ARRAY_FACETS)
    assert len(configured) == len(COLUMN_FACETS) + len(ARRAY_FACETS)


@pytest.mark.parametrize("which", ["corpus_db", "synthetic_db"])
def test_stored_counts_equal_a_plain_count(which: str, request: pytest.FixtureRequest) -> None:
    db_path: Path = request.getfixturevalue(which)
    conn = sqlite3.connect(db_path)
    stored: dict[str, dict[Any, int]] = {}
    for facet, value, count in conn.execute(f"SELECT facet, value, count FROM {FACET_COUNTS_TABLE} WHERE table_name = 'proposals'"):
        stored.setdefault(facet, {})[value] = count
    assert stored == expected_counts(db_path)
    assert isinstance(next(iter(stored["year"])), int)  # a year stays a number, as the column holds it


@pytest.mark.parametrize("which", ["site", "synthetic_site"])
def test_list_page_shows_the_plain_counts(which: str, request: pytest.FixtureRequest) -> None:
    client: SiteClient = request.getfixturevalue(which)
    data = client.json(ALL + "&_facet_size=max")
    assert shown_counts(data) == expected_counts(Path(client.ds.databases["kb"].path))


@pytest.mark.parametrize("which", ["site", "synthetic_site"])
def test_filtered_counts_match_the_unfiltered_stored_ones_when_the_filter_keeps_every_row(
    which: str, request: pytest.FixtureRequest
) -> None:
    client: SiteClient = request.getfixturevalue(which)
    stored = client.json(ALL + "&_facet_size=max")
    scanned = client.json(ALL + "&_facet_size=max&year__gte=0")  # a filter: counted from the rows, not the store
    assert shown_counts(scanned) == shown_counts(stored)
    assert [f["name"] for f in scanned["facet_results"].values()] == [f["name"] for f in stored["facet_results"].values()]


@pytest.mark.parametrize("which", ["site", "synthetic_site"])
def test_filtered_counts_equal_a_plain_count_of_the_matching_rows(which: str, request: pytest.FixtureRequest) -> None:
    client: SiteClient = request.getfixturevalue(which)
    db_path = Path(client.ds.databases["kb"].path)
    ministry = max(expected_counts(db_path)["ministries"].items(), key=lambda kv: kv[1])[0]
    data = client.json(f"{ALL}&_facet_size=max&year__gte=2020&ministries__arraycontains={quote(ministry)}")
    want = expected_counts(
        db_path, "WHERE year >= 2020 AND ? IN (SELECT value FROM json_each(ministries))", (ministry,)
    )
    assert shown_counts(data) == want


def test_search_counts_only_the_matching_proposals(site: SiteClient, corpus_db: Path) -> None:
    data = site.json(ALL + "&_search=" + quote("保育 農地"))
    assert shown_counts(data)["ministries"] == {"農林水産省": 1, "こども家庭庁": 1}
    assert shown_counts(data)["year"] == {2023: 1}


def test_unfiltered_page_reads_the_stored_counts(corpus_db: Path, tmp_path: Path) -> None:
    """A count changed in the store shows on the unfiltered page, and not once a filter is applied."""
    db_path = tmp_path / "kb.db"
    shutil.copy(corpus_db, db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"UPDATE {FACET_COUNTS_TABLE} SET count = 999 WHERE facet = 'ministries' AND value = '総務省'")
    client = SiteClient(db_path)
    try:
        assert shown_counts(client.json(ALL))["ministries"]["総務省"] == 999
        assert shown_counts(client.json(ALL + "&year__gte=0"))["ministries"]["総務省"] == 2
    finally:
        client.close()


def test_database_without_stored_counts_is_counted_from_its_rows(corpus_db: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    shutil.copy(corpus_db, db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"DROP TABLE {FACET_COUNTS_TABLE}")
        conn.execute(f"DROP TABLE {FACET_VALUES_TABLE}")
    client = SiteClient(db_path)
    try:
        assert shown_counts(client.json(ALL)) == expected_counts(db_path)
        assert shown_counts(client.json(ALL + "&year=2023")) == expected_counts(db_path, "WHERE year = 2023")
    finally:
        client.close()


def _query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def test_facet_added_by_url_can_be_removed_and_its_values_select_rows(site: SiteClient) -> None:
    data = site.json(ALL + "&_facet_kb_array=co_proponent_prefectures&_facet_kb_column=stage")
    added = data["facet_results"]["co_proponent_prefectures"]
    assert added["hideable"] and added["type"] == "kb_array"
    assert ("_facet_kb_array", "co_proponent_prefectures") not in _query(added["toggle_url"])
    assert ("_facet_kb_column", "stage") in _query(added["toggle_url"])
    rows = sqlite3.connect(site.ds.databases["kb"].path).execute("SELECT stage, co_proponent_prefectures FROM proposals").fetchall()
    assert shown_counts(data)["co_proponent_prefectures"] == dict(Counter(v for _, a in rows for v in set(json.loads(a))))
    assert shown_counts(data)["stage"] == dict(Counter(stage for stage, _ in rows))
    stage = data["facet_results"]["stage"]
    assert stage["hideable"] and ("_facet_kb_column", "stage") not in _query(stage["toggle_url"])
    assert not data["facet_results"]["ministries"]["hideable"]  # configured in metadata.yml: no ✖

    value = data["facet_results"]["ministries"]["results"][0]
    assert ("ministries__arraycontains", value["value"]) in _query(value["toggle_url"])
    chosen = site.json(urlsplit(value["toggle_url"]).path + "?" + urlsplit(value["toggle_url"]).query)
    selected = [r for r in chosen["facet_results"]["ministries"]["results"] if r["selected"]]
    assert [(r["value"], r["count"]) for r in selected] == [(value["value"], value["count"])]
    assert ("ministries__arraycontains", value["value"]) not in _query(selected[0]["toggle_url"])
    assert len(chosen["rows"]) == 0 and chosen["filtered_table_rows_count"] == value["count"]


def test_column_facet_links_select_by_value_and_keep_japanese_labels(site: SiteClient) -> None:
    data = site.json(ALL)
    category = {r["value"]: r for r in data["facet_results"]["category"]["results"]}
    assert category["A"]["label"] == "A 権限移譲"
    assert ("category", "A") in _query(category["A"]["toggle_url"])
    year = site.json(ALL + "&year=2024")["facet_results"]["year"]["results"]
    assert [(r["value"], r["selected"]) for r in year] == [(2024, True)]
    assert ("year", "2024") not in _query(year[0]["toggle_url"])


def test_html_page_has_one_box_per_facet_with_japanese_headings(site: SiteClient) -> None:
    page = site.get("/kb/proposals?_facet_array=ministries").text  # Datasette's own array facet on the same column
    assert page.count('id="facet-ministries"') == 1
    assert "関係府省" in page and "These facets timed out" not in page


async def _traced(client: SiteClient, path: str) -> list[dict[str, Any]]:
    traces: list[dict[str, Any]] = []
    with capture_traces(traces):
        response = await client.ds.client.get(path)
    assert response.status_code == 200
    return traces


def facet_queries(client: SiteClient, path: str) -> list[tuple[str, Any]]:
    """(sql, params) of every query the facets ran: counts group by a value, the shared ids are a JSON group."""
    traces = client.loop.run_until_complete(_traced(client, path))
    # (`execute_fn` calls, such as the search's facet arrays read at startup, are traced without params)
    sqls = [(t["sql"], t["params"]) for t in traces if t.get("type") == "sql" and "params" in t]
    return [(sql, params) for sql, params in sqls if "group by" in sql or "json_group_array" in sql]


def columns_read(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> set[str]:
    """Columns of `proposals` a query reads from the table itself, from its EXPLAIN program."""
    names = [r[1] for r in conn.execute("PRAGMA table_info(proposals)")]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'proposals'").fetchone()[0]
    program = conn.execute("EXPLAIN " + sql, params).fetchall()
    cursors = {p1 for _, op, p1, p2, *_ in program if op == "OpenRead" and p2 == root}
    return {names[p2] for _, op, p1, p2, *_ in program if op == "Column" and p1 in cursors and p2 < len(names)}


@pytest.mark.parametrize(
    "path",
    [
        "/kb/proposals?_facet_kb_array=co_proponent_prefectures",
        "/kb/proposals?year=2023&_facet_kb_array=co_proponent_prefectures",
        "/kb/proposals?ministries__arraycontains=%E7%B7%8F%E5%8B%99%E7%9C%81&_facet_kb_array=proponents",
        "/kb/proposals?_search=%E4%BF%9D%E8%82%B2",
    ],
)
def test_facet_queries_never_read_the_text_columns(site: SiteClient, corpus_db: Path, path: str) -> None:
    conn = sqlite3.connect(corpus_db)
    conn.create_function("escape_fts", 1, escape_fts)  # the site's search function, for EXPLAIN of a search page
    queries = facet_queries(site, path)
    assert queries, "no facet query ran"
    for sql, params in queries:
        assert not columns_read(conn, sql, params) & TEXT_COLUMNS, sql


def test_explain_check_sees_datasettes_own_array_facet_read_the_text(site: SiteClient, corpus_db: Path) -> None:
    """The check above can fail: Datasette's `_facet_array` query reads every column of every row."""
    conn = sqlite3.connect(corpus_db)
    datasettes = [(s, p) for s, p in facet_queries(site, "/kb/proposals?year=2023&_facet_array=co_proponent_prefectures") if "inner.*" in s]
    assert datasettes and columns_read(conn, *datasettes[0]) >= TEXT_COLUMNS


def test_incremental_build_keeps_counts_right_after_edit_add_and_delete(tmp_path: Path) -> None:
    corpus = tmp_path / "proposals"
    shutil.copytree(CORPUS, corpus, ignore=shutil.ignore_patterns("README.md"))
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    edited = corpus / "2023" / "0001.md"
    text = edited.read_text(encoding="utf-8").replace("ministries:\n  - こども家庭庁\n", "ministries:\n  - こども家庭庁\n  - 環境省\n")
    text = text.replace("outcome: 提案の趣旨を踏まえ対応", "outcome: 実現できなかったもの")
    edited.write_text(text + "\n番号法第9条第1項の規定により追記する。\n", encoding="utf-8")
    added = (corpus / "2023" / "0002.md").read_text(encoding="utf-8").replace("number: 2\nserial: 2", "number: 6\nserial: 6")
    (corpus / "2023" / "0006.md").write_text(added, encoding="utf-8")
    (corpus / "2024" / "0071.md").unlink()
    result = build(db_path, [corpus])
    assert (result.mode, result.added, result.changed, result.removed) == ("incremental", ["2023-0006"], ["2023-0001"], ["2024-0071"])

    fresh = tmp_path / "fresh.db"
    build(fresh, [corpus], full=True)
    for table in (FACET_COUNTS_TABLE, FACET_VALUES_TABLE):
        got = sorted(sqlite3.connect(db_path).execute(f"SELECT * FROM {table}"), key=repr)
        want = sorted(sqlite3.connect(fresh).execute(f"SELECT * FROM {table}"), key=repr)
        assert got == want, table
    client = SiteClient(db_path)
    try:
        shown = shown_counts(client.json(ALL + "&_facet_size=max"))
    finally:
        client.close()
    assert shown == expected_counts(db_path)
    assert 2024 not in shown["year"] and shown["ministries"].get("環境省") == 1
    assert "提案の趣旨を踏まえ対応" not in shown["outcome"]


def test_counts_follow_rows_changed_after_the_build(corpus_db: Path, tmp_path: Path) -> None:
    """The triggers keep the store equal to a recount whichever way a row changes (update, delete, insert)."""
    db_path = tmp_path / "kb.db"
    shutil.copy(corpus_db, db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE proposals SET category = 'A', theme = NULL WHERE id = '2023-0002'")
        conn.execute(f"DELETE FROM {FACET_VALUES_TABLE} WHERE proposal_id = '2023-0003'")
        conn.execute("DELETE FROM proposals WHERE id = '2023-0003'")
        conn.execute(f"INSERT INTO {FACET_VALUES_TABLE} VALUES ('2023-0002', 'ministries', '環境省')")
        conn.execute("UPDATE proposals SET ministries = json_insert(ministries, '$[#]', '環境省') WHERE id = '2023-0002'")
    conn = sqlite3.connect(db_path)
    stored: dict[str, dict[Any, int]] = {}
    for facet, value, count in conn.execute(f"SELECT facet, value, count FROM {FACET_COUNTS_TABLE}"):
        stored.setdefault(facet, {})[value] = count
    assert stored == expected_counts(db_path)


def test_filter_runs_once_for_all_facets_of_a_page(site: SiteClient) -> None:
    """Ten facets on a filtered page: the filter runs for the rows, the count and once for the facets, not ten times."""
    traces = site.loop.run_until_complete(_traced(site, "/kb/proposals?ministries__arraycontains=" + quote("総務省")))
    filtered = [t["sql"] for t in traces if t.get("type") == "sql" and 'json_each("proposals"."ministries")' in t["sql"]]
    assert len(filtered) == 3, filtered


@pytest.mark.parametrize("query", ["", "_col=title&_col=year&year=2023", "_search=%E7%95%AA%E5%8F%B7&_col=title&_facet_kb_column=stage"])
def test_value_links_are_exactly_the_urls_datasette_would_write(site: SiteClient, query: str) -> None:
    # the links are built from one encoded base per page (not by re-encoding the query for every value):
    # each must equal Datasette's path_with_added_args + absolute_url on the page's own query string
    data = site.json("/kb/proposals.json" + (f"?{query}" if query else ""))
    pairs = parse_qsl(query)
    checked = 0
    for facet in data["facet_results"].values():
        for value in facet["results"]:
            if value["selected"]:
                continue
            parameter = facet["name"] + ("__arraycontains" if facet["type"] == "kb_array" else "")
            expected = "http://localhost/kb/proposals.json?" + urlencode([*pairs, (parameter, value["value"])])
            assert value["toggle_url"] == expected
            checked += 1
    assert checked > 10
