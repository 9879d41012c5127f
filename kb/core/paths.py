"""Where the project's data lives: `data/` of this checkout unless the environment says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR_ENV = "KB_DATA_DIR"


def data_dir() -> Path:
    """The registries' data folder: $KB_DATA_DIR if set (tests, forks), else data/ of this checkout."""
    return Path(os.environ.get(DATA_DIR_ENV) or ROOT / "data")
