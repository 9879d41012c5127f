"""Finding and reading proposal files, with every file-system fault turned into a Problem.

A folder that cannot be read, a symbolic link that points nowhere or back at its own folder,
a folder named `0071.md`, a FIFO or a device among the proposals, a file too large to be a
proposal: each is reported with its path (line 0: the whole file) and makes `kb check` and
`kb build` fail. Nothing is skipped silently (a build that quietly publishes 1 proposal of 2 is
worse than one that stops), and nothing can hang: files are opened non-blocking and checked
to be regular files before a byte is read, so a FIFO never waits for a writer.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kb.core.problems import Problem, ProblemError, display_path

# One limit for every proposal file (docs/format.md). The longest real sheet is a few tens of KB;
# 2 MB leaves room for any sheet while keeping a build's memory and time bounded.
MAX_FILE_BYTES = 2 * 1024 * 1024
BOM = "\ufeff"

FIELD = "ファイル"


@dataclass
class Listing:
    """The proposal files found below some paths, and the problems met while looking."""

    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "フォルダ"
    if stat.S_ISFIFO(mode):
        return "FIFO（名前付きパイプ）"
    if stat.S_ISSOCK(mode):
        return "ソケット"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "デバイス"
    return "特殊なファイル"


def os_problem(path: Path, exc: OSError) -> Problem:
    """An editor's explanation of why a path could not be used, in Japanese."""
    where = display_path(path)
    if isinstance(exc, FileNotFoundError):
        message = "リンク先がありません（壊れたシンボリックリンク）" if path.is_symlink() else "ファイルがありません"
    elif isinstance(exc, PermissionError):
        message = "読む権限がありません（ファイルやフォルダの権限を確かめてください）"
    elif exc.errno == errno.ELOOP:
        message = "シンボリックリンクが循環しています"
    elif isinstance(exc, IsADirectoryError):
        message = "フォルダです。提案は「.md」の通常のファイルに書きます"
    else:
        message = f"読めません（{exc.strerror or exc}）"
    return Problem(where, 0, FIELD, message)


def os_error_message(exc: OSError) -> str:
    """One line for an editor: the path (the target of a rename, not its temporary file) and why it failed."""
    path = exc.filename2 if exc.filename2 is not None else exc.filename
    if isinstance(exc, IsADirectoryError):
        why = "フォルダです。ファイルのパスを指定してください"
    elif isinstance(exc, PermissionError):
        why = "権限がありません（読み書きできる場所か確かめてください）"
    elif isinstance(exc, FileNotFoundError):
        why = "ファイルまたはフォルダがありません（書き込み先のフォルダも確かめてください）"
    elif exc.errno == errno.ENOSPC:
        why = "ディスクの空きがありません"
    elif exc.errno == errno.EROFS:
        why = "読み取り専用のファイルシステムです"
    else:
        why = f"失敗しました（{exc.strerror or exc}）"
    return f"{path}: {why}" if path is not None else why


def _is_proposal_name(name: str) -> bool:
    return name.endswith(".md") and name.lower() != "readme.md"  # README.md files are docs


