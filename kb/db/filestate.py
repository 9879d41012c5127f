"""What a database was built from: a content hash per proposal file, and a fingerprint of the code and data.

An incremental build compares the files on disk with the `build_files` table of the
previous database. Like git's index, a file whose size and modification time (ns) are
unchanged is taken as unchanged without reading it; otherwise it is read and hashed, and
only a different hash makes it "changed" (a touched file is not re-parsed). A file
modified within `RACY_SECONDS` of being read may change again without its mtime moving
(file timestamps have a clock-tick granularity), so its stat is not trusted next time.

The fingerprint covers the `kb` source code and the data files the build steps read:
when either changes, rows made from unchanged files may differ, so the build is full.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from kb.core.problems import ProblemError
from kb.db.schema import FILES_TABLE, INFO_TABLE
from kb.files import disk

if TYPE_CHECKING:  # loaded by the functions that write; reading the previous state stays cheap (kb/db/ahead.py)
    import sqlite_utils

FINGERPRINT_KEY = "fingerprint"
RACY_SECONDS = 2.0
UNTRUSTED_MTIME = -1  # stored instead of a racy mtime: forces hashing on the next build
KB_SOURCE = Path(__file__).resolve().parents[1]  # the whole kb package: any code change may change rows


@dataclass(frozen=True)
class FileState:
    path: str  # as listed (relative to the working directory when given so)
    size: int
    mtime_ns: int
    digest: str


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_file(path: Path, now_ns: int | None = None) -> tuple[FileState, bytes]:
    """Stat, then read: a write after the stat leaves a stale stat, which only causes a re-hash later.

    ProblemError (naming the file) when it cannot be read as a proposal file (`kb.files.disk`).
    """
    st, data = disk.read_bytes(path)
    now_ns = time.time_ns() if now_ns is None else now_ns
    racy = st.st_mtime_ns >= now_ns - int(RACY_SECONDS * 1e9)
    return FileState(str(path), st.st_size, UNTRUSTED_MTIME if racy else st.st_mtime_ns, digest_bytes(data)), data


def fingerprint(inputs: Iterable[Path]) -> str:
    """Hash of the kb source code and of the given data files (missing files count as absent)."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(KB_SOURCE.rglob("*.py")):
        h.update(str(path.relative_to(KB_SOURCE)).encode() + b"\0" + path.read_bytes() + b"\0")
    for path in sorted({Path(p).resolve() for p in inputs}):
        h.update(str(path).encode() + b"\0" + (path.read_bytes() if path.is_file() else b"<absent>") + b"\0")
    return h.hexdigest()


def create_state_tables(db: sqlite_utils.Database) -> None:
    db.table(FILES_TABLE).create(
        {"path": str, "proposal_id": str, "size": int, "mtime_ns": int, "digest": str}, pk="path"
    )
    db.table(INFO_TABLE).create({"key": str, "value": str}, pk="key")


def write_files(db: sqlite_utils.Database, files: Iterable[tuple[FileState, str]]) -> None:
    """Record (state, proposal id) of parsed files, replacing earlier records of the same paths."""
    with db.conn:
        db.conn.executemany(
            f"INSERT OR REPLACE INTO {FILES_TABLE} (path, proposal_id, size, mtime_ns, digest) VALUES (?, ?, ?, ?, ?)",
            [(s.path, pid, s.size, s.mtime_ns, s.digest) for s, pid in files],
        )


def forget_files(db: sqlite_utils.Database, paths: Iterable[str]) -> None:
    with db.conn:
        db.conn.executemany(f"DELETE FROM {FILES_TABLE} WHERE path = ?", [(p,) for p in paths])


def write_fingerprint(db: sqlite_utils.Database, value: str) -> None:
    with db.conn:
        db.conn.execute(f"INSERT OR REPLACE INTO {INFO_TABLE} (key, value) VALUES (?, ?)", (FINGERPRINT_KEY, value))


def connect_readonly(db_path: Path) -> sqlite3.Connection:
    """The previous database, opened so that nothing can change it."""
    return sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)


