"""`kb statutes update` against a real HTTP server on 127.0.0.1 that answers as e-Gov's 法令API does.

The server pages `tests/fixtures/egov_api/laws_v2.json` (rows in the v2 `laws[]` shape: law_info,
revision_info) into `laws_response` pages of two rows, honouring `limit`, `offset` and `mission`
as the API does, or fails as a test tells it to. The list and its provenance file are temporary
copies (`KB_LAW_LIST`; the provenance file sits in `LICENSES/` beside the list).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from typer.testing import CliRunner

from kb.cli import app
from kb.statutes.lawlist import read_law_list
from kb.statutes.update import UpdateRefused, parse_v2_page, update_law_list

HERE = Path(__file__).parent / "fixtures" / "egov_api"
ITEMS: list[dict[str, Any]] = json.loads((HERE / "laws_v2.json").read_text(encoding="utf-8"))
UNCHANGED = "法令一覧は変更していません"
MYNUMBER_ACT = "行政手続における特定の個人を識別するための番号の利用等に関する法律"


@dataclass
class FakeEgov:
    """What the server answers: pages of `items`, or `status`/`body` instead; it records every request."""

    items: list[dict[str, Any]] = field(default_factory=lambda: list(ITEMS))
    page_size: int = 2
    status: int = 200
    body: bytes | None = None
    total_extra: int = 0  # a total_count that does not match the rows
    delay: float = 0.0
    requests: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)  # path, query, User-Agent

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        time.sleep(self.delay)
        if self.status != 200:
            error = {"code": "500001", "message": "内部エラーが発生しました。"}
            return self.status, "application/json", json.dumps(error, ensure_ascii=False).encode()
        if self.body is not None:
            return 200, "application/json", self.body
        if path == "/api/1/lawlists/1":
            return 200, "application/xml", (HERE / "lawlists_1.xml").read_bytes()
        if path != "/api/2/laws":
            return 404, "application/json", b'{"code": "404", "message": "Not Found"}'
        missions = query.get("mission", ["New,Partial"])[0].split(",")
        rows = [i for i in self.items if i["revision_info"]["mission"] in missions]
        offset = int(query.get("offset", ["0"])[0])
        limit = min(int(query.get("limit", ["100"])[0]), self.page_size)
        page = rows[offset : offset + limit]
        end = offset + len(page)
        data = {
            "total_count": len(rows) + self.total_extra,
            "count": len(page),
            "next_offset": end if end < len(rows) else None,
            "laws": page,
        }
        return 200, "application/json", json.dumps(data, ensure_ascii=False).encode()


@pytest.fixture
def egov() -> Iterator[tuple[FakeEgov, str]]:
    """The fake API and its root URL (http://127.0.0.1:PORT); one request at a time, like the client."""
    state = FakeEgov()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name for the GET handler
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            state.requests.append((url.path, query, self.headers.get("User-Agent", "")))
            status, kind, body = state.answer(url.path, query)
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# statutes.yaml beside the fixture list: an alias of a law in both the old and the new list.
STATUTES_YAML = "statutes:\n  - id: 322AC0000000067\n    title: 地方自治法\n    aliases: [自治法]\n"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a copy of the fixture list and its provenance file; KB_LAW_LIST points at the list."""
    folder = tmp_path / "data"
    (folder / "LICENSES").mkdir(parents=True)
    shutil.copyfile(HERE / "egov_laws.csv", folder / "egov_laws.csv")
    shutil.copyfile(HERE / "source.yaml", folder / "LICENSES" / "egov-laws.source.yaml")
    monkeypatch.setenv("KB_LAW_LIST", str(folder / "egov_laws.csv"))
    (folder / "statutes.yaml").write_text(STATUTES_YAML, encoding="utf-8")
    monkeypatch.setenv("KB_STATUTES", str(folder / "statutes.yaml"))
    monkeypatch.delenv("KB_EGOV_API", raising=False)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below the folder (a leftover temporary file shows up too)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def update(*args: str) -> Any:
    return CliRunner().invoke(app, ["statutes", "update", *args])


def test_update_prints_added_renamed_and_dropped_laws_and_rewrites_the_list(
    egov: tuple[FakeEgov, str], data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, root = egov
    monkeypatch.setenv("KB_EGOV_API", f"{root}/api/2")
    result = update()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"e-Gov の法令API（{root}/api/2/laws）から現行法令 5 件を取得しました（3 ページ。廃止・失効等と一部改正法令の 1 件は除外）"
    assert lines[1].endswith("egov_laws.csv: 4 件 → 5 件（追加 2 件、題名・法令番号の変更 1 件、削除 1 件）")
    assert lines[2:10] == [
        "追加 2 件:",
        "  325AC0000000226\t地方税法",
        "  419AC0000000094\t地方公共団体の財政の健全化に関する法律",
        "題名・法令番号の変更 1 件:",
        f"  425AC0000000027\t{MYNUMBER_ACT}\t題名: {MYNUMBER_ACT}（旧題名） → {MYNUMBER_ACT}",
        "削除 1 件:",
        "  323AC0000000099\t地方財政整理法",
        "書き込みました: " + "、".join(str(data / p) for p in ("egov_laws.csv", "LICENSES/egov-laws.source.yaml")),
    ]
    laws = read_law_list(data / "egov_laws.csv")
    assert [(law.id, law.title) for law in laws][-1] == ("425AC0000000027", MYNUMBER_ACT)
    assert [law.id for law in laws] == ["322AC0000000067", "322CO0000000016", "325AC0000000226", "419AC0000000094", "425AC0000000027"]
    assert [(q["offset"], q["mission"], q["response_format"]) for _, q, _ in state.requests] == [
        (["0"], ["New"], ["json"]),
        (["2"], ["New"], ["json"]),
        (["4"], ["New"], ["json"]),
    ]
    assert all(agent.startswith("bunken-kb/") for _, _, agent in state.requests)


def test_update_records_where_the_list_came_from(egov: tuple[FakeEgov, str], data: Path) -> None:
    _, root = egov
    result = update("--api-url", f"{root}/api/2/")
    assert result.exit_code == 0, result.output
    text = (data / "LICENSES" / "egov-laws.source.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Written by kb statutes update: where egov_laws.csv came from.\n")
    facts = yaml.safe_load(text)
    assert facts["api"] == f"{root}/api/2/laws"
    assert facts["retrieved"] == dt.date.today().isoformat()
    assert (facts["count"], facts["left_out"], facts["kinds"]) == (5, 1, {"法律": 4, "政令": 1})
    assert facts["license"].startswith("CC0 1.0")


def test_api_url_option_wins_over_the_environment(egov: tuple[FakeEgov, str], data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, root = egov
    monkeypatch.setenv("KB_EGOV_API", f"http://127.0.0.1:{closed_port()}/api/2")
    result = update("--api-url", f"{root}/api/2")
    assert result.exit_code == 0, result.output


def test_update_refuses_when_the_api_cannot_be_reached(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(data)
    base = f"http://127.0.0.1:{closed_port()}/api/2"
    monkeypatch.setenv("KB_EGOV_API", base)
    result = update()
    assert result.exit_code == 1
    assert "e-Gov の法令API に接続できませんでした" in result.output
    assert f"{base}/laws?" in result.output and "接続を拒否されました" in result.output
    assert UNCHANGED in result.output
    assert snapshot(data) == before


def test_update_refuses_an_http_error(egov: tuple[FakeEgov, str], data: Path) -> None:
    state, root = egov
    state.status = 500
    before = snapshot(data)
    result = update("--api-url", f"{root}/api/2")
    assert result.exit_code == 1
    assert f"e-Gov の法令API がエラーを返しました（{root}/api/2/laws?" in result.output
    assert "HTTP 500 Internal Server Error「内部エラーが発生しました。」" in result.output
    assert UNCHANGED in result.output
    assert snapshot(data) == before


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"{\"total_count\": 5, \"count\": 2, \"laws\": [", "JSON として読めません"),
        (b"[]", "JSON のオブジェクトではありません"),
        (b'{"total_count": 0, "laws": []}', "「count」（0以上の整数）がありません"),
        (b'{"count": 0, "next_offset": null}', "「laws」のリストがありません"),
        (b'{"count": 2, "laws": [{}]}', "「count」は 2 ですが「laws」は 1 件です"),
        (b'{"count": 1, "laws": [{"law_info": {"law_num": "x"}}]}', "laws[0] に law_info.law_id・law_info.law_num の文字列がありません"),
        (
            json.dumps({"count": 1, "laws": [{"law_info": ITEMS[0]["law_info"], "revision_info": {"law_type": "Act"}}]}).encode(),
            "laws[0]（法令ID 322AC0000000067）に revision_info.law_title の文字列がありません",
        ),
    ],
    ids=["not-json", "not-an-object", "no-count", "no-laws", "count-mismatch", "no-law-id", "no-title"],
)
def test_update_refuses_a_response_of_another_shape(egov: tuple[FakeEgov, str], data: Path, body: bytes, said: str) -> None:
    state, root = egov
    state.body = body
    before = snapshot(data)
    result = update("--api-url", f"{root}/api/2")
    assert result.exit_code == 1
    assert "e-Gov の法令API の応答が想定の形ではありません" in result.output
    assert said in result.output and UNCHANGED in result.output
    assert snapshot(data) == before


def test_update_refuses_pages_that_do_not_add_up(egov: tuple[FakeEgov, str], data: Path) -> None:
    state, root = egov
    state.total_extra = 3
    before = snapshot(data)
    result = update("--api-url", f"{root}/api/2")
    assert result.exit_code == 1
    assert "「total_count」は 9 件ですが、受け取ったのは 6 件です" in result.output
    assert snapshot(data) == before


def test_update_refuses_a_list_less_than_half_the_current_one_unless_forced(egov: tuple[FakeEgov, str], data: Path) -> None:
    state, root = egov
    state.items = ITEMS[:1]
    before = snapshot(data)
    result = update("--api-url", f"{root}/api/2")
    assert result.exit_code == 1
    assert "取得した現行法令は 1 件で、現在の一覧（4 件）の半分に満たないため書き込みません" in result.output
    assert "--force" in result.output and UNCHANGED in result.output
    assert snapshot(data) == before

    forced = update("--api-url", f"{root}/api/2", "--force")
    assert forced.exit_code == 0, forced.output
    assert [law.id for law in read_law_list(data / "egov_laws.csv")] == ["322AC0000000067"]


def test_dry_run_prints_the_changes_and_writes_nothing(egov: tuple[FakeEgov, str], data: Path) -> None:
    _, root = egov
    before = snapshot(data)
    result = update("--api-url", f"{root}/api/2", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "追加 2 件:" in result.output and "  323AC0000000099\t地方財政整理法" in result.output
    assert result.output.splitlines()[-1] == "--dry-run のため、何も書き込んでいません"
    assert snapshot(data) == before


def test_update_says_when_nothing_changed_and_keeps_the_list(egov: tuple[FakeEgov, str], data: Path) -> None:
    _, root = egov
    assert update("--api-url", f"{root}/api/2").exit_code == 0
    listed = (data / "egov_laws.csv").stat().st_mtime_ns
    result = update("--api-url", f"{root}/api/2")
    assert result.exit_code == 0, result.output
    assert "変更はありません" in result.output
    assert result.output.splitlines()[-1] == f"書き込みました: {data / 'LICENSES' / 'egov-laws.source.yaml'}"
    assert (data / "egov_laws.csv").stat().st_mtime_ns == listed


def test_update_creates_the_list_when_there_is_none(egov: tuple[FakeEgov, str], data: Path) -> None:
    _, root = egov
    (data / "egov_laws.csv").unlink()
    result = update("--api-url", f"{root}/api/2")
    assert result.exit_code == 0, result.output
    assert "現在の一覧はありません（新しく作ります）" in result.output
    assert len(read_law_list(data / "egov_laws.csv")) == 5


def test_update_reads_version_1_lawlists_when_the_url_ends_in_api_1(egov: tuple[FakeEgov, str], data: Path) -> None:
    state, root = egov
    result = update("--api-url", f"{root}/api/1")
    assert result.exit_code == 0, result.output
    assert [path for path, _, _ in state.requests] == ["/api/1/lawlists/1"]
    assert result.output.splitlines()[0] == f"e-Gov の法令API（{root}/api/1/lawlists/1）から現行法令 3 件を取得しました"
    assert [law.title for law in read_law_list(data / "egov_laws.csv")] == ["地方自治法", "地方自治法施行令", "地方税法"]


def test_a_broken_current_list_stops_the_update_before_any_request(egov: tuple[FakeEgov, str], data: Path) -> None:
    state, root = egov
    (data / "egov_laws.csv").write_text("id,law_number,title\nxyz,,\n", encoding="utf-8")
    before = snapshot(data)
    result = update("--api-url", f"{root}/api/2")
    assert result.exit_code == 1
    assert "egov_laws.csv:2: id: 「xyz」は e-Gov の法令IDの形ではありません" in result.output
    assert state.requests == [] and snapshot(data) == before


def test_a_slow_api_is_refused_after_the_timeout(egov: tuple[FakeEgov, str], data: Path) -> None:
    state, root = egov
    state.delay = 0.5
    before = snapshot(data)
    with pytest.raises(UpdateRefused, match="0.1 秒待っても応答がありません"):
        update_law_list(f"{root}/api/2", path=data / "egov_laws.csv", timeout=0.1)
    assert snapshot(data) == before


def test_repealed_laws_and_amending_acts_are_left_out_of_a_page() -> None:
    expired = json.loads(json.dumps(ITEMS[0]))
    expired["revision_info"]["repeal_status"] = "Expire"
    page = parse_v2_page(json.dumps({"total_count": 9, "count": 4, "next_offset": 4, "laws": [*ITEMS[5:7], ITEMS[2], expired]}).encode())
    assert [law.id for law in page.laws] == ["425AC0000000027"]  # 506AC…065 is Partial, 323AC…099 repealed
    assert (page.count, page.left_out, page.total, page.next_offset) == (4, 3, 9, 4)


def test_update_refuses_a_list_that_statutes_yaml_no_longer_fits(egov: tuple[FakeEgov, str], data: Path) -> None:
    """An entry repeating the old title of a renamed law would fail kb check after the update: say which, write nothing."""
    _, root = egov
    (data / "statutes.yaml").write_text(
        "statutes:\n  - id: 425AC0000000027\n    title: 行政手続における特定の個人を識別するための番号の利用等に関する法律（旧題名）\n"
        "    short: 番号利用法\n",
        encoding="utf-8",
    )
    before = snapshot(data)
    result = update("--api-url", f"{root}/api/2")
    assert result.exit_code == 1
    assert "statutes.yaml:3: statutes[0].title:" in result.output and "法令一覧は変更していません" in result.output
    assert snapshot(data) == before
    dry = update("--api-url", f"{root}/api/2", "--dry-run")
    assert dry.exit_code == 0 and "data/statutes.yaml の 1 件の項目を直す必要があります" in dry.output
