"""Loaded registries kept between runs: a pickle keyed by the data files, the code and cwd.

Building a name index (every name through the search normalisation, 8,945 law titles and
numbers) is most of a one-file `kb check`; the pickle loads in a few milliseconds. The cache is
the user's own folder, written atomically; anything wrong with it (missing, stale, unreadable,
not writable) only means building again.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar, cast

from kb.core import tempfiles

T = TypeVar("T")

CACHE_ENV = "KB_CACHE_DIR"
_KB = Path(__file__).resolve().parents[1]


def code_files() -> list[Path]:
    """The code whose change may change what loading gives (all of kb/, as the build's fingerprint)."""
    return sorted(_KB.rglob("*.py"))


def cache_dir() -> Path:
    """Where loaded registries are kept between runs: $KB_CACHE_DIR, else the user's cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bunken-kb"


def cache_key(inputs: Iterable[Path], salt: str = "") -> str:
    """The inputs' names and contents (hashing 2 MB is cheaper than trusting times), the code, cwd and `salt`."""
    h = hashlib.blake2b(digest_size=16)
    # cwd: problems name files relative to it; Python and Unicode versions: names are folded with NFKC
    h.update(repr((salt, str(Path.cwd()), sys.version, unicodedata.unidata_version)).encode())
    for path in [*inputs, *code_files()]:
        h.update(str(path).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"\1missing")
        h.update(b"\0")
    return h.hexdigest()


def cached(name: str, key: str, build: Callable[[], T], expected: type) -> T:
    """`build()`'s result, from `<cache>/<name>-<key>.pickle` when an earlier run left it there."""
    path = cache_dir() / f"{name}-{key}.pickle"
    try:
        with path.open("rb") as f:
            value = pickle.load(f)
        if isinstance(value, expected):
            return cast(T, value)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError, IndexError):
        pass
    value = build()
    try:
        tempfiles.remove_stale(path.parent)
        fd, tmp = tempfiles.make_temp(path)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        for old in path.parent.glob(f"{name}-*.pickle"):  # one per name: older keys are never read again
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass
    return value
