"""Make 提案募集方式データベース-shaped xlsx files for tests and benchmarks (synthetic content).

openpyxl writes every string inline (`<is>`) and cannot write ふりがな, but Excel — and so the
Cabinet Office's workbook — keeps strings in `xl/sharedStrings.xml`, with phonetic runs (`<rPh>`)
beside the text and carriage returns escaped as `_x000D_`. `write_workbook` saves with openpyxl,
then rewrites the package that way, so the reader meets what a Japanese Excel file holds.
"""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl

HEADERS = [
    "年度",
    "年度別\n管理番号",
    "提案分野",
    "提案団体の属性\n（都道府県/市町村）",
    "提案団体",
    "所管・関係府省庁",
    "提案区分",
    "根拠法令等",
    "提案事項\n（事項名）",
    "求める措置の具体的内容",
    "具体的な支障事例、地域の実情を踏まえた必要性等",
    "【調整結果】\n地方からの提案等に関する対応方針\n（閣議決定）\n記載内容",
]
TITLE = "提案募集方式データベース（提案検討支援ツール）"

_INLINE = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*?) t="inlineStr"([^>]*)><is><t(?: [^>]*)?>(.*?)</t></is></c>', re.S)
_SST = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def row_values(year: str, number: int, **over: Any) -> list[Any]:
    """One synthetic row in HEADERS' order; keyword arguments (by column index name) replace values."""
    values: dict[str, Any] = {
        "year": year,
        "number": number,
        "field": "消防・防災・安全",
        "kind": "指定都市",
        "proponents": "さいたま市",
        "ministries": "内閣官房、警察庁",
        "category": "B 地方に対する規制緩和",
        "statutes": "消防法第17条\r\n消防法施行令第10条",
        "title": f"合成の提案事項{number}（試験用）",
        "measures": "消防用設備の設置基準を地域の実情に応じて定められるようにすること。",
        "problems": "現行の基準では支障がある。_x000D_\n○具体的には、設置の費用が過大である。",
        "decision": "消防用設備の設置基準については、地域の実情を踏まえ、令和７年度中に検討し、結論を得る。",
    }
    values.update(over)
    order = ["year", "number", "field", "kind", "proponents", "ministries", "category", "statutes", "title",
             "measures", "problems", "decision"]
    return [values[k] for k in order]


def write_workbook(
    path: Path,
    rows: Iterable[Sequence[Any]],
    *,
    headers: Sequence[str] = HEADERS,
    title: str | None = TITLE,
    phonetic: Mapping[str, str] | None = None,
) -> Path:
    """An xlsx: an optional title row, the header row, then `rows`; strings moved to shared strings.

    `phonetic` maps a string to the reading Excel would store with it (`<rPh>`); "\\r" in any string
    is stored as Excel stores it, `_x000D_`.
    """
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("提案")
    if title is not None:
        ws.append([title])
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    plain = path.with_suffix(".inline.xlsx")
    wb.save(plain)
    _to_shared_strings(plain, path, phonetic or {})
    plain.unlink()
    return path


def _to_shared_strings(source: Path, target: Path, phonetic: Mapping[str, str]) -> None:
    strings: dict[str, int] = {}

    def shared(m: re.Match[str]) -> str:
        text = _unxml(m.group(4))
        index = strings.setdefault(text, len(strings))
        return f'<c r="{m.group(1)}"{m.group(2)} t="s"{m.group(3)}><v>{index}</v></c>'

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = _INLINE.sub(shared, data.decode("utf-8")).encode("utf-8")
            elif item.filename == "[Content_Types].xml":
                part = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SST}"/>'
                data = data.decode("utf-8").replace("</Types>", part + "</Types>").encode("utf-8")
            elif item.filename == "xl/_rels/workbook.xml.rels":
                rel = f'<Relationship Type="{_SST_REL}" Target="sharedStrings.xml" Id="rIdSst"/>'
                data = data.decode("utf-8").replace("</Relationships>", rel + "</Relationships>").encode("utf-8")
            zout.writestr(item, data)
        zout.writestr("xl/sharedStrings.xml", _sst(strings, phonetic))


def _unxml(text: str) -> str:
    """openpyxl writes non-ASCII characters as numeric references (`&#25552;`)."""
    return html.unescape(text)


def _sst(strings: Mapping[str, int], phonetic: Mapping[str, str]) -> str:
    items = []
    for text in strings:
        body = escape(text).replace("\r", "_x000D_")
        si = f'<si><t xml:space="preserve">{body}</t>'
        if text in phonetic:
            si += f'<rPh sb="0" eb="{len(text)}"><t>{escape(phonetic[text])}</t></rPh><phoneticPr fontId="1"/>'
        items.append(si + "</si>")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(strings)}" uniqueCount="{len(strings)}">' + "".join(items) + "</sst>"
    )
