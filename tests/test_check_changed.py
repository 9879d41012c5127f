"""`kb check --changed REF`: only the files a branch changed are read, and nothing they clash with is missed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
BROKEN = Path(__file__).parent / "fixtures" / "broken" / "date_invalid.md"
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
        cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV},
    )  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(CORPUS, tmp_path / "proposals")
    (tmp_path / "extra").mkdir()
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_changed_reads_only_changed_and_new_files(repo: Path) -> None:
    (repo / "proposals" / "2023" / "0009.md").write_bytes(BROKEN.read_bytes())  # new, not added to git
    result = CliRunner().invoke(app, ["check", "--changed", "HEAD", "proposals"])
    assert result.exit_code == 1
    paths = {line.split(":")[0] for line in result.output.splitlines()[:-1]}
    assert paths == {"proposals/2023/0009.md"}


def test_changed_with_nothing_changed_checks_nothing(repo: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--changed", "HEAD", "proposals"])
    assert result.exit_code == 0 and "OK: 0 件" in result.output


def test_changed_file_with_the_id_of_an_unchanged_file_is_reported(repo: Path) -> None:
    (repo / "extra" / "2023").mkdir()
    shutil.copy(repo / "proposals" / "2023" / "0001.md", repo / "extra" / "2023" / "0001.md")
    result = CliRunner().invoke(app, ["check", "--changed", "HEAD", "proposals", "extra"])
    assert result.exit_code == 1
    assert "extra/2023/0001.md:4: id: 提案 2023-0001 は proposals/2023/0001.md にもあります" in result.output


def test_changed_with_an_unknown_ref_says_so_in_japanese(repo: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--changed", "no-such-ref", "proposals"])
    assert result.exit_code == 2
    assert "が失敗しました" in result.output and "no-such-ref" in result.output


def test_changed_finds_files_in_folders_with_japanese_names(repo: Path) -> None:
    """Reported: git quotes non-ASCII paths, and a file under 提案/ was dropped without a word."""
    shutil.copytree(repo / "proposals", repo / "提案")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "japanese folder")
    (repo / "提案" / "2023" / "0009.md").write_bytes(BROKEN.read_bytes())
    result = CliRunner().invoke(app, ["check", "--changed", "HEAD", "提案"])
    assert result.exit_code == 1
    assert {line.split(":")[0] for line in result.output.splitlines()[:-1]} == {"提案/2023/0009.md"}


def test_changed_finds_a_clash_with_an_unchanged_file_in_a_nested_year_folder(repo: Path) -> None:
    """Reported: only <root>/<year>/<NNNN>.md was looked at, not archive/<year>/<NNNN>.md."""
    (repo / "proposals" / "archive").mkdir()
    shutil.move(repo / "proposals" / "2023", repo / "proposals" / "archive" / "2023")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "archive")
    (repo / "proposals" / "2023").mkdir()
    shutil.copy(repo / "proposals" / "archive" / "2023" / "0001.md", repo / "proposals" / "2023" / "0001.md")
    result = CliRunner().invoke(app, ["check", "--changed", "HEAD", "proposals"])
    assert result.exit_code == 1
    assert "提案 2023-0001 は proposals/archive/2023/0001.md にもあります" in result.output


def test_changed_with_a_missing_folder_says_so(repo: Path) -> None:
    """Reported: a mistyped folder gave 「OK: 0 件」 and exit 0."""
    result = CliRunner().invoke(app, ["check", "--changed", "HEAD", "no-such-folder"])
    assert result.exit_code == 1
    assert "no-such-folder: ファイル: ファイルがありません" in result.output


def test_changed_refuses_a_ref_that_looks_like_an_option(repo: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--changed=--output=/tmp/kb-x", "proposals"])
    assert result.exit_code == 2 and not Path("/tmp/kb-x").exists()
