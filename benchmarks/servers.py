"""The two servers the page benchmarks compare, on the same HTTP stack (uvicorn, as `kb serve` runs it).

- `site`: the knowledge base as `kb serve` serves it (`kb.serve.make_datasette`), with the page cache
  on or off, without the build step (the database is given, already built).
- `bare`: the smallest ASGI app — it answers every request with the same 1,600 bytes of JSON (the size
  of `/-/versions.json`). What this machine and the load generator cost by themselves: the floor
  the issue's "within 2 × a bare ASGI app" is measured against.

    python benchmarks/servers.py site --db /tmp/kb-bench/kb-5000.db --port 8123 --page-cache off
    python benchmarks/servers.py bare --port 8124 --workers 2

`--workers N` serves either from N processes on one port, as `kb serve --workers N` does (kb/workers.py).
`served(...)` runs one in a child process and yields its base URL once it answers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from http_load import serving  # noqa: E402

HOST = "127.0.0.1"
BODY = json.dumps({"python": {"version": "3.11", "full": "x" * 1500}}).encode()


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Every HTTP request: 200 with BODY. Lifespan events are acknowledged."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


DB_ENV, PAGE_CACHE_ENV = "KB_BENCH_DB", "KB_BENCH_PAGE_CACHE"  # what worker processes read (they import the factories)


def bare_factory() -> Any:
    return bare_app


def site_factory() -> Any:
    from kb.serve import make_datasette

    return make_datasette(os.environ[DB_ENV], page_cache=os.environ[PAGE_CACHE_ENV] == "on").app()


def run(kind: str, port: int, db: Path | None, page_cache: bool, workers: int = 1) -> None:
    """Serve until stopped, on kb serve's HTTP stack (kb.serve.UVICORN_OPTIONS) from `workers` processes."""
    import uvicorn

    from kb.serve import UVICORN_OPTIONS
    from kb.workers import run_workers

    os.environ[DB_ENV], os.environ[PAGE_CACHE_ENV] = str(db), "on" if page_cache else "off"
    factory = bare_factory if kind == "bare" else site_factory
    if workers > 1:
        run_workers(f"servers:{factory.__name__}", workers, HOST, port, UVICORN_OPTIONS)
    else:
        uvicorn.run(factory(), **{**UVICORN_OPTIONS, "host": HOST, "port": port})


@contextmanager
def served(kind: str, port: int, db: Path | None = None, page_cache: bool = False, workers: int = 1) -> Iterator[str]:
    """One of the two servers in a child process; yields its base URL once it answers."""
    args = [sys.executable, str(HERE / "servers.py"), kind, "--port", str(port), "--page-cache", "on" if page_cache else "off"]
    args += ["--workers", str(workers)]
    if db is not None:
        args += ["--db", str(db)]
    with serving(args, f"http://{HOST}:{port}", "/-/versions.json", 120, f"{kind} server") as (base, _):
        yield base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["site", "bare"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--page-cache", choices=["on", "off"], default="off")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.kind == "site" and args.db is None:
        parser.error("site needs --db")
    run(args.kind, args.port, args.db, args.page_cache == "on", args.workers)


if __name__ == "__main__":
    main()
