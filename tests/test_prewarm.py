"""The served database is asked into the kernel's page cache at start (kb/core/prewarm.py, site/plugins/prewarm.py; #16).

Residency is read with `resident_share` (mincore(2) on a mapping of the file); eviction is posix_fadvise(DONTNEED)
after fsync, which drops a file's clean pages. Both need Linux and a temporary folder on a disk: on tmpfs a
file's pages are its storage and cannot be dropped (the precondition says so when it fails).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from datasette.plugins import pm
from served_site import CORPUS, SiteClient

from kb.core.prewarm import (
    MEMORY_SHARE,
    cgroup_limit_files,
    physical_memory,
    prewarm,
    resident_share,
    start_prewarm,
    worth_prewarming,
)
from kb.pipeline import build


def _share(path: Path) -> float:
    share = resident_share(path)
    assert share is not None  # mincore is there on Linux
    return share


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache; fail, saying why, where the filesystem keeps them."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    assert _share(path) < 0.1, f"{path.parent} keeps file pages in memory (tmpfs?): run pytest with --basetemp on a disk"


def _written(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    assert _share(path) == 1.0  # just written: in memory
    evict(path)  # the precondition: the test starts from a file not in memory
    return path


def test_worth_prewarming_only_files_within_half_of_memory() -> None:
    gib = 1 << 30
    assert MEMORY_SHARE == 0.5
    assert worth_prewarming(300 << 20, 16 * gib)
    assert worth_prewarming(8 * gib, 16 * gib)
    assert not worth_prewarming(8 * gib + 1, 16 * gib)
    assert not worth_prewarming(1 << 20, None)  # the system does not say: nothing asked
    assert not worth_prewarming(0, 16 * gib)


def test_memory_is_the_containers_limit_when_lower_than_the_machines(tmp_path: Path) -> None:
    machine = physical_memory(limits=[])
    assert machine is not None and machine > 0
    v2, v1 = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    v2.write_text("1073741824\n")
    assert physical_memory(limits=[v2]) == 1 << 30
    v2.write_text("max\n")  # no limit
    assert physical_memory(limits=[v2]) == machine
    v1.write_text(f"{machine * 4}\n")  # v1's "no limit" is a number above the machine's memory
    assert physical_memory(limits=[tmp_path / "absent", v1]) == machine


def test_the_limits_read_are_the_processs_own_cgroups_and_their_parents(tmp_path: Path) -> None:
    proc = tmp_path / "cgroup"
    root = tmp_path / "sys"
    proc.write_text("0::/system.slice/kb.service\n")  # v2: a service with MemoryMax=
    assert cgroup_limit_files(proc, root) == [
        root / "system.slice" / "kb.service" / "memory.max", root / "system.slice" / "memory.max", root / "memory.max",
    ]
    proc.write_text("12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n")  # v1 beside an empty v2
    assert cgroup_limit_files(proc, root) == [
        root / "memory" / "docker" / "abc" / "memory.limit_in_bytes", root / "memory" / "docker" / "memory.limit_in_bytes",
        root / "memory" / "memory.limit_in_bytes", root / "memory.max",
    ]
    (root / "system.slice" / "kb.service").mkdir(parents=True)
    (root / "system.slice" / "kb.service" / "memory.max").write_text("536870912\n")
    (root / "memory.max").write_text("max\n")
    proc.write_text("0::/system.slice/kb.service\n")
    assert physical_memory(cgroup_limit_files(proc, root)) == 512 << 20
    assert cgroup_limit_files(tmp_path / "absent", root) == []


def test_prewarm_brings_an_evicted_file_into_the_page_cache(tmp_path: Path) -> None:
    path = _written(tmp_path / "kb.db", 24 << 20)
    assert prewarm(path)
    for _ in range(200):  # the reads were started, not waited for
        if _share(path) > 0.95:
            break
        asyncio.run(asyncio.sleep(0.01))
    assert _share(path) > 0.95


def test_start_prewarm_leaves_a_file_too_large_for_memory_alone(tmp_path: Path) -> None:
    path = _written(tmp_path / "big.db", 4 << 20)
    assert start_prewarm(path, memory=(4 << 20) * 2 - 1) is None
    assert start_prewarm(tmp_path / "gone.db", memory=1 << 40) is None
    assert _share(path) < 0.1
    thread = start_prewarm(path, memory=(4 << 20) * 2)
    assert thread is not None and thread.daemon
    thread.join(10)
    assert not thread.is_alive()


def test_the_site_prewarms_its_database_at_start(tmp_path: Path) -> None:
    """The plugin's hook on its own (the search's start-up reads the fixture database whole as well)."""
    db = tmp_path / "kb.db"
    build(db, [CORPUS])
    evict(db)
    site = SiteClient(db)
    try:
        plugin: Any = pm.get_plugin("prewarm.py")
        plugin.startup(datasette=site.ds)
        threads = plugin.prewarming(site.ds)
        assert len(threads) == 1 and threads[0].name == "prewarm kb.db"
        threads[0].join(10)
        for _ in range(200):
            if _share(db) > 0.95:
                break
            site.loop.run_until_complete(asyncio.sleep(0.01))
        assert _share(db) > 0.95
        site.loop.run_until_complete(site.ds.invoke_startup())  # every hook, as the server starts
        assert len(plugin.prewarming(site.ds)) == 1
        assert site.get("/kb/proposals").status_code == 200
    finally:
        site.close()
