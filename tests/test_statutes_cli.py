"""`kb cite` and `kb statutes` (the report; `kb statutes update` is tests/test_statutes_update.py), run as commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app

HERE = Path(__file__).parent / "fixtures" / "statutes"
BROKEN = HERE / "broken"


@pytest.fixture(autouse=True)
def fixture_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_STATUTES", str(HERE / "registry.yaml"))


def test_cite_prints_one_json_object_per_citation() -> None:
    result = CliRunner().invoke(app, ["cite", "番号利用法第19条第11号及び児童手当法第8条、工業標準化法第2条"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(d["statute"], d["pinpoint"], d["url"], d["quote"]) for d in lines] == [
        ("425AC0000000027", "第19条第11号", "https://laws.e-gov.go.jp/law/425AC0000000027#Mp-At_19-Pr_1-It_11", "番号利用法第19条第11号"),
        ("346AC0000000073", "第8条", "https://laws.e-gov.go.jp/law/346AC0000000073#Mp-At_8", "児童手当法第8条"),
        (None, "第2条", None, "工業標準化法第2条"),  # renamed in 2019: not in the list of current laws
    ]
    assert lines[0]["title"] == "行政手続における特定の個人を識別するための番号の利用等に関する法律"
    assert (lines[2]["title"], lines[2]["kind"], lines[2]["unresolved"]) == ("工業標準化法", "法律", "未登録")


@pytest.mark.parametrize("args", [["cite", "-"], ["cite"]])
def test_cite_reads_standard_input(args: list[str]) -> None:
    result = CliRunner().invoke(app, args, input="地方自治法第252条の17の2第1項\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["url"] == "https://laws.e-gov.go.jp/law/322AC0000000067#Mp-At_252_17_2-Pr_1"


def test_cite_prints_nothing_for_text_without_citations() -> None:
    result = CliRunner().invoke(app, ["cite", "関係法令の改正を検討する。"])
    assert (result.exit_code, result.output) == (0, "")


def test_cite_refuses_a_broken_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_STATUTES", str(BROKEN / "alias_twice.yaml"))
    result = CliRunner().invoke(app, ["cite", "番号法"])
    assert result.exit_code == 1
    assert "alias_twice.yaml:11: statutes[1].aliases[0]: 名前「番号法」は statutes[0]（甲ガイドライン）にも使われています" in result.output


def test_statutes_counts_citations_per_statute() -> None:
    result = CliRunner().invoke(app, ["statutes", "report", str(HERE / "proposals")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "引用されている法令等: 2 件（提案 2 件、引用 20 件）"
    assert lines[2].split("\t")[:5] == ["13", "1", "425AC0000000027", "番号利用法", "法律"]
    assert lines[2].split("\t")[5] == "第9条第1項（4）、別表（4）、別表第二（1）"
    assert lines[3].split("\t")[:4] == ["7", "1", "security-policy-guideline", "セキュリティポリシーガイドライン"]
    assert "解決できなかった引用: 0 件" in lines


def test_statutes_unresolved_tells_the_editor_why_and_what_to_do(tmp_path: Path) -> None:
    year = tmp_path / "2024"
    year.mkdir()
    text = (HERE / "proposals" / "2024" / "0071.md").read_text(encoding="utf-8")
    extra = (
        "地方自治法（昭和22年法律第68号）第2条、昭和22年法律第999号第3条、工業標準化法第2条及び"
        "地方税法施行細則第7条の規定。"
    )
    (year / "0071.md").write_text(text.replace("## 根拠法令等\n\n", f"## 根拠法令等\n\n{extra}\n\n"), encoding="utf-8")
    result = CliRunner().invoke(app, ["statutes", "report", "--unresolved", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "解決できなかった引用: 4 件"
    assert "引用されている法令等" not in result.output
    rows = {line.split("\t")[2]: line.split("\t") for line in lines[2:]}
    assert rows["地方自治法"][3:6] == ["法律", "題名と法令番号の不一致", "2024-0071"]
    assert rows["地方自治法"][6].startswith("題名と法令番号「昭和22年法律第68号」が別の法令を指しています")
    assert rows["昭和22年法律第999号"][4] == "一覧にない法令番号"
    assert "repealed" in rows["昭和22年法律第999号"][6]
    assert rows["工業標準化法"][3:5] == ["法律", "未登録"]
    assert rows["工業標準化法"][6].startswith("「工業標準化法」は e-Gov の現行法令の一覧にない名前です。")
    assert rows["地方税法施行細則"][6].endswith("（parent: 325AC0000000226）")


def test_statutes_reports_broken_proposal_files(fixtures: Path) -> None:
    result = CliRunner().invoke(app, ["statutes", "report", str(fixtures / "broken" / "category_unknown.md")])
    assert result.exit_code == 1
    assert "category_unknown.md:" in result.output


@pytest.mark.parametrize(("args", "first"), [([], "引用されている法令等: 2 件（提案 2 件、引用 20 件）"), (["--unresolved"], "解決できなかった引用: 0 件")])
def test_statutes_without_a_folder_reports_on_proposals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], first: str
) -> None:
    shutil.copytree(HERE / "proposals", tmp_path / "proposals")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["statutes", *args])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == first
