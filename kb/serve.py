"""`kb serve`: (re)build when the database is stale, then publish it with Datasette on 127.0.0.1.

`make_datasette` is the one place the site is assembled (metadata, templates, plugins,
static files, settings from `site/`), so the tests exercise exactly what is served.
The database is always mounted under the name `kb`, whatever its file is called,
because templates (`row-kb-proposals.html`) and metadata are keyed by that name.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from datasette.app import Datasette
from datasette.database import Database
from uvicorn.protocols.http.h11_impl import H11Protocol

from kb.core import column_notes
from kb.db.result import BuildResult
from kb.db.schema import DB_NAME
from kb.pipeline import build, build_inputs
from kb.workers import run_workers

SITE = Path(__file__).resolve().parent.parent / "site"
HOST = "127.0.0.1"
SERVE_DB_ENV = "KB_SERVE_DB"  # how `kb serve --workers N` tells its worker processes which database to open
SERVE_PUBLIC_ENV = "KB_SERVE_PUBLIC"  # … and whether they serve in --public mode ("1")
PAGE_CACHE_PLUGIN = "kb-page-cache"  # its settings in site/metadata.yml (site/plugins/page_cache.py)


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


def make_datasette(
    db_path: str | Path, site: Path = SITE, public: bool = False, page_cache: bool | dict[str, Any] | None = None
) -> Datasette:
    """The site: the database immutable under the name `kb`, with site/'s metadata, templates and plugins.

    `public` (kb serve --public, for a server on the internet) turns arbitrary SQL off with
    Datasette's `default_allow_sql` setting: `?sql=` and `_where=` answer 403; canned queries,
    tables, CSV/JSON and the database download stay (site/plugins/hardening.py, docs/site.md).
    `page_cache` overrides the metadata's `plugins: kb-page-cache:` (site/plugins/page_cache.py):
    True/False its `enabled`, a dict the settings it names (benchmarks and tests); None keeps them.
    """
    settings = json.loads((site / "settings.json").read_text(encoding="utf-8"))
    if public:
        settings["default_allow_sql"] = False
    metadata = load_metadata(site)
    if page_cache is not None:
        plugins = metadata.setdefault("plugins", {})
        given = page_cache if isinstance(page_cache, dict) else {"enabled": page_cache}
        plugins[PAGE_CACHE_PLUGIN] = {**(plugins.get(PAGE_CACHE_PLUGIN) or {}), **given}
    notes = column_notes.split_off(metadata)  # the plugins read them from kb.core.column_notes
    ds = Datasette(
        metadata=metadata,
        template_dir=str(site / "templates"),
        plugins_dir=str(site / "plugins"),
        static_mounts=[("static", str(site / "static"))],
        settings=settings,
    )
    column_notes.register(ds, notes)
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


# How `kb serve` runs uvicorn. Keep-alive connections stay open 30 s (uvicorn's default is 5 s): when the
# server is busy for seconds, the 5 s timer could fire before the client's next request on that connection
# was read, and the request was lost (ReadError in benchmarks/load_mix.py at 64 clients).
UVICORN_OPTIONS: dict[str, Any] = {"host": HOST, "http": NoDelayH11Protocol, "log_level": "warning", "timeout_keep_alive": 30}


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
    the same port, each with its own socket (the database is read-only, so they share nothing else;
    kb/workers.py says why not uvicorn's own workers) — see docs/benchmarks.md.
    """
    built = ensure_built(db_path, proposal_dirs)
    if built:
        announce(built.summary())
    announce(f"http://{HOST}:{port}/ で公開しています（Ctrl+C で終了）" + ("。任意の SQL は使えません（--public）" if public else ""))
    if workers > 1:
        os.environ[SERVE_DB_ENV] = str(Path(db_path).resolve())
        os.environ[SERVE_PUBLIC_ENV] = "1" if public else "0"
        run_workers(f"{__name__}:{app_from_environment.__name__}", workers, HOST, port, UVICORN_OPTIONS)
    else:
        uvicorn.run(make_datasette(db_path, public=public).app(), **UVICORN_OPTIONS, port=port)


# --- The deployment command line (docs/deploy.md) -------------------------------------------------


def _setting_text(value: object) -> str:
    """A settings.json value as `datasette serve --setting` reads it (booleans as on/off)."""
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def datasette_command(
    db_path: Path, host: str = HOST, port: int = 8001, public: bool = False, site: Path = SITE
) -> list[str]:
    """The `datasette serve` command line serving the same site as `make_datasette`, for a server or container.

    The one source of the deployment command: the Dockerfile runs it (`python -m kb.serve`) and
    tests/test_deploy.py starts exactly it, so they cannot drift. The command line names a
    database after its file, so the file must be called kb.db (`-i`: immutable).
    """
    db = Path(db_path)
    if db.stem != DB_NAME:
        raise ValueError(f"データベースのファイル名は {DB_NAME}.db にしてください（サイトはその名前で表示します）: {db}")
    settings = json.loads((site / "settings.json").read_text(encoding="utf-8"))
    if public:
        settings["default_allow_sql"] = False
    command = [
        sys.executable, "-m", "datasette", "serve", "--immutable", str(db), "--host", host, "--port", str(port),
        "--metadata", str(site / "metadata.yml"), "--template-dir", str(site / "templates"),
        "--plugins-dir", str(site / "plugins"), "--static", f"static:{site / 'static'}",
    ]  # fmt: skip
    for name, value in settings.items():
        command += ["--setting", name, _setting_text(value)]
    return command


def main(argv: list[str] | None = None) -> None:
    """`python -m kb.serve`: run (or with --print, show) the deployment command; the database is already built."""
    parser = argparse.ArgumentParser(prog="python -m kb.serve", description="datasette serve でサイトを公開する（docs/deploy.md）")
    parser.add_argument("--db", type=Path, default=Path(f"{DB_NAME}.db"), help="構築済みのデータベース（kb.db）")
    parser.add_argument("--host", default=HOST, help="待ち受けるアドレス（コンテナでは 0.0.0.0）")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--public", action="store_true", help="任意の SQL を止める（kb serve --public と同じ）")
    parser.add_argument("--print", action="store_true", help="実行せずにコマンドを表示する")
    args = parser.parse_args(argv)
    command = datasette_command(args.db, host=args.host, port=args.port, public=args.public)
    if args.print:
        print(shlex.join(command))
        return
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
