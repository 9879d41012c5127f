"""The statute registry: the repository's file is valid, and each kind of mistake is reported with its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.statutes.registry import DEFAULT_REGISTRY, load_registry, registry_problems

BROKEN = Path(__file__).parent / "fixtures" / "statutes" / "broken"


def test_repository_registry_is_valid() -> None:
    assert registry_problems(DEFAULT_REGISTRY) == []


def test_every_registered_law_id_says_how_it_was_checked() -> None:
    registry = load_registry(DEFAULT_REGISTRY)
    unchecked = [s.id for s in registry.statutes.values() if s.egov_id and not s.checked]
    assert unchecked == []


@pytest.mark.parametrize(
    ("fixture", "line", "field", "message"),
    [
        ("id_number_mismatch.yaml", 2, "statutes[0].id", "法令ID「425AC0000000072」の末尾3桁が法令番号「平成25年法律第27号」の番号と合いません"),
        ("member_bill_category.yaml", 2, "statutes[0].id", "衆法の法令IDは 426AC1000000104 の形です（「426AC0000000104」）"),
        ("checked_missing.yaml", 2, "statutes[0].checked", "法令IDをどう確かめたか（checked）を書いてください"),
        ("derivable_id_not_used.yaml", 2, "statutes[0].id", "法令番号「昭和25年法律第226号」から法令ID 325AC0000000226 が導けます。id に書いてください"),
        ("kind_unknown.yaml", 4, "statutes[0].kind", "「法令」は使えません。使える値: 憲法 / 法律 / 政令 / 勅令 / 府省令 / 規則 / 告示 / ガイドライン / 通知 / 要綱 / 要領 / 指針 / 事務連絡"),
        ("parent_missing.yaml", 6, "statutes[0].parent", "親の法令「322AC0000000067」がレジストリにありません"),
        ("alias_twice.yaml", 11, "statutes[1].aliases[0]", "名前「番号法」は statutes[0]（甲ガイドライン）にも使われています"),
        ("number_unreadable.yaml", 5, "statutes[0].number", "法令番号として読めません: 「昭和25年法律二百二十六」（例: 平成25年法律第27号）"),
        ("id_malformed.yaml", 2, "statutes[0].id", "「Local Tax」は使えません。e-Gov の法令ID（例: 425AC0000000027）か、法令IDが分からないときは英小文字・数字・ハイフンの名前（例: security-policy-guideline）"),
        ("key_unknown.yaml", 8, "statutes[0].url", "知らない項目です（使える項目: id, title, short, kind, number, bill, parent, aliases, issuer, note, checked）"),
        ("title_missing.yaml", 2, "statutes[0].title", "必須の項目がありません（正式な題名）"),
        ("yaml_syntax.yaml", 4, "YAML", "YAML の書き方が正しくありません: [ で始めたリストが ] で閉じられていません"),  # libyaml's words, explained (kb.core.yamlio)
    ],
)
def test_broken_registry_entry_is_reported_with_line_and_field(fixture: str, line: int, field: str, message: str) -> None:
    problems = registry_problems(BROKEN / fixture)
    assert [(p.line, p.field, p.message) for p in problems] == [(line, field, message)]


def test_number_of_another_kind_is_reported_on_id_and_number() -> None:
    problems = registry_problems(BROKEN / "number_kind_mismatch.yaml")
    assert [(p.line, p.field) for p in problems] == [(2, "statutes[0].id"), (5, "statutes[0].number")]


def test_kb_check_fails_on_a_broken_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixtures: Path) -> None:
    monkeypatch.setenv("KB_STATUTES", str(BROKEN / "parent_missing.yaml"))
    result = CliRunner().invoke(app, ["check", str(fixtures / "statutes" / "proposals")])
    assert result.exit_code == 1
    assert "parent_missing.yaml:6: statutes[0].parent: 親の法令「322AC0000000067」がレジストリにありません" in result.output


def test_kb_check_passes_with_the_repository_registry(fixtures: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(fixtures / "statutes" / "proposals")])
    assert result.exit_code == 0, result.output
