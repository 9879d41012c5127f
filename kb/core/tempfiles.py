"""Temporary files beside their targets, and the removal of those a killed run left behind.

Every write of a database, a proposal file or a cache goes to `.<name>.<pid>.<random>.tmp`
in the target's folder and is renamed into place when complete. A run ended by SIGTERM or
Ctrl+C removes its own temporary file on the way out; one killed outright (kill -9, power
loss) cannot, so the next run that writes into that folder removes every temporary file
whose process is gone. A file of a process still running (another build) is left alone.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")
_OLD_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # before the pid was recorded
OLD_TEMP_SECONDS = 3600  # a temp file without a pid is taken as abandoned after an hour


def make_temp(target: Path) -> tuple[int, Path]:
    """(open fd, path) of a new empty file beside `target` (same file system: the rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    return fd, Path(name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale(folder: Path) -> list[Path]:
    """Remove the temporary files of runs that are no longer running; returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed  # nothing to clean where nothing can be listed; the write itself reports
    now = time.time()
    for entry in entries:
        if not entry.name.endswith(".tmp") or not entry.is_file(follow_symlinks=False):
            continue
        m = _TEMP_NAME.match(entry.name)
        try:
            if m:
                stale = not _alive(int(m.group("pid")))
            else:
                stale = bool(_OLD_TEMP_NAME.match(entry.name)) and now - entry.stat().st_mtime > OLD_TEMP_SECONDS
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # removed by another run meanwhile, or not ours to remove
    return removed


def remove_stale_below(root: Path) -> list[Path]:
    """`remove_stale` in `root` and its folders one level down (the proposals folder and its year folders)."""
    removed = remove_stale(root)
    try:
        folders = [Path(e.path) for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return removed
    for folder in sorted(folders):
        removed += remove_stale(folder)
    return removed


def remove_own(target: Path, but: Iterable[Path] = ()) -> list[Path]:
    """Remove this process's temporary files for `target` (except those in `but`, being removed already),
    on the way out of a failed write.

    A signal can end a write between the creation of its temporary file and the moment its code
    holds the name (the handler raises at the next bytecode); the file's name still says whose it is.
    """
    skip = {os.path.basename(p) for p in but}
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    pid = str(os.getpid())
    for entry in entries:
        m = _TEMP_NAME.match(entry.name)
        if m and m.group("target") == target.name and m.group("pid") == pid and entry.name not in skip:
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                continue  # removed meanwhile (a background rm of the same file)
    return removed
