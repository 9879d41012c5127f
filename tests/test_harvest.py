"""`kb harvest` against a copy of the official site's shape served on 127.0.0.1 (tests/harvest_site.py).

The site: the section's index → year pages (H26 without a year folder, western-year folders, page
names that differ by year) → stage pages linking per-ministry 個票 bundles, an 【別紙】 attachment and a
per-proposal PDF. The PDFs are set in a real Japanese font (tests/sheet_pdfs.py) from the seed sheet
71's own text; the other proposals (72–74, and H26's) are that text with another 管理番号 and title,
marked as test variants. Faults: a 404, a 503 that succeeds on retry, a page slower than the timeout
once, robots.txt disallowing a folder, links off the host, an unreadable PDF.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from harvest_site import SECTION, Resource, Site, page, pdf, serving
from sheet_pdfs import write_sheets_pdf
from sheet_shapes import PLAIN_0071
from typer.testing import CliRunner
from xlsx_workbooks import row_values, write_workbook

from kb.cli import app
from kb.core.vocab import SectionKey, Stage
from kb.files.parse import parse_file
from kb.harvest.cache import Cache
from kb.harvest.fetch import USER_AGENT, Fetcher, Settings
from kb.harvest.links import classify, page_links, text_year
from kb.harvest.run import Events, Options, Summary, harvest

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FAST = Settings(delay=0.0, timeout=0.15, retries=2, backoff=0.01)
S = SECTION


def _sheet(number: int, *, era: str = "令和6年", stage: str = "proposal", title: str | None = None) -> str:
    """Seed sheet 71's text as a 提案 (検討要請) or 第1次回答 sheet, with another year / 管理番号 / title."""
    lines = PLAIN_0071.read_text(encoding="utf-8").split("\n")
    if stage == "proposal":
        text = "\n".join(lines[:49]).replace("デジタル庁 最終的な調整結果", "デジタル庁（内閣府と関係府省との間で調整を行う提案）")
    else:
        text = "\n".join(lines[:62]).replace("最終的な調整結果", "第1次回答")
    text = text.replace("令和6年 地方分権", f"{era} 地方分権")
    text = text.replace("整理番号\t71\n(管理番号\t71)", f"整理番号\t{number}\n(管理番号\t{number})")
    if number != 71 or title:
        old = "都道府県と教育委員会が一つの自治体中間サーバーを利用することを可能とすること"
        text = text.replace(old, title or f"（テスト用の変種 {number}）{old}")
    return text


PDFS: dict[str, list[str]] = {
    "h26_soumu": [_sheet(71, era="平成26年")],
    "h26_naikaku": [_sheet(72, era="平成26年")],
    "h26_naikaku_v2": [_sheet(72, era="平成26年", title="（テスト用の変種 72・訂正版）事項名を直した個票")],
    "kentou_99digi": [_sheet(71), _sheet(72)],
    "kaitou1_99digi": [_sheet(71, stage="first")],
    "r6_73": [_sheet(73)],
    "r5_soumu": [_sheet(74)],
}
# Font size per PDF (10.5 pt unless named). At 10.5 pt kaitou1's 第1次回答 label ends page 2 and its text
# starts page 3, which the reader once dropped as cut off (tests/test_sheets_shapes.py pins the fix).
SIZES: dict[str, float] = {}


@pytest.fixture(scope="module")
def pdfs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each fixture PDF made once; kept in pytest's cache between sessions (when it is on), keyed by its text."""
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    folder = Path(cache.mkdir("harvest-pdfs")) if cache is not None else tmp_path_factory.mktemp("harvest-pdfs")
    out = {}
    for name, sheets in PDFS.items():
        size = SIZES.get(name, 10.5)
        key = hashlib.sha256(f"{size}\f".join(sheets).encode("utf-8")).hexdigest()[:16]
        path = folder / f"{name}-{key}.pdf"
        if not path.exists():
            write_sheets_pdf(path.with_suffix(".tmp"), sheets, size=size)
            path.with_suffix(".tmp").replace(path)
        out[name] = path.read_bytes()
    workbook = write_workbook(folder / "database.xlsx", [row_values("令和6年", 80)])
    out["database"] = workbook.read_bytes()
    return out


