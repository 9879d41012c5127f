"""Where the project's data lives: `data/` of this checkout unless the environment says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR_ENV = "KB_DATA_DIR"


def data_dir() -> Path:
    """The registries' data folder: $KB_DATA_DIR if set (tests, forks), else data/ of this checkout."""
    return Path(os.environ.get(DATA_DIR_ENV) or ROOT / "data")


def file_stamp(path: str | Path | None) -> tuple[object, ...]:
    """What changes when a file is replaced (a rebuilt database is renamed into place): path, size,
    mtime and inode; the site keeps what it computed once per database file under this key."""
    try:
        info = os.stat(path) if path else None
    except OSError:
        info = None
    return (str(path), info.st_size, info.st_mtime_ns, info.st_ino) if info else (str(path),)
