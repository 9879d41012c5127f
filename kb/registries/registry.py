"""The registries (local governments, ministries, 提案分野), loaded once per data folder, with their files' problems."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kb.core.cache import cache_key, cached
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


def _build(directory: Path) -> Registries:
    local_governments, lg_problems = load_local_governments(directory)
    ministries, m_problems = load_ministries(directory)
    policy_fields, f_problems = load_policy_fields(directory)
    return Registries(local_governments, ministries, policy_fields, tuple(lg_problems + m_problems + f_problems))


@lru_cache(maxsize=4)
def _load(directory: Path, key: str) -> Registries:
    """Built once per process; between processes from the pickle cache (`kb.core.cache`)."""
    return cached("registries", key, lambda: _build(directory), Registries)


def load_registries(directory: Path | None = None) -> Registries:
    """Cached while the files are unchanged: `kb check` and `kb build` both need them in one run.

    A missing folder is one problem (and empty registries), not an error per file and per name.
    """
    directory = (directory or data_dir()).resolve()
    if not directory.is_dir():
        missing = Problem(display_path(directory), 0, "データ", f"登録簿のフォルダがありません（別の場所にあるなら環境変数 {DATA_DIR_ENV} で指定してください）")
        return Registries(LocalGovernmentRegistry([]), MinistryRegistry([]), PolicyFields(), (missing,), usable=False)
    return _load(directory, cache_key(sorted(p for p in directory.glob("*") if p.is_file()), str(directory)))
