"""Registry data through the built database and the real Datasette site: prefecture and 団体属性 facets, pages."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlite_utils
from served_site import SiteClient, corpus_site

FIXTURES = Path(__file__).parent / "fixtures" / "registries"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteClient]:
    root = tmp_path_factory.mktemp("registries")
    corpus = root / "proposals"
    for part in ("real", "synthetic"):
        shutil.copytree(FIXTURES / part, corpus, dirs_exist_ok=True)
    client = corpus_site(root, corpus)
    yield client
    client.close()


def db_of(site: SiteClient) -> sqlite_utils.Database:
    return sqlite_utils.Database(site.ds.get_database("kb").path)


def page(name: str) -> str:
    return quote(name).replace("%", "~")


def facet(data: dict, name: str) -> dict[str, int]:
    return {r["value"]: r["count"] for r in data["facet_results"][name]["results"]}


def test_filter_by_prefecture_miyagi_returns_proposals_whose_proponents_include_sendai(site: SiteClient) -> None:
    rows = site.json(f"/kb/proposals.json?_shape=array&proponent_prefectures__arraycontains={quote('宮城県')}")
    assert sorted(r["id"] for r in rows) == ["2024-0070", "2024-0071"]
    assert all("仙台市" in json.loads(r["proponents"]) for r in rows)


def test_filter_by_prefecture_combines_with_the_search_box(site: SiteClient) -> None:
    query = f"_search={quote('中間サーバー')}&proponent_prefectures__arraycontains={quote('宮城県')}"
    rows = site.json(f"/kb/proposals.json?_shape=array&{query}")
    assert [r["id"] for r in rows] == ["2024-0071"]


def test_prefecture_facet_counts_a_joint_proposal_once_per_prefecture(site: SiteClient) -> None:
    data = site.json("/kb/proposals.json?_facet_array=proponent_prefectures&_size=0")
    # 2022-0001 has 熊本県, 熊本市 and 山鹿市 as proponents: 熊本県 counts once.
    assert facet(data, "proponent_prefectures") == {
        "宮城県": 2, "岩手県": 2, "広島県": 2, "秋田県": 1, "長野県": 2, "熊本県": 1,
    }  # fmt: skip


def test_kind_facet_counts_each_attribute_once_in_the_year_of_the_proposal(site: SiteClient) -> None:
    data = site.json("/kb/proposals.json?_facet_array=proponent_kinds&_size=0")
    assert facet(data, "proponent_kinds") == {
        "都道府県": 4, "指定都市": 3, "一般市": 3, "広域連合": 2, "中核市": 1, "施行時特例市": 1,
    }  # fmt: skip
    rows = site.json(f"/kb/proposals.json?_shape=array&proponent_kinds__arraycontains={quote('施行時特例市')}")
    assert [r["id"] for r in rows] == ["2019-0001"]  # 松本市 before it became a 中核市 in 2021


def test_local_governments_carry_code_prefecture_kind_and_kana(site: SiteClient) -> None:
    rows = {r["id"]: r for r in db_of(site)["local_governments"].rows}
    assert {k: rows["仙台市"][k] for k in ("code", "prefecture", "kind", "kana")} == {
        "code": "041009", "prefecture": "宮城県", "kind": "指定都市", "kana": "せんだいし"
    }  # fmt: skip
    assert rows["塩釜市"]["code"] == rows["塩竈市"]["code"] == "042030"  # an alias, stored as written
    assert rows["塩釜市"]["registry_name"] == "宮城県塩竈市"
    assert (rows["宮城県後期高齢者医療広域連合"]["kind"], rows["宮城県後期高齢者医療広域連合"]["prefecture"]) == ("広域連合", "宮城県")


def test_ministries_carry_their_years_and_lineage(site: SiteClient) -> None:
    rows = {r["id"]: r for r in db_of(site)["ministries"].rows}
    assert (rows["デジタル庁"]["valid_from"], rows["デジタル庁"]["valid_to"]) == ("2021-09-01", None)
    assert rows["個人情報保護委員会"]["lineage"] == "個人情報保護委員会"
    assert rows["総務省"]["kind"] == "省"


def test_local_government_page_lists_its_proposals_as_proponent_and_as_co_proponent(site: SiteClient) -> None:
    html = site.get(f"/kb/local_governments/{page('熊本市')}").text
    assert "関わった提案（3 件）" in html
    for pid, role in (("2022-0001", "提案団体"), ("2024-0070", "追加共同提案団体"), ("2024-0071", "追加共同提案団体")):
        item = html[html.index(f'href="/kb/proposals/{pid}"') :].split("</li>")[0]
        assert role in item
    listing = site.get(f"/kb/local_governments?id={quote('熊本市')}").text
    assert f'href="/kb/prefectures/{page("熊本県")}"' in listing  # the prefecture links to its page


def test_prefecture_page_includes_the_proposals_of_its_municipalities(site: SiteClient) -> None:
    html = site.get(f"/kb/prefectures/{page('宮城県')}").text
    assert "宮城県と宮城県内の団体が関わった提案（3 件）" in html
    item = html[html.index('href="/kb/proposals/2024-0071"') :].split("</li>")[0]
    assert "提案団体：宮城県、仙台市、塩竈市、多賀城市、宮城県後期高齢者医療広域連合" in item
    item = html[html.index('href="/kb/proposals/2022-0001"') :].split("</li>")[0]
    assert "追加共同提案団体：宮城県、塩釜市" in item


def test_row_pages_have_japanese_titles(site: SiteClient) -> None:
    """Datasette titled them 「kb: prefectures」."""
    for path, title in [("prefectures/" + page("宮城県"), "宮城県（都道府県）"), ("local_governments/" + page("多賀城市"), "多賀城市（地方公共団体）"),
                        ("ministries/" + page("総務省"), "総務省（府省）")]:
        html = site.get(f"/kb/{path}").text
        assert f"<title>{title} - " in html, path


def test_prefecture_without_proposals_of_its_own_still_has_a_page(site: SiteClient) -> None:
    html = site.get(f"/kb/prefectures/{page('鹿児島県')}").text
    assert "鹿児島県と鹿児島県内の団体が関わった提案（2 件）" in html  # 鹿児島市 as a co-proponent
    assert site.get(f"/kb/prefectures/{page('沖縄県')}").status_code == 200


def test_prefecture_and_ministry_pages_list_the_newest_100_and_link_the_rest(site: SiteClient, tmp_path: Path) -> None:
    """1,800 proposals of one prefecture made a 0.15 s page; it shows 100 and says where the rest are."""
    path = tmp_path / "kb.db"
    shutil.copy(site.ds.get_database("kb").path, path)
    db = sqlite_utils.Database(path)
    real = db.execute("select * from proposals where id = '2024-0071'").fetchone()
    columns = [c[0] for c in db.execute("select * from proposals limit 0").description]
    synthetic = []  # test data only: copies of a real row under made-up ids of 2030
    for n in range(1, 131):
        row = dict(zip(columns, real)) | {"id": f"2030-{n:04d}", "year": 2030, "number": n, "title": f"合成の提案{n:03d}"}
        synthetic.append(row)
    db["proposals"].insert_all(synthetic)
    db["proposal_prefectures"].insert_all(
        {"proposal_id": r["id"], "prefecture_id": "沖縄県", "role": "提案団体", "local_governments": '["那覇市"]'} for r in synthetic
    )
    db["proposal_ministries"].insert_all(
        {"proposal_id": r["id"], "ministry_id": "総務省", "position": 1, "answers_sheet": 1} for r in synthetic
    )
    db.conn.commit()
    client = SiteClient(path)
    try:
        html = client.get(f"/kb/prefectures/{page('沖縄県')}").text
        ministry = client.get(f"/kb/ministries/{page('総務省')}").text
    finally:
        client.close()
    total = db.execute("select count(*) from proposal_ministries where ministry_id = '総務省'").fetchone()[0]
    assert f"関わった提案（{total:,} 件）" in ministry and total > 130
    assert ministry.count('href="/kb/proposals/2030-') == 100 and "新しい順に 100 件を示しました" in ministry
    assert "ministries__arraycontains=%E7%B7%8F%E5%8B%99%E7%9C%81" in ministry
    assert "沖縄県と沖縄県内の団体が関わった提案（130 件）" in html
    assert html.count('href="/kb/proposals/2030-') == 100 and "合成の提案100" in html and "合成の提案101" not in html
    assert "新しい順に 100 件を示しました" in html and "proponent_prefectures__arraycontains=" in html


def test_canned_query_finds_proposals_of_a_prefecture_by_its_short_name(site: SiteClient) -> None:
    rows = site.json(f"/kb/proposals_of_prefecture.json?_shape=array&name={quote('宮城')}")
    assert sorted({r["提案ID"] for r in rows}) == ["2022-0001", "2024-0070", "2024-0071"]


def test_serve_rebuilds_the_database_after_the_registry_data_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.core.paths import DATA_DIR_ENV
    from kb.serve import ensure_built

    data = tmp_path / "data"
    shutil.copytree(Path(__file__).parent.parent / "data", data)
    monkeypatch.setenv(DATA_DIR_ENV, str(data))
    db = tmp_path / "kb.db"
    assert ensure_built(db, [FIXTURES / "real"]) is not None
    assert ensure_built(db, [FIXTURES / "real"]) is None
    edited = data / "ministries.yaml"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    later = db.stat().st_mtime + 10
    os.utime(edited, (later, later))
    assert ensure_built(db, [FIXTURES / "real"]) is not None
