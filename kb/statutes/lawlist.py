"""e-Gov's list of every current law (`data/egov_laws.csv`): the base of the statute registry.

The list comes from e-Gov (法令API, CC0) and is never edited by hand: `scripts/convert_egov_laws.py`
writes it from a downloaded `laws.json`, `kb statutes update` from the API. One row per law:
法令ID, 法令番号 as e-Gov writes it (kanji numerals), 法令名. The kind (法律, 政令, 府省令…) and,
for a 法律, who submitted the bill are coded in the ID, so they are derived, not stored.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kb.core.problems import Problem, ProblemError, display_path

COLUMNS = ("id", "law_number", "title")
LAW_LIST_ENV = "KB_LAW_LIST"
DEFAULT_LAW_LIST = Path(__file__).resolve().parents[2] / "data" / "egov_laws.csv"
# {era 1-5}{year 2}{type}{category}{number}: AC/CO/IO/Mn + 7 + 3, R0…, RJNJ/RPMD + 8, DF/DT + 7 + 3.
LAW_ID_RE = re.compile(r"^(?:321CONSTITUTION|[1-5]\d{2}(?:AC|CO|IO|M\d|R\d|DF|DT)[0-9A-F]{7}\d{3}|[1-5]\d{2}(?:RJNJ|RPMD)\d{8})$")
# The type code after era and year → kind shown to people.
ID_KINDS: tuple[tuple[str, str], ...] = (
    ("CONSTITUTION", "憲法"),
    ("AC", "法律"),
    ("CO", "政令"),
    ("IO", "勅令"),
    ("M", "府省令"),
    ("RJNJ", "人事院規則"),
    ("RPMD", "内閣総理大臣決定"),
    ("R", "規則"),
    ("DF", "太政官布告"),
    ("DT", "太政官達"),
)
BILL_CODES: dict[str, str] = {"0000000": "閣法", "1000000": "衆法", "0100000": "参法"}


def law_list_path() -> Path:
    """$KB_LAW_LIST if set (tests, forks), else data/egov_laws.csv of this checkout."""
    return Path(os.environ.get(LAW_LIST_ENV) or DEFAULT_LAW_LIST)


def kind_of_id(law_id: str) -> str:
    """The kind coded in a 法令ID (425AC0000000027 → 法律); ValueError when it has no known code."""
    code = law_id[3:]
    for prefix, kind in ID_KINDS:
        if code.startswith(prefix):
            return kind
    raise ValueError(law_id)


def bill_of_id(law_id: str) -> str | None:
    """閣法 / 衆法 / 参法 for a 法律 (category digits), None for every other kind."""
    if law_id[3:5] != "AC":
        return None
    return BILL_CODES.get(law_id[5:12])


@dataclass(frozen=True)
class ListedLaw:
    """One row of the list; `line` is its line in the CSV file (for messages)."""

    id: str
    law_number: str
    title: str
    line: int = 0

    @property
    def kind(self) -> str:
        return kind_of_id(self.id)

    @property
    def bill(self) -> str | None:
        return bill_of_id(self.id)


def parse_law_list(text: str, path: str | Path) -> list[ListedLaw]:
    """Rows of the list; ProblemError naming file:line for every malformed row (nothing half-read)."""
    where = display_path(path)
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ProblemError([Problem(where, 1, "見出し", f"CSV として読めません（{exc}）")]) from None
    if header is None or tuple(header) != COLUMNS:
        raise ProblemError([Problem(where, 1, "見出し", f"1行目は「{','.join(COLUMNS)}」にしてください（「{','.join(header or [])}」）")])
    laws: list[ListedLaw] = []
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != len(COLUMNS):
                problems.append(Problem(where, line, "行", f"項目は {len(COLUMNS)} 個（{','.join(COLUMNS)}）のはずが {len(row)} 個です"))
                continue
            law_id, number, title = (v.strip() for v in row)
            before = len(problems)
            if not LAW_ID_RE.match(law_id):
                problems.append(Problem(where, line, "id", f"「{law_id}」は e-Gov の法令IDの形ではありません（例: 425AC0000000027）"))
            elif law_id in seen:
                problems.append(Problem(where, line, "id", f"法令ID「{law_id}」が {seen[law_id]} 行目と重複しています"))
            if not number:
                problems.append(Problem(where, line, "law_number", "法令番号が空です"))
            if not title:
                problems.append(Problem(where, line, "title", "法令名が空です"))
            if len(problems) == before:
                seen[law_id] = line
                laws.append(ListedLaw(law_id, number, title, line))
    except csv.Error as exc:
        problems.append(Problem(where, reader.line_num, "行", f"CSV として読めません（{exc}）"))
    if problems:
        raise ProblemError(problems)
    return laws


def read_law_list(path: str | Path | None = None) -> list[ListedLaw]:
    """The list at `path` (default `law_list_path()`); ProblemError when missing or malformed."""
    p = Path(path) if path is not None else law_list_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProblemError([Problem(display_path(p), 0, "ファイル", "e-Gov の法令一覧がありません（kb statutes update で取得できます）")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemError([Problem(display_path(p), 0, "ファイル", f"e-Gov の法令一覧を読めません（{exc}）")]) from None
    return parse_law_list(text, p)


def render_law_list(laws: Iterable[ListedLaw]) -> str:
    """CSV text, sorted by 法令ID so that a refresh shows as a small diff."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for law in sorted(laws, key=lambda x: x.id):
        writer.writerow((law.id, law.law_number, law.title))
    return out.getvalue()


def from_egov_json(data: object) -> list[ListedLaw]:
    """Rows from the `laws.json` shape (`{"laws": [{"id", "lawNum", "title", …}]}`); ValueError if it is another shape."""
    if not isinstance(data, dict) or not isinstance(data.get("laws"), list):
        raise ValueError("「laws」のリストがありません")
    out = []
    for n, raw in enumerate(data["laws"]):
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("id", "lawNum", "title")):
            raise ValueError(f"laws[{n}] に id・lawNum・title の文字列がありません")
        out.append(ListedLaw(raw["id"].strip(), raw["lawNum"].strip(), raw["title"].strip()))
    return out
