"""`kb build`: the database it writes, and that a failed build leaves the previous one alone."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from kb.cli import app
from kb.core.models import Proposal
from kb.core.problems import ProblemError
from kb.core.vocab import EMPTY_MARK, SECTION_ORDER
from kb.db.schema import Step
from kb.pipeline import STEPS, build

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
BROKEN = Path(__file__).parent / "fixtures" / "broken" / "date_invalid.md"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> sqlite_utils.Database:
    path = tmp_path_factory.mktemp("build") / "kb.db"
    build(path, [CORPUS])
    return sqlite_utils.Database(path)


def test_build_writes_one_row_per_proposal_keyed_by_year_and_number(db: sqlite_utils.Database) -> None:
    ids = [r["id"] for r in db.query("select id from proposals order by id")]
    assert ids == ["2023-0001", "2023-0002", "2023-0003", "2023-0004", "2023-0005", "2024-0071"]


def test_build_stores_each_section_in_its_own_column_as_written(db: sqlite_utils.Database) -> None:
    row = db["proposals"].get("2024-0071")
    assert row["residents_views"] == EMPTY_MARK  # the sheet printed —
    assert row["problems"].startswith("番号法上では、マイナンバー制度に係り")
    assert "\n\nこれらを踏まえ" in row["problems"]  # paragraphs kept
    assert row["co_proponent_problems"].startswith("- ○当市においても")  # Markdown kept
    assert set(db["proposals"].columns_dict) >= {key.column for key in SECTION_ORDER}


def test_build_leaves_unpublished_sections_null(db: sqlite_utils.Database) -> None:
    row = db["proposals"].get("2023-0003")
    assert row["first_answer"] is None and row["decision_text"] is None
    assert row["stage"] == "提案"


def test_build_links_local_governments_with_their_role(db: sqlite_utils.Database) -> None:
    links = list(
        db.query(
            "select local_government_id, role, position from proposal_local_governments"
            " where proposal_id = '2024-0071' order by role, position"
        )
    )
    assert links == [
        {"local_government_id": "宮城県", "role": "提案団体", "position": 1},
        {"local_government_id": "岩手県", "role": "提案団体", "position": 2},
        {"local_government_id": "宮城県後期高齢者医療広域連合", "role": "提案団体", "position": 3},
        {"local_government_id": "花巻市", "role": "追加共同提案団体", "position": 1},
        {"local_government_id": "熊本市", "role": "追加共同提案団体", "position": 2},
    ]


def test_build_stores_each_local_government_once_with_its_name_as_written(db: sqlite_utils.Database) -> None:
    names = [r["id"] for r in db.query("select id from local_governments")]
    assert len(names) == len(set(names))
    assert "髙﨑市" in names and "熊本県" in names  # 熊本県 proposes twice, stored once


def test_build_declares_foreign_keys_so_datasette_links_both_ways(db: sqlite_utils.Database) -> None:
    fks = {(fk.table, fk.column, fk.other_table) for t in db.tables for fk in t.foreign_keys}
    assert {
        ("proposal_local_governments", "proposal_id", "proposals"),
        ("proposal_local_governments", "local_government_id", "local_governments"),
        ("proposal_ministries", "ministry_id", "ministries"),
        ("proposals", "outcome", "outcomes"),
        ("proposals", "theme", "themes"),
        ("proposals", "policy_field", "policy_fields"),
        ("proposals", "category", "categories"),
        ("sources", "proposal_id", "proposals"),
        ("opinions", "proposal_id", "proposals"),
    } <= fks
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_build_indexes_faceted_columns(db: sqlite_utils.Database) -> None:
    indexed = {tuple(i.columns) for i in db["proposals"].indexes}
    for column in ("year", "category", "policy_field", "theme", "outcome", "stage"):
        assert (column,) in indexed, column
    assert ("ministry_id",) in {tuple(i.columns) for i in db["proposal_ministries"].indexes}


def test_build_keeps_opinions_and_sources_per_proposal(db: sqlite_utils.Database) -> None:
    assert list(db.query("select association, text from opinions where proposal_id = '2024-0071'")) == [
        {"association": "全国知事会", "text": "提案の実現に向けて特に積極的な検討を求める。"}
    ]
    source = next(db.query("select stage, ministry, title from sources where proposal_id = '2024-0071'"))
    assert source["stage"] == "最終的な調整結果" and source["ministry"] == "デジタル庁"


def test_failed_check_leaves_previous_database_untouched(tmp_path: Path) -> None:
    target = tmp_path / "kb.db"
    build(target, [CORPUS])
    before = target.read_bytes()
    broken_dir = tmp_path / "proposals"
    shutil.copytree(CORPUS, broken_dir)
    shutil.copy(BROKEN, broken_dir / "2023" / "0009.md")
    with pytest.raises(ProblemError) as exc:
        build(target, [broken_dir])
    assert any("0009.md" in p.path for p in exc.value.problems)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_crash_in_a_build_step_leaves_previous_database_untouched(tmp_path: Path) -> None:
    target = tmp_path / "kb.db"
    build(target, [CORPUS])
    before = target.read_bytes()

    def crash(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
        db["half_written"].insert({"x": 1})
        raise RuntimeError("step failed")

    with pytest.raises(RuntimeError, match="step failed"):
        build(target, [CORPUS], steps=[*STEPS, Step("crash", crash, incremental=False)])
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.db"]


def test_build_steps_run_after_core_tables_and_before_indexes(tmp_path: Path) -> None:
    seen: list[tuple[bool, int, int]] = []

    def step(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
        made = [i for i in db["proposals"].indexes if not i.name.startswith("sqlite_autoindex")]
        seen.append((db["proposals"].exists(), len(proposals), len(made)))
        db["extra"].insert({"proposal_id": proposals[0].id}, foreign_keys=[("proposal_id", "proposals", "id")])

    build(tmp_path / "kb.db", [CORPUS], steps=[*STEPS, Step("extra", step, incremental=False)])
    assert seen == [(True, 6, 0)]
    assert sqlite_utils.Database(tmp_path / "kb.db")["extra"].count == 1


def test_cli_build_exits_non_zero_and_names_file_line_and_field(tmp_path: Path) -> None:
    broken_dir = tmp_path / "proposals" / "2023"
    broken_dir.mkdir(parents=True)
    shutil.copy(BROKEN, broken_dir / "0009.md")
    result = CliRunner().invoke(app, ["build", str(tmp_path / "proposals"), "--db", str(tmp_path / "kb.db")])
    assert result.exit_code == 1
    assert "0009.md:" in result.output and "decision.date（閣議決定日）" in result.output
    assert "データベースは作りませんでした" in result.output
    assert not (tmp_path / "kb.db").exists()


def test_cli_build_reports_count(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["build", str(CORPUS), "--db", str(tmp_path / "out.db")])
    assert result.exit_code == 0, result.output
    assert "提案 6 件" in result.output
    assert sqlite3.connect(tmp_path / "out.db").execute("select count(*) from proposals").fetchone() == (6,)


def test_new_database_gets_normal_file_permissions(tmp_path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    build(tmp_path / "kb.db", [CORPUS])
    assert (tmp_path / "kb.db").stat().st_mode & 0o777 == 0o666 & ~umask


def test_rebuild_keeps_the_permissions_of_the_previous_database(tmp_path: Path) -> None:
    target = tmp_path / "kb.db"
    build(target, [CORPUS])
    target.chmod(0o640)
    build(target, [CORPUS])
    assert target.stat().st_mode & 0o777 == 0o640


def test_build_in_a_process_whose_site_capped_sqlites_heap_still_works(tmp_path: Path) -> None:
    # the served site caps SQLite's heap for the whole process (site/plugins/hardening.py); a build in the
    # same process afterwards (kb serve's tests, a notebook) failed with MemoryError
    libsqlite = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
    libsqlite.sqlite3_memory_used.restype = ctypes.c_int64
    limit = libsqlite.sqlite3_memory_used() + 2 * 2**20  # 2 MiB more than this process's SQLite already holds
    cap = sqlite3.connect(":memory:")
    cap.execute(f"PRAGMA hard_heap_limit = {limit}")
    try:
        build(tmp_path / "kb.db", [CORPUS], jobs=1)
        assert cap.execute("PRAGMA hard_heap_limit").fetchone()[0] == limit  # the site's cap is back
    finally:
        cap.execute("PRAGMA hard_heap_limit = 0")
        cap.close()
    assert sqlite_utils.Database(tmp_path / "kb.db")["proposals"].count == 6
