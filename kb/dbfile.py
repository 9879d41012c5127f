"""The database file: written as a temporary file beside the target, put in place by one rename.

A reader that has the old database open (a running `kb serve` opens it immutable) keeps
reading the old file, and a failed build leaves it as it was. An incremental build
starts from a copy of the previous database; `BackgroundCopy` makes that copy on another
thread (the kernel does the work, the GIL is released) while the files are compared and
parsed, and asks the kernel to write it to disk before the final fsync needs it.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

COPY_CHUNK = 16 << 20  # bytes per copy call: the most a cancelled copy goes on for


def temp_beside(db_path: Path) -> Path:
    """An empty temporary file in the target's folder (same file system, so the rename is atomic)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=db_path.parent, prefix=f".{db_path.name}.", suffix=".tmp")
    os.close(fd)
    return Path(name)


def file_mode(path: Path) -> int:
    """Mode for the new database: the old file's, else what a plain create would give (mkstemp makes 0600)."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _copy_range(src: int, dst: int, offset: int, count: int) -> int:
    """Copy inside the kernel: a reflink on file systems that share blocks, sendfile elsewhere."""
    if hasattr(os, "copy_file_range"):
        try:
            return os.copy_file_range(src, dst, count, offset, offset)
        except OSError:
            pass  # e.g. across file systems on old kernels
    return os.sendfile(dst, src, offset, count)


class BackgroundCopy:
    """Copy `src` over `dst` on a thread, then start writing it to disk; `wait` for it, or `cancel`."""

    def __init__(self, src: Path, dst: Path):
        self.src, self.dst = src, dst
        self.seconds = 0.0  # how long the copy took (it ran alongside other work)
        self._cancelled = threading.Event()
        self._copied = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kb-db-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        start = time.perf_counter()
        try:
            with open(self.src, "rb") as src, open(self.dst, "wb") as dst:
                size, offset = os.fstat(src.fileno()).st_size, 0
                while offset < size and not self._cancelled.is_set():
                    copied = _copy_range(src.fileno(), dst.fileno(), offset, min(COPY_CHUNK, size - offset))
                    if copied == 0:
                        raise OSError(f"{self.src}: コピーが途中で止まりました（{offset} / {size} バイト）")
                    offset += copied
                self.seconds = time.perf_counter() - start
                self._copied.set()
                if not self._cancelled.is_set():
                    os.fdatasync(dst.fileno())  # the copied pages go to disk while the update runs
        except BaseException as exc:  # handed to the waiting thread
            self._error = exc
        finally:
            self._copied.set()

    def wait(self) -> None:
        """Block until every byte is copied (writing it to disk goes on); re-raise an error of the copy."""
        self._copied.wait()
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        self._cancelled.set()
        self._thread.join()


def write_atomically(
    db_path: Path,
    fill: Callable[[sqlite_utils.Database], None],
    lap: Callable[[str], None],
    tmp: Path | None = None,
    copy: BackgroundCopy | None = None,
) -> None:
    """Fill the temporary database (new, or the finished `copy`), fsync it, and rename it over `db_path`."""
    tmp = tmp or temp_beside(db_path)
    try:
        if copy is not None:
            copy.wait()
            lap("wait for copy")
        db = sqlite_utils.Database(tmp)
        db.execute("PRAGMA journal_mode = OFF")  # a crash only loses the temporary file
        db.execute("PRAGMA synchronous = OFF")  # one fsync below, once everything is written
        fill(db)
        db.close()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode(db_path))
        os.replace(tmp, db_path)
        lap("sync and rename")
    except BaseException:
        if copy is not None:
            copy.cancel()
        tmp.unlink(missing_ok=True)
        raise
