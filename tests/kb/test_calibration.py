"""Calibration: every index chooses its own thresholds from the knowledge base it serves."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from bot.kb import calibration
from bot.kb.loader import load_knowledge
from bot.kb.models import KnowledgeBase
from bot.kb.normalize import fold
from bot.kb.result import Decision
from bot.kb.search import Ranked, SearchIndex
from tests.kb.conftest import TOPIC_VNEID

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


_POWER = """\
category: dien
title: Điện sinh hoạt
entries:
  - id: dien-cap-moi
    question: Nhà mới xây muốn lắp công tơ điện thì làm thủ tục gì?
    variants: [đăng ký cấp điện mới]
    answer: Mang theo căn cước và giấy tờ nhà đến điện lực.
  - id: dien-cat-dien
    question: Xem lịch cắt điện ở đâu?
    answer: Trên ứng dụng của điện lực.
"""


def _services(kb: KnowledgeBase) -> list[str]:
    """The questions about other services for ``kb``, from its phrases normalized afresh."""
    normalizer = SearchIndex(kb, calibrate=False, semantic=False).normalizer
    phrases = (p for e in kb.entries for p in (e.question, *e.variants, " ".join(e.tags)))
    return calibration.other_services((normalizer.normalize(p).stripped_text for p in phrases), normalizer)


def test_service_questions_are_negatives_only_where_the_base_never_names_their_topic(write_kb: WriteKb) -> None:
    folder = write_kb({"dien.yaml": _POWER})
    kb = load_knowledge(folder).kb
    assert kb is not None
    power = _services(kb)
    (folder / "dien.yaml").unlink()
    # An answer that mentions the ID card in passing does not make the base cover it; its own topics are left out.
    assert "thẻ căn cước bị gãy đôi có phải làm thẻ khác không" in power
    assert "lịch cắt điện khu phố tuần này" not in power
    kb = load_knowledge(write_kb({"vneid.yaml": TOPIC_VNEID.replace("mức 2?", "mức 2 bằng căn cước?")})).kb
    assert kb is not None
    ids = _services(kb)
    assert "thẻ căn cước bị gãy đôi có phải làm thẻ khác không" not in ids
    assert "lịch cắt điện khu phố tuần này" in ids


_ID_CARD = "thẻ căn cước bị gãy đôi có phải làm thẻ khác không"


def test_a_question_about_another_service_is_declined_and_never_offered(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb({"dien.yaml": _POWER})).kb
    assert kb is not None
    index = SearchIndex(kb, semantic=False)
    services = _services(kb)
    # Indexed after the entries (found from the phrases the index has read), never among them.
    assert [e.question for e in index.documents[len(index.entries) :]] == services
    assert _ID_CARD in services
    assert index.is_background(index.rank(_ID_CARD)[0].index)
    result = index.search(_ID_CARD)
    assert result.decision is Decision.DECLINE
    assert all(c.entry in index.entries for c in result.candidates)
    assert index.confidence_of(_ID_CARD) == (0.0, None)
    # Without them, the same question is ranked against the base's own entries alone.
    bare = SearchIndex(kb, semantic=False, calibrate=False, background=())
    assert bare.documents == bare.entries
    assert not bare.is_background(bare.rank(_ID_CARD)[0].index)
    assert index.search("Nhà mới xây muốn lắp công tơ điện thì làm thủ tục gì?").answered


@pytest.mark.parametrize("question", ["thế nào", "the nao", "làm sao ạ"])
def test_words_that_only_ask_are_not_declined_as_another_service(write_kb: WriteKb, question: str) -> None:
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    index = SearchIndex(kb, semantic=False)
    assert index.is_background(index.rank(question)[0].index)  # "thế nào" ends many questions about other services
    result = index.search(question)
    # Nothing says which topic is meant: the base's own closest entries are offered, as without the background.
    assert result.decision is Decision.SUGGEST
    assert result.candidates and all(c.entry in index.entries for c in result.candidates)
    bare = SearchIndex(kb, semantic=False, background=())
    assert bare.search(question).decision is Decision.SUGGEST


def test_calibration_keeps_half_the_other_services_indexed_and_asks_the_other_half(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb({"dien.yaml": _POWER})).kb
    assert kb is not None
    index = SearchIndex(kb, semantic=False, calibrate=False)
    services = [e.question for e in index.documents[len(index.entries) :]]
    indexed: list[list[str]] = []

    def build(other: KnowledgeBase, background: Sequence[str]) -> SearchIndex:
        indexed.append(list(background))
        return SearchIndex(other, index.normalizer, calibrate=False, semantic=False, background=background)

    result = calibration._calibrate(index, build)
    assert indexed == [services[0::2]]
    assert result.fitted and result.negatives >= len(services[1::2])


def test_calibration_counts_a_question_about_what_no_entry_names_as_never_answered(
    write_kb: WriteKb, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = load_knowledge(write_kb({"dien.yaml": _POWER})).kb
    assert kb is not None
    index = SearchIndex(kb, semantic=False, calibrate=False)
    # Two made-up near misses: one names a document no entry names (its answer names the ID card only in passing).
    foreign, plain = "đổi căn cước cho nhà mới xây thì làm thủ tục gì", "lắp công tơ điện cho nhà mới xây ở đâu"
    assert index.foreign(foreign) and not index.foreign(plain)
    assert index.top_confidence(index.rank(foreign)) > 0.3
    seen: dict[str, list[float]] = {}

    def answer_threshold(
        positives: Sequence[tuple[float, bool]], negatives: Sequence[float], near: Sequence[float]
    ) -> float:
        seen["near"] = list(near)
        return calibration.THRESHOLD_RANGE[0]

    monkeypatch.setattr(calibration, "_near_misses", lambda ix, words: [foreign, plain])
    monkeypatch.setattr(calibration, "_answer_threshold", answer_threshold)

    def build(other: KnowledgeBase, background: Sequence[str]) -> SearchIndex:
        return SearchIndex(other, index.normalizer, calibrate=False, semantic=False, background=background)

    calibration._calibrate(index, build)
    # The search only offers the first, whatever its confidence: the rates count it as never answered, and still
    # count it (the share of near misses answered is over all of them).
    assert seen["near"][0] == 0.0
    assert seen["near"][1] == index.top_confidence(index.rank(plain)) > 0


def test_held_out_phrase_is_removed_from_its_entry(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    reduced, held = calibration._holdout(kb)
    assert held
    for entry, phrase in held:
        copy = next(e for e in reduced.entries if e.id == entry.id)
        assert phrase not in (copy.question, *copy.variants)
        if entry.variants:
            assert len(copy.variants) == len(entry.variants) - 1
        else:  # a single question held out: the entry is found by its answer alone
            assert (copy.question, copy.variants, copy.answer) == ("", (), entry.answer)


BARE_TOPIC = """\
category: ho-tich
title: Hộ tịch
entries:
  - id: ho-tich-khai-sinh
    question: Đăng ký khai sinh cho con cần giấy tờ gì?
    answer: Mang giấy chứng sinh và căn cước của cha hoặc mẹ đến Ủy ban nhân dân phường, xã.
  - id: ho-tich-ket-hon
    question: Đăng ký kết hôn ở đâu?
    answer: Hai bên cùng đến Ủy ban nhân dân phường, xã nơi một trong hai người cư trú.
