"""The database file: written as a temporary file beside the target, put in place by one rename.

A reader that has the old database open (a running `kb serve` opens it immutable) keeps
reading the old file, and a failed build leaves it as it was. An incremental build
starts from a copy of the previous database; `BackgroundCopy` makes that copy on another
thread (the kernel does the work, the GIL is released) as soon as the first changed file
is found, while the rest are compared and the changed ones parsed, and has the kernel write
it out meanwhile, so that the final fsync finds little left to do. Large files that are no
longer needed (the old database, a discarded copy) are freed by an `rm` in the background.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kb.core import tempfiles

if TYPE_CHECKING:  # loaded by `write_atomically`: kb/db/ahead.py starts a copy before sqlite-utils is imported
    import sqlite_utils

COPY_CHUNK = 16 << 20  # bytes per copy call: the most a cancelled copy goes on for


def temp_beside(db_path: Path) -> Path:
    """An empty temporary file in the target's folder (same file system, so the rename is atomic).

    First removes what killed builds left there (`kb.core.tempfiles`): a database is 100 MB and more.
    """
    tempfiles.remove_stale(db_path.parent)
    fd, path = tempfiles.make_temp(db_path)
    os.close(fd)
    return path


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
        # Falls through to sendfile when the kernel refuses (e.g. across file systems on old kernels).
        with contextlib.suppress(OSError):
            return os.copy_file_range(src, dst, count, offset, offset)
    return os.sendfile(dst, src, offset, count)


def _writeback_starter() -> Callable[[int, int, int], None]:
    """Linux's sync_file_range(…, SYNC_FILE_RANGE_WRITE): start writing a range to disk, without waiting.

    Python has no binding for it; without it (other systems) nothing is started early and the
    final fsync writes everything.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.sync_file_range
    except (OSError, AttributeError):
        return lambda fd, offset, count: None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]

    def start(fd: int, offset: int, count: int) -> None:
        call(fd, offset, count, SYNC_FILE_RANGE_WRITE)  # a failure only means the final fsync does the work

    return start


SYNC_FILE_RANGE_WRITE = 2
_start_writeback = _writeback_starter()


Identity = tuple[int, int, int, int]  # device, inode, size, mtime (ns): which file a path names now


def _identity(st: os.stat_result) -> Identity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def identity(path: Path) -> Identity | None:
    """The file `path` names now (None when none): a build renames a new file over the database, never writes it."""
    try:
        return _identity(os.stat(path))
    except OSError:
        return None


class BackgroundCopy:
    """Copy `src` to `dst` on a thread, having the kernel write each copied chunk to disk at once.

    The final fsync then finds little left to write. `wait()` for the copy, or `cancel()` it. The
    source is opened here, so `source` is the identity of the file copied even if another build
    renames a new database over `src` meanwhile (the build compares it with the file it read).
    """

    def __init__(self, src: Path, dst: Path):
        self.src, self.dst = src, dst
        self.seconds = 0.0  # how long the copy took (it ran alongside other work)
        self._source = open(src, "rb")  # noqa: SIM115  # closed by the copy thread
        self.source: Identity = _identity(os.fstat(self._source.fileno()))
        self._cancelled = threading.Event()
        self._discarded = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kb-db-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        start = time.perf_counter()
        try:
            # "r+b", not "wb": `temp_beside` made the file; should a failed build have removed it already
            # (tempfiles.remove_own), the copy fails instead of making it again and filling it.
            with self._source as src, open(self.dst, "r+b") as dst:
                size, offset = os.fstat(src.fileno()).st_size, 0
                while offset < size and not self._cancelled.is_set():
                    copied = _copy_range(src.fileno(), dst.fileno(), offset, min(COPY_CHUNK, size - offset))
                    if copied == 0:
                        raise OSError(f"{self.src}: コピーが途中で止まりました（{offset} / {size} バイト）")
                    _start_writeback(dst.fileno(), offset, copied)
                    offset += copied
        except BaseException as exc:  # handed to the waiting thread
            self._error = exc
        self.seconds = time.perf_counter() - start

    def wait(self) -> None:
        """Block until every byte is copied; re-raise an error of the copy."""
        self._thread.join()
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        self._cancelled.set()
        self._thread.join()

    def discard(self) -> None:
        """Stop the copy and remove what it wrote (the build did not need it), in the background when large."""
        self.cancel()
        if not self._discarded:  # a second call (the build's clean-up, then its caller's) starts no second `rm`
            remove_later(self.dst)
            self._discarded = True  # after: a signal inside `remove_later` leaves the next call to do it again


