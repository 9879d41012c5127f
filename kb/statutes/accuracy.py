"""Precision and recall of citation extraction against a hand-labelled set (see benchmarks/)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.statutes.extract import extract_text
from kb.statutes.registry import Registry
from kb.statutes.resolve import Citation

Key = tuple[str, str, str | None]  # (quote, statute id or "title:…", pinpoint label)


@dataclass
class Score:
    gold: int = 0
    found: int = 0
    matched: int = 0  # quote, statute and pinpoint all right
    spans: int = 0  # quote right, whatever it resolved to
    misses: list[tuple[str, Key]] = field(default_factory=list)
    extras: list[tuple[str, Key]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 1.0


def citation_key(c: Citation) -> Key:
    return (c.quote, c.statute_id or f"title:{c.title}", c.pinpoint.label if c.pinpoint else None)


def label_key(label: dict[str, object]) -> Key:
    statute = label.get("statute")
    who = str(statute) if statute else f"title:{label['title']}"
    pin = label.get("pinpoint")
    return (str(label["quote"]), who, str(pin) if pin is not None else None)


def load_documents(path: Path) -> list[tuple[str, str, list[Key]]]:
    """(name, text, gold keys) per labelled document; `source:` paths are relative to the label file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for n, doc in enumerate(data["documents"]):
        if "source" in doc:
            name, text = doc["source"], (path.parent / doc["source"]).read_text(encoding="utf-8")
        else:
            name, text = f"documents[{n}]", doc["text"]
        out.append((name, text, [label_key(c) for c in doc["citations"]]))
    return out


def score(path: Path, registry: Registry) -> Score:
    """Compare extraction with the labels, citation by citation (multiset of keys per document)."""
    result = Score()
    for name, text, gold in load_documents(path):
        found = [citation_key(c) for c in extract_text(text, registry)]
        g, f = Counter(gold), Counter(found)
        result.gold += len(gold)
        result.found += len(found)
        result.matched += sum((g & f).values())
        result.spans += sum((Counter(k[0] for k in gold) & Counter(k[0] for k in found)).values())
        result.misses += [(name, k) for k in (g - f).elements()]
        result.extras += [(name, k) for k in (f - g).elements()]
    return result
