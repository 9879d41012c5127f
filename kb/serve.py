"""`kb serve`: (re)build when the database is stale, then publish it with Datasette on 127.0.0.1.

`make_datasette` is the one place the site is assembled (metadata, templates, plugins,
static files, settings from `site/`), so the tests exercise exactly what is served.
The database is always mounted under the name `kb`, whatever its file is called,
because templates (`row-kb-proposals.html`) and metadata are keyed by that name.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from datasette.app import Datasette
from datasette.database import Database
from uvicorn.protocols.http.h11_impl import H11Protocol

from kb.db.result import BuildResult
from kb.db.schema import DB_NAME
from kb.pipeline import build, build_inputs

SITE = Path(__file__).resolve().parent.parent / "site"
HOST = "127.0.0.1"
SERVE_DB_ENV = "KB_SERVE_DB"  # how `kb serve --workers N` tells its worker processes which database to open
SERVE_PUBLIC_ENV = "KB_SERVE_PUBLIC"  # … and whether they serve in --public mode ("1")


def newest_mtime(paths: Iterable[Path]) -> float:
    """Latest modification time of the folders and every file below them (folders catch deletions).

    Anything that cannot be read counts as new (infinity): the build then runs and says what is wrong.
    """
    newest = 0.0
    for root in paths:
        if not root.exists():
            continue
        newest = max(newest, root.stat().st_mtime)
        if not root.is_dir():
            continue
        errors: list[OSError] = []
        for folder, dirnames, filenames in os.walk(root, onerror=errors.append):
            for name in [*dirnames, *filenames]:
                try:
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime)
                except OSError:
                    return float("inf")
        if errors:
            return float("inf")
    return newest


def is_stale(db_path: Path, proposal_dirs: Iterable[Path]) -> bool:
    """True when the database is missing or older than anything in the proposal folders."""
    return not db_path.exists() or db_path.stat().st_mtime < newest_mtime(proposal_dirs)


def ensure_built(db_path: Path, proposal_dirs: list[Path]) -> BuildResult | None:
    """Build only when stale; returns the build result, or None when the database was up to date."""
    return build(db_path, proposal_dirs) if is_stale(db_path, [*proposal_dirs, *build_inputs()]) else None


def load_metadata(site: Path = SITE) -> dict:
    return yaml.safe_load((site / "metadata.yml").read_text(encoding="utf-8"))


def make_datasette(db_path: str | Path, site: Path = SITE, public: bool = False) -> Datasette:
    """The site: the database immutable under the name `kb`, with site/'s metadata, templates and plugins.

    `public` (kb serve --public, for a server on the internet) turns arbitrary SQL off with
    Datasette's `default_allow_sql` setting: `?sql=` and `_where=` answer 403; canned queries,
    tables, CSV/JSON and the database download stay (site/plugins/hardening.py, docs/site.md).
    """
    settings = json.loads((site / "settings.json").read_text(encoding="utf-8"))
    if public:
        settings["default_allow_sql"] = False
    ds = Datasette(
        metadata=load_metadata(site),
        template_dir=str(site / "templates"),
        plugins_dir=str(site / "plugins"),
        static_mounts=[("static", str(site / "static"))],
        settings=settings,
    )
    ds.remove_database("_memory")
    ds.add_database(Database(ds, path=str(Path(db_path).resolve()), is_mutable=False), name=DB_NAME)
    return ds


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with Nagle's algorithm off on every connection.

    With `workers` > 1 uvicorn makes the listening socket itself, with protocol number 0, and
    asyncio only sets TCP_NODELAY on sockets whose protocol is TCP; each response then waited
    for the client's delayed ACK, which made a page several times slower.
    """

    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def app_from_environment() -> Any:
    """The site for uvicorn's worker processes, which import it by name: the database path comes from $KB_SERVE_DB."""
    return make_datasette(os.environ[SERVE_DB_ENV], public=os.environ.get(SERVE_PUBLIC_ENV) == "1").app()


def serve(
    db_path: Path,
    proposal_dirs: list[Path],
    port: int = 8001,
    announce: Callable[[str], None] = print,
    workers: int = 1,
    public: bool = False,
) -> None:
    """Build if needed, then serve until interrupted. Raises ProblemError when the files have problems.

    One process renders pages on one core (Python); `workers` > 1 starts that many processes on
    the same port (the database is read-only, so they share nothing else) — see docs/benchmarks.md.
    """
    built = ensure_built(db_path, proposal_dirs)
    if built:
        announce(built.summary())
    announce(f"http://{HOST}:{port}/ で公開しています（Ctrl+C で終了）" + ("。任意の SQL は使えません（--public）" if public else ""))
    if workers > 1:
        os.environ[SERVE_DB_ENV] = str(Path(db_path).resolve())
        os.environ[SERVE_PUBLIC_ENV] = "1" if public else "0"
        target = f"{__name__}:{app_from_environment.__name__}"
        uvicorn.run(
            target, factory=True, host=HOST, port=port, workers=workers, http=NoDelayH11Protocol, log_level="warning"
        )
    else:
        uvicorn.run(make_datasette(db_path, public=public).app(), host=HOST, port=port, http=NoDelayH11Protocol, log_level="warning")
