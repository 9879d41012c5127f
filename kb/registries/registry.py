"""The registries (local governments, ministries, 提案分野), loaded once per data folder, with their files' problems."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kb.core.paths import DATA_DIR_ENV, data_dir
from kb.core.problems import Problem, display_path
from kb.registries.localgov import LocalGovernmentRegistry
from kb.registries.localgov_data import load_local_governments
from kb.registries.ministries import MinistryRegistry, load_ministries
from kb.registries.policy_fields import PolicyFields, load_policy_fields


@dataclass(frozen=True)
class Registries:
    local_governments: LocalGovernmentRegistry
    ministries: MinistryRegistry
    policy_fields: PolicyFields
    problems: tuple[Problem, ...]
    usable: bool = True  # False: the data folder is missing, so no name can be checked


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


def _cache_key(directory: Path) -> str:
    """The data files' names and contents (about 150 KB: hashing them is cheaper than trusting times), the code, cwd."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((str(directory), str(Path.cwd()))).encode())  # cwd: problems name files relative to it
    for path in [*sorted(p for p in directory.glob("*") if p.is_file()), *code_files()]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _build(directory: Path) -> Registries:
    local_governments, lg_problems = load_local_governments(directory)
    ministries, m_problems = load_ministries(directory)
    policy_fields, f_problems = load_policy_fields(directory)
    return Registries(local_governments, ministries, policy_fields, tuple(lg_problems + m_problems + f_problems))


@lru_cache(maxsize=4)
def _load(directory: Path, key: str) -> Registries:
    """Built once per process; between processes from a pickle keyed (`_cache_key`) by the files, the code and cwd.

    Building the name index (every name through the search normalisation) is most of a one-file
    `kb check --changed`; the pickle loads in a few milliseconds. The cache is the user's own
    folder, written atomically; anything wrong with it (missing, stale, unreadable, not writable)
    only means building again.
    """
    path = cache_dir() / f"registries-{key}.pickle"
    try:
        with path.open("rb") as f:
            cached = pickle.load(f)
        if isinstance(cached, Registries):
            return cached
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    registries = _build(directory)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".registries.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(registries, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError:
        pass
    return registries


def load_registries(directory: Path | None = None) -> Registries:
    """Cached while the files are unchanged: `kb check` and `kb build` both need them in one run.

    A missing folder is one problem (and empty registries), not an error per file and per name.
    """
    directory = (directory or data_dir()).resolve()
    if not directory.is_dir():
        missing = Problem(display_path(directory), 0, "データ", f"登録簿のフォルダがありません（別の場所にあるなら環境変数 {DATA_DIR_ENV} で指定してください）")
        return Registries(LocalGovernmentRegistry([]), MinistryRegistry([]), PolicyFields(), (missing,), usable=False)
    return _load(directory, _cache_key(directory))
