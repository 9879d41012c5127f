"""Headless-Chromium screenshots of the site, to look at it as a Japanese user would (not run in CI).

    apt-get install -y chromium fonts-noto-cjk      # once (Debian)
    .venv/bin/python scripts/screenshots.py                       # proposals/ → screenshots/*.png
    .venv/bin/python scripts/screenshots.py --dir tests/fixtures/corpus --out /tmp/shots

Builds a database from --dir into a temporary folder, serves it on 127.0.0.1 with the real
site configuration, and saves: the front page, a search with facets (table page), the ranked
search page, one proposal page, a statute page (cited and uncited), the statutes by kind and the 提案前チェック
form; with --draft FILE also the 提案前チェック answer for that draft (posted with the form's CSRF token; the answer
is saved beside the PNG with a <base> back to the server, as Chromium's --screenshot cannot POST).
The PNGs are not committed (screenshots/ is git-ignored).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.pipeline import build  # noqa: E402
from kb.serve import HOST, make_datasette  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--hide-scrollbars",
    "--lang=ja",
]
LIST_COLUMNS = "&".join(f"_col={c}" for c in ["title", "year", "category", "policy_field", "ministries", "outcome", "stage"])


def pages(query: str, proposal_id: str) -> dict[str, str]:
    q = quote(query)
    return {
        "front": "/",
        "table-search-facets": f"/kb/proposals?{LIST_COLUMNS}&_search={q}",
        "ranked-search": f"/search?q={q}",
        "proposal": f"/kb/proposals/{proposal_id}",
        "statute": "/kb/statutes/425AC0000000027",
        "statute-uncited": "/kb/statutes/335CO0000000270",
        "statutes-by-kind": "/kb/statutes?_facet=kind&listed=1",
        "prior-art-form": "/-/prior-art",
    }


def prior_art_answer(base: str, draft: str, out: Path) -> Path:
    """The 提案前チェック answer page for `draft`, as a file Chromium can open (styles load from `base`)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        form = client.get("/-/prior-art")
        token = form.text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
        answer = client.post("/-/prior-art", data={"draft": draft, "csrftoken": token})
    answer.raise_for_status()
    out.write_text(answer.text.replace("<head>", f'<head><base href="{base}/">', 1), encoding="utf-8")
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _serve_in_background(db_path: Path, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(make_datasette(db_path).app(), host=HOST, port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(100):
        try:
            httpx.get(f"http://{HOST}:{port}/", timeout=2)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("サーバーが起動しませんでした")


def screenshot(chromium: str, url: str, out: Path, profile: Path, width: int, height: int) -> None:
    subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
         f"--screenshot={out}", url],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=REPO / "proposals", help="提案フォルダ")
    parser.add_argument("--out", type=Path, default=REPO / "screenshots")
    parser.add_argument("--query", default="児童", help="検索画面で使う語")
    parser.add_argument("--proposal", default=None, help="提案ID（既定: 最初の提案）")
    parser.add_argument("--draft", type=Path, default=None, help="提案前チェックに貼り付ける下書き（front matter があれば除く）")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1800)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("chromium がありません: apt-get install -y chromium fonts-noto-cjk")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "kb.db"
        build(db_path, [args.dir])
        proposal_id = args.proposal or _first_proposal(db_path)
        port = _free_port()
        server = _serve_in_background(db_path, port)
        try:
            for name, path in pages(args.query, proposal_id).items():
                out = args.out / f"{name}.png"
                screenshot(chromium, f"http://{HOST}:{port}{path}", out, Path(tmp) / "chromium", args.width, args.height)
                print(out)
            if args.draft:
                text = args.draft.read_text(encoding="utf-8")
                text = text.split("---", 2)[2] if text.startswith("---") else text
                page = prior_art_answer(f"http://{HOST}:{port}", text.strip(), args.out / "prior-art-answer.html")
                out = args.out / "prior-art-answer.png"
                screenshot(chromium, page.as_uri(), out, Path(tmp) / "chromium", args.width, args.height)
                print(out)
        finally:
            server.should_exit = True


def _first_proposal(db_path: Path) -> str:
    row = sqlite3.connect(db_path).execute("select id from proposals order by year desc, number limit 1").fetchone()
    if row is None:
        raise SystemExit(f"{db_path}: 提案がありません")
    return row[0]


if __name__ == "__main__":
    main()
