"""The `kb` commands an editor runs: check, fmt, new, show."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from kb.cli import app
from kb.files.parse import parse_file

runner = CliRunner()


@pytest.fixture
def tree(tmp_path: Path, fixtures: Path) -> Path:
    """A proposals folder holding one valid file; the working directory is its parent."""
    target = tmp_path / "proposals" / "2024"
    target.mkdir(parents=True)
    shutil.copy(fixtures / "valid" / "2024" / "0071.md", target / "0071.md")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path / "proposals"
    os.chdir(cwd)


# The same proposal, laid out the way a hurried editor might write it.
MESSY_FRONT = """---
title: 都道府県と教育委員会が一つの自治体中間サーバーを利用することを可能とすること
year: 2024
number: 71
era: 令和6年
serial: 71
category: B
policy_field: 11_総務
theme: デジタル化
proponents: [宮城県, 岩手県, 宮城県後期高齢者医療広域連合]
co_proponents: [花巻市, 熊本市]
ministries: [デジタル庁, 総務省]
sheet_ministry: デジタル庁
decision: {date: 2024-12-24, outcome: 対応方針に記載なし}
sources:
- {stage: 最終的な調整結果, ministry: デジタル庁, title: 令和6年 地方分権改革に関する提案募集 提案事項 デジタル庁 最終的な調整結果}
---
"""


def _messy(valid: str) -> str:
    body = valid.split("---\n", 2)[2]
    body = body.replace("## 制度改正による効果", "## 制度改革による効果(提案の実現による住民の利便性の向上・行政の効率化等)")
    body = body.replace("### 全国知事会", "### 【全国知事会】")
    body = body.replace("\n—\n", "\n―\n")
    body = body.replace("\n\n## ", "\n\n\n\n##   ")
    return MESSY_FRONT + body


def test_check_passes_valid_tree_and_says_how_many(tree: Path) -> None:
    result = runner.invoke(app, ["check", str(tree)])
    assert result.exit_code == 0
    assert "OK: 1 件の提案に問題はありません" in result.output


def test_check_exits_1_and_prints_path_line_field_message(tree: Path) -> None:
    path = tree / "2024" / "0071.md"
    path.write_text(path.read_text().replace("category: B 地方に対する規制緩和", "category: Z"))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert "proposals/2024/0071.md:7: category（提案区分）: 「Z」は使えません。" in result.output
    assert "1 件の問題があります" in result.output


def test_fmt_changes_layout_only(tree: Path) -> None:
    path = tree / "2024" / "0071.md"
    canonical = path.read_text()
    path.write_text(_messy(canonical))
    before = parse_file(path)
    check = runner.invoke(app, ["fmt", "--check"])
    assert check.exit_code == 1 and "整形が必要" in check.output
    assert runner.invoke(app, ["fmt"]).exit_code == 0
    assert parse_file(path) == before
    assert path.read_text() == canonical
    assert runner.invoke(app, ["fmt", "--check"]).exit_code == 0


def test_fmt_leaves_files_with_problems_untouched(tree: Path) -> None:
    path = tree / "2024" / "0071.md"
    broken = _messy(path.read_text()).replace("number: 71", "number: ７１")
    path.write_text(broken)
    result = runner.invoke(app, ["fmt"])
    assert result.exit_code == 1
    assert path.read_text() == broken


PROPOSAL_STAGE = [
    "求める措置の具体的内容",
    "具体的な支障事例",
    "地域住民や事業者等の具体的な意見・要望、支障事例等",
    "制度改正による効果",
    "根拠法令等",
]


def _front_matter(text: str) -> list[str]:
    return text.split("---\n")[1].splitlines()


def test_new_writes_only_the_proposal_stage_sections_and_refuses_to_overwrite(tree: Path) -> None:
    result = runner.invoke(app, ["new", "2025", "12"])
    assert result.exit_code == 0
    text = (tree / "2025" / "0012.md").read_text()
    assert "era: 令和7年" in text and "number: 12" in text
    body = [line for line in text.split("---\n", 2)[2].splitlines() if line]
    assert body == [f"## {h}" for h in PROPOSAL_STAGE]  # empty, to fill; later stages are added when published
    assert all(not line.endswith(" ") for line in text.splitlines())
    again = runner.invoke(app, ["new", "2025", "12"])
    assert again.exit_code == 1 and "すでにあります" in again.output
    assert (tree / "2025" / "0012.md").read_text() == text


def test_new_file_comments_say_what_goes_under_each_key(tree: Path) -> None:
    runner.invoke(app, ["new", "2025", "12"])
    front = _front_matter((tree / "2025" / "0012.md").read_text())
    comments = "\n".join(line for line in front if line.startswith("#"))
    keys = [line.split(":")[0] for line in front if line[:1].isalpha()]
    assert keys == ["year", "era", "number", "serial", "title", "category", "policy_field", "theme",
                    "proponents", "co_proponents", "ministries", "sheet_ministry", "sources"]  # fmt: skip
    assert [key for key in [*keys, "decision"] if f"{key}:" not in comments and f"{key}（" not in comments] == []
    assert "kb import" in comments and "第1次回答" in comments and "「—」" in comments


def test_new_file_check_names_what_to_fill(tree: Path) -> None:
    runner.invoke(app, ["new", "2025", "12"])
    lines = (tree / "2025" / "0012.md").read_text().splitlines()
    result = runner.invoke(app, ["check", "proposals/2025"])
    assert result.exit_code == 1
    reported = [line.split(": ", 2) for line in result.output.splitlines() if line.startswith("proposals/")]
    assert {where.split(":")[0] for where, _field, _message in reported} == {"proposals/2025/0012.md"}
    # each problem points at the line to fill: the empty key, the empty list item, the empty section's heading
    pointed_at = [(field, lines[int(where.split(":")[1]) - 1]) for where, field, _message in reported]
    assert pointed_at == [
        ("title（提案事項）", "title:"),
        ("category（提案区分）", "category:"),
        ("proponents.0（提案団体）", "  -"),
        ("ministries.0（制度の所管・関係府省）", "  -"),
        *[(heading, f"## {heading}") for heading in PROPOSAL_STAGE],
    ]
    assert {message for _where, field, message in reported if field in PROPOSAL_STAGE} == {
        "本文が空です。公表された内容がないときは「—」と書きます"
    }


def _fill_in(text: str) -> str:
    """What an editor writes into a new file: the required keys and the five sections (one published as —)."""
    bodies = {
        "求める措置の具体的内容": "農地転用許可の権限を市町村に移譲することを求める。",
        "具体的な支障事例": "許可までに時間がかかり、事業者の計画が遅れている。",
        "地域住民や事業者等の具体的な意見・要望、支障事例等": "—",
        "制度改正による効果": "手続が早くなる。",
        "根拠法令等": "農地法第4条",
    }
    text = text.replace("title:\n", "title: 農地転用許可の権限移譲\n").replace("category:\n", "category: A 権限移譲\n")
    text = text.replace("proponents:\n  -\n", "proponents:\n  - 宮城県\n")
    text = text.replace("ministries:\n  -\n", "ministries:\n  - 農林水産省\n")
    for heading, body in bodies.items():
        text = text.replace(f"## {heading}\n", f"## {heading}\n\n{body}\n")
    return text


def test_filled_in_new_file_passes_check_and_builds_as_stage_proposal(tree: Path) -> None:
    runner.invoke(app, ["new", "2025", "12"])
    path = tree / "2025" / "0012.md"
    path.write_text(_fill_in(path.read_text()))
    checked = runner.invoke(app, ["check"])
    assert checked.exit_code == 0, checked.output
    built = runner.invoke(app, ["build", "--db", "kb.db"])
    assert built.exit_code == 0, built.output
    row = sqlite_utils.Database("kb.db")["proposals"].get("2025-0012")
    assert row["stage"] == "提案"
    assert row["residents_views"] == "—" and row["first_answer"] is None and row["decision_text"] is None


def test_show_prints_model_as_json(tree: Path) -> None:
    result = runner.invoke(app, ["show", "2024-0071"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["id"] == "2024-0071"
    assert data["sections"]["地域住民や事業者等の具体的な意見・要望、支障事例等"] is None
    assert data["opinions"] == {"全国知事会": "提案の実現に向けて特に積極的な検討を求める。"}


def test_show_unknown_id_exits_1(tree: Path) -> None:
    result = runner.invoke(app, ["show", "2024-0999"])
    assert result.exit_code == 1 and "ファイルがありません" in result.output


def test_console_script_runs_check(tree: Path) -> None:
    kb = Path(sys.executable).parent / "kb"
    done = subprocess.run([str(kb), "check", "proposals"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
