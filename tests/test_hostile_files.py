"""Hostile and careless files (#17): YAML bombs, odd file-system entries, huge files, BOMs, killed runs.

Each test reproduces a reported fault: before the fix these hung, crashed with a traceback,
or skipped files silently. Now each is a Problem naming the path (and the line when there is one).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.core import tempfiles
from kb.core.problems import ProblemError
from kb.db import dbfile
from kb.db.ahead import with_copy_ahead
from kb.files.check import check_paths
from kb.files.disk import MAX_FILE_BYTES, list_proposal_files
from kb.files.parse import parse_lenient, parse_text
from kb.pipeline import build
from kb.pipeline import check as pipeline_check

VALID = Path(__file__).parent / "fixtures" / "valid" / "2024" / "0071.md"
TEXT = VALID.read_text(encoding="utf-8")


def with_front_matter_line(line: str) -> str:
    """The valid file with one more front-matter line (line 6) right after `serial:`."""
    return TEXT.replace("serial: 71\n", f"serial: 71\n{line}\n", 1)


def proposals_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "proposals" / "2024"
    folder.mkdir(parents=True)
    shutil.copy(VALID, folder / "0071.md")
    return tmp_path / "proposals"


def messages(text: str) -> list[str]:
    located, problems = parse_lenient(text, "2024/0071.md")
    return [str(p) for p in problems]


# --- front matter: what YAML could do that an editor never means ---------------------------------


def test_nested_alias_bomb_is_refused_at_its_line_without_expanding() -> None:
    """~340 bytes of nested aliases kept `kb check` busy past 120 s at 3.9 GB."""
    bomb = ["lol0: &a0 [x, x, x, x, x, x, x, x, x]"]
    bomb += [f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    text = TEXT.replace("serial: 71\n", "serial: 71\n" + "\n".join(bomb) + "\n", 1)
    found = messages(text)  # expanded, this would take minutes and gigabytes
    assert found[0] == "2024/0071.md:6: front matter: 「&a0」（YAML の錨）は使えません（& で始まる文字は \"…\" で囲みます）"
    assert any("「*a0」（YAML の別名）は使えません" in m for m in found)


def test_self_referencing_alias_is_a_problem_not_a_recursion_error() -> None:
    assert messages(with_front_matter_line("x: &r [*r]"))[:2] == [
        "2024/0071.md:6: front matter: 「&r」（YAML の錨）は使えません（& で始まる文字は \"…\" で囲みます）",
        "2024/0071.md:6: front matter: 「*r」（YAML の別名）は使えません。値をそのまま書いてください（* で始まる文字は \"…\" で囲みます）",
    ]


@pytest.mark.parametrize(
    "line, message",
    [
        ("theme: !!str デジタル化", "「!!str」（YAML のタグ）は使えません"),
        ("theme: !python/object 1", "「!python/object」（YAML のタグ）は使えません"),
        ("<<: {theme: デジタル化}", "「<<」（YAML の合併キー）は使えません"),
    ],
)
def test_tags_and_merge_keys_are_refused_with_their_line(line: str, message: str) -> None:
    found = messages(with_front_matter_line(line))
    assert len(found) == 1 and found[0].startswith("2024/0071.md:6: front matter: ") and message in found[0]


def test_marks_inside_quotes_or_words_are_plain_text() -> None:
    """`&`, `*`, `!` and `<<` are refused only as YAML syntax, not as characters of a value."""
    text = TEXT.replace("theme: デジタル化", 'theme: "*デジタル化 & <<R&D>> !"', 1)
    assert messages(text) == []
    assert parse_text(text).theme == "*デジタル化 & <<R&D>> !"


def test_deep_nesting_is_refused_before_python_recurses() -> None:
    assert messages(with_front_matter_line("x: " + "[" * 900 + "]" * 900)) == [
        "2024/0071.md:6: front matter: 入れ子が深すぎます（10 段まで）"
    ]
    block = "x:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(12)) + " " * 14 + "v"
    assert messages(with_front_matter_line(block))[0].endswith("入れ子が深すぎます（10 段まで）")


def test_integer_of_ten_thousand_digits_is_a_problem() -> None:
    """Python refuses int() of more than 4,300 digits with ValueError, which was not caught."""
    found = messages(TEXT.replace("serial: 71", "serial: " + "7" * 10_000, 1))
    assert len(found) == 1 and "値が長すぎる数字です" in found[0]


def test_opinions_only_validation_error_is_a_problem_not_a_crash() -> None:
    """The model's own check (opinions under a section marked —) goes through parse_text as ProblemError."""
    text = TEXT.split("\n## ", 1)[0] + "\n## 各府省からの第1次回答\n\n—\n\n## 全国知事会・全国市長会・全国町村会の意見\n\n—\n\n### 全国知事会\n\n意見\n"
    with pytest.raises(ProblemError):
        parse_text(text)


