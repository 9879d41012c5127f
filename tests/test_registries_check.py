"""`kb check` against the registries: real proposals resolve, typos are reported with line and suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.files.parse import parse_file
from kb.registries.check import local_government_names, ministry_names, name_problems
from kb.registries.registry import load_registries

FIXTURES = Path(__file__).parent / "fixtures" / "registries"
REAL = sorted((FIXTURES / "real").rglob("*.md"))
# Every name on the two real sheets (../shared/seeds/000, 001): proponents, co-proponents, ministries.
SEED_BODIES = {
    "宮城県": "040002", "岩手県": "030007", "仙台市": "041009", "塩竈市": "042030", "多賀城市": "042099",
    "広島県": "340006", "秋田県": "050008", "宮城県後期高齢者医療広域連合": None, "花巻市": "032051",
    "茨城県": "080004", "長野県": "200000", "宇和島市": "382035", "熊本市": "431001", "鹿児島市": "462012",
    "山鹿市": "432083",
}  # fmt: skip
SEED_MINISTRIES = {"デジタル庁", "総務省"}


def run_check(*paths: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["check", *map(str, paths)])
    return result.exit_code, result.output.splitlines()


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_real_proposal_resolves_every_proponent_and_ministry(path: Path) -> None:
    proposal = parse_file(path)
    assert len(list(local_government_names(proposal))) >= 11 and list(ministry_names(proposal))
    assert name_problems(proposal, load_registries()) == []


def test_every_name_on_the_seed_sheets_resolves_to_its_code() -> None:
    registries = load_registries()
    codes = {name: registries.local_governments.resolve(name).code for name in SEED_BODIES}
    assert codes == SEED_BODIES
    assert {registries.ministries.resolve(m).name for m in SEED_MINISTRIES} == SEED_MINISTRIES


def test_kb_check_passes_the_real_proposals() -> None:
    code, lines = run_check(FIXTURES / "real")
    assert code == 0 and lines == ["OK: 2 件の提案に問題はありません"]


def test_kb_check_reports_both_typos_at_their_lines_with_suggestions() -> None:
    code, lines = run_check(FIXTURES / "typos" / "2024")
    where = str(Path("tests/fixtures/registries/typos/2024/0071.md"))
    assert code == 1
    assert lines[0].startswith(f"{where}:11: proponents.0（提案団体）: 「宮城懸」は地方公共団体の一覧にありません（もしかして: 宮城県）")
    assert lines[1].startswith(f"{where}:13: proponents.2（提案団体）: 「仙台巿」は地方公共団体の一覧にありません（もしかして: 仙台市")
    assert lines[2:] == ["2 件の問題があります"]


def test_kb_check_reports_former_ambiguous_repeated_names_and_ministries_outside_their_years() -> None:
    code, lines = run_check(FIXTURES / "typos" / "2020")
    messages = [line.split(": ", 1)[1] for line in lines[:-1]]
    assert code == 1 and lines[-1] == "5 件の問題があります"
    assert messages == [
        "proponents.0（提案団体）: 「富谷町」が使える期間は 〜2016-10-09 です（後継: 富谷市）。2020 年の提案には使えません",
        "proponents.1（提案団体）: 「伊達市」という団体は複数あります（北海道伊達市、福島県伊達市）。"
        "都道府県名などを付けて「北海道伊達市」のように書いてください",
        "proponents.3（提案団体）: 「塩釜市」は proponents.2（提案団体） の「塩竈市」と同じ団体です",
        "ministries.0（制度の所管・関係府省）: 「デジタル庁」があった期間は 2021-09-01〜 です。2020 年の提案には使えません",
        "ministries.1（制度の所管・関係府省）: 「国交省」は府省の一覧にありません（もしかして: 国土交通省）",
    ]
    assert [line.split(":")[1] for line in lines[:-1]] == ["8", "9", "11", "13", "14"]


def test_build_refuses_a_proposal_with_an_unknown_name(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    result = CliRunner().invoke(app, ["build", str(FIXTURES / "typos" / "2024"), "--db", str(db)])
    assert result.exit_code == 1 and "宮城懸" in result.output and not db.exists()
