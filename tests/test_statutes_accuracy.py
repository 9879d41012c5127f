"""The hand-labelled sets (benchmarks/statute_accuracy.py): at least 300 citations, precision and recall ≥ 0.98 overall and per kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.statutes.accuracy import Score, kind_group, label_key, load_documents, score
from kb.statutes.registry import DEFAULT_REGISTRY, load_registry

HERE = Path(__file__).parent / "fixtures" / "statutes"
SETS = [HERE / "labelled.yaml", HERE / "labelled_written.yaml", HERE / "labelled_heldout.yaml", HERE / "labelled_heldout2.yaml"]


@pytest.fixture(scope="module")
def scored() -> Score:
    return score(SETS, load_registry(DEFAULT_REGISTRY))


def test_labelled_sets_hold_at_least_300_citations_and_every_seed() -> None:
    docs = [d for path in SETS for d in load_documents(path)]
    assert sum(len(gold) for _, _, gold in docs) >= 300
    assert {name for name, _, gold in docs if name.startswith("seeds/") and gold} == {f"seeds/{p.name}" for p in (HERE / "seeds").glob("*.txt")}


def test_labelled_sets_cover_every_kind_of_law_at_least_fifty_times() -> None:
    registry = load_registry(DEFAULT_REGISTRY)
    kinds = [kind_group(key, registry) for path in SETS for _, _, gold in load_documents(path) for key in gold]
    assert {k: kinds.count(k) >= 50 for k in ("法律", "政令", "府省令")} == {"法律": True, "政令": True, "府省令": True}


def test_precision_and_recall_are_at_least_098_overall(scored: Score) -> None:
    assert scored.precision >= 0.98 and scored.recall >= 0.98, (scored.misses, scored.extras)


@pytest.mark.parametrize("kind", ["法律", "政令", "府省令"])
def test_precision_and_recall_are_at_least_098_per_kind(scored: Score, kind: str) -> None:
    tally = scored.kinds[kind]
    assert tally.precision >= 0.98 and tally.recall >= 0.98, [m for m in scored.misses + scored.extras]


def test_every_labelled_quote_occurs_in_its_document() -> None:
    for path in SETS:
        for name, text, gold in load_documents(path):
            for quote, _, _ in gold:
                assert quote in text, (name, quote)


def test_every_labelled_statute_is_in_the_registry() -> None:
    """A label naming an id the registry lacks would count every extraction of it as wrong."""
    registry = load_registry(DEFAULT_REGISTRY)
    ids = {key[1] for path in SETS for _, _, gold in load_documents(path) for key in gold if not key[1].startswith("title:")}
    assert sorted(ids - set(registry.statutes)) == []


def test_label_without_statute_is_keyed_by_title() -> None:
    assert label_key({"quote": "同法", "title": "同法", "pinpoint": None}) == ("同法", "title:同法", None)