def site_resources(port: int, pdfs: dict[str, bytes]) -> dict[str, Resource]:
    return {
        "/robots.txt": Resource(f"User-agent: *\nDisallow: {S}private/\n".encode(), content_type="text/plain"),
        f"{S}teianbosyu-index.html": page("提案募集方式", [
            ("teianbosyu.html", "平成26年の提案募集について"),
            ("2024/teianbosyu_r6.html", "令和6年の地方分権改革に関する提案募集について"),
            ("2023/r5_index.html", "令和5年の提案募集について"),
            ("database.html", "提案募集方式データベース（提案検討支援ツール）"),
            ("private/draft.html", "準備中のページ"),
            (f"http://localhost:{port}{S}elsewhere.html", "関連リンク（同じサーバーでも別のホスト名）"),
            ("https://www.pref.chiba.lg.jp/seisaku/chihoubunken/teianboshu.html", "千葉県のページ"),
            ("../kakugiketteitou/kakugiketteitou-index.html", "閣議決定等"),
            ("#top", "ページの先頭へ"),
        ]),  # fmt: skip
        f"{S}teianbosyu.html": page("平成26年の提案募集について", [
            ("doc/h26_soumu.pdf", "総務省 個票(PDF形式:130KB)"),
            ("doc/h26_naikaku.pdf", "内閣府 個票(PDF形式:130KB)"),
            ("teianbosyu-index.html", "提案募集トップ"),
        ]),  # fmt: skip
        f"{S}2024/teianbosyu_r6.html": page("令和6年の地方分権改革に関する提案募集について", [
            ("teianbosyu_r6_bosyukekka.html", "提案募集の結果及び関係府省への検討要請について"),
            ("teianbosyu_fushokaitou.html", "関係府省からの第1次回答について"),
            ("../teianbosyu-index.html", "提案募集トップ"),
        ]),  # fmt: skip
        f"{S}2024/teianbosyu_r6_bosyukekka.html": page("検討要請", [
            ("../doc/r06/kentou_99digi.pdf", "デジタル庁 個票(PDF形式:250KB)"),
            ("../doc/r06/bessi_111.pdf", "【別紙】管理番号111(PDF形式:190KB)"),
            ("../doc/r06/kentou_12mhlw.pdf", "厚生労働省 個票(PDF形式:2,639KB)"),
            ("../doc/r06/kentou_14meti.pdf", "経済産業省 個票(PDF形式:12KB)"),
            ("../private/naibu.pdf", "内部資料 個票(PDF形式:10KB)"),
        ]),  # fmt: skip
        f"{S}2024/teianbosyu_fushokaitou.html": page("第1次回答", [
            ("../doc/r06/kaitou1_99digi.pdf#page=1", "デジタル庁 個票(PDF形式:130KB)"),
            ("../doc/r06/tb_r6fu_07mic_73.pdf", "管理番号73 総務省(PDF形式:130KB)"),
        ]),  # fmt: skip
        f"{S}2023/r5_index.html": Resource(
            page("令和5年の提案募集について", [("../doc/r05/soumu.pdf", "総務省 個票(PDF形式:130KB)")]).body,
            slow_first=1, slow_seconds=0.4,
        ),
        f"{S}database.html": page("提案募集方式データベース", [
            ("doc/teianbosyu_db.xlsx", "提案募集方式データベース（平成26年〜令和7年）(Excel形式:8KB)")]),
        f"{S}doc/teianbosyu_db.xlsx": Resource(pdfs["database"], content_type=XLSX),
        f"{S}doc/h26_soumu.pdf": pdf(pdfs["h26_soumu"]),
        f"{S}doc/h26_naikaku.pdf": pdf(pdfs["h26_naikaku"]),
        f"{S}doc/r06/kentou_99digi.pdf": pdf(pdfs["kentou_99digi"]),
        f"{S}doc/r06/bessi_111.pdf": pdf(b"%PDF-1.4 attachment"),
        f"{S}doc/r06/kentou_14meti.pdf": pdf(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"),
        f"{S}doc/r06/kaitou1_99digi.pdf": pdf(pdfs["kaitou1_99digi"]),
        f"{S}doc/r06/tb_r6fu_07mic_73.pdf": pdf(pdfs["r6_73"], fail_first=1),
        f"{S}doc/r05/soumu.pdf": pdf(pdfs["r5_soumu"]),
        f"{S}private/draft.html": page("非公開", []),
        f"{S}private/naibu.pdf": pdf(pdfs["r6_73"]),
        f"{S}elsewhere.html": page("別のホスト", []),
    }


@dataclass
class World:
    site: Site
    root: Path
    first: Summary
    first_requests: int

    def options(self, **changes: object) -> Options:
        values: dict[str, object] = dict(base=self.site.base, out=self.root / "proposals", cache=self.root / "cache",
                                         settings=FAST, log=self.root / "links.jsonl")  # fmt: skip
        values.update(changes)
        return Options(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, pdfs: dict[str, bytes]):
    site = Site({})
    with serving(site):
        site.resources.update(site_resources(site.port, pdfs))
        root = tmp_path_factory.mktemp("harvest")
        w = World(site, root, Summary(), 0)
        w.first = harvest(w.options())
        w.first_requests = len(site.requests)
        yield w


def proposal(world: World, pid: str):
    year, number = pid.split("-")
    return parse_file(world.root / "proposals" / year / f"{number}.md")


def test_first_harvest_imports_every_sheet_of_every_year(world: World) -> None:
    first = world.first
    assert sorted(first.new) == ["2014-0071", "2014-0072", "2024-0071", "2024-0072", "2024-0073", "2024-0074", "2024-0080"]
    assert first.pages == 7  # index, H26, R6 year page and its 2 stage pages, R5, the database page
    assert first.sheets == 7 and first.rows == 1 and first.imported_files == 7
    files = sorted(p.relative_to(world.root / "proposals").as_posix() for p in (world.root / "proposals").rglob("*"))
    assert files == ["2014", "2014/0071.md", "2014/0072.md", "2024", "2024/0071.md", "2024/0072.md",
                     "2024/0073.md", "2024/0074.md", "2024/0080.md"]  # fmt: skip


def test_every_source_carries_its_provenance(world: World, pdfs: dict[str, bytes]) -> None:
    sources = proposal(world, "2024-0072").sources
    assert len(sources) == 1
    source = sources[0]
    assert source.url == f"{world.site.base}doc/r06/kentou_99digi.pdf"
    assert source.page == f"{world.site.base}2024/teianbosyu_r6_bosyukekka.html"
    assert source.link_text == "デジタル庁 個票(PDF形式:250KB)"
    assert source.sha256 == hashlib.sha256(pdfs["kentou_99digi"]).hexdigest()
    assert source.retrieved is not None and source.stage is Stage.PROPOSAL


def test_a_later_stage_adds_its_sections_and_its_source(world: World) -> None:
    merged = proposal(world, "2024-0071")
    assert [s.stage for s in merged.sources] == [Stage.PROPOSAL, Stage.FIRST_ANSWER]
    assert merged.sources[1].url == f"{world.site.base}doc/r06/kaitou1_99digi.pdf"  # the #page=1 fragment dropped
    assert SectionKey.FIRST_ANSWER in merged.sections and SectionKey.MEASURES in merged.sections


def test_failures_are_reported_with_reasons_and_the_rest_imported(world: World) -> None:
    reasons = dict(world.first.failures)
    assert set(reasons) == {"厚生労働省 個票(PDF形式:2,639KB)", "経済産業省 個票(PDF形式:12KB)"}
    assert "HTTP 404" in reasons["厚生労働省 個票(PDF形式:2,639KB)"]
    assert "取り込めませんでした" in reasons["経済産業省 個票(PDF形式:12KB)"]
    assert "kentou_14meti.pdf" in reasons["経済産業省 個票(PDF形式:12KB)"]  # the problem names the file's URL
    assert not world.first.ok
    assert "失敗: 2 件" in world.first.render()


def test_a_503_and_a_timeout_are_retried(world: World) -> None:
    first_run = world.site.requests[: world.first_requests]
    assert [r.status for r in first_run if r.path.endswith("tb_r6fu_07mic_73.pdf")] == [503, 200]
    assert [r.path for r in first_run].count(f"{S}2023/r5_index.html") == 2  # timed out once, then answered
    assert "2024-0074" in world.first.new  # the slow page's file was still found


def test_robots_off_host_and_outside_the_section_are_never_requested(world: World) -> None:
    asked = {r.path for r in world.site.requests}
    assert not {f"{S}private/draft.html", f"{S}private/naibu.pdf", f"{S}elsewhere.html"} & asked
    assert not any("kakugiketteitou" in path for path in asked)
    assert world.first.robots == 2 and world.first.off_host == 2


def test_attachment_is_classified_with_its_number_and_not_imported(world: World) -> None:
    assert f"{S}doc/r06/bessi_111.pdf" not in {r.path for r in world.site.requests}
    records = [json.loads(line) for line in (world.root / "links.jsonl").read_text(encoding="utf-8").splitlines()]
    attachment = next(r for r in records if r["href"] == "../doc/r06/bessi_111.pdf")
    assert (attachment["kind"], attachment["number"], attachment["size"], attachment["action"]) == (
        "attachment", 111, "190KB", "not-imported")


def test_link_log_holds_every_link_with_page_text_href_and_size(world: World) -> None:
    records = [json.loads(line) for line in (world.root / "links.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 23  # every <a href> of the seven pages read, but the in-page "#top"
    bundle = next(r for r in records if r["text"] == "デジタル庁 個票(PDF形式:250KB)")
    assert bundle == {
        "page": f"{world.site.base}2024/teianbosyu_r6_bosyukekka.html", "text": "デジタル庁 個票(PDF形式:250KB)",
        "href": "../doc/r06/kentou_99digi.pdf", "url": f"{world.site.base}doc/r06/kentou_99digi.pdf",
        "size": "250KB", "kind": "sheets", "year": 2024, "number": None, "action": "download",
    }  # fmt: skip
    h26 = next(r for r in records if r["text"] == "平成26年の提案募集について")
    assert (h26["year"], h26["action"]) == (2014, "follow")
    assert {r["action"] for r in records} >= {"follow", "seen", "download", "robots", "off-host", "out-of-section"}


def test_year_read_from_the_sheet_is_checked_against_the_link(world: World) -> None:
    mismatch = [w for w in world.first.warnings if "soumu.pdf" in w]
    assert mismatch == [f"総務省 個票(PDF形式:130KB)（{world.site.base}doc/r05/soumu.pdf）: "
                        "リンク・ページからは 2023年 ですが、個票は 2024年 です"]  # fmt: skip


def test_the_xlsx_database_goes_through_kb_import_with_its_provenance(world: World, pdfs: dict[str, bytes]) -> None:
    """The database link is found on its page and its rows imported like a sheet's (kb/importer/xlsx.py)."""
    source = proposal(world, "2024-0080").sources[0]
    assert source.url == f"{world.site.base}doc/teianbosyu_db.xlsx"
    assert source.link_text == "提案募集方式データベース（平成26年〜令和7年）(Excel形式:8KB)"
    assert source.sha256 == hashlib.sha256(pdfs["database"]).hexdigest()


def test_every_request_names_the_project_in_its_user_agent(world: World) -> None:
    assert {r.user_agent for r in world.site.requests} == {USER_AGENT}
    assert "bunken-kb" in USER_AGENT and "https://" in USER_AGENT


@pytest.fixture(scope="module")
def second(world: World) -> tuple[int, str, dict[int, int]]:
    """The same harvest again, through the command line."""
    before = len(world.site.requests)
    result = CliRunner().invoke(app, [
        "harvest", "--base", world.site.base, "--out", str(world.root / "proposals"),
        "--cache", str(world.root / "cache"), "--delay", "0", "--timeout", "0.15",
    ])  # fmt: skip
    again = world.site.requests[before:]
    statuses: dict[int, int] = {}
    for r in again:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return result.exit_code, result.output, statuses


def test_second_harvest_fetches_nothing_unchanged(world: World, second: tuple[int, str, dict[int, int]]) -> None:
    """MUST SHOW: every page and file is asked for with a conditional GET and answered 304."""
    exit_code, output, statuses = second
    first_statuses: dict[int, int] = {}
    for r in world.site.requests[: world.first_requests]:
        first_statuses[r.status] = first_statuses.get(r.status, 0) + 1
    print(f"\nfirst run: {world.first_requests} requests {first_statuses}; second run: {sum(statuses.values())} requests {statuses}")
    # robots.txt, 7 pages, 7 files imported, the unreadable one: 304; the missing file: 404 again
    assert statuses == {304: 16, 404: 1}
    assert "ファイル: 9（ダウンロード 0、取り込み 0、取り込み済みで変更なし 7、個票なし 0）" in output
    assert "提案: 新規 0、更新 0、変更なし 0" in output
    assert exit_code == 1  # the 404 and the unreadable PDF are still failures


def test_changed_file_is_the_only_one_fetched_and_its_provenance_updated(world: World, second, pdfs) -> None:
    path = f"{S}doc/h26_naikaku.pdf"
    world.site.resources[path] = pdf(pdfs["h26_naikaku_v2"])
    before_text = (world.root / "proposals/2014/0071.md").read_text(encoding="utf-8")
    before = len(world.site.requests)
    summary = harvest(world.options(years=(2014,), log=None))
    fetched = [r for r in world.site.requests[before:] if r.status == 200]
    assert [r.path for r in fetched] == [path]
    assert summary.downloaded == 1 and summary.skipped_unchanged == 1
    assert sorted(summary.updated) == ["2014-0072"]
    source = proposal(world, "2014-0072").sources[0]
    assert source.sha256 == hashlib.sha256(pdfs["h26_naikaku_v2"]).hexdigest()
    # the corrected 事項名 differs from the file's: kept (as an editor's text would be) and reported
    assert proposal(world, "2014-0072").title.startswith("（テスト用の変種 72）")
    assert [k.split("/proposals/")[-1] for k in summary.kept] == ["2014/0072.md: title（提案事項）（内閣府 個票(PDF形式:130KB)）"]
    assert (world.root / "proposals/2014/0071.md").read_text(encoding="utf-8") == before_text


class _Kill(Events):
    def file_done(self, url: str) -> None:
        raise KeyboardInterrupt


def test_killed_run_then_rerun_completes_without_half_written_files(world: World, tmp_path: Path) -> None:
    options = world.options(out=tmp_path / "proposals", cache=tmp_path / "cache", years=(2014,), log=None)
    with pytest.raises(KeyboardInterrupt):
        harvest(options, _Kill())
    assert [p.name for p in (tmp_path / "proposals").rglob("*.md")] == ["0071.md"]
    before = len(world.site.requests)
    summary = harvest(options)
    assert summary.ok and sorted(summary.new) == ["2014-0072"] and sorted(summary.unchanged) == []
    assert summary.skipped_unchanged == 1  # the file imported before the kill is not imported again
    assert [r.status for r in world.site.requests[before:] if r.path.endswith(".pdf")] == [304, 200]
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert [parse_file(p).id for p in sorted((tmp_path / "proposals").rglob("*.md"))] == ["2014-0071", "2014-0072"]


def test_dry_run_reads_pages_and_lists_files_without_fetching_them(world: World, tmp_path: Path) -> None:
    before = len(world.site.requests)
    summary = harvest(world.options(out=tmp_path / "proposals", cache=tmp_path / "cache", years=(2024,),
                                    dry_run=True, log=None))  # fmt: skip
    assert not any(r.path.endswith(".pdf") for r in world.site.requests[before:])
    assert not (tmp_path / "proposals").exists()
    assert len(summary.planned) == 5 and all("新規" in line for line in summary.planned)
    assert "2024 sheets 「デジタル庁 個票(PDF形式:250KB)」" in summary.render()


def test_file_over_the_size_limit_is_refused(world: World, tmp_path: Path) -> None:
    small = Settings(delay=0.0, timeout=0.15, retries=0, max_file_bytes=1000)
    summary = harvest(world.options(out=tmp_path / "p", cache=tmp_path / "c", years=(2014,), settings=small, log=None))
    assert len(summary.failures) == 2 and all("大きすぎます" in reason for _, reason in summary.failures)
    assert not (tmp_path / "p").exists()


def test_delay_under_one_second_is_refused_for_a_real_host(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="1.0 秒以上"):
        Fetcher("https://www.cao.go.jp/bunken-suishin/teianbosyu/", Cache(tmp_path), Settings(delay=0.5))
    result = CliRunner().invoke(app, ["harvest", "--delay", "0", "--cache", str(tmp_path)])
    assert result.exit_code == 2 and "1.0 秒以上" in result.output


@pytest.mark.parametrize(
    ("text", "href", "kind", "number"),
    [
        ("総務省 個票(PDF形式:2,104KB)", "doc/fu.pdf", "sheets", None),
        ("内閣府 一覧表(PDF形式:391KB)", "doc/ichiran.pdf", "list", None),
        ("【別紙】管理番号111(PDF形式:190KB)", "doc/b.pdf", "attachment", 111),
        ("ドローン", "doc/r06/tb_r6fu_07mic_278_2.pdf", "proposal", 278),
        ("提案募集方式データベース(Excel形式)", "db/teian.xlsx", "database", None),
        ("令和6年の提案募集について", "2024/teianbosyu.html", "page", None),
        ("募集要項(PDF形式:300KB)", "doc/youkou.pdf", "document", None),
    ],
)
def test_links_are_classified_by_their_text_then_their_file_name(text: str, href: str, kind: str, number: int | None) -> None:
    assert classify(text, f"https://www.cao.go.jp/bunken-suishin/teianbosyu/{href}") == (kind, number)


def test_years_are_read_from_era_and_western_link_texts() -> None:
    assert [text_year(t) for t in ("平成26年の提案募集について", "令和元年の提案募集", "令和６年", "2025年", "一覧")] == [
        2014, 2019, 2024, 2025, None]


def test_page_links_read_shift_jis_pages_and_nested_markup() -> None:
    html = '<html><head><meta charset="Shift_JIS"></head><body><a href="a.pdf"><span>総務省</span> 個票</a></body></html>'
    links = page_links("https://example.jp/x/2016/p.html", html.encode("cp932"))
    assert [(link.text, link.url, link.kind, link.year) for link in links] == [
        ("総務省 個票", "https://example.jp/x/2016/a.pdf", "sheets", 2016)]


def _small_site(pdfs: dict[str, bytes], extra: dict[str, Resource]) -> Site:
    site = Site({"/robots.txt": Resource(b"User-agent: *\nAllow: /\n", content_type="text/plain")})
    site.resources.update(extra)
    return site


def test_moved_document_and_moved_page_are_read_at_their_new_address(pdfs: dict[str, bytes], tmp_path: Path) -> None:
    """Reported in review: a redirected PDF was fetched then 「ファイルがありません」, and a moved page's
    relative links were resolved against its old address (a whole year missed)."""
    site = _small_site(pdfs, {
        f"{S}teianbosyu-index.html": page("提案募集方式", [("r6.html", "令和6年の提案募集について"),
                                                        ("doc/old.pdf", "デジタル庁 個票(PDF形式:250KB)")]),
        f"{S}r6.html": Resource(b"", status=301, location=f"{S}2024/r6.html"),
        f"{S}2024/r6.html": page("令和6年", [("r6_73.pdf", "総務省 個票(PDF形式:100KB)")]),
        f"{S}2024/r6_73.pdf": pdf(pdfs["r6_73"]),
        f"{S}doc/old.pdf": Resource(b"", status=301, location=f"{S}doc/new.pdf"),
        f"{S}doc/new.pdf": pdf(pdfs["kentou_99digi"]),
    })  # fmt: skip
    with serving(site):
        summary = harvest(Options(base=site.base, out=tmp_path / "p", cache=tmp_path / "c", settings=FAST, log=None))
    assert summary.failures == []
    assert sorted(summary.new) == ["2024-0071", "2024-0072", "2024-0073"]
    source = parse_file(tmp_path / "p" / "2024" / "0071.md").sources[0]
    assert source.url == f"{site.base}doc/new.pdf"  # where the file really is


def test_database_is_imported_after_the_sheets_and_a_sheet_replaces_database_only_values(
    pdfs: dict[str, bytes], tmp_path: Path
) -> None:
    """Reported in review: the database page is one level nearer the index than the stage pages, so its
    rows made the files first and every sheet of a bundle then conflicted with them (the bundle lost)."""
    book = write_workbook(tmp_path / "db.xlsx", [row_values("令和6年", 71, title="データベースでの事項名（短縮）")])
    site = _small_site(pdfs, {
        f"{S}teianbosyu-index.html": page("提案募集方式", [("database.html", "提案募集方式データベース"),
                                                        ("2024/r6.html", "令和6年の提案募集について")]),
        f"{S}database.html": page("データベース", [("db.xlsx", "提案募集方式データベース(Excel形式:1KB)")]),
        f"{S}2024/r6.html": page("令和6年", [("kentou.html", "提案に対する検討要請")]),
        f"{S}2024/kentou.html": page("検討要請", [("../doc/r06/kentou_99digi.pdf", "デジタル庁 個票(PDF形式:250KB)")]),
        f"{S}doc/r06/kentou_99digi.pdf": pdf(pdfs["kentou_99digi"]),
        f"{S}db.xlsx": Resource(book.read_bytes(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    })  # fmt: skip
    with serving(site):
        summary = harvest(Options(base=site.base, out=tmp_path / "p", cache=tmp_path / "c", settings=FAST, log=None))
    assert summary.failures == [], summary.failures
    merged = parse_file(tmp_path / "p" / "2024" / "0071.md")
    assert merged.title == "都道府県と教育委員会が一つの自治体中間サーバーを利用することを可能とすること"  # the sheet's
    assert [s.title.startswith("提案募集方式データベース") for s in merged.sources] == [False, True]
