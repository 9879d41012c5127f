"""Precision and recall of citation extraction against hand-labelled sets (see benchmarks/), overall and per kind."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.statutes.extract import extract_text
from kb.statutes.registry import OTHER_KINDS, Registry
from kb.statutes.resolve import Citation

Key = tuple[str, str, str | None]  # (quote, statute id or "title:…", pinpoint label)
# The groups precision and recall are reported for: the kind of the statute a citation names.
KIND_GROUPS = ("法律", "政令", "府省令", "その他の法令", "ガイドライン・通知等", "未解決")
_STATUTE_GROUPS = {"法律": "法律", "政令": "政令", "府省令": "府省令"}


@dataclass
class Tally:
    gold: int = 0
    found: int = 0
    matched: int = 0  # quote, statute and pinpoint all right

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 1.0


@dataclass
class Score(Tally):
    spans: int = 0  # quote right, whatever it resolved to
    misses: list[tuple[str, Key]] = field(default_factory=list)
    extras: list[tuple[str, Key]] = field(default_factory=list)
    kinds: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in KIND_GROUPS})


def citation_key(c: Citation) -> Key:
    return (c.quote, c.statute_id or f"title:{c.title}", c.pinpoint.label if c.pinpoint else None)


def label_key(label: dict[str, object]) -> Key:
    statute = label.get("statute")
    who = str(statute) if statute else f"title:{label['title']}"
    pin = label.get("pinpoint")
    return (str(label["quote"]), who, str(pin) if pin is not None else None)


def kind_group(key: Key, registry: Registry) -> str:
    """Which group a citation counts in: the kind of the statute it names (gold for labels, found for output)."""
    statute = registry.statutes.get(key[1])
    if statute is None:
        return "未解決"
    if statute.kind in OTHER_KINDS:
        return "ガイドライン・通知等"
    return _STATUTE_GROUPS.get(statute.kind, "その他の法令")


def load_documents(path: Path) -> list[tuple[str, str, list[Key]]]:
    """(name, text, gold keys) per labelled document; `source:` paths are relative to the label file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for n, doc in enumerate(data["documents"]):
        if "source" in doc:
            name, text = doc["source"], (path.parent / doc["source"]).read_text(encoding="utf-8")
        else:
            name, text = f"{path.name}:documents[{n}]", doc["text"]
        out.append((name, text, [label_key(c) for c in doc.get("citations") or []]))
    return out


def score(paths: Path | Iterable[Path], registry: Registry) -> Score:
    """Compare extraction with the labels, citation by citation (multiset of keys per document)."""
    result = Score()
    for path in [paths] if isinstance(paths, Path) else paths:
        for name, text, gold in load_documents(path):
            found = [citation_key(c) for c in extract_text(text, registry)]
            g, f = Counter(gold), Counter(found)
            right = g & f
            result.gold += len(gold)
            result.found += len(found)
            result.matched += sum(right.values())
            result.spans += sum((Counter(k[0] for k in gold) & Counter(k[0] for k in found)).values())
            result.misses += [(name, k) for k in (g - f).elements()]
            result.extras += [(name, k) for k in (f - g).elements()]
            for keys, attr in ((gold, "gold"), (found, "found"), (list(right.elements()), "matched")):
                for k in keys:
                    tally = result.kinds[kind_group(k, registry)]
                    setattr(tally, attr, getattr(tally, attr) + 1)
    return result
