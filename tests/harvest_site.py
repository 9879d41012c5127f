"""A small copy of the official site's shape, served on 127.0.0.1 for the `kb harvest` tests and benchmark.

`Site` maps paths to `Resource`s (bytes, status, headers) and serves them from a threaded
http.server; every request is recorded (path, conditional or not, status answered). Resources
have an ETag (their hash) and a Last-Modified, and answer 304 to a matching conditional GET, as
the real server is expected to. `fail_first` answers 503 to the first N requests of a resource;
`slow_first` sleeps before answering the first N (longer than the client's timeout).
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECTION = "/bunken-suishin/teianbosyu/"


@dataclass
class Resource:
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    fail_first: int = 0
    slow_first: int = 0
    slow_seconds: float = 0.0
    modified: float = field(default_factory=lambda: time.time() - 86_400)
    served: int = 0
    location: str | None = None  # with status 301/302: where the resource moved

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Request:
    path: str
    conditional: bool
    status: int
    user_agent: str


class Site:
    """The served paths and the requests made to them."""

    def __init__(self, resources: dict[str, Resource]):
        self.resources = resources
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{SECTION}"

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes, float]:
        with self.lock:
            resource = self.resources.get(path)
            conditional = "if-none-match" in headers or "if-modified-since" in headers
            if resource is None:
                status, out, body, sleep = 404, {"Content-Type": "text/html; charset=utf-8"}, b"not found", 0.0
            else:
                resource.served += 1
                sleep = resource.slow_seconds if resource.served <= resource.slow_first else 0.0
                if resource.served <= resource.fail_first:
                    status, out, body = 503, {"Retry-After": "0"}, b"busy"
                elif resource.status != 200:
                    status, out, body = resource.status, {"Location": resource.location} if resource.location else {}, b""
                elif headers.get("if-none-match") == resource.etag:
                    status, out, body = 304, {"ETag": resource.etag}, b""
                else:
                    status, body = 200, resource.body
                    out = {
                        "Content-Type": resource.content_type,
                        "ETag": resource.etag,
                        "Last-Modified": formatdate(resource.modified, usegmt=True),
                    }
            self.requests.append(Request(path, conditional, status, headers.get("user-agent", "")))
        return status, out, body, sleep

    def count(self, path: str | None = None) -> int:
        return sum(1 for r in self.requests if path is None or r.path == path)

    def statuses(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for r in self.requests:
            out[r.status] = out.get(r.status, 0) + 1
        return out


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out, body, sleep = site.answer(self.path.split("?")[0], headers)
            if sleep:
                time.sleep(sleep)
            try:
                self.send_response(status)
                for name, value in out.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (its timeout) resets the connection: expected here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serving(site: Site) -> Iterator[Site]:
    server = _Server(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def page(title: str, links: list[tuple[str, str]]) -> Resource:
    """An HTML page in the official pages' manner: a title, then a list of links (href, text)."""
    items = "\n".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
    html = f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title></head>' \
           f"<body><h1>{title}</h1><ul>\n{items}\n</ul></body></html>"  # fmt: skip
    return Resource(html.encode("utf-8"))


def pdf(data: bytes, **kwargs: object) -> Resource:
    return Resource(data, content_type="application/pdf", **kwargs)  # type: ignore[arg-type]
