"""`kb build` with the database copy started before the build's own imports (issue #16).

An incremental build writes a copy of the previous database and renames it into place
(kb/db/dbfile.py); at 10,000 proposals the copy (~600 MB) is the longest part of a one-file
build. `kb.db.incremental` starts it as soon as a change is likely, but only once the build
is loaded: pydantic, the models, sqlite-utils and the steps take ~0.45 s to import. This module
imports none of them: it reads the previous build's file records with `sqlite3`, stats the
files, and when one differs starts the copy; the caller then loads the build and hands it the copy
(`kb.pipeline.build(..., ahead=copy)`; `kb build` in kb/cli.py). A copy the build does not use
(nothing changed after all, or a full build) is discarded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kb.core import tempfiles
from kb.db import dbfile, filestate

T = TypeVar("T")


def copy_ahead(db_path: Path) -> dbfile.BackgroundCopy | None:
    """Start copying the database when a file its previous build read has another size or mtime, else None.

    Only a likely change: `kb.db.incremental` decides what changed (and whether the build is incremental).
    """
    previous = filestate.read_previous(db_path)
    if previous is None or not filestate.any_stat_differs(previous[1]):
        return None
    return dbfile.start_copy(db_path)


def with_copy_ahead(db_path: Path, build: Callable[[dbfile.BackgroundCopy | None], T], *, enabled: bool = True) -> T:
    """`build(copy)` with `copy_ahead(db_path)` (None when not `enabled`, e.g. for a full build); `build` loads
    the build itself, while the copy runs. The copy never outlives the call: unused, it is discarded."""
    copy: dbfile.BackgroundCopy | None = None
    try:
        copy = copy_ahead(db_path) if enabled else None
        return build(copy)
    except BaseException:
        if copy is None:  # a signal between the copy's file and `copy`: found by the name it was given
            tempfiles.remove_own(db_path)
        raise
    finally:
        if copy is not None and copy.dst.exists():  # not renamed into place: the build did not use it
            copy.discard()
