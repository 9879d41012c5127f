"""Per-proposal work on every core: parsing files, bigram text, citation extraction.

Workers are forked *after* the work list exists, so they inherit the function and its
inputs (parsed proposals, registries) without pickling them; only the results travel
back. Small batches run in the calling process: forking costs more than it saves, and
an incremental build usually has a single changed file.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

JOBS_ENV = "KB_JOBS"
# Below this many items the pool is not worth its start-up (fork + result pipes).
MIN_PARALLEL = 64
# Items per task: large enough to amortise the round trip, small enough to balance two workers.
CHUNK = 32

_work: tuple[Callable[[Any], Any], Sequence[Any]] | None = None
_jobs: int | None = None  # set by `using_jobs` for the length of one build


def default_jobs() -> int:
    """Worker count: the build's `--jobs`, else $KB_JOBS, else every core this process may use."""
    if _jobs is not None:
        return _jobs
    if os.environ.get(JOBS_ENV):
        return max(1, int(os.environ[JOBS_ENV]))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def using_jobs(jobs: int | None) -> Iterator[int]:
    """Make every `map_items` inside (build steps included) use `jobs` workers; yields the count in force."""
    global _jobs
    previous, _jobs = _jobs, (max(1, jobs) if jobs is not None else None)
    try:
        yield default_jobs()
    finally:
        _jobs = previous


def _default_signals() -> None:
    """In each worker: SIGTERM and SIGHUP kill it at once (the pool's terminate() relies on that), not the
    command's own handlers inherited through fork."""
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def _run_slice(bounds: tuple[int, int]) -> list[Any]:
    if _work is None:
        raise RuntimeError("a worker started without work")  # only map_items starts workers
    fn, items = _work
    return [fn(item) for item in items[bounds[0] : bounds[1]]]


def map_items(fn: Callable[[T], R], items: Sequence[T], jobs: int | None = None) -> list[R]:
    """`[fn(x) for x in items]`, spread over `jobs` forked processes; results in input order.

    `fn` must be pure (its result the only effect that counts): it runs in a copy of this process.
    """
    global _work
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1 or len(items) < MIN_PARALLEL or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(item) for item in items]
    slices = [(i, min(i + CHUNK, len(items))) for i in range(0, len(items), CHUNK)]
    _work = (fn, items)
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_default_signals) as pool:
            return [result for chunk in pool.imap(_run_slice, slices) for result in chunk]
    finally:
        _work = None