"""


def test_entries_without_variants_still_give_positives(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb({"vneid.yaml": TOPIC_VNEID, "ho-tich.yaml": BARE_TOPIC})).kb
    assert kb is not None
    bare = {e.id for e in kb.entries if not e.variants}
    reduced, held = calibration._holdout(kb)
    assert {e.id for e, _ in held} >= bare
    assert all(e.question == "" for e in reduced.entries if e.id in bare)
    index = SearchIndex(kb)  # a base of single-question entries calibrates from them too
    assert index.calibration.fitted and index.calibration.positives >= len(held)


def test_cost_threshold_rises_above_confident_wrong_candidates() -> None:
    # Held-out questions: right ones spread over the range, wrong ones bunched at high confidence.
    right = [(0.3 + 0.01 * k, True) for k in range(40)]
    wrong = [(0.95, False)] * 3 + [(0.5, False)] * 30
    t = calibration._cost_threshold([*right, *wrong])
    gain = sum(1 if ok else -calibration.WRONG_COST for s, ok in [*right, *wrong] if s >= t)
    assert t > 0.5  # answering down to the bunch of wrong ones at 0.5 would lose more than it gains
    assert gain > 0
    low, high = calibration.THRESHOLD_RANGE
    enough = calibration.COST_MIN_POSITIVES
    assert calibration._cost_threshold([(0.9, True)] * enough + [(0.8, True)] * enough) == 0.8
    assert calibration._cost_threshold([(0.9, False)] * enough + [(0.8, True)] * 5) == high  # nothing gains
    assert calibration._cost_threshold([(0.9, False)] * (enough - 1)) == low  # too little evidence to move it
    # Held-out questions scored below the range (entries found by their answers alone) say nothing about a
    # threshold inside it, however many there are.
    below = [(low / 10, True)] * enough + [(low / 10, False)] * enough
    assert calibration._cost_threshold(below) == low
    assert calibration._cost_threshold([*below, (0.9, False)]) == low


def test_agreement_lowers_the_threshold_only_where_it_gains() -> None:
    # Positives below the answer threshold that the embedding agrees with are right; negatives never agree.
    positives = [(0.8, True, 0.05)] * 20 + [(0.45, True, 0.04)] * 20 + [(0.45, False, -0.02)] * 5
    negatives = [(0.45, -0.03)] * 50 + [(0.1, None)] * 50
    a, b, margin = calibration._agreement_thresholds(positives, negatives, [], 0.7)
    assert a == 0.7 and b <= 0.45 and margin <= 0.04
    # When negatives agree as much as positives, agreement would only add wrong answers: it stays off.
    negatives = [(0.45, 0.05)] * 50
    a, b, _ = calibration._agreement_thresholds(positives, negatives, [], 0.7)
    assert (a, b) == (0.7, 1.0)


class _Stability:
    """Stands in for the index a calibration question was asked of: says whether its best entry is stable, and
    counts how often it is asked."""

    def __init__(self) -> None:
        self.asked = 0

    def stable(self, text: str, i: int) -> bool:
        self.asked += 1
        return text.startswith("stable")


def _asked(by: _Stability, score: float, stable: bool, ok: bool = False, before: bool = False) -> calibration._Asked:
    return calibration._Asked(score, before, by, "stable" if stable else "hangs", 0, ok)  # type: ignore[arg-type]


def test_stability_lowers_the_threshold_only_where_it_gains() -> None:
    by = _Stability()
    positives = [_asked(by, 0.8, True, True, before=True) for _ in range(20)]
    positives += [_asked(by, 0.45, True, True) for _ in range(20)] + [_asked(by, 0.45, False, False) for _ in range(20)]
    positives += [_asked(by, 0.3, True, False) for _ in range(10)]  # stable but wrong, lower down
    negatives = [_asked(by, 0.45, False) for _ in range(50)] + [_asked(by, 0.1, True) for _ in range(50)]
    assert calibration._stability_threshold(positives, negatives, [], 0.2) == 0.45
    # Stable negatives where the right answers are would exceed the promised rate: stability stays off.
    negatives = [_asked(by, 0.5, True) for _ in range(10)] + [_asked(by, 0.1, False) for _ in range(90)]
    assert calibration._stability_threshold(positives, negatives, [], 0.2) == 1.0


def test_stability_is_asked_only_until_nothing_more_can_be_gained() -> None:
    by = _Stability()
    right = [_asked(by, 0.6, True, True) for _ in range(5)]
    below = [_asked(by, 0.3 - k / 100, True, False) for k in range(10)]  # only wrong answers left down there
    below_suggest = [_asked(by, 0.1, True, True)]
    assert calibration._stability_threshold([*right, *below, *below_suggest], [], [], 0.2) == 0.6
    assert by.asked == len(right)


def test_answer_threshold_steps_just_above_a_negative_on_a_small_base() -> None:
    # Few scores to choose from: the threshold must stop just above the near miss it has to exclude, not jump
    # to the top of the range (which would leave a small base unable to answer anything).
    positives = [(0.3, True), (0.35, False)]
    t = calibration._answer_threshold(positives, [0.1] * 100, [0.408, 0.616])
    assert 0.616 < t < 0.62


def test_typo_form_changes_one_letter_of_the_longest_word() -> None:
    for text in ("quen mat khau vneid", "lam can cuoc o dau", "dang ky tam tru online", "Quên mật khẩu VNeID"):
        typo = calibration._typo(text)
        assert typo == calibration._typo(text)  # the same base always calibrates the same way
        changed = [(a, b) for a, b in zip(text.split(), typo.split(), strict=True) if a != b]
        assert len(changed) == 1
        before, after = changed[0]
        assert len(before) == max(len(w) for w in text.split())
        dropped = len(after) == len(before) - 1 and any(
            before[:k] + before[k + 1 :] == after for k in range(1, len(before) - 1)
        )
        swapped = len(after) == len(before) and sorted(after) == sorted(before)
        assert dropped or swapped
    assert calibration._typo("doi the") == "doi the"  # no word long enough to mistype
    assert calibration._typo("") == ""


def test_calibration_asks_each_held_out_phrase_with_a_typo_too(
    write_kb: WriteKb, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    original = SearchIndex.rank

    def record(self: SearchIndex, text: str, *, model: bool = True, margins: bool = False) -> list[Ranked]:
        asked.append(text)
        return original(self, text, model=model, margins=margins)

    monkeypatch.setattr(SearchIndex, "rank", record)
    monkeypatch.setattr(calibration, "_cached", lambda key: None)
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    _, held = calibration._holdout(kb)
    SearchIndex(kb)
    typos = {calibration._typo(form) for _, phrase in held for form in (phrase, fold(phrase))}
    typos -= {form for _, phrase in held for form in (phrase, fold(phrase))}
    assert any(typo != fold(typo) for typo in typos)  # typed with diacritics too
    assert typos and typos <= set(asked)


def _two_way(lexical_gap: float, cosine_gap: float) -> list[Ranked]:
    """Entry 0 ahead on words by ``lexical_gap``, entry 1 closer in meaning by ``cosine_gap``."""
    return [
        Ranked(0, 1.0, [], 0.0, 0.0, lexical=1.0, semantic=-cosine_gap, share=1.0),
        Ranked(1, 1.0 - lexical_gap, [], 0.0, 0.0, lexical=1.0 - lexical_gap, semantic=0.0, share=1.0),
    ]


@pytest.mark.parametrize(
    ("flipped", "expected"),
    [
        (0, calibration.FUSION_DEFAULT),  # every weight ties: the middle of the grid stays
        (3, calibration.FUSION_DEFAULT),  # three questions are within chance
        (10, max(calibration.FUSION_WEIGHTS)),  # ten are not
    ],
)
def test_fusion_weight_moves_from_the_middle_only_beyond_chance(
    write_kb: WriteKb, flipped: int, expected: float
) -> None:
    kb = load_knowledge(write_kb({"dien.yaml": _POWER})).kb
    assert kb is not None
    index = SearchIndex(kb, semantic=False, calibrate=False, background=())
    right_id = index.entries[1].id
    # Entry 1 comes first only with the largest weight (1.0 - 80 × 0.02 < 0 < 1.0 - 40 × 0.02).
    ranked = [(right_id, _two_way(1.0, 0.02)) for _ in range(flipped)]
    ranked += [(index.entries[0].id, _two_way(0.5, 0.0)) for _ in range(20)]  # right under every weight
    assert calibration._fusion_weight(index, ranked) == expected


def test_a_cached_calibration_serves_only_what_it_was_made_for(
    write_kb: WriteKb, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    index = SearchIndex(kb)
    key = calibration._cache_key(index)
    assert calibration._cache_key(SearchIndex(kb)) == key
    # A rate the calibration promises, changed (as a sweep does), must not be handed the old thresholds.
    monkeypatch.setattr(calibration, "NEGATIVE_ANSWERED", calibration.NEGATIVE_ANSWERED + 0.02)
    assert calibration._cache_key(index) != key
    monkeypatch.undo()
    monkeypatch.setattr(calibration, "NEAR_MISS_ANSWERED", calibration.NEAR_MISS_ANSWERED + 0.1)
    assert calibration._cache_key(index) != key
    monkeypatch.undo()
    assert calibration._cache_key(index) == key
