"""What a build runs with (`Run`) and what it did (`BuildResult`), for people and benchmarks/."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kb.db.schema import BuildStep
from kb.files.check import Check


@dataclass
class BuildResult:
    """What a build did; `parsed` counts the files actually parsed (an incremental build skips the rest)."""

    db_path: Path
    counts: dict[str, int] = field(default_factory=dict)
    mode: str = "full"  # full | incremental | unchanged
    reason: str = ""  # why a build was full although a previous database existed (for people)
    parsed: int = 0
    added: list[str] = field(default_factory=list)  # proposal ids
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # time per phase, for benchmarks/

    def summary(self) -> str:
        """One line for the person who ran the build."""
        n = self.counts.get("proposals", 0)
        if self.mode == "unchanged":
            return f"{self.db_path}: 提案ファイルに変更はありません（提案 {n} 件）"
        if self.mode == "incremental":
            return (
                f"{self.db_path}: 差分を反映しました（追加 {len(self.added)}・変更 {len(self.changed)}・"
                f"削除 {len(self.removed)} 件、読み直したファイル {self.parsed} 件）。提案 {n} 件"
            )
        if self.reason:
            return f"{self.db_path}: 提案 {n} 件でデータベースを作り直しました（{self.reason}）"
        return f"{self.db_path}: 提案 {n} 件でデータベースを作りました"


class Clock:
    """Seconds per phase of a build, for `BuildResult.seconds` (benchmarks/ reports them)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._last
        self._last = now


@dataclass(frozen=True)
class Run:
    """What one build runs with: the steps and checks passed in, the worker count in force, the clock."""

    steps: Sequence[BuildStep]
    checks: tuple[Check, ...]
    jobs: int
    clock: Clock