def open_readonly(db_path: Path) -> sqlite_utils.Database:
    """`connect_readonly` as a sqlite-utils database."""
    import sqlite_utils

    return sqlite_utils.Database(connect_readonly(db_path))


class StoredFile(NamedTuple):
    """A file as the previous build recorded it (a tuple: 10,000 of them are made on every build)."""

    proposal_id: str
    size: int
    mtime_ns: int
    digest: str


def read_previous(db_path: Path) -> tuple[str, dict[str, StoredFile]] | None:
    """(fingerprint, path → stored file) of an existing database, or None when it has no build state."""
    if not db_path.is_file():
        return None
    try:
        db = connect_readonly(db_path)
    except sqlite3.DatabaseError:
        return None
    try:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", (INFO_TABLE, FILES_TABLE))}
        if names != {INFO_TABLE, FILES_TABLE}:
            return None
        row = db.execute(f"SELECT value FROM {INFO_TABLE} WHERE key = ?", (FINGERPRINT_KEY,)).fetchone()
        rows = db.execute(f"SELECT path, proposal_id, size, mtime_ns, digest FROM {FILES_TABLE}")
        files = {row[0]: StoredFile._make(row[1:]) for row in rows}
        return (row[0] if row else "", files)
    except sqlite3.DatabaseError:
        return None  # not a database we can read: build it anew
    finally:
        db.close()


@dataclass
class Changes:
    """Paths that differ from the previous build, and the states of files read to find out."""

    changed: list[Path]  # new or different content: to parse
    removed: list[str]  # listed before, gone now
    unchanged: int
    read: dict[str, tuple[FileState, bytes]]  # files read while comparing (their bytes are reused)
    restat: list[FileState]  # same content, new size/mtime: recorded so they need no hashing next time

    @property
    def any(self) -> bool:
        return bool(self.changed or self.removed)


def any_stat_differs(stored: dict[str, StoredFile]) -> bool:
    """Whether a file the previous build read is gone or has another size or mtime: a quick look before listing.

    Stops at the first difference, so that an incremental build can start copying the database
    (its longest part) before the listing and `compare`, which decide what actually changed. New
    files are not seen here (`compare` finds them); of a file whose mtime was not trusted (written
    just before the previous build read it), only a new size is.
    """
    for path, before in stored.items():
        try:
            st = os.stat(path)
        except OSError:
            return True
        if st.st_size != before.size or (before.mtime_ns != UNTRUSTED_MTIME and st.st_mtime_ns != before.mtime_ns):
            return True
    return False


def compare(files: list[Path], stored: dict[str, StoredFile], on_change: Callable[[], None] = lambda: None) -> Changes:
    """Which files changed since the previous build: stat first, hash only when the stat differs.

    `on_change` is called once, as soon as the first difference is known (new and removed files
    are known from the listing alone), so that the caller can start preparing the update.
    """
    changes = Changes([], [], 0, {}, [])
    listed = {str(p) for p in files}
    changes.removed = [p for p in stored if p not in listed]
    noticed = bool(changes.removed) or any(key not in stored for key in listed)
    if noticed:
        on_change()
    now_ns = time.time_ns()
    for path in files:
        key = str(path)
        before = stored.get(key)
        try:
            if before is not None and before.mtime_ns != UNTRUSTED_MTIME:
                st = os.stat(path)
                if st.st_size == before.size and st.st_mtime_ns == before.mtime_ns:
                    changes.unchanged += 1
                    continue
            state, data = read_file(path, now_ns)
        except (OSError, ProblemError):  # vanished or unreadable since the listing: the parse reports why
            state, data = None, b""
        if state is not None:
            changes.read[key] = (state, data)
        if before is not None and state is not None and state.digest == before.digest:
            changes.unchanged += 1
            if (state.size, state.mtime_ns) != (before.size, before.mtime_ns):
                changes.restat.append(state)
            continue
        changes.changed.append(path)
        if not noticed:
            noticed = True
            on_change()
    return changes
