"""A fault in a registry data file is reported at its file and line, and `kb check` fails on it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.core.paths import DATA_DIR_ENV
from kb.registries.localgov_data import load_local_governments
from kb.registries.ministries import load_ministries

DATA = Path(__file__).parent.parent / "data"
REAL = Path(__file__).parent / "fixtures" / "registries" / "real"

# (file, text to replace, replacement, field, words the message must contain); the edited line is the one reported.
FAULTS = [
    ("local_governments.csv", "041009,仙台市,", "041008,仙台市,", "code", "検査数字が合いません（「041008」）"),
    ("local_governments.csv", "042030,塩竈市,", "041009,塩竈市,", "code", "コード 041009 が重複しています"),
    ("local_governments.csv", "042030,塩竈市,しおがまし,市,", "042030,塩竈市,しおがまし,都市,", "type", "「都市」は使えません"),
    ("local_governments_extra.yaml", "type: 広域連合, from: 2010-12-01", "type: 広域連合, form: 2010-12-01", "form", "知らない項目です"),
    ("local_governments_extra.yaml", '- {code: "221317", name: 中区', "- {code: 221317, name: 中区", "code", "引用符で囲んで"),
    ("local_governments_extra.yaml", "source: kansai}", "source: kansia}", "source", "出典「kansia」が sources にありません"),
    ("local_governments_extra.yaml", "{alias: 塩釜市, name: 塩竈市", "{alias: 塩釜市, name: 塩竃市", "name", "「塩竃市」は一覧にありません"),
    ("city_designations.yaml", "name: 松本市, kind: 施行時特例市, from: 2015-04-01, to: 2021-03-31",
     "name: 松本市, kind: 施行時特例市, from: 2015-04-01, to: 2021-04-01", "from", "松本市の区分の期間が重なっています"),
    ("city_designations.yaml", "name: 仙台市, kind: 指定都市", "name: 仙台市, kind: 政令市", "kind", "「政令市」は使えません"),
    ("ministries.yaml", "name: 警察庁, kind: 庁, parent: 国家公安委員会", "name: 警察庁, kind: 庁, parent: 国家公安委員", "parent",
     "「国家公安委員」が一覧にありません"),
    ("ministries.yaml", "name: デジタル庁, kind: 庁, from: 2021-09-01", "name: デジタル庁, kind: 庁, from: 令和3年9月1日", "from",
     "日付は YYYY-MM-DD"),
    ("ministries.yaml", "  - {name: 総務省,", "  - {name: 総務省,,", "YAML", "YAML の書き方が正しくありません"),
]  # fmt: skip


def broken_copy(tmp_path: Path, file: str, old: str, new: str) -> tuple[Path, int]:
    """A copy of data/ with one edit; returns the folder and the 1-based line edited."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    text = (data / file).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    (data / file).write_text(text.replace(old, new), encoding="utf-8")
    return data, text[: text.index(old)].count("\n") + 1


def problems_of(data: Path) -> list:
    return load_local_governments(data)[1] + load_ministries(data)[1]


@pytest.mark.parametrize(("file", "old", "new", "field", "words"), FAULTS, ids=[f"{f[0]}-{f[3]}-{i}" for i, f in enumerate(FAULTS)])
def test_fault_in_a_data_file_is_reported_at_its_line(
    tmp_path: Path, file: str, old: str, new: str, field: str, words: str
) -> None:
    data, line = broken_copy(tmp_path, file, old, new)
    found = [p for p in problems_of(data) if p.path.endswith(file) and p.field == field and words in p.message]
    assert found, problems_of(data)
    assert found[0].line == line


def test_kb_check_fails_on_a_broken_registry_and_names_the_data_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, line = broken_copy(tmp_path, "local_governments.csv", "041009,仙台市,", "041008,仙台市,")
    monkeypatch.setenv(DATA_DIR_ENV, str(data))
    result = CliRunner().invoke(app, ["check", str(REAL)])
    assert result.exit_code == 1
    assert f"local_governments.csv:{line}: code: 検査数字が合いません（「041008」）" in result.output
    # 仙台市 is gone from the broken list, so the real proposals naming it are reported too
    assert "「仙台市」は地方公共団体の一覧にありません" in result.output


def test_missing_data_folder_is_one_problem_in_japanese_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reported: a hook installed in another repository ran `kb check` with no data/ and crashed."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "nowhere"))
    result = CliRunner().invoke(app, ["check", str(Path(__file__).parent / "fixtures" / "corpus")])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.splitlines()
    assert lines[0].endswith("登録簿のフォルダがありません（別の場所にあるなら環境変数 KB_DATA_DIR で指定してください）")
    assert lines[-1] == "1 件の問題があります"
