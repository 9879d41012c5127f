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


def test_registry_follows_edits_of_statutes_yaml_and_of_the_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loaded registries are cached between runs by content: an edit of either file must show at once."""
    from kb.statutes import registry as module

    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    yaml_file, csv_file = tmp_path / "statutes.yaml", tmp_path / "egov_laws.csv"
    yaml_file.write_text("statutes:\n  - id: 322AC0000000067\n    title: 地方自治法\n    aliases: [自治法]\n", encoding="utf-8")
    csv_file.write_text("id,law_number,title\n322AC0000000067,昭和二十二年法律第六十七号,地方自治法\n", encoding="utf-8")
    assert load_registry(yaml_file, csv_file).lookup_name("自治法") is not None
    yaml_file.write_text(yaml_file.read_text(encoding="utf-8").replace("自治法]", "地自法]"), encoding="utf-8")
    module._cached.cache_clear()  # a new process: only the file cache is left
    assert load_registry(yaml_file, csv_file).lookup_name("自治法") is None
    csv_file.write_text("id,law_number,title\n", encoding="utf-8")  # the law leaves the list
    module._cached.cache_clear()
    module._listed_index.cache_clear()
    problems = registry_problems(yaml_file, csv_file)
    assert [p.field for p in problems] == ["statutes[0].id"]


def test_registry_holds_every_listed_law_and_the_entries_on_top() -> None:
    registry = load_registry(DEFAULT_REGISTRY)
    listed = [s for s in registry.statutes.values() if s.listed]
    assert len(listed) == 8945
    assert registry.statutes["322AC0000000067"].aliases[:1] == ("自治法",)
    assert registry.statutes["415AC0000000058"].repealed is not None  # repealed: only in statutes.yaml


LIST_KINDS = "憲法 / 法律 / 政令 / 勅令 / 府省令 / 規則 / 人事院規則 / 内閣総理大臣決定 / 太政官布告 / 太政官達 / 告示 / ガイドライン / 通知 / 要綱 / 要領 / 指針 / 準則 / 事務連絡"


@pytest.mark.parametrize(
    ("fixture", "line", "field", "message"),
    [
        ("title_differs_from_list.yaml", 3, "statutes[0].title", "「地方自治法施行令」は法令ID 322AC0000000067 の e-Gov の法令名「地方自治法」と違います（法令IDか題名の誤り）"),
        ("kind_differs_from_list.yaml", 4, "statutes[0].kind", "法令ID 322AC0000000067 は法律です（kind: 政令）"),
        ("number_differs_from_list.yaml", 4, "statutes[0].number", "法令番号「昭和22年法律第68号」は e-Gov の一覧の「昭和二十二年法律第六十七号」と違います"),
        ("alias_is_another_laws_title.yaml", 5, "statutes[0].aliases[0]", "名前「地方税法」は別の法令（法令ID 325AC0000000226）の題名です"),
        ("listed_law_under_slug.yaml", 5, "statutes[0].number", "法令番号「昭和25年法律第226号」の法令は e-Gov の一覧にあります（法令ID 325AC0000000226）。id に書いてください"),
        ("listed_title_under_slug.yaml", 2, "statutes[0].id", "題名「地方税法」の法令は e-Gov の一覧にあります（法令ID 325AC0000000226）。id に書いてください"),
        ("unlisted_id_not_repealed.yaml", 2, "statutes[0].id", "法令ID「425AC0000000072」は e-Gov の現行法令の一覧にありません。廃止された法令なら repealed: に廃止の日と経緯を書いてください（新しい法令なら kb statutes update で一覧を更新）"),
        ("repealed_id_number_mismatch.yaml", 2, "statutes[0].id", "法令ID「415AC0000000085」の末尾3桁が法令番号「平成15年法律第58号」の番号と合いません"),
        ("repealed_checked_missing.yaml", 2, "statutes[0].checked", "法令IDをどう確かめたか（checked）を書いてください"),
        ("kind_unknown.yaml", 4, "statutes[0].kind", f"「法令」は使えません。使える値: {LIST_KINDS}"),
        ("parent_missing.yaml", 6, "statutes[0].parent", "親の法令「no-such-law」がレジストリにありません"),
        ("alias_twice.yaml", 11, "statutes[1].aliases[0]", "名前「番号法」は statutes[0]（甲ガイドライン）にも使われています"),
        ("number_unreadable.yaml", 5, "statutes[0].number", "法令番号として読めません: 「昭和25年法律二百二十六」（例: 平成25年法律第27号）"),
        ("id_malformed.yaml", 2, "statutes[0].id", "「Local Tax」は使えません。e-Gov の法令ID（例: 425AC0000000027）か、法令IDが分からないときは英小文字・数字・ハイフンの名前（例: security-policy-guideline）"),
        ("key_unknown.yaml", 6, "statutes[0].url", "知らない項目です（使える項目: id, title, short, kind, number, bill, parent, aliases, issuer, note, checked, repealed）"),
        ("title_missing.yaml", 2, "statutes[0].title", "必須の項目がありません（正式な題名）"),
        ("yaml_syntax.yaml", 4, "YAML", "YAML の書き方が正しくありません: [ で始めたリストが ] で閉じられていません"),  # libyaml's words, explained (kb.core.yamlio)
    ],
)
def test_broken_registry_entry_is_reported_with_line_and_field(fixture: str, line: int, field: str, message: str) -> None:
    problems = registry_problems(BROKEN / fixture)
    assert [(p.line, p.field, p.message) for p in problems] == [(line, field, message)]


def test_kb_check_fails_on_a_broken_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixtures: Path) -> None:
    monkeypatch.setenv("KB_STATUTES", str(BROKEN / "parent_missing.yaml"))
    result = CliRunner().invoke(app, ["check", str(fixtures / "statutes" / "proposals")])
    assert result.exit_code == 1
    assert "parent_missing.yaml:6: statutes[0].parent: 親の法令「no-such-law」がレジストリにありません" in result.output


def test_kb_check_passes_with_the_repository_registry(fixtures: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(fixtures / "statutes" / "proposals")])
    assert result.exit_code == 0, result.output
