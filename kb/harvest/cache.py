"""The on-disk cache of fetched URLs: body + metadata, so a re-run asks with a conditional GET.

Layout (docs/harvest.md): `<cache>/<hh>/<sha256 of the URL>.json` beside `….body`. The body is
written first and the metadata last, each through a temporary file renamed into place, so a run
killed at any moment leaves either the previous entry or the new one, never a torn one: the
metadata names the SHA-256 of its body, and an entry whose body does not match is ignored.
The metadata also remembers which content was last imported (`imported`), so a re-run after a
kill imports what was downloaded but not imported yet, without downloading it again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kb.core import tempfiles

BODY_SUFFIXES = (".pdf", ".xlsx", ".xls", ".html", ".htm", ".txt")


@dataclass
class Entry:
    """What the cache knows of one URL."""

    url: str
    sha256: str
    size: int
    retrieved: str  # ISO date this content was downloaded (a 304 keeps it: the content is the same)
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    imported: str | None = None  # sha256 of the content last imported without failure


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfiles.make_temp(path)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class Cache:
    """URL → (Entry, body) on disk."""

    def __init__(self, root: Path):
        self.root = root

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        folder = self.root / key[:2]
        suffix = Path(urlsplit(url).path).suffix.lower()
        # the body keeps the URL's suffix: `kb import` reads a file by it (.pdf, .xlsx)
        return folder / f"{key}.json", folder / f"{key}{suffix if suffix in BODY_SUFFIXES else '.body'}"

    def get(self, url: str) -> Entry | None:
        """The entry, or None when absent, unreadable or not matching its body."""
        meta, body = self._paths(url)
        try:
            entry = Entry(**json.loads(meta.read_text(encoding="utf-8")))
            data = body.read_bytes()
        except (OSError, ValueError, TypeError):
            return None
        if entry.url != url or hashlib.sha256(data).hexdigest() != entry.sha256:
            return None
        return entry

    def body(self, url: str) -> bytes:
        return self._paths(url)[1].read_bytes()

    def body_path(self, url: str) -> Path:
        return self._paths(url)[1]

    def put(self, entry: Entry, data: bytes | None) -> None:
        """Store the metadata (and the body when given): body first, metadata last."""
        meta, body = self._paths(entry.url)
        meta.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            _write_bytes_atomic(body, data)
        text = json.dumps(asdict(entry), ensure_ascii=False, indent=1, sort_keys=True)
        _write_bytes_atomic(meta, text.encode("utf-8"))

    def remove_stale(self) -> None:
        """Temporary files a killed run left (kb.core.tempfiles)."""
        if self.root.is_dir():
            tempfiles.remove_stale_below(self.root)