def test_comment_after_a_value_is_a_problem_because_fmt_would_drop_it(tmp_path: Path) -> None:
    """`kb fmt` rewrote `theme: デジタル化  # メモ` as `theme: デジタル化`: the editor's text vanished silently."""
    root = proposals_dir(tmp_path)
    target = root / "2024" / "0071.md"
    target.write_text(TEXT.replace("theme: デジタル化", "theme: デジタル化  # 要確認", 1), encoding="utf-8")
    before = target.read_bytes()
    result = CliRunner().invoke(app, ["fmt", str(root)])
    assert result.exit_code == 1
    assert "0071.md:9: front matter: 値の後の「 #」から行末までは YAML のコメントとして読まれ、値に入りません" in result.output
    assert target.read_bytes() == before


def test_whole_line_comments_and_hashes_inside_values_pass() -> None:
    """The `kb new` template's instructions are whole-line comments; a quoted or block value may hold #."""
    text = TEXT.replace("theme: デジタル化", '# 重点募集テーマ\ntheme: "デジタル化 #1"', 1)
    assert messages(text) == []


# --- bytes on disk ----------------------------------------------------------------------------------


def test_utf8_bom_is_accepted_and_the_file_builds(tmp_path: Path) -> None:
    root = proposals_dir(tmp_path)
    target = root / "2024" / "0071.md"
    target.write_bytes(b"\xef\xbb\xbf" + target.read_bytes())
    assert check_paths([root]).problems == []
    result = build(tmp_path / "kb.db", [root])
    assert result.counts["proposals"] == 1


