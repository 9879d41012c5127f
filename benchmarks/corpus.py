"""Synthetic proposal corpus for benchmarks: N files shaped like the real sheets.

Every generated file says it is synthetic (its only source is titled 合成データ…), and
is written outside `proposals/`. Section texts are recombined from sentences of the real
proposals in `proposals/`, so lengths, punctuation and statute citations look like the
real thing; a set of domain words is mixed in so that searches hit different subsets.

    python benchmarks/corpus.py 10000 /tmp/corpus-10k
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.core.models import Decision, Proposal, Source, relative_path  # noqa: E402
from kb.core.vocab import Association, Category, Outcome, SectionKey, Stage, year_to_era  # noqa: E402
from kb.files.disk import iter_proposal_files  # noqa: E402
from kb.files.parse import parse_file  # noqa: E402
from kb.files.render import render  # noqa: E402

SYNTHETIC_SOURCE = "合成データ（benchmarks/corpus.py で生成。実在の提案ではありません）"

# Words people search for; each synthetic proposal gets a few, so queries select subsets.
TOPICS = [
    "児童", "農地", "保育", "番号", "介護", "道路", "河川", "消防", "医療", "税務", "戸籍", "住民票",
    "学校", "図書館", "公営住宅", "水道", "下水道", "廃棄物", "鳥獣", "森林", "漁港", "観光", "交通",
    "選挙", "補助金", "障害者", "生活保護", "国民健康保険", "地方税", "都市計画", "建築確認", "LGWAN",
]
FIELDS = [
    "01_土地利用（農地除く）", "02_農業・農地", "03_医療・福祉", "04_雇用・労働", "05_教育・文化", "06_環境・衛生",
    "07_産業振興", "08_消防・防災・安全", "09_土木・建築", "10_運輸・交通", "11_総務", "12_その他",
]
MINISTRIES = [
    "内閣府", "警察庁", "金融庁", "こども家庭庁", "デジタル庁", "総務省", "法務省", "財務省", "文部科学省",
    "厚生労働省", "農林水産省", "経済産業省", "国土交通省", "環境省",
]
# Ministries founded after proposals began (data/ministries.yaml): not used before the year after.
MINISTRY_FIRST_YEAR = {"デジタル庁": 2021, "こども家庭庁": 2023}
GOVERNMENTS = [
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県", "埼玉県",
    "千葉県", "東京都", "神奈川県", "新潟県", "長野県", "静岡県", "愛知県", "京都府", "大阪府", "兵庫県", "広島県",
    "福岡県", "熊本県", "鹿児島県", "沖縄県", "札幌市", "仙台市", "塩竈市", "多賀城市", "花巻市", "さいたま市",
    "千葉市", "横浜市", "川崎市", "相模原市", "新潟市", "静岡市", "浜松市", "名古屋市", "京都市", "大阪市", "堺市",
    "神戸市", "岡山市", "広島市", "北九州市", "福岡市", "熊本市", "鹿児島市", "宇和島市", "山鹿市", "世田谷区",
]
_SENTENCE = re.compile(r"[^。\n]+。?")


def sentence_bank(real_dir: Path) -> dict[SectionKey, list[str]]:
    """Sentences of each section of the real proposals (all sections pooled when one has none)."""
    bank: dict[SectionKey, list[str]] = {key: [] for key in SectionKey}
    for path in iter_proposal_files([real_dir]):
        proposal = parse_file(path)
        texts = dict(proposal.sections)
        texts[SectionKey.OPINIONS] = "\n".join(t for t in proposal.opinions.values() if t)
        for key, text in texts.items():
            if text:
                bank[key] += [s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) > 4]
    pooled = [s for sentences in bank.values() for s in sentences]
    if not pooled:
        raise SystemExit(f"{real_dir}: 実在の提案ファイルがありません（文の見本に使います）")
    return {key: sentences or pooled for key, sentences in bank.items()}


def _text(rng: random.Random, sentences: list[str], topics: list[str], n: int) -> str:
    picked = [rng.choice(sentences) for _ in range(n)]
    picked[rng.randrange(n)] = f"{rng.choice(topics)}に係る事務について、{picked[0]}"
    paragraphs, current = [], []
    for s in picked:
        current.append(s)
        if rng.random() < 0.3:
            paragraphs.append("".join(current))
            current = []
    if current:
        paragraphs.append("".join(current))
    return "\n\n".join(paragraphs)


def synthetic_proposal(rng: random.Random, bank: dict[SectionKey, list[str]], year: int, number: int) -> Proposal:
    topics = rng.sample(TOPICS, 3)
    sections: dict[SectionKey, str | None] = {}
    for key in SectionKey:
        if key is SectionKey.REVIEW_POINTS and rng.random() < 0.8:
            continue
        if key is SectionKey.OPINIONS:
            sections[key] = ""
        elif rng.random() < 0.15:
            sections[key] = None
        else:
            sections[key] = _text(rng, bank[key], topics, rng.randint(2, 9))
    opinions: dict[Association, str | None] = {
        a: _text(rng, bank[SectionKey.OPINIONS], topics, rng.randint(1, 3)) for a in Association if rng.random() < 0.5
    }
    if not opinions:
        sections[SectionKey.OPINIONS] = None
    existing = [m for m in MINISTRIES if year > MINISTRY_FIRST_YEAR.get(m, 0)]
    ministries = rng.sample(existing, rng.choice([1, 1, 1, 2, 2, 3]))
    return Proposal(
        year=year,
        era=year_to_era(year),
        number=number,
        serial=number,
        title=f"{topics[0]}に関する{rng.choice(['規制の見直し', '権限の移譲', '手続の簡素化', '基準の緩和'])}（合成 {year}-{number:04d}）",
        category=rng.choice(list(Category)),
        policy_field=rng.choice(FIELDS),
        theme="デジタル化" if rng.random() < 0.35 else None,
        proponents=rng.sample(GOVERNMENTS, rng.choice([1, 1, 2, 3, 5, 7])),
        co_proponents=rng.sample(GOVERNMENTS, rng.choice([0, 0, 2, 4, 6])),
        ministries=ministries,
        sheet_ministry=ministries[0],
        decision=Decision(outcome=rng.choice(list(Outcome))),
        sources=[Source(stage=Stage.FINAL, ministry=ministries[0], title=SYNTHETIC_SOURCE)],
        sections=sections,
        opinions=opinions,
    )


def generate(n: int, out: Path, real_dir: Path, seed: int = 1) -> list[Path]:
    """Write n synthetic proposals under out/<year>/<NNNN>.md (years 2014–2025, ~n/12 a year)."""
    rng = random.Random(seed)
    bank = sentence_bank(real_dir)
    years = list(range(2014, 2026))
    per_year = -(-n // len(years))
    paths = []
    for i in range(n):
        year, number = years[i // per_year], i % per_year + 1
        path = out / relative_path(year, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(synthetic_proposal(rng, bank, year, number)), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--real", type=Path, default=Path(__file__).resolve().parent.parent / "proposals")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.out.resolve().is_relative_to((Path(__file__).resolve().parent.parent / "proposals").resolve()):
        raise SystemExit("合成データを proposals/ に書くことはできません")
    paths = generate(args.n, args.out, args.real, args.seed)
    print(f"{len(paths)} synthetic proposals in {args.out}")


if __name__ == "__main__":
    main()
