"""Incremental `kb build`: the same database as a full rebuild, made by re-parsing only what changed."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from kb.cli import app
from kb.core.models import Proposal
from kb.core.problems import ProblemError
from kb.db.dbfile import BackgroundCopy
from kb.db.filestate import FILES_TABLE
from kb.db.parallel import MIN_PARALLEL
from kb.db.result import BuildResult
from kb.db.schema import FTS_TABLE, Step
from kb.pipeline import STEPS, build
from kb.search.textnorm import fts_query

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
BROKEN = Path(__file__).parent / "fixtures" / "broken" / "date_invalid.md"
QUERIES = ["児童", "畑", "保育 農地", "熊本県", "番号", "札幌市", "総務省"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A copy of the test corpus that a test may edit."""
    shutil.copytree(CORPUS, tmp_path / "proposals", ignore=shutil.ignore_patterns("README.md"))
    return tmp_path / "proposals"


def _surrogate_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """INTEGER PRIMARY KEY columns: rowid aliases numbered by insertion order, not content."""
    pks = [r for r in conn.execute(f"PRAGMA table_info([{table}])") if r[5]]
    return {r[1] for r in pks if len(pks) == 1 and r[2].upper() == "INTEGER"}


def snapshot(db_path: Path) -> dict[str, object]:
    """Everything a reader can see: schema, every table's rows, the search index term by term, rankings."""
    conn = sqlite3.connect(db_path)
    ids = dict(conn.execute("SELECT rowid, id FROM proposals"))
    tables = [
        name
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if not name.startswith(("sqlite_", FTS_TABLE))
    ]
    out: dict[str, object] = {
        "schema": sorted(conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%'")),
    }
    for table in tables:
        skip = _surrogate_columns(conn, table) | ({"mtime_ns"} if table == FILES_TABLE else set())
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info([{table}])") if r[1] not in skip]
        rows = conn.execute(f"SELECT {', '.join(f'[{c}]' for c in columns)} FROM [{table}]").fetchall()
        out[table] = (columns, sorted(rows, key=repr))
    conn.execute(f"CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, {FTS_TABLE}, instance)")
    out["search index"] = sorted((term, ids[doc], col, offset) for term, doc, col, offset in conn.execute("SELECT * FROM vocab"))
    for query in QUERIES:
        ranked = conn.execute(
            f"SELECT p.id, round(bm25({FTS_TABLE}, 10, 5, 1), 9) FROM {FTS_TABLE}"
            f" JOIN proposals p ON p.rowid = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH ? ORDER BY 2, 1",
            (fts_query(query),),
        ).fetchall()
        out[f"search {query}"] = ranked
    conn.close()
    return out


def assert_same_as_full_rebuild(db_path: Path, corpus: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    assert build(fresh, [corpus]).mode == "full"
    got, want = snapshot(db_path), snapshot(fresh)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == want[key], key


def edit_add_delete(corpus: Path) -> None:
    """An edit that swaps a name and adds a citation, a new file, a deleted file (its names used nowhere else)."""
    edited = corpus / "2023" / "0001.md"
    text = edited.read_text(encoding="utf-8").replace("  - 川崎市", "  - 札幌市")
    edited.write_text(text + "\n番号法第9条第1項の規定により追記する。\n", encoding="utf-8")
    added = (corpus / "2023" / "0002.md").read_text(encoding="utf-8").replace("number: 2\nserial: 2", "number: 6\nserial: 6")
    (corpus / "2023" / "0006.md").write_text(added, encoding="utf-8")
    (corpus / "2023" / "0005.md").unlink()


def test_incremental_build_after_edit_add_and_delete_equals_full_rebuild(corpus: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    edit_add_delete(corpus)
    result = build(db_path, [corpus])
    assert (result.mode, result.added, result.changed, result.removed) == (
        "incremental", ["2023-0006"], ["2023-0001"], ["2023-0005"]
    )
    assert_same_as_full_rebuild(db_path, corpus, tmp_path)
    names = {r[0] for r in sqlite3.connect(db_path).execute("SELECT id FROM local_governments")}
    assert "札幌市" in names and "川崎市" not in names and "宇和島市" not in names


def test_search_finds_new_text_and_forgets_old_text_after_incremental_build(corpus: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    edited = corpus / "2023" / "0002.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("畑", "牧草地"), encoding="utf-8")
    assert build(db_path, [corpus]).mode == "incremental"
    match = f"SELECT p.id FROM {FTS_TABLE} JOIN proposals p ON p.rowid = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH ?"
    conn = sqlite3.connect(db_path)
    assert {r[0] for r in conn.execute(match, (fts_query("畑"),))} == {"2023-0003"}
    assert {r[0] for r in conn.execute(match, (fts_query("牧草地"),))} == {"2023-0002"}


def test_unchanged_files_are_not_parsed_again(corpus: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    assert build(db_path, [corpus]).parsed == 6
    edited = corpus / "2024" / "0071.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n追記。\n", encoding="utf-8")
    result = build(db_path, [corpus])
    assert (result.mode, result.parsed, result.changed) == ("incremental", 1, ["2024-0071"])


def test_nothing_is_written_when_no_file_changed(corpus: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    before = db_path.read_bytes()
    touched = corpus / "2023" / "0003.md"
    touched.write_bytes(touched.read_bytes())  # new mtime, same content
    result = build(db_path, [corpus])
    assert (result.mode, result.parsed, result.counts["proposals"]) == ("unchanged", 0, 6)
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.db", "proposals"]  # no temporary file left behind


def test_full_option_and_changed_data_force_a_full_build(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    statutes = tmp_path / "statutes.yaml"
    shutil.copy(Path(__file__).parent.parent / "data" / "statutes.yaml", statutes)
    monkeypatch.setenv("KB_STATUTES", str(statutes))
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    assert build(db_path, [corpus], full=True).mode == "full"
    statutes.write_text(statutes.read_text(encoding="utf-8") + "\n# 変更\n", encoding="utf-8")
    (corpus / "2023" / "0003.md").unlink()
    result = build(db_path, [corpus])
    assert result.mode == "full" and "data/" in result.reason


def test_build_is_full_when_most_files_changed(corpus: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    for path in sorted(corpus.rglob("*.md"))[:4]:
        path.write_text(path.read_text(encoding="utf-8") + "\n追記。\n", encoding="utf-8")
    result = build(db_path, [corpus])
    assert (result.mode, result.parsed) == ("full", 6) and "半分以上" in result.reason
    assert_same_as_full_rebuild(db_path, corpus, tmp_path)


def test_failed_incremental_build_leaves_previous_database_untouched(corpus: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    before = db_path.read_bytes()
    shutil.copy(BROKEN, corpus / "2023" / "0009.md")
    with pytest.raises(ProblemError) as exc:
        build(db_path, [corpus])
    assert any("0009.md" in p.path for p in exc.value.problems)
    assert db_path.read_bytes() == before


def test_crash_during_incremental_update_leaves_previous_database_untouched(corpus: Path, tmp_path: Path) -> None:
    state = {"crash": False}

    def crash_when_told(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
        if state["crash"]:
            raise RuntimeError("step failed")

    steps = [*STEPS, Step("crash_when_told", crash_when_told)]  # incremental-capable, so the second build is
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus], steps=steps)
    before = db_path.read_bytes()
    edited = corpus / "2023" / "0004.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n追記。\n", encoding="utf-8")
    state["crash"] = True
    with pytest.raises(RuntimeError, match="step failed"):
        build(db_path, [corpus], steps=steps)
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.db", "proposals"]


def test_a_step_that_cannot_update_in_place_makes_the_build_full(corpus: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])

    def plain_step(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
        db.table("extra").insert_all([{"n": len(proposals)}], replace=True)

    result = build(db_path, [corpus], steps=[*STEPS, Step("plain_step", plain_step, incremental=False)])
    assert result.mode == "full" and "plain_step" in result.reason
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.db", "proposals"]  # no temporary file left behind


def test_cli_build_updates_incrementally_and_rebuilds_with_full(corpus: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "kb.db")
    runner = CliRunner()
    assert "提案 6 件" in runner.invoke(app, ["build", str(corpus), "--db", db]).output
    (corpus / "2023" / "0005.md").unlink()
    result = runner.invoke(app, ["build", str(corpus), "--db", db])
    assert result.exit_code == 0, result.output
    assert "差分" in result.output and "削除 1" in result.output and "提案 5 件" in result.output
    result = runner.invoke(app, ["build", str(corpus), "--db", db, "--full"])
    assert result.exit_code == 0, result.output
    assert "作り直しました" in result.output and "提案 5 件" in result.output


def test_full_build_on_two_processes_equals_one_process_build(tmp_path: Path) -> None:
    corpus = tmp_path / "proposals" / "2023"
    corpus.mkdir(parents=True)
    sources = sorted((CORPUS / "2023").glob("*.md"))
    for number in range(1, MIN_PARALLEL + 11):  # enough files for the worker pool to start
        text = sources[number % len(sources)].read_text(encoding="utf-8")
        text = re.sub(r"(?m)^(number|serial): \d+$", lambda m: f"{m.group(1)}: {number}", text)
        (corpus / f"{number:04d}.md").write_text(text, encoding="utf-8")
    one = build(tmp_path / "one.db", [corpus.parent], jobs=1)
    two = build(tmp_path / "two.db", [corpus.parent], jobs=2)
    assert one.counts == two.counts and one.counts["proposals"] == MIN_PARALLEL + 10
    assert snapshot(tmp_path / "one.db") == snapshot(tmp_path / "two.db")


def test_statutes_of_a_few_proposals_found_text_by_text_equal_those_of_the_whole_automaton() -> None:
    from kb.files.parse import parse_lenient
    from kb.statutes.extract import extract_proposal
    from kb.statutes.registry import load_registry
    from kb.statutes.step import NamesInText

    fixtures = Path(__file__).parent / "fixtures"
    proposals = []
    for path in sorted(p for folder in ("statutes", "real", "corpus", "valid", "similar") for p in (fixtures / folder).rglob("*.md")):
        parsed, _ = parse_lenient(path.read_text(encoding="utf-8", errors="replace"), path)
        if parsed is not None:
            proposals.append(parsed.proposal)
    registry = load_registry()
    whole = [extract_proposal(p, registry) for p in proposals]  # the automaton of every name (built on first use)
    saved = registry.derived["known"]
    registry.derived["known"] = NamesInText(registry)
    try:
        text_by_text = [extract_proposal(p, registry) for p in proposals]
    finally:
        registry.derived["known"] = saved
    assert text_by_text == whole
    assert len(proposals) > 10 and sum(map(len, whole)) > 30  # many proposals, many citations


def test_statute_counts_equal_a_recount_after_citations_go_and_come_incrementally(corpus: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    (corpus / "2024" / "0071.md").unlink()  # five citations gone: counts go down, some to zero
    edited = corpus / "2023" / "0003.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n番号法第9条第1項及び番号法第19条の規定による。\n", encoding="utf-8")
    assert build(db_path, [corpus]).mode == "incremental"
    conn = sqlite3.connect(db_path)
    stored = conn.execute("SELECT id, citation_count, proposal_count FROM statutes WHERE citation_count OR proposal_count").fetchall()
    recount = conn.execute(
        "SELECT statute_id, count(*), count(DISTINCT proposal_id) FROM citations WHERE statute_id IS NOT NULL GROUP BY statute_id"
    ).fetchall()
    conn.close()
    assert sorted(stored) == sorted(recount) and recount
    assert any(n > p for _, n, p in recount)  # a statute cited twice by one proposal counts one proposal


def test_article_counts_equal_a_recount_after_citations_go_and_come_incrementally(corpus: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    (corpus / "2024" / "0071.md").unlink()  # its articles of 番号利用法 lose citations, some all of them
    edited = corpus / "2023" / "0003.md"
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text + "\n番号法第9条第1項、番号法第9条第2項及び番号法附則第3条の規定による。\n", encoding="utf-8")
    assert build(db_path, [corpus]).mode == "incremental"
    conn = sqlite3.connect(db_path)
    stored = conn.execute("SELECT statute_id, article, citations, proposals FROM statute_articles").fetchall()
    recount = conn.execute(
        "SELECT statute_id, article, count(*), count(DISTINCT proposal_id) FROM citations"
        " WHERE statute_id IS NOT NULL AND article IS NOT NULL AND supplementary = 0 GROUP BY statute_id, article"
    ).fetchall()
    added = conn.execute(
        "SELECT article, supplementary FROM citations WHERE proposal_id = '2023-0003' AND statute_id = '425AC0000000027'"
    ).fetchall()
    conn.close()
    assert sorted(stored) == sorted(recount) and recount
    assert ("9", 0) in added and ("3", 1) in added  # the 附則 article is cited but not counted
    assert any(n > p for _, _, n, p in recount)  # an article cited twice by one proposal counts one proposal


def test_large_old_database_is_freed_in_the_background_after_the_rename(tmp_path: Path) -> None:
    import time

    from kb.db.dbfile import replace

    db_path, tmp = tmp_path / "kb.db", tmp_path / ".kb.db.1.new.tmp"
    db_path.write_bytes(b"old" * 1000)
    tmp.write_bytes(b"new")
    with open(db_path, "rb") as reader:  # a reader of the old file (a running site) keeps reading it
        replace(tmp, db_path, defer_bytes=1)
        assert db_path.read_bytes() == b"new" and reader.read() == b"old" * 1000
    deadline = time.monotonic() + 5
    while sorted(p.name for p in tmp_path.iterdir()) != ["kb.db"] and time.monotonic() < deadline:
        time.sleep(0.01)  # the old file's second name, removed by `rm` in the background
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.db"]


def test_a_large_file_is_removed_at_once_where_no_background_rm_can_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Review fault: `posix_spawn` without setsid support raises NotImplementedError, which crashed the build."""
    import os

    from kb.db.dbfile import remove_later

    def unsupported(*args: object, **kwargs: object) -> int:
        raise NotImplementedError("setsid")

    monkeypatch.setattr(os, "posix_spawn", unsupported)  # the platform's call, not ours
    old = tmp_path / ".kb.db.1.old.tmp"
    old.write_bytes(b"x" * 100)
    remove_later(old, defer_bytes=1)
    assert not old.exists()


def test_an_edited_or_removed_file_is_noticed_before_the_listing(corpus: Path, tmp_path: Path) -> None:
    from kb.db.filestate import any_stat_differs, read_previous

    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    previous = read_previous(db_path)
    assert previous is not None and not any_stat_differs(previous[1])
    edited = corpus / "2023" / "0002.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n追記。\n", encoding="utf-8")
    assert any_stat_differs(previous[1])
    edited.unlink()
    assert any_stat_differs(previous[1])


def _temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_kb_cli_loads_neither_pydantic_nor_sqlite_utils_before_a_command_runs() -> None:
    """`kb build` starts the database copy before the build loads (kb/db/ahead.py): the CLI itself must stay light."""
    heavy = ("pydantic", "sqlite_utils", "kb.core.models", "markdown_it", "kb.pipeline", "numpy")
    code = f"import sys, kb.cli, kb.db.ahead; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_copy_started_ahead_is_the_one_the_incremental_build_renames_into_place(corpus: Path, tmp_path: Path) -> None:
    from kb.db.ahead import copy_ahead, with_copy_ahead

    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    assert copy_ahead(db_path) is None  # nothing changed: no copy
    edit_add_delete(corpus)
    handed: list[object] = []

    def run(copy: BackgroundCopy | None) -> BuildResult:
        handed.append(copy)
        return build(db_path, [corpus], ahead=copy)

    result = with_copy_ahead(db_path, run)
    copy = handed[0]
    assert isinstance(copy, BackgroundCopy) and copy.dst.parent == tmp_path and not copy.dst.exists()  # renamed
    assert result.mode == "incremental" and "background: copy previous database" in result.seconds
    assert _temporary_files(tmp_path) == []
    assert (result.added, result.changed, result.removed) == (["2023-0006"], ["2023-0001"], ["2023-0005"])
    names = {r[0] for r in sqlite3.connect(db_path).execute("SELECT id FROM local_governments")}
    assert "札幌市" in names and "川崎市" not in names  # the edit is in the file put in place


def test_copy_started_ahead_and_not_used_is_discarded(corpus: Path, tmp_path: Path) -> None:
    """Nothing changed after all, a full build (other steps), a file with a problem: the copy goes, the database stays."""
    from kb.db.ahead import with_copy_ahead

    db_path = tmp_path / "kb.db"
    for path in corpus.rglob("*.md"):  # written long before the build, so that the build trusts their mtimes
        os.utime(path, (time.time() - 600, time.time() - 600))
    build(db_path, [corpus])
    touched = corpus / "2023" / "0003.md"
    touched.write_bytes(touched.read_bytes())  # another mtime, the same content: the copy starts, nothing changed
    handed: list[BackgroundCopy | None] = []

    def run(copy: BackgroundCopy | None, **options: object) -> BuildResult:
        handed.append(copy)
        return build(db_path, [corpus], ahead=copy, **options)  # type: ignore[arg-type]

    before = db_path.read_bytes()
    assert with_copy_ahead(db_path, run).mode == "unchanged"
    assert handed[-1] is not None and _temporary_files(tmp_path) == [] and db_path.read_bytes() == before
    touched.write_bytes(touched.read_bytes() + "\n追記。\n".encode())
    assert with_copy_ahead(db_path, lambda copy: run(copy, steps=STEPS[:1])).mode == "full"
    assert handed[-1] is not None and _temporary_files(tmp_path) == []
    shutil.copy(BROKEN, touched)  # a recorded file now has another size: the copy starts, the check then fails
    before = db_path.read_bytes()
    with pytest.raises(ProblemError):
        with_copy_ahead(db_path, lambda copy: run(copy, steps=STEPS[:1]))
    assert handed[-1] is not None and _temporary_files(tmp_path) == [] and db_path.read_bytes() == before


def test_copy_started_ahead_of_a_database_another_build_replaced_is_not_used(corpus: Path, tmp_path: Path) -> None:
    """Review fault: `kb build` copied the database, then another build renamed a new one over it before this
    build read the records; the changes were found against the new file and written into the copy of the old."""
    from kb.db.ahead import with_copy_ahead

    db_path = tmp_path / "kb.db"
    build(db_path, [corpus])
    edited = corpus / "2023" / "0001.md"
    original = edited.read_text(encoding="utf-8")
    edited.write_text(original.replace("  - 川崎市", "  - 札幌市"), encoding="utf-8")  # this build's change
    added = (corpus / "2023" / "0002.md").read_text(encoding="utf-8").replace("number: 2\nserial: 2", "number: 6\nserial: 6")

    def other_build_lands_first(copy: BackgroundCopy | None) -> BuildResult:
        assert copy is not None  # started on the old database
        edited.write_text(original, encoding="utf-8")  # the other build: without this one's change, with one more file
        (corpus / "2023" / "0006.md").write_text(added, encoding="utf-8")
        build(tmp_path / "other.db", [corpus])
        os.replace(tmp_path / "other.db", db_path)
        edited.write_text(original.replace("  - 川崎市", "  - 札幌市"), encoding="utf-8")
        return build(db_path, [corpus], ahead=copy)

    result = with_copy_ahead(db_path, other_build_lands_first)
    assert result.mode == "incremental" and result.changed == ["2023-0001"]
    conn = sqlite3.connect(db_path)
    assert "2023-0006" in {r[0] for r in conn.execute("SELECT id FROM proposals")}  # the other build's file is kept
    assert "札幌市" in {r[0] for r in conn.execute("SELECT id FROM local_governments")}  # and this build's change made
    assert _temporary_files(tmp_path) == []
