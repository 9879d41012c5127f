"""At start, ask the kernel to read each immutable database the site serves into its page cache.

kb/core/prewarm.py says why and when (a file of at most half the memory the process may use, on a daemon
thread, start-up not waiting). The threads started are kept per Datasette (`prewarming`), for tests and benchmarks.
"""

from pathlib import Path
from threading import Thread
from weakref import WeakKeyDictionary

from datasette import hookimpl
from datasette.app import Datasette

from kb.core.prewarm import start_prewarm

_STARTED: "WeakKeyDictionary[Datasette, list[Thread]]" = WeakKeyDictionary()


def prewarming(datasette: Datasette) -> list[Thread]:
    """The prewarm threads `startup` started for this Datasette."""
    return _STARTED.get(datasette, [])


@hookimpl
def startup(datasette: Datasette) -> None:
    threads = []
    for database in datasette.databases.values():
        if database.path and not database.is_mutable and not database.is_memory:
            thread = start_prewarm(Path(database.path))
            if thread is not None:
                threads.append(thread)
    _STARTED[datasette] = threads
