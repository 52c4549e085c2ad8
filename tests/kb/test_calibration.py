"""Calibration: every index chooses its own thresholds from the knowledge base it serves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.kb import calibration
from bot.kb.loader import load_knowledge
from bot.kb.normalize import fold
from bot.kb.search import SearchIndex

WriteKb = Callable[..., Path]


def test_index_calibrates_itself_from_its_base(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    index = SearchIndex(kb)
    cal = index.calibration
    assert cal.fitted
    assert cal.positives > 0 and cal.negatives > 0
    low, high = calibration.THRESHOLD_RANGE
    assert low <= cal.answer_at <= high
    assert cal.suggest_at <= cal.answer_at
    assert "calibration: answer ≥" in cal.summary()
    # The chosen threshold keeps the generic bank within the promised rate on this very base.
    bank = [q for q in calibration.bank()["out_of_scope"]]
    answered = sum(index.search(q).answered for q in bank)
    assert answered / len(bank) <= calibration.NEGATIVE_ANSWERED + 0.02


def test_uncalibrated_index_keeps_shipped_thresholds(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    index = SearchIndex(kb, calibrate=False)
    assert not index.calibration.fitted
    assert (index.calibration.answer_at, index.calibration.suggest_at) == calibration.SHIPPED


def test_near_misses_swap_in_objects_the_base_never_mentions(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    index = SearchIndex(kb, calibrate=False)
    corpus = " ".join(fold(f"{e.question} {' '.join(e.variants)} {e.answer}") for e in kb.entries)
    made = calibration._near_misses(index, index.words)
    assert made
    foreign = [fold(o) for o in calibration.bank()["foreign_objects"]]
    for text in made:
        swapped = [o for o in foreign if o in fold(text)]
        assert swapped, text
        assert all(f" {o} " not in f" {corpus} " for o in swapped)


def test_held_out_phrase_is_removed_from_its_entry(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    reduced, held = calibration._holdout(kb)
    assert held
    for entry, phrase in held:
        copy = next(e for e in reduced.entries if e.id == entry.id)
        assert phrase not in (copy.question, *copy.variants)
        assert len(copy.variants) == len(entry.variants) - 1
