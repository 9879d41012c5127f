"""Convert e-Gov's law list (`laws.json`) into `data/egov_laws.csv` (run by hand, rarely).

Why a script: the list of every current law comes from e-Gov (法令API Version 1 `lawlists`,
CC0), fetched by a public repository into `laws.json`; the conversion has to be repeatable when
the list is fetched again. `kb statutes update` refreshes the same CSV from e-Gov's API directly
when the network allows; this script is the offline path from a downloaded file.

    python scripts/convert_egov_laws.py                                # ../shared/data/egov-laws/laws.json
    python scripts/convert_egov_laws.py path/to/laws.json --out /tmp/egov_laws.csv

What the list lacks (略称, guidelines and notices, repealed laws) lives in the hand-edited
`data/statutes.yaml`, never in the generated CSV.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kb.files.store import write_atomic  # noqa: E402
from kb.statutes.lawlist import DEFAULT_LAW_LIST, from_egov_json, parse_law_list, render_law_list  # noqa: E402
from kb.statutes.update import PROVENANCE_NAME, SOURCE_LICENSE, SOURCE_NAME, kind_counts, render_provenance  # noqa: E402

DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "egov-laws" / "laws.json"
LICENSES = REPO / "data" / "LICENSES"
UPSTREAM = {
    "name": SOURCE_NAME,
    "api": "https://laws.e-gov.go.jp/api/1/lawlists/1",
    "via": "https://github.com/DaisukeHori/japan-law (data/index/laws.json, commit ae3284cec725b9624a102c8e221fd183410a8965)",
    "license": SOURCE_LICENSE,
}


def convert(source: Path, out: Path = DEFAULT_LAW_LIST, licenses: Path = LICENSES) -> dict[str, object]:
    """Write the CSV (atomically, checked by reading it back) and the provenance next to the licence."""
    raw = source.read_bytes()
    data = json.loads(raw)
    laws = from_egov_json(data)
    text = render_law_list(laws)
    parsed = parse_law_list(text, out)  # the file we write must read back without a problem
    write_atomic(out, text)
    facts: dict[str, object] = {
        **UPSTREAM,
        "updated_at": data.get("updated_at"),
        "file": source.name,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "converted": dt.date.today().isoformat(),
        "count": len(parsed),
        "kinds": kind_counts(parsed),
    }
    write_atomic(licenses / PROVENANCE_NAME, render_provenance(facts, "scripts/convert_egov_laws.py", out.name))
    licence = source.parent / "LICENSE"
    if licence.exists():
        shutil.copyfile(licence, licenses / "egov-laws.LICENSE")
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_LAW_LIST)
    args = parser.parse_args()
    facts = convert(args.source, args.out)
    print(f"{args.out}: {facts['count']} laws {facts['kinds']}")


if __name__ == "__main__":
    main()