def start_copy(db_path: Path) -> BackgroundCopy:
    """Start copying the database to a new temporary file beside it (`BackgroundCopy.dst`)."""
    return BackgroundCopy(db_path, temp_beside(db_path))


DEFER_REMOVAL_BYTES = 64 << 20  # a file at least this large is freed by a background `rm` (`remove_later`)


def replace(tmp: Path, db_path: Path, defer_bytes: int = DEFER_REMOVAL_BYTES) -> None:
    """Rename `tmp` over `db_path`; the old file's blocks are freed after this process, not during it.

    Freeing a 500 MB file (its blocks and cached pages) takes the kernel 0.17 s, a third of a one-file
    build. So the old file keeps a second name (a temporary name of this process) through the rename,
    which is then instant, and an `rm` in the background removes that name (`remove_later`). A reader
    with the old file open keeps reading it either way.
    """
    try:
        old_size = db_path.stat().st_size if os.name == "posix" else 0
    except FileNotFoundError:
        old_size = 0
    if old_size < max(defer_bytes, 1):
        os.replace(tmp, db_path)
        return
    keep = db_path.parent / f".{db_path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"  # as kb.core.tempfiles names them
    try:
        os.link(db_path, keep)
    except OSError:  # no hard links here: the rename frees the old file itself
        os.replace(tmp, db_path)
        return
    try:
        os.replace(tmp, db_path)
    finally:
        remove_later(keep, defer_bytes)


def remove_later(path: Path, defer_bytes: int = DEFER_REMOVAL_BYTES) -> None:
    """Remove a file; one of at least `defer_bytes` by an `rm` in the background (freeing it takes the kernel a while).

    Should `rm` not start, the file is removed here; should the machine stop first, the next build
    removes it as a killed run's temporary file (kb.core.tempfiles).
    """
    try:
        size = path.stat().st_size if os.name == "posix" else 0
    except FileNotFoundError:
        return
    if size >= max(defer_bytes, 1) and os.getpid() != 1:  # as PID 1 (a container without init) no one would reap the rm
        try:  # sh starts rm in the background and ends at once: nothing is left to wait for
            shell = os.posix_spawn("/bin/sh", ["sh", "-c", 'rm -f -- "$1" &', "sh", str(path)], os.environ, setsid=True)
            os.waitpid(shell, 0)
            return
        except (OSError, NotImplementedError):  # no /bin/sh, or no setsid for posix_spawn here
            pass
    path.unlink(missing_ok=True)


def write_atomically(
    db_path: Path,
    fill: Callable[[sqlite_utils.Database], None],
    lap: Callable[[str], None],
    tmp: Path | None = None,
    copy: BackgroundCopy | None = None,
) -> None:
    """Fill the temporary database (new, or the finished `copy`), fsync it, and rename it over `db_path`.

    On any failure (an error, Ctrl+C, SIGTERM through kb.cli's handler) the temporary file is removed —
    also when the signal came right after the file was made, before `tmp` held its name (`remove_own`).
    """
    import sqlite_utils

    made: Path | None = tmp
    try:
        made = tmp = tmp or temp_beside(db_path)
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
        replace(tmp, db_path)
        lap("sync and rename")
    except BaseException:
        if copy is not None:
            copy.cancel()
        if made is not None:
            made.unlink(missing_ok=True)
        else:  # a signal between the file's creation and `made`: found by the name it was given
            tempfiles.remove_own(db_path)
        raise
