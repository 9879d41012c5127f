"""The hand-labelled set (benchmarks/statute_accuracy.py) stays above 0.95 precision and recall."""

from __future__ import annotations

from pathlib import Path

from kb.statutes.accuracy import label_key, load_documents, score
from kb.statutes.registry import load_registry

HERE = Path(__file__).parent / "fixtures" / "statutes"


def test_labelled_set_has_at_least_sixty_citations_from_every_seed() -> None:
    docs = load_documents(HERE / "labelled.yaml")
    assert sum(len(gold) for _, _, gold in docs) >= 60
    assert {name for name, _, gold in docs if name.startswith("seeds/") and gold} == {
        f"seeds/{p.name}" for p in (HERE / "seeds").glob("*.txt")
    }


def test_labelled_set_precision_and_recall_are_at_least_095() -> None:
    s = score(HERE / "labelled.yaml", load_registry(HERE / "registry.yaml"))
    assert s.precision >= 0.95 and s.recall >= 0.95, (s.misses, s.extras)


def test_every_labelled_quote_occurs_in_its_document() -> None:
    for name, text, gold in load_documents(HERE / "labelled.yaml"):
        for quote, _, _ in gold:
            assert quote in text, (name, quote)


def test_label_without_statute_is_keyed_by_title() -> None:
    assert label_key({"quote": "同法", "title": "同法", "pinpoint": None}) == ("同法", "title:同法", None)
