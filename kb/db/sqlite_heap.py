"""SQLite's hard heap limit, which holds for the whole process, read and set without SQL.

The served site caps SQLite's heap (`PRAGMA hard_heap_limit`, site/plugins/hardening.py) so that
no visitor's query can take the host's memory. The cap is process-wide: a build in a process that
served the site before (tests, a notebook) ran out of heap in its own SQLite work. The PRAGMA can
only lower the cap, and running it needs heap itself, so the C function is called through ctypes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@functools.cache
def _limit_function() -> Callable[[int], int] | None:
    """sqlite3_hard_heap_limit64 of the library Python's sqlite3 runs on, or None when it cannot be had."""
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    try:
        library = ctypes.CDLL(name)
        function, version = library.sqlite3_hard_heap_limit64, library.sqlite3_libversion_number
    except (OSError, AttributeError):
        return None
    major, minor, patch = sqlite3.sqlite_version_info
    if version() != major * 1_000_000 + minor * 1_000 + patch:  # another SQLite than the one sqlite3 uses
        return None
    function.argtypes, function.restype = [ctypes.c_int64], ctypes.c_int64
    return function


def heap_limit() -> int:
    """The process's cap in bytes (0: none, or unknown)."""
    function = _limit_function()
    return int(function(-1)) if function else 0


def set_heap_limit(limit: int) -> None:
    """Set the process's cap (0 lifts it); nothing happens when the library's function is out of reach."""
    function = _limit_function()
    if function is not None:
        function(limit)


@contextmanager
def heap_uncapped() -> Iterator[None]:
    """No cap while the block runs (the build: our code on our files, not a visitor's query), then the cap as it was."""
    cap = heap_limit()
    if cap:
        set_heap_limit(0)
    try:
        yield
    finally:
        if cap:
            set_heap_limit(cap)
