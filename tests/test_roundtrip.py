"""render and parse are inverse: parse(render(m)) == m, and canonical files render to themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.core.models import Decision, Proposal, Source
from kb.core.vocab import Association, Category, Outcome, SectionKey, Stage
from kb.files.disk import iter_proposal_files
from kb.files.parse import parse_file, parse_text
from kb.files.render import render

REPO = Path(__file__).parent.parent
CANONICAL = iter_proposal_files(d for d in (REPO / "proposals", Path(__file__).parent / "fixtures" / "valid") if d.is_dir())


@pytest.mark.parametrize("path", CANONICAL, ids=[str(p.relative_to(REPO)) for p in CANONICAL])
def test_canonical_file_renders_to_itself(path: Path) -> None:
    assert render(parse_file(path)) == path.read_text(encoding="utf-8")


# Synthetic text: Japanese, Latin, digits and the punctuation real sheets use.
_chars = st.sampled_from(list("提案都道府県教育委員会番号法第条項号の一二三。、（）「」()・ ABCxyz019*_[]<>&\"'") + ["ー", "—", "○"])
_word = st.text(_chars, min_size=1, max_size=12).map(str.strip).filter(bool)
_line = st.lists(_word, min_size=1, max_size=5).map(" ".join).filter(lambda s: not s.startswith(("#", "-", "*", ">", "<", "=", "`", "|", "_")) and s[0] not in "0123456789+")
_paragraph = st.lists(_line, min_size=1, max_size=3).map("\n".join)
_body = st.lists(_paragraph, min_size=1, max_size=3).map("\n\n".join).filter(lambda s: s.strip() not in {"—", "ー"})
_section = st.one_of(st.none(), _body)
_name = _word.filter(lambda s: not s.startswith(("-", "*", "&", "!", "|", ">", "'", '"', "%", "@", "`", "[", "{")))


@st.composite
def proposals(draw: st.DrawFn) -> Proposal:
    year = draw(st.integers(2014, 2030))
    sections = draw(st.dictionaries(st.sampled_from(list(SectionKey)), _section, max_size=len(SectionKey)))
    opinions: dict[Association, str | None] = {}
    if sections.get(SectionKey.OPINIONS, "") is not None:
        opinions = draw(st.dictionaries(st.sampled_from(list(Association)), _section, max_size=3))
        if opinions and SectionKey.OPINIONS not in sections:
            sections[SectionKey.OPINIONS] = ""
    decision = draw(
        st.one_of(
            st.none(),
            st.builds(Decision, date=st.one_of(st.none(), st.dates()), outcome=st.one_of(st.none(), st.sampled_from(list(Outcome)))),
        )
    )
    if decision is not None and decision.date is None and decision.outcome is None:
        decision = None
    return Proposal(
        year=year,
        era=draw(_name),
        number=draw(st.integers(1, 9999)),
        serial=draw(st.one_of(st.none(), st.integers(1, 9999))),
        title=draw(_name),
        category=draw(st.sampled_from(list(Category))),
        policy_field=draw(st.one_of(st.none(), _name)),
        theme=draw(st.one_of(st.none(), _name)),
        proponents=draw(st.lists(_name, min_size=1, max_size=4)),
        co_proponents=draw(st.lists(_name, max_size=4)),
        ministries=draw(st.lists(_name, min_size=1, max_size=3)),
        sheet_ministry=draw(st.one_of(st.none(), _name)),
        decision=decision,
        sources=draw(
            st.lists(
                st.builds(Source, stage=st.sampled_from(list(Stage)), ministry=st.one_of(st.none(), _name), title=_name, url=st.one_of(st.none(), st.just("https://www.cao.go.jp/bunken-suishin/doc/r06_71.pdf"))),
                max_size=3,
            )
        ),
        sections=sections,
        opinions=opinions,
    )


@settings(max_examples=150, deadline=None)
@given(proposals())
def test_parse_of_render_is_identity(proposal: Proposal) -> None:
    text = render(proposal)
    assert parse_text(text) == proposal
    assert render(parse_text(text)) == text


def test_format_doc_example_is_the_canonical_real_file() -> None:
    doc = (REPO / "docs" / "format.md").read_text(encoding="utf-8")
    example = doc.split("````markdown\n", 1)[1].split("````", 1)[0]
    assert example == (REPO / "proposals" / "2024" / "0071.md").read_text(encoding="utf-8")
    assert render(parse_text(example)) == example
