"""Have the kernel read the served database into its page cache at start, so that first views are not disk reads.

The site's database does not change while it is served. Its pages are read from the kernel's page cache
when they are there and from the disk when not. At 100,000 proposals (5.5 GB) the first view of a
proposal whose pages were not cached cost p50 13.9 / p95 36.9 ms in one process, against 7.3 / 10.5 ms
once they were (docs/benchmarks.md, #16). The real corpus (~300 MB) is read in a fraction of a second.

`posix_fadvise(POSIX_FADV_WILLNEED)` starts the reads and does not wait for them. Linux reads at most
max(read-ahead, largest request) per call (8 MB of a 64 MB call here; 128 KB is a common read-ahead), so it
is asked in chunks of 512 KB, on a daemon thread, so that start-up does not wait. It is only asked when
the file is at most half of the memory the process may use (the machine's, or its container's limit): a
larger file would push out what other processes hold, and would not stay cached anyway. Where the call
does not exist (macOS, Windows), nothing is done.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import threading
from pathlib import Path

CHUNK = 512 << 10  # bytes asked per call: within what Linux reads ahead for one call
MEMORY_SHARE = 0.5  # the largest file prewarmed, as a share of the memory the process may use (physical_memory)


def cgroup_limit_files(proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = Path("/sys/fs/cgroup")) -> list[Path]:
    """The memory-limit files of this process's own cgroup and of each parent up to the root (v2 `0::/path`:
    `memory.max`; v1 `N:memory:/path`: `memory.limit_in_bytes`). A service or container limit is set on its
    own cgroup, which is the root only inside a container with its own cgroup namespace."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return []
    files = []
    for line in lines:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _, controllers, path = fields
        if controllers == "":
            base, name = root, "memory.max"
        elif "memory" in controllers.split(","):
            base, name = root / "memory", "memory.limit_in_bytes"
        else:
            continue
        parts = [part for part in path.split("/") if part and part not in (".", "..")]
        files += [base.joinpath(*parts[:depth]) / name for depth in range(len(parts), -1, -1)]
    return files


def physical_memory(limits: list[Path] | None = None) -> int | None:
    """Bytes of memory this process may use: the machine's, or the lowest limit of its cgroups when lower (a
    container's or service's page cache counts against its limit); None where the system does not say.
    `limits`: the limit files to read (`cgroup_limit_files()` when not given)."""
    try:
        memory: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        memory = None
    for limit in cgroup_limit_files() if limits is None else limits:
        try:
            text = limit.read_text().strip()
        except OSError:
            continue
        if text.isdigit():  # "max" (v2) or a number; v1 writes a huge number for no limit
            memory = int(text) if memory is None else min(memory, int(text))
    return memory


def worth_prewarming(size: int, memory: int | None) -> bool:
    """Whether a file of `size` bytes should be asked into the page cache by a process that may use `memory` bytes."""
    return memory is not None and 0 < size <= memory * MEMORY_SHARE


def prewarm(path: Path) -> bool:
    """Ask the kernel to read the whole file ahead (returns at once per chunk); False where it cannot be asked."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        for offset in range(0, size, CHUNK):
            os.posix_fadvise(fd, offset, min(CHUNK, size - offset), os.POSIX_FADV_WILLNEED)
    finally:
        os.close(fd)
    return True


def start_prewarm(path: Path, memory: int | None = None) -> threading.Thread | None:
    """`prewarm(path)` on a daemon thread when the file is worth it (`worth_prewarming`); the thread, or None."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if not worth_prewarming(size, physical_memory() if memory is None else memory):
        return None
    thread = threading.Thread(target=_prewarm_quietly, args=(path,), name=f"prewarm {path.name}", daemon=True)
    thread.start()
    return thread


def _prewarm_quietly(path: Path) -> None:
    """A hint only: a file removed or replaced meanwhile is not an error of the site's."""
    try:
        prewarm(path)
    except OSError:
        pass


def resident_share(path: Path) -> float | None:
    """The share of the file's pages now in the page cache (mincore(2) on a mapping never touched), for
    benchmarks and tests; None where mincore cannot be called."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        mincore = libc.mincore
    except (OSError, AttributeError):
        return None
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    size = path.stat().st_size
    if not size:
        return 1.0
    pages = -(-size // mmap.PAGESIZE)
    fd = os.open(path, os.O_RDONLY)
    try:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if address is None or address == ctypes.c_void_p(-1).value:
            raise OSError(ctypes.get_errno(), f"mmap: {os.strerror(ctypes.get_errno())}", str(path))
        try:
            vector = (ctypes.c_ubyte * pages)()
            if mincore(address, size, vector) != 0:
                raise OSError(ctypes.get_errno(), f"mincore: {os.strerror(ctypes.get_errno())}", str(path))
            return sum(1 for v in bytes(vector) if v & 1) / pages
        finally:
            libc.munmap(address, size)
    finally:
        os.close(fd)
