"""The index's compact term structures (integer ids in sorted arrays and tuples) hold exactly the term sets that
plain Python sets built straight from the entries' text would."""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from bot.kb.loader import load_knowledge
from bot.kb.models import Entry
from bot.kb.normalize import Normalizer, fold
from bot.kb.search import ACCENT_MISMATCH_CREDIT, SearchIndex, _TermRows

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(scope="module")
def shipped_index() -> SearchIndex:
    kb = load_knowledge(KNOWLEDGE).kb
    assert kb is not None, "the shipped knowledge base has errors: run python -m bot kb check"
    return SearchIndex(kb, calibrate=False, semantic=False)


def reference_sets(entry: Entry, normalizer: Normalizer) -> dict[str, frozenset[str]]:
    """An entry's term sets by field, built the plain way: one Python set per field and per phrase."""

    def bigrams(tokens: tuple[str, ...]) -> set[str]:
        return {f"{a}_{b}" for a, b in pairwise(tokens)}

    match: set[str] = set()
    match_accented: set[str] = set()
    doc_bigrams: set[str] = set()
    phrases: list[tuple[set[str], set[str], set[str]]] = []
    texts = [entry.question, *entry.variants, *([" ".join(entry.tags)] if entry.tags else [])]
    for text in texts:
        norm = normalizer.normalize(text)
        if not norm.stripped:
            continue
        phrases.append((set(norm.stripped), set(norm.tokens), bigrams(norm.stripped)))
        match |= set(norm.stripped)
        match_accented |= set(norm.tokens)
        doc_bigrams |= bigrams(norm.stripped)
    answer = normalizer.normalize(entry.answer, drop_fillers=False)
    doc_bigrams |= bigrams(answer.stripped)
    out = {
        "match": frozenset(match),
        "match_accented": frozenset(match_accented),
        "answer": frozenset(answer.stripped),
        "answer_accented": frozenset(answer.tokens),
        "doc_bigrams": frozenset(doc_bigrams),
    }
    for k, (uni, acc, bi) in enumerate(phrases):
        out[f"phrase {k}"] = frozenset(uni)
        out[f"phrase {k} accented"] = frozenset(acc)
        out[f"phrase {k} bigrams"] = frozenset(bi)
    return out


def test_every_entry_holds_the_same_terms_as_plain_sets(shipped_index: SearchIndex) -> None:
    assert len(shipped_index.entries) > 100
    for i, entry in enumerate(shipped_index.entries):
        expected = reference_sets(entry, shipped_index.normalizer)
        assert expected["match"] and expected["answer"], entry.id
        assert shipped_index.term_sets(i) == expected, entry.id


def test_accented_and_plain_forms_stay_apart(shipped_index: SearchIndex) -> None:
    """One vocabulary numbers stripped words, bigrams and accented words; each field still holds only its own."""
    found = False
    for i in range(len(shipped_index.entries)):
        sets = shipped_index.term_sets(i)
        accented_only = sets["match_accented"] - sets["match"]
        assert not accented_only & sets["match"]
        assert all("_" in b for b in sets["doc_bigrams"])
        assert not any("_" in t for t in sets["match"] | sets["answer"])
        found = found or bool(accented_only)
    assert found, "the shipped questions should contain words with diacritics"


def test_term_rows_answer_membership_like_sets() -> None:
    rng = random.Random(7)
    sets = [set(rng.sample(range(200), rng.randint(0, 30))) for _ in range(60)] + [set(), {0}, {199}]
    rows = _TermRows.of([np.array(sorted(s), dtype=np.int32) for s in sets])
    probes = np.array([-1, 0, 1, 57, 198, 199, 200, 10_000], dtype=np.int32)
    for i, s in enumerate(sets):
        assert rows.row(i).tolist() == sorted(s)
    picked = [5, 0, 62, 60, 61, 33, 5]  # any order, repeats, empty and one-id rows
    assert rows.holds(picked, probes).tolist() == [[int(p) in sets[i] for p in probes] for i in picked]
    assert rows.holds(picked, np.zeros(0, dtype=np.int32)).shape == (len(picked), 0)
    assert rows.holds([60], probes).tolist() == [[False] * len(probes)]
    everything = np.arange(-1, 201, dtype=np.int32)
    held = rows.holds(list(range(len(sets))), everything)
    assert held.sum() == sum(len(s) for s in sets)


def test_term_rows_where_keeps_each_rows_selected_ids() -> None:
    sets = [[1, 4, 9], [], [2, 3], [7]]
    rows = _TermRows.of([np.array(s, dtype=np.int32) for s in sets])
    odd = rows.where(rows.flat % 2 == 1)
    assert [odd.row(i).tolist() for i in range(len(sets))] == [[1, 9], [], [3], [7]]
    assert rows.owners().tolist() == [0, 0, 0, 2, 2, 3]


def test_a_phrases_coverage_looked_up_by_id_is_the_plain_reading(shipped_index: SearchIndex) -> None:
    """Each phrase's share of the question it covers (a word typed with other diacritics than the phrase's counts
    half) and the IDF of the question's words it holds, each word once, are what string sets give."""
    index = shipped_index
    texts = ["thế căn cước làm ở đâu", "giấy tờ giấy tờ cần gì", "quen mat khau vneid", "đăng kí tạm chú online"]
    for entry in index.entries[::6]:
        texts += [entry.question, fold(entry.question)]
    # Phrases that repeat a word ("giấy tờ ... giấy"), asked as they are: the word is held once, not twice.
    texts += [p.text for i in range(len(index.entries)) for p in index.phrases(i) if len(set(p.uni)) < len(p.uni)]
    half_credits = repeats = 0
    for text in texts:
        norm = index.normalizer.normalize(text)
        q = index._query(norm.tokens, norm.stripped, norm.typed_with_diacritics, {})
        for i in range(len(index.entries)):
            sets = index.term_sets(i) if i % 20 == 0 else None
            for k, p in enumerate(index.phrases(i)):
                words = p.text.split()
                repeats += any(words.count(w) > 1 for w, _, _ in q.weighted)
                accented = sets[f"phrase {k} accented"] if sets else None
                covered, held = index._phrase_coverage(q, p)
                expected_held = sum(index.idf(w) for w, _, _ in q.weighted if w in words)
                assert held == pytest.approx(expected_held, abs=1e-9), (text, p.text)
                if accented is None:
                    continue
                expected = 0.0
                for word, weight, typed in q.weighted:
                    if word in words:
                        full = typed is None or typed in accented
                        half_credits += not full
                        expected += weight if full else weight * ACCENT_MISMATCH_CREDIT
                assert covered == pytest.approx(expected / q.mass, abs=1e-9), (text, p.text)
    assert half_credits and repeats, "the probes should include a word with other diacritics and one a phrase repeats"
