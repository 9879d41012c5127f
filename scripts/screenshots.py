"""Headless-Chromium screenshots of the site, to look at it as a Japanese user would (not run in CI).

    apt-get install -y chromium fonts-noto-cjk      # once (Debian)
    .venv/bin/python scripts/screenshots.py                       # tests/fixtures/corpus → docs/screenshots/
    .venv/bin/python scripts/screenshots.py --dir proposals --out /tmp/shots --width 1280

Builds a database from --dir into a temporary folder, serves it on 127.0.0.1 with the real
site configuration, and saves: the front page, a search with facets (table page), the ranked
search page, one proposal page, a statute page (cited and uncited), the statutes by kind and the 提案前チェック
form; with --draft FILE also the 提案前チェック answer for that draft (posted with the form's CSRF token; the answer
is saved beside the PNG with a <base> back to the server, as Chromium's --screenshot cannot POST).
Each page at every --width (default 1280 and 390, a phone), saved as `{name}-{width}.png` with a 256-colour
palette (a tenth of the size) and listed in `{out}/README.md`; the committed set lives in docs/screenshots/:

    .venv/bin/python scripts/screenshots.py --draft tests/fixtures/prior_art/05_law_first.md
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
from urllib.parse import quote, unquote

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


def pages(query: str, proposal_id: str) -> dict[str, tuple[str, str]]:
    """Every page type a clerk or researcher meets: file name → (what it is, path)."""
    q = quote(query)
    return {
        "front": ("トップページ", "/"),
        "search": ("全文検索（関連度順、絞り込みつき）", f"/search?q={q}"),
        "search-filtered": ("全文検索を年で絞り込んだところ", f"/search?q={q}&year=2024"),
        "search-registry": ("都道府県名で探す（県内の団体の提案、一致した場所つき）", "/search?q=" + quote("宮城県")),
        "search-no-results": ("該当なしのときの案内", "/search?q=" + quote("該当しない語の例")),
        "proposals": ("提案の一覧（メニューから開いたところ）", f"/kb/proposals?{LIST_COLUMNS}"),
        "proposals-search-facets": ("提案の一覧を語で絞り込んだところ", f"/kb/proposals?{LIST_COLUMNS}&_search={q}"),
        "proposal": ("提案のページ", f"/kb/proposals/{proposal_id}"),
        "statute": ("法令のページ（引用する提案）", "/kb/statutes/425AC0000000027"),
        "statute-uncited": ("法令のページ（引用なし）", "/kb/statutes/335CO0000000270"),
        "statutes": ("法令の一覧（種別で絞り込み）", "/kb/statutes?_facet=kind&listed=1"),
        "local-government": ("地方公共団体のページ", "/kb/local_governments/" + quote("川崎市")),
        "local-governments": ("地方公共団体の一覧", "/kb/local_governments"),
        "prefecture": ("都道府県のページ", "/kb/prefectures/" + quote("宮城県")),
        "ministry": ("府省のページ", "/kb/ministries/" + quote("総務省")),
        "ministries": ("府省の一覧", "/kb/ministries"),
        "query-form": ("用意した検索の入力欄（団体名から探す）", "/kb/proposals_of_local_government"),
        "query-result": ("用意した検索の結果（法令から探す）", "/kb/proposals_citing_statute?statute=" + quote("番号利用法") + "&article="),
        "database": ("すべての表と SQL（研究者向け）", "/kb"),
        "data-description": ("データの説明", "/-/data"),
        "charts": ("グラフ", "/-/charts"),
        "prior-art-form": ("提案前チェックの入力欄", "/-/prior-art"),
        "not-found": ("ページがないとき（404）", "/kb/proposals/2099-9999"),
        "row-key-short": ("行の URL に主キーの値が足りないとき（404）", "/kb/statute_articles/425AC0000000027"),
        "sql-error": ("SQL の誤り", "/kb?sql=" + quote("select * from no_such_table")),
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
    parser.add_argument("--dir", type=Path, default=REPO / "tests" / "fixtures" / "corpus", help="提案フォルダ")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--query", default="児童", help="検索画面で使う語")
    parser.add_argument("--proposal", default=None, help="提案ID（既定: 最初の提案）")
    parser.add_argument("--draft", type=Path, default=None, help="提案前チェックに貼り付ける下書き（front matter があれば除く）")
    parser.add_argument("--width", type=int, action="append", help="幅（px、複数可。既定: 1280 と 390）")
    parser.add_argument("--height", type=int, default=None, help="高さ（px。既定: 幅 1280 なら 1800、それ未満なら 2400）")
    parser.add_argument("--only", action="append", default=[], help="この名前を含むページだけ（複数可）")
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
        listed: list[tuple[str, str, str]] = []
        try:
            for width in args.width or [1280, 390]:
                height = args.height or (1800 if width >= 1280 else 2400)
                for name, (what, path) in pages(args.query, proposal_id).items():
                    if args.only and not any(o in name for o in args.only):
                        continue
                    out = args.out / f"{name}-{width}.png"
                    screenshot(chromium, f"http://{HOST}:{port}{path}", out, Path(tmp) / "chromium", width, height)
                    listed.append((out.name, what, path))
                    print(out)
                if args.draft:
                    text = args.draft.read_text(encoding="utf-8")
                    text = text.split("---", 2)[2] if text.startswith("---") else text
                    page = prior_art_answer(f"http://{HOST}:{port}", text.strip(), Path(tmp) / "prior-art-answer.html")
                    out = args.out / f"prior-art-answer-{width}.png"
                    screenshot(chromium, page.as_uri(), out, Path(tmp) / "chromium", width, height)
                    listed.append((out.name, f"提案前チェックの答え（{args.draft.name}）", "POST /-/prior-art"))
                    print(out)
        finally:
            server.should_exit = True
        for name, _what, _path in listed:
            _shrink(args.out / name)
        _write_index(args.out, listed, args.dir)


def _shrink(png: Path) -> None:
    """A 256-colour palette: text pages look the same at a tenth of the bytes (they are committed)."""
    from PIL import Image  # Pillow comes with reportlab (the test extra); only this script needs it

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def _write_index(out: Path, listed: list[tuple[str, str, str]], corpus: Path) -> None:
    lines = [
        "# 画面の写し（screenshots）",
        "",
        f"`scripts/screenshots.py` が `{corpus.relative_to(REPO) if corpus.is_relative_to(REPO) else corpus}` から作った"
        "データベースを実際のサイト設定で配信し、headless Chromium で撮ったものです（幅 1280 px と 390 px）。",
        "撮り直し: `.venv/bin/python scripts/screenshots.py --draft tests/fixtures/prior_art/05_law_first.md`",
        "",
        "| ファイル | 画面 | URL |",
        "| --- | --- | --- |",
    ]
    lines += [f"| [{name}]({name}) | {what} | `{unquote(path)}` |" for name, what, path in listed]
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _first_proposal(db_path: Path) -> str:
    row = sqlite3.connect(db_path).execute("select id from proposals order by year desc, number limit 1").fetchone()
    if row is None:
        raise SystemExit(f"{db_path}: 提案がありません")
    return row[0]


if __name__ == "__main__":
    main()
