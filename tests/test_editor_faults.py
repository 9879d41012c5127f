"""Editors' mistakes → the exact messages `kb check` prints (the table in docs/format.md comes from the same file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from kb.cli import app
from kb.pipeline import check

FAULTS = Path(__file__).parent / "fixtures" / "editor_faults"
CASES: list[dict[str, Any]] = yaml.safe_load((FAULTS / "cases.yaml").read_text(encoding="utf-8"))["cases"]


def test_the_table_covers_at_least_25_mistakes() -> None:
    assert len(CASES) >= 25
    assert sorted(c["case"] for c in CASES) == sorted(p.name for p in FAULTS.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_check_prints_the_documented_messages(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FAULTS)
    assert [str(p) for p in check([case["case"]]).problems] == case["messages"]


def test_one_run_reports_a_heading_a_name_a_ministry_and_the_era_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's file: an unknown heading no longer hides the mistyped names and the era/year mismatch."""
    monkeypatch.chdir(FAULTS)
    result = CliRunner().invoke(app, ["check", "several_at_once"])
    fields = [line.split(": ")[1] for line in result.output.splitlines()[:-1]]
    assert result.exit_code == 1
    assert {"見出し", "proponents.0（提案団体）", "ministries.0（制度の所管・関係府省）", "era（和暦）"} <= set(fields)


def test_a_file_with_problems_is_never_formatted(tmp_path: Path) -> None:
    """A partly read file is checked, but `kb fmt` must not rewrite it from what could be read."""
    source = FAULTS / "heading_typo" / "2023" / "0001.md"
    target = tmp_path / "2023" / "0001.md"
    target.parent.mkdir()
    target.write_bytes(source.read_bytes())
    result = CliRunner().invoke(app, ["fmt", str(tmp_path)])
    assert result.exit_code == 1
    assert target.read_bytes() == source.read_bytes()


def test_github_format_prints_one_annotation_per_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FAULTS)
    result = CliRunner().invoke(app, ["check", "--format", "github", "proponent_typo"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "::error file=proponent_typo/2023/0001.md,line=10,title=proponents.0（提案団体）::"
        "「宮城件」は地方公共団体の一覧にありません（もしかして: 宮城県）。"
        "一覧にない団体なら data/local_governments_extra.yaml に出典つきで足してください"
    ]


def test_json_format_prints_one_object_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FAULTS)
    result = CliRunner().invoke(app, ["check", "--format", "json", "era_year_mismatch"])
    assert result.exit_code == 1
    assert yaml.safe_load(result.output) == {
        "path": "era_year_mismatch/2023/0001.md",
        "line": 3,
        "field": "era（和暦）",
        "message": "和暦「令和7年」は 2025 年です。年「2023」なら「令和5年」です。どちらかを直してください",
    }