def test_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    root = proposals_dir(tmp_path)
    target = root / "2024" / "0071.md"
    target.write_text(TEXT + "\n" + "あ" * (MAX_FILE_BYTES // 3 + 10), encoding="utf-8")
    problems = [str(p) for p in check_paths([root]).problems]
    assert len(problems) == 1
    assert problems[0].endswith("ファイル: ファイルが大きすぎます（2.0 MB）。提案ファイルは 2 MB までです")
    assert ":0:" not in problems[0]


def test_dangling_symlink_is_named_without_a_line_zero(tmp_path: Path) -> None:
    root = proposals_dir(tmp_path)
    (root / "2024" / "0072.md").symlink_to(tmp_path / "nowhere.md")
    result = CliRunner().invoke(app, ["check", str(root)])
    assert result.exit_code == 1
    assert f"{root / '2024' / '0072.md'}: ファイル: リンク先がありません（壊れたシンボリックリンク）" in result.output


def test_symlink_loop_is_reported_not_walked_forever(tmp_path: Path) -> None:
    root = proposals_dir(tmp_path)
    (root / "2024" / "again").symlink_to(root)
    (root / "2024" / "self.md").symlink_to(root / "2024" / "self.md")
    listing = list_proposal_files([root])
    assert listing.files == [root / "2024" / "0071.md"]
    assert sorted(p.message for p in listing.problems) == [
        "シンボリックリンクが循環しています",
        "シンボリックリンクが循環しています（上のフォルダを指しています）",
    ]


def test_folder_named_like_a_proposal_is_a_problem(tmp_path: Path) -> None:
    root = proposals_dir(tmp_path)
    (root / "2024" / "0072.md").mkdir()
    problems = check_paths([root]).problems
    assert [(p.path.endswith("0072.md"), p.line, p.message) for p in problems] == [
        (True, 0, "フォルダです。提案は「.md」の通常のファイルに書きます")
    ]


def test_fifo_named_like_a_proposal_is_refused_without_waiting(tmp_path: Path) -> None:
    """Opening a FIFO for reading waits for a writer: `kb check` hung."""
    root = proposals_dir(tmp_path)
    os.mkfifo(root / "2024" / "0072.md")
    result = CliRunner().invoke(app, ["check", str(root)])
    assert result.exit_code == 1
    assert "0072.md: ファイル: 通常のファイルではありません（FIFO（名前付きパイプ））" in result.output


def test_build_refuses_a_tree_with_a_fifo_and_keeps_the_old_database(tmp_path: Path) -> None:
    root = proposals_dir(tmp_path)
    db = tmp_path / "kb.db"
    build(db, [root])
    before = db.read_bytes()
    os.mkfifo(root / "2024" / "0072.md")
    with pytest.raises(ProblemError, match="通常のファイルではありません"):
        build(db, [root])
    with pytest.raises(ProblemError, match="通常のファイルではありません"):
        build(db, [root], full=True)
    assert db.read_bytes() == before


def _as_unprivileged(fn: Callable[[], list[str]]) -> list[str]:
    """Run `fn` in a forked child that cannot read what its mode forbids (root reads everything)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root if we are root, answer through the pipe, never return
        try:
            os.close(read_fd)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            os.write(write_fd, "\n".join(fn()).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        out = f.read().decode()
    os.waitpid(pid, 0)
    return out.splitlines()


@pytest.fixture
def shared_tree() -> Iterator[Path]:
    """A proposals folder in /tmp that another user may read (pytest's tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="kb-perm-", dir="/tmp"))
    base.chmod(0o755)
    root = proposals_dir(base)
    for path in (root, root / "2024"):
        path.chmod(0o755)
    (root / "2024" / "0071.md").chmod(0o644)
    try:
        yield root
    finally:
        for path in (root / "2023", root / "2024" / "0071.md"):  # what the tests make unreadable
            if path.exists():
                path.chmod(0o755)
        shutil.rmtree(base)


def test_unreadable_folder_is_a_problem_not_silently_skipped(shared_tree: Path) -> None:
    """An unreadable year folder made `kb check` say OK and `kb build` publish 1 proposal of 2."""
    hidden = shared_tree / "2023"
    hidden.mkdir(mode=0o755)
    shutil.copy(VALID, hidden / "0001.md")
    hidden.chmod(0)
    lines = _as_unprivileged(lambda: [str(p) for p in check_paths([shared_tree]).problems])
    assert lines == [f"{hidden}: ファイル: 読む権限がありません（ファイルやフォルダの権限を確かめてください）"]


def test_unreadable_file_is_a_problem_with_its_path(shared_tree: Path) -> None:
    target = shared_tree / "2024" / "0071.md"
    target.chmod(0)
    lines = _as_unprivileged(lambda: [str(p) for p in check_paths([shared_tree]).problems])
    assert lines == [f"{target}: ファイル: 読む権限がありません（ファイルやフォルダの権限を確かめてください）"]


# --- temporary files of killed runs -----------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_next_build_removes_temp_files_of_a_killed_build(tmp_path: Path) -> None:
    """Killed builds left 90–230 MB `.kb.db.*.tmp` files that were never removed."""
    root = proposals_dir(tmp_path)
    db = tmp_path / "kb.db"
    build(db, [root])
    dead = tmp_path / f".kb.db.{_dead_pid()}.abcd1234.tmp"
    dead.write_bytes(b"half a database")
    running = tmp_path / f".kb.db.{os.getppid()}.abcd1234.tmp"  # a build still running elsewhere
    running.write_bytes(b"in progress")
    result = build(db, [root])  # nothing changed: no database is written, the leftovers still go
    assert result.mode == "unchanged"
    assert not dead.exists() and running.exists()


def test_fmt_and_import_remove_temp_files_left_beside_proposals(tmp_path: Path) -> None:
    root = proposals_dir(tmp_path)
    leftover = root / "2024" / f".0071.md.{_dead_pid()}.abcd1234.tmp"
    leftover.write_text("half a file", encoding="utf-8")
    assert tempfiles.remove_stale_below(root) == [leftover]
    leftover.write_text("half a file", encoding="utf-8")
    result = CliRunner().invoke(app, ["fmt", str(root)])
    assert result.exit_code == 0, result.output
    assert not leftover.exists()


def test_sigterm_during_build_removes_its_temp_file_and_keeps_the_old_database(tmp_path: Path) -> None:
    root = proposals_dir(tmp_path)
    db = tmp_path / "kb.db"
    build(db, [root])
    before = db.read_bytes()
    # A slow build: many copies of the proposal (distinct numbers), full, one process.
    for n in range(1, 400):
        text = TEXT.replace("number: 71", f"number: {n + 100}").replace("serial: 71", f"serial: {n + 100}")
        (root / "2024" / f"{n + 100:04d}.md").write_text(text, encoding="utf-8")
    env = {**os.environ, "KB_JOBS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from kb.cli import main; main()", "build", "--full", "--db", str(db), str(root)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".kb.db.*.tmp")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert list(tmp_path.glob(".kb.db.*.tmp")) == []
    assert db.read_bytes() == before




def _signal_on(code: object, event: str, signum: int, when: Callable[[Any], bool] = lambda frame: True) -> Callable[[], None]:
    """Send `signum` to this process on `event` ("call" or "return") of the function whose code is `code` —
    a profile hook, not a patch: the handler runs at the next bytecode. Returns the undo."""
    previous = sys.getprofile()

    def hook(frame: Any, seen: str, arg: object) -> None:
        if seen == event and frame.f_code is code and when(frame):
            sys.setprofile(previous)
            os.kill(os.getpid(), signum)

    sys.setprofile(hook)
    return lambda: sys.setprofile(previous)


def _exit_on(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # what kb.cli's handler does with SIGTERM


def _built_with_one_edit(tmp_path: Path, files: int) -> tuple[Path, Path, bytes]:
    """A database of `files` proposals, then one of them edited: (folder, database, its bytes before)."""
    root = proposals_dir(tmp_path)
    for n in range(1, files):
        text = TEXT.replace("number: 71", f"number: {n + 100}").replace("serial: 71", f"serial: {n + 100}")
        (root / "2024" / f"{n + 100:04d}.md").write_text(text, encoding="utf-8")
    db = tmp_path / "kb.db"
    build(db, [root])
    (root / "2024" / "0071.md").write_text(TEXT.rstrip("\n") + "追記した一文。\n", encoding="utf-8")
    return root, db, db.read_bytes()


def _build_ended_by_signal(db: Path, root: Path, full: bool = False, ahead: bool = False) -> None:
    """`build`, or with `ahead` the build as `kb build` runs it (the copy started first, kb/db/ahead.py)."""
    previous = signal.signal(signal.SIGUSR1, _exit_on)
    try:
        with pytest.raises(SystemExit):
            if ahead:
                with_copy_ahead(db, lambda copy: build(db, [root], full=full, jobs=1, ahead=copy))
            else:
                build(db, [root], full=full, jobs=1)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    for thread in threading.enumerate():  # a copy thread left running finishes (or fails) before the check
        if thread.name == "kb-db-copy":
            thread.join(10)


@pytest.mark.parametrize("full", [True, False], ids=["full", "incremental"])
def test_signal_right_after_the_temp_file_is_made_leaves_no_temp_file(tmp_path: Path, full: bool) -> None:
    """CI fault: SIGTERM landing between the creation of the build's temporary file (or the incremental build's
    copy) and the code that removes it on failure left `.kb.db.<pid>.<random>.tmp` behind."""
    root, db, before = _built_with_one_edit(tmp_path, files=4)  # one edit of four: incremental unless `full`
    undo = _signal_on(tempfiles.make_temp.__code__, "return", signal.SIGUSR1, lambda f: f.f_locals["target"].name == "kb.db")
    try:
        _build_ended_by_signal(db, root, full)
    finally:
        undo()
    assert list(tmp_path.glob(".kb.db.*.tmp")) == []
    assert db.read_bytes() == before


@pytest.mark.parametrize("where", ["temp file made", "copy thread started"])
def test_signal_while_kb_build_starts_the_copy_ahead_leaves_no_temp_file(tmp_path: Path, where: str) -> None:
    """`kb build` makes the copy's file before the build is loaded (kb/db/ahead.py), outside the build's own
    clean-up: a signal before the copy is held by a name must still leave no temporary file."""
    root, db, before = _built_with_one_edit(tmp_path, files=4)
    if where == "temp file made":
        undo = _signal_on(tempfiles.make_temp.__code__, "return", signal.SIGUSR1, lambda f: f.f_locals["target"].name == "kb.db")
    else:
        undo = _signal_on(dbfile.BackgroundCopy.__init__.__code__, "return", signal.SIGUSR1)
    try:
        _build_ended_by_signal(db, root, ahead=True)
    finally:
        undo()
    assert list(tmp_path.glob(".kb.db.*.tmp")) == []
    assert db.read_bytes() == before


def test_signal_after_the_copy_thread_starts_leaves_no_temp_file(tmp_path: Path) -> None:
    """Review fault: the copy thread opened its file with "wb", so after the failed build had removed the file
    it made it again and copied the whole database into it. Here the thread waits until the file is gone."""
    root, db, before = _built_with_one_edit(tmp_path, files=4)
    run = dbfile.BackgroundCopy._run.__code__

    def in_copy_thread(frame: Any, event: str, arg: object) -> None:
        if event == "call" and frame.f_code is run:
            sys.setprofile(None)
            dst, deadline = frame.f_locals["self"].dst, time.monotonic() + 5
            while dst.exists() and time.monotonic() < deadline:
                time.sleep(0.001)

    threading.setprofile(in_copy_thread)
    undo = _signal_on(dbfile.BackgroundCopy.__init__.__code__, "return", signal.SIGUSR1)
    try:
        _build_ended_by_signal(db, root)
    finally:
        undo()
        threading.setprofile(None)  # type: ignore[arg-type]
    assert list(tmp_path.glob(".kb.db.*.tmp")) == []
    assert db.read_bytes() == before


def test_signal_while_an_unneeded_copy_is_discarded_leaves_no_temp_file(tmp_path: Path) -> None:
    """Review fault: every file changed, so the build turned full and discarded its copy outside the code that
    cleans up on failure; a signal during that discard (it waits for the copy thread) left the copy behind."""
    root, db, before = _built_with_one_edit(tmp_path, files=1)  # one edit of one: the build turns full
    undo = _signal_on(dbfile.BackgroundCopy.discard.__code__, "call", signal.SIGUSR1)
    try:
        _build_ended_by_signal(db, root)
    finally:
        undo()
    assert list(tmp_path.glob(".kb.db.*.tmp")) == []
    assert db.read_bytes() == before

# --- the command line -------------------------------------------------------------------------------


def test_cli_names_the_path_instead_of_a_traceback_when_the_database_path_is_a_folder(tmp_path: Path) -> None:
    root = proposals_dir(tmp_path)
    (tmp_path / "kb.db").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", "from kb.cli import main; main()", "build", "--db", "kb.db", str(root)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "kb.db: フォルダです。ファイルのパスを指定してください"
    assert "Traceback" not in result.stderr
    assert list(tmp_path.glob(".kb.db.*.tmp")) == []


def _sigterm_disposition(_: int) -> str:
    return "default" if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else "handler"


def test_build_workers_die_on_sigterm_even_when_the_command_handles_it() -> None:
    """With the command's SIGTERM handler inherited, a pool worker stopped by terminate() could hang the build."""
    from kb.db.parallel import MIN_PARALLEL, map_items

    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        assert set(map_items(_sigterm_disposition, range(MIN_PARALLEL * 2), jobs=2)) == {"default"}
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_lone_surrogate_in_text_is_a_problem_with_its_line() -> None:
    """A str made with errors="surrogateescape" (e.g. from sys.argv) crashed libyaml with UnicodeEncodeError."""
    assert messages(TEXT.replace("title: ", "title: \udc80", 1)) == [
        "2024/0071.md:6: ファイル: 文字として読めない部分があります。UTF-8 で保存してください"
    ]


def test_era_of_thousands_of_digits_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """era_to_year called int() on any run of digits: 5,000 of them raised ValueError in `kb check`."""
    root = proposals_dir(tmp_path)
    (root / "2024" / "0071.md").write_text(TEXT.replace("era: 令和6年", "era: 令和" + "1" * 5000 + "年", 1), encoding="utf-8")
    problems = pipeline_check([root]).problems  # with the rules that compare era and year
    assert problems and all("era" in p.field for p in problems)


def test_a_mistyped_name_repeated_thousands_of_times_is_searched_once() -> None:
    from kb.core.suggest import Suggester

    suggest = Suggester({"宮城県": "宮城県", "岩手県": "岩手県"}, str, budget=2)
    assert {tuple(suggest("宮城件")) for _ in range(1000)} == {("宮城県",)}
    assert suggest("岩手件") == ["岩手県"]
    assert len(suggest._memo) == 2  # one search per distinct name
    assert suggest("秋田件") == []  # past the budget: no guess, and no search
    assert len(suggest._memo) == 2


def test_table_number_of_five_kanji_digits_is_cited_not_a_crash() -> None:
    """Found by fuzzing `kb cite`: 別表第一二三四五 (12345) raised IndexError in int_to_kanji."""
    from kb.statutes.clean import int_to_kanji

    assert (int_to_kanji(27), int_to_kanji(9999), int_to_kanji(12345)) == ("二十七", "九千九百九十九", "12345")
    result = CliRunner().invoke(app, ["cite", "地方自治法別表第一二三四五"])
    assert result.exit_code == 0 and "12345" in result.output
