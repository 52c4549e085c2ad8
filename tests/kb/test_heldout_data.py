"""The knowledge bases written apart from the engine stay usable as benchmarks: valid, labelled, never copied."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks.heldout import bases
from benchmarks.questions import DECLINE_KINDS, IN_SCOPE_KINDS, load_questions, validate
from bot.kb.loader import load_knowledge

BASES = bases()


def test_there_are_several_bases() -> None:
    assert len(BASES) >= 3


@pytest.mark.parametrize("folder", BASES, ids=[p.name for p in BASES])
def test_base_loads_and_its_questions_are_valid(folder: Path) -> None:
    loaded = load_knowledge(folder / "knowledge")
    assert loaded.kb is not None, loaded.errors
    questions = load_questions(folder)
    # Known ids, kinds that fit them, and no question that copies an entry's question or variants.
    assert validate(questions, loaded.kb) == []
    kinds = Counter(q.kind for q in questions)
    assert all(kinds[k] >= 15 for k in (*IN_SCOPE_KINDS, *DECLINE_KINDS)), kinds
    # The questions spread over the base rather than testing a few entries.
    answered = {q.expected for q in questions if q.expected}
    assert len(answered) >= 0.8 * len(loaded.kb.entries)
