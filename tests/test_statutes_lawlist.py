"""e-Gov's law list (data/egov_laws.csv): the vendored file is whole and sound; a broken one stops every command with file:line."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.core.problems import ProblemError
from kb.statutes.lawlist import (
    DEFAULT_LAW_LIST,
    LAW_ID_RE,
    bill_of_id,
    kind_of_id,
    parse_law_list,
    read_law_list,
    render_law_list,
)
from kb.statutes.registry import registry_problems

HERE = Path(__file__).parent / "fixtures" / "statutes"
LISTS = HERE / "lawlists"
SCRIPT = Path(__file__).parent.parent / "scripts" / "convert_egov_laws.py"


def test_vendored_list_holds_every_current_law_by_kind() -> None:
    laws = read_law_list(DEFAULT_LAW_LIST)
    kinds = [law.kind for law in laws]
    assert len(laws) == 8945
    assert {k: kinds.count(k) for k in ("法律", "政令", "府省令")} == {"法律": 2078, "政令": 2314, "府省令": 4292}


def test_vendored_list_is_sorted_and_reads_back_to_the_same_text() -> None:
    text = DEFAULT_LAW_LIST.read_text(encoding="utf-8")
    assert render_law_list(parse_law_list(text, DEFAULT_LAW_LIST)) == text


def test_vendored_list_keeps_ids_that_cannot_be_computed_from_numbers() -> None:
    """国土利用計画法 is a member's bill and 土地収用法 a House of Councillors' one: their IDs are e-Gov's, not derived."""
    by_title = {law.title: law for law in read_law_list(DEFAULT_LAW_LIST)}
    assert (by_title["国土利用計画法"].id, by_title["国土利用計画法"].bill) == ("349AC1000000092", "衆法")
    assert (by_title["土地収用法"].id, by_title["土地収用法"].bill) == ("326AC0100000219", "参法")


@pytest.mark.parametrize(
    ("law_id", "kind", "bill"),
    [("425AC0000000027", "法律", "閣法"), ("335CO0000000270", "政令", None), ("426M60000100063", "府省令", None),
     ("321CONSTITUTION", "憲法", None), ("324RJNJ01001000", "人事院規則", None), ("106DF0000000065", "太政官布告", None)],
)  # fmt: skip
def test_kind_and_bill_are_read_from_the_id(law_id: str, kind: str, bill: str | None) -> None:
    assert LAW_ID_RE.match(law_id)
    assert (kind_of_id(law_id), bill_of_id(law_id)) == (kind, bill)


def test_wrong_header_is_reported_on_line_one() -> None:
    with pytest.raises(ProblemError) as err:
        read_law_list(LISTS / "header_wrong.csv")
    assert [(p.line, p.field) for p in err.value.problems] == [(1, "見出し")]
    assert "1行目は「id,law_number,title」にしてください" in err.value.problems[0].message


def test_every_broken_row_is_reported_with_its_line_and_field() -> None:
    with pytest.raises(ProblemError) as err:
        read_law_list(LISTS / "rows_broken.csv")
    assert [(p.line, p.field, p.message) for p in err.value.problems] == [
        (3, "id", "「LocalTax」は e-Gov の法令IDの形ではありません（例: 425AC0000000027）"),
        (4, "id", "法令ID「322AC0000000067」が 2 行目と重複しています"),
        (5, "title", "法令名が空です"),
        (6, "行", "項目は 3 個（id,law_number,title）のはずが 2 個です"),
    ]


def test_broken_list_reports_only_its_own_problems() -> None:
    """statutes.yaml is checked against the list: against no list every entry would look wrong."""
    problems = registry_problems(law_list=LISTS / "rows_broken.csv")
    assert {p.path.rsplit("/", 1)[-1] for p in problems} == {"rows_broken.csv"}
    assert len(problems) == 4


def test_kb_check_fails_on_a_broken_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_LAW_LIST", str(LISTS / "rows_broken.csv"))
    result = CliRunner().invoke(app, ["check", str(HERE / "proposals")])
    assert result.exit_code == 1
    assert "rows_broken.csv:3: id: 「LocalTax」は e-Gov の法令IDの形ではありません" in result.output


def test_kb_build_with_a_broken_list_leaves_the_database_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "kb.db"
    assert CliRunner().invoke(app, ["build", str(HERE / "proposals"), "--db", str(out)]).exit_code == 0
    before = hashlib.sha256(out.read_bytes()).hexdigest()
    monkeypatch.setenv("KB_LAW_LIST", str(LISTS / "rows_broken.csv"))
    result = CliRunner().invoke(app, ["build", str(HERE / "proposals"), "--db", str(out), "--full"])
    assert result.exit_code == 1
    assert "rows_broken.csv:5: title: 法令名が空です" in result.output
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.db"]


def test_missing_list_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KB_LAW_LIST", str(tmp_path / "nowhere.csv"))
    result = CliRunner().invoke(app, ["cite", "地方自治法第2条"])
    assert result.exit_code == 1
    assert "e-Gov の法令一覧がありません（kb statutes update で取得できます）" in result.output


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("convert_egov_laws", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converter_writes_sorted_csv_and_provenance(tmp_path: Path) -> None:
    source = tmp_path / "laws.json"
    source.write_text(json.dumps({"updated_at": "2026-02-08T00:00:00Z", "total_count": 2, "laws": [
        {"id": "335CO0000000270", "lawNum": "昭和三十五年政令第二百七十号", "title": "道路交通法施行令", "category": "misc"},
        {"id": "322AC0000000067", "lawNum": "昭和二十二年法律第六十七号", "title": "地方自治法", "category": "laws"},
    ]}, ensure_ascii=False), encoding="utf-8")  # fmt: skip
    out, licenses = tmp_path / "egov_laws.csv", tmp_path / "LICENSES"
    facts = _script().convert(source, out, licenses)
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows == [["id", "law_number", "title"], ["322AC0000000067", "昭和二十二年法律第六十七号", "地方自治法"], ["335CO0000000270", "昭和三十五年政令第二百七十号", "道路交通法施行令"]]
    assert (facts["count"], facts["kinds"], facts["sha256"]) == (2, {"法律": 1, "政令": 1}, hashlib.sha256(source.read_bytes()).hexdigest())
    assert "CC0" in (licenses / "egov-laws.source.yaml").read_text(encoding="utf-8")


def test_converter_refuses_another_shape_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "laws.json"
    source.write_text(json.dumps({"laws": [{"id": "322AC0000000067", "title": "地方自治法"}]}), encoding="utf-8")
    with pytest.raises(ValueError, match="lawNum"):
        _script().convert(source, tmp_path / "egov_laws.csv", tmp_path / "LICENSES")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["laws.json"]
