"""Other shapes of a seed sheet, built by re-arranging the seed's own text (nothing is invented).

- plain extraction (seed 000): one field per line, header values after a tab;
- Markdown-ish conversion (seed 001): `#` headings, the header as one jumbled table row;
- PDF-viewer copy: every line break collapsed into a space, header and labels on one line,
  and a stray space inside every number of two or more digits (`71` → `7 1`).
"""

from __future__ import annotations

import re
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "sheets"
PLAIN_0071 = FIXTURES / "r6_0071_digital_final_plain.txt"
MARKDOWN_0070 = FIXTURES / "r6_0070_soumu_final_markdown.txt"
VIEWER_0071 = FIXTURES / "r6_0071_digital_final_viewer.txt"

# Body labels exactly as the seeds print them (the test's own list, not the importer's).
LABEL_LINES = [
    "提案事項(事項名)",
    "提案団体",
    "制度の所管・関係府省",
    "求める措置の具体的内容",
    "具体的な支障事例",
    "地域住民や事業者等の具体的な意見・要望、支障事例等",
    "制度改正による効果(提案の実現による住民の利便性の向上・行政の効率化等)",
    "制度改革による効果（提案の実現による住民の利便性の向上・行政の効率化等）",
    "根拠法令等",
    "追加共同提案団体及び当該団体等から示された支障事例（主なもの）",
    "各府省からの第1次回答",
    "各府省からの第1次回答を踏まえた提案団体からの見解",
    "各府省からの第1次回答を踏まえた追加共同提案団体からの見解",
    "全国知事会・全国市長会・全国町村会からの意見",
    "各府省からの第2次回答",
]
_PLAIN_HEADER = re.compile(
    r"整理番号\t(?P<serial>\d+)\n\(管理番号\t(?P<number>\d+)\)\n\n(?P<theme>重点募集テーマ[^\t\n]*)\t(?P<mark>○?)\n"
    r"-+\t-+\n\n提案区分\t(?P<category>[^\n]+)\n提案分野\t(?P<field>[^\n]+)\n"
)
_JUMBLED_HEADER = re.compile(r"整理番号 \(管理番号\)\t(?P<row>[^\n]+)\n-[-\t]+\n")


def plain_to_markdown(text: str) -> str:
    """Seed 000 as a Markdown converter would write it (the shape of seed 001)."""
    m = _PLAIN_HEADER.search(text)
    assert m, "seed 000 header not found"
    row = (
        f"整理番号 (管理番号)\t{m['serial']} {m['number']} )\t{m['theme']}\t{m['mark']}\t提案区分 提案分野\t"
        f"{m['category']} {m['field']}\n"
        "----------------\t------------\t---------------------------\t---\t--------------\t-----------------------\n"
    )
    text = text[: m.start()] + row + text[m.end() :]
    out = []
    for line in text.split("\n"):
        if re.match(r"^令和\d+年 地方分権改革", line):
            line = f"# {line}"
        elif re.match(r"^\S+ 最終的な調整結果$", line):
            line = f"## {line}"
        elif line in LABEL_LINES or re.match(r"^令和\d+年の地方からの提案等に関する対応方針", line) or re.match(r"^【全国.会】$", line):
            line = f"### {line}"
        out.append(line)
    return "\n".join(out)


def markdown_to_plain(text: str) -> str:
    """Seed 001 as a plain extraction would give it (the shape of seed 000)."""
    m = _JUMBLED_HEADER.search(text)
    assert m, "seed 001 header row not found"
    cells = m["row"].split("\t")
    serial, number = cells[0].split()[:2]
    theme, mark = cells[1], cells[2]
    category, field = cells[4].rsplit(" ", 1)
    header = (
        f"整理番号\t{serial}\n(管理番号\t{number})\n\n{theme}\t{mark}\n---------------------------\t---\n\n"
        f"提案区分\t{category}\n提案分野\t{field}\n"
    )
    text = text[: m.start()] + header + text[m.end() :]
    return "\n".join(re.sub(r"^#+ ", "", line) for line in text.split("\n"))


def collapse_like_viewer(text: str) -> str:
    """What copying from a PDF viewer gives: one line, and numbers broken by a stray space."""
    text = "\n".join(line for line in text.split("\n") if not re.fullmatch(r"[-\t ]{3,}", line))
    text = re.sub(r"^#+ ", "", text, flags=re.M)
    flat = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"(?<![0-9])([0-9])(?=[0-9])", r"\1 ", flat) + "\n"


SHORT_FIELDS = ["提案事項(事項名)", "提案団体", "制度の所管・関係府省"]


def values_beside_labels(text: str) -> str:
    """The header table as a PDF lays it out: each short value in a cell right of its label (a tab)."""
    for label in SHORT_FIELDS:
        text = re.sub(rf"(?m)^(#* ?){re.escape(label)}\n\n", lambda m: f"{m.group(1)}{label}\t", text, count=1)
    return text


SYNTHETIC_NOTE = "合成データ（テスト用）: seed の個票を並べたもの。3枚目は seed 000 の管理番号と事項名を変えた架空の個票です。\n\n"


def several_sheets(plain_0071: str, markdown_0070: str) -> str:
    """One input holding three sheets, like a ministry's PDF: 71, 70, and a synthetic 172."""
    synthetic = plain_0071.replace("整理番号\t71\n(管理番号\t71)", "整理番号\t172\n(管理番号\t172)").replace(
        "都道府県と教育委員会が一つの自治体中間サーバーを利用することを可能とすること",
        "（合成）教育委員会の事務に係る中間サーバーの共同利用",
    )
    return SYNTHETIC_NOTE + plain_0071 + "\n" + markdown_0070 + "\n" + synthetic