def list_proposal_files(paths: Iterable[str | Path]) -> Listing:
    """Every `*.md` file named or found below the given paths, sorted, and every fault met.

    Symbolic links to folders are followed once: a link back to a folder already being walked
    is a problem, not an endless walk.
    """
    listing = Listing()
    found: set[Path] = set()
    for root in map(Path, paths):
        try:
            st = root.stat()
        except OSError as exc:
            listing.problems.append(os_problem(root, exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            _walk(root, found, listing.problems, {(st.st_dev, st.st_ino)})
        elif stat.S_ISREG(st.st_mode):
            found.add(root)  # a file named on the command line is checked whatever its name
        else:
            listing.problems.append(Problem(display_path(root), 0, FIELD, f"通常のファイルではありません（{_kind(st.st_mode)}）"))
    listing.files = sorted(found, key=lambda p: p.parts)  # Path's own order, without 10,000 × log calls of Path.__lt__
    return listing


def _walk(folder: Path, found: set[Path], problems: list[Problem], ancestors: set[tuple[int, int]]) -> None:
    """Depth-first walk without recursion limits to worry about: folders nest only as deep as paths allow."""
    stack: list[tuple[Path, frozenset[tuple[int, int]]]] = [(folder, frozenset(ancestors))]
    while stack:
        current, above = stack.pop()
        try:
            with os.scandir(current) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            problems.append(os_problem(current, exc))
            continue
        for entry in listed:
            # The common entries without a system call (the directory listing's own file type): a regular
            # file named *.md is a proposal file, any other regular file is skipped. Links, folders and
            # the rest are looked at below, following links.
            try:
                regular = entry.is_file(follow_symlinks=False)  # may stat where the listing has no file type
            except OSError:
                regular = False  # looked at again below, where a failure is reported
            if regular:
                if _is_proposal_name(entry.name):
                    found.add(Path(entry.path))
                continue
            path = Path(entry.path)
            try:
                st = entry.stat()  # follows links
            except OSError as exc:
                if _is_proposal_name(entry.name) or entry.is_symlink():
                    problems.append(os_problem(path, exc))
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in above:
                    problems.append(Problem(display_path(path), 0, FIELD, "シンボリックリンクが循環しています（上のフォルダを指しています）"))
                    continue
                if _is_proposal_name(entry.name):
                    problems.append(Problem(display_path(path), 0, FIELD, "フォルダです。提案は「.md」の通常のファイルに書きます"))
                stack.append((path, above | {key}))
            elif _is_proposal_name(entry.name):
                if stat.S_ISREG(st.st_mode):
                    found.add(path)
                else:
                    problems.append(Problem(display_path(path), 0, FIELD, f"通常のファイルではありません（{_kind(st.st_mode)}）"))


def iter_proposal_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files of `list_proposal_files`; ProblemError when any path could not be listed (for scripts)."""
    listing = list_proposal_files(paths)
    if listing.problems:
        raise ProblemError(listing.problems)
    return listing.files


def read_bytes(path: Path) -> tuple[os.stat_result, bytes]:
    """(stat, content) of a regular file of at most MAX_FILE_BYTES; ProblemError naming the path otherwise.

    Opened non-blocking, then checked with fstat on the open file: a FIFO or device is refused
    without waiting, and a file swapped after listing is judged by what is actually opened.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ProblemError([os_problem(path, exc)]) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ProblemError([Problem(display_path(path), 0, FIELD, f"通常のファイルではありません（{_kind(st.st_mode)}）")])
        if st.st_size > MAX_FILE_BYTES:
            raise ProblemError([too_large(path, st.st_size)])
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_FILE_BYTES + 1)  # the file may have grown since fstat
        if len(data) > MAX_FILE_BYTES:
            raise ProblemError([too_large(path, len(data))])
        return st, data
    except OSError as exc:
        raise ProblemError([os_problem(path, exc)]) from None
    finally:
        os.close(fd)


def too_large(path: Path, size: int) -> Problem:
    return Problem(
        display_path(path),
        0,
        FIELD,
        f"ファイルが大きすぎます（{size / 1024 / 1024:.1f} MB）。提案ファイルは {MAX_FILE_BYTES // 1024 // 1024} MB までです",
    )


def decode(data: bytes) -> str:
    """UTF-8 bytes → text as `Path.read_text` gives it (universal newlines), without a leading BOM.

    Editors' tools (Windows Notepad, some Excel exports) write a BOM; it means nothing here.
    Raises UnicodeDecodeError for bytes that are not UTF-8.
    """
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()
    return text[1:] if text.startswith(BOM) else text


def read_text(path: Path) -> str:
    """A proposal file's text; ProblemError naming the file for any fault (not UTF-8 included)."""
    _, data = read_bytes(path)
    try:
        return decode(data)
    except UnicodeDecodeError:
        raise ProblemError([Problem(display_path(path), 1, FIELD, "UTF-8 で保存してください")]) from None
