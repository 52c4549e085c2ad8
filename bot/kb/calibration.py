"""Calibration from the knowledge base being served: where to answer outright, where to suggest, where to decline.

Thresholds fitted on one knowledge base do not transfer to another (scores sit lower on a larger or more
uniform base), so every index calibrates itself when it is built, from its own entries:

- **positives**: for a sample of entries, one question or variant is held out and the others indexed; the
  held-out phrase is asked as typed, without diacritics, after a sentence of context, and with one typo in each
  of the first two forms (two letters of its longest word swapped, or one dropped);
- **negatives**: a shipped bank of generic out-of-scope questions (chit-chat, everyday life, other trades), with
  and without diacritics, minus any the base covers; questions about public services whose topics the base never
  names (a base about power and water must decline an ID-card question); and near misses made by swapping the
  key object of an entry's question (its rarest word) for a foreign one ("quên mật khẩu VNeID" → "quên mật khẩu
  hộ chiếu"). The questions about other services are indexed beside the entries (see ``SearchIndex``): the
  held-out copy keeps every other one of them, and the rest are asked of it, so that each is declined, or not,
  without its own twin in the index.

The answer threshold is the lowest confidence at which the generic negatives are answered at most
``NEGATIVE_ANSWERED`` of the time and the made-up near misses at most ``NEAR_MISS_ANSWERED`` (many of them stay
answerable: a swap does not always hit the key object): rates the project promises, not scores tuned on any
knowledge. It rises further where answering the held-out questions would gain fewer right answers than it
costs wrong ones (``WRONG_COST`` each). An entry with a single question is held out too, found by its answer
alone. With the embedding model, a second, lower threshold and a cosine margin are chosen for candidates the
embedding alone also picks (see ``SearchIndex.meaning_margin``), again by gain within the same rates; and, with
or without the model, a third for candidates that stay first when any one of the question's strongest words is
left out (see ``SearchIndex.stable``). The suggestion threshold still offers 95% of the held-out questions whose
best candidate is right. A calibration question the search would only offer because it names key entities no
entry names (``SearchIndex.foreign``) counts as never answered, in every rate's denominator as before. Every
calibration question is ranked with the embedding's margins (``SearchIndex.rank(margins=True)``), so the thresholds
are chosen on confidences with the embedding's vote in them, as the search gives them. Nothing is learned from
citizens' questions, so the same code adapts to any ward's base.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from bot.kb.models import Category, Entry, KnowledgeBase
from bot.kb.normalize import Normalizer, fold

if TYPE_CHECKING:
    from bot.kb.search import Ranked, SearchIndex

log = logging.getLogger(__name__)

NEGATIVE_ANSWERED = 0.03  # share of generic out-of-scope questions the engine may answer outright
NEAR_MISS_ANSWERED = 0.4  # share of made-up near misses it may answer (many swaps leave the question answerable)
MAX_POSITIVE_ENTRIES = 160  # entries sampled for held-out positives
MAX_NEAR_MISSES = 120
NEAR_MISS_MAX_WORDS = 8  # in a longer phrase one swapped object leaves the question answerable
MAX_HOLDOUT_INDEX = 1500  # entries in the held-out index of a large base (a sample keeps reloads fast)
THRESHOLD_RANGE = (0.15, 0.97)  # a calibration that lands outside this range is clamped into it
FUSION_WEIGHTS = (0.0, 5.0, 10.0, 20.0, 40.0, 80.0)  # lexical score units per unit of cosine gap
FUSION_DEFAULT = 20.0  # the middle of the grid, kept unless the base's own questions show better beyond chance
FUSION_SIGNIFICANCE = 2.0  # standard deviations a paired gain must exceed
SHIPPED = (0.6, 0.2)
SUGGEST_KEEPS = 0.95  # share of right held-out candidates that must at least be suggested
REFIT_ACCEPTANCE = True
CACHE_VERSION = 33  # bump when the calibration method changes
COST_MIN_POSITIVES = 30  # below this many held-out questions a rate of wrong answers is noise (±0.18 at 95%)
THRESHOLD_GRID = 120  # candidate thresholds tried when answer and agreement thresholds are chosen together
WRONG_COST = 1.0  # a wrong answer costs what a right one gains (2.0 measured no fewer wrong answers, fewer right)
AGREE_MARGINS = (0.0, 0.01, 0.02, 0.03)  # cosine margins by which the embedding may be required to agree
ACCEPT_FIT_STEPS = 1500
ACCEPT_FIT_RATE = 0.5
ACCEPT_PRIOR_PULL = 0.01  # used when a base is too small to calibrate (fewer than two entries)


@dataclass(frozen=True)
class Calibration:
    """The decision thresholds chosen for one knowledge base, and the evidence they were chosen on."""

    answer_at: float
    suggest_at: float
    positives: int = 0
    negatives: int = 0
    answered_right: float = 0.0  # share of positives answered with the right entry at ``answer_at``
    negatives_answered: float = 0.0  # share of negatives answered at ``answer_at``
    fusion_weight: float = 0.0  # weight of the semantic signal in the ranking (0: lexical only)
    fitted: bool = False
    agree_at: float = 1.0  # lower confidence answered when the embedding alone picks the same entry
    agree_margin: float = 0.0  # by at least this cosine margin over every other entry
    stable_at: float = 1.0  # lower confidence answered when the best entry does not hang on any one word

    def summary(self) -> str:
        """One line for ``kb check`` and the log."""
        if not self.fitted:
            return f"calibration: shipped thresholds answer ≥ {self.answer_at:.2f}, suggest ≥ {self.suggest_at:.2f}"
        lower = [
            f"≥ {at:.2f} when {why}"
            for at, why in (
                (self.agree_at, f"the meaning agrees by {self.agree_margin:g}"),
                (self.stable_at, "no one word decides"),
            )
            if at < self.answer_at
        ]
        lowered = f" ({'; '.join(lower)})" if lower else ""
        return (
            f"calibration: answer ≥ {self.answer_at:.2f}{lowered}, suggest ≥ {self.suggest_at:.2f}, "
            f"semantic weight {self.fusion_weight:g} "
            f"(from {self.positives} held-out questions, {self.answered_right:.0%} answered right; "
            f"{self.negatives} out-of-scope and near-miss questions, {self.negatives_answered:.0%} answered)"
        )


@lru_cache(maxsize=1)
def bank() -> dict[str, Any]:
    """The shipped calibration data (``bot/kb/data/calibration.yaml``)."""
    text = resources.files("bot.kb").joinpath("data/calibration.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _pick(key: str, n: int) -> int:
    """A stable pseudo-random index in [0, n) for ``key``: the same base always calibrates the same way."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % n


def _sample(entries: Sequence[Entry], limit: int) -> list[Entry]:
    if len(entries) <= limit:
        return list(entries)
    step = len(entries) / limit
    return [entries[int(k * step)] for k in range(limit)]


def _holdout(kb: KnowledgeBase) -> tuple[KnowledgeBase, list[tuple[Entry, str]]]:
    """A copy of the base with one phrase of each sampled entry removed, and the removed phrases."""
    sampled = {e.id for e in _sample(kb.entries, MAX_POSITIVE_ENTRIES)}
    kept = {e.id for e in _sample(kb.entries, MAX_HOLDOUT_INDEX)} | sampled
    held: list[tuple[Entry, str]] = []
    categories = []
    for category in kb.categories:
        entries = []
        for entry in category.entries:
            if entry.id not in kept:
                continue
            if entry.id in sampled:
                phrases = (entry.question, *entry.variants)
                k = _pick(entry.id, len(phrases))
                rest = phrases[:k] + phrases[k + 1 :]
                held.append((entry, phrases[k]))
                # An entry with a single question is then found by its answer alone: a citizen's wording that
                # shares little with the question is the case calibration must know the scores of.
                entry = replace(entry, question=rest[0] if rest else "", variants=rest[1:])
            entries.append(entry)
        categories.append(Category(category.slug, category.title, tuple(entries), category.file))
    return replace(kb, categories=tuple(categories)), held


def _typo(text: str) -> str:
    """``text`` as typed in a hurry: its longest word with two neighbouring letters swapped or one dropped."""
    words = text.split()
    if not words:
        return text
    k = max(range(len(words)), key=lambda j: (len(words[j]), -j))
    w = words[k]
    if len(w) < 4:
        return text
    at = 1 + _pick(text, len(w) - 2)
    words[k] = w[:at] + w[at + 1 :] if _pick(w, 2) else w[: at - 1] + w[at] + w[at - 1] + w[at + 1 :]
    return " ".join(words)


def other_services(phrases: Iterable[str], normalizer: Normalizer) -> list[str]:
    """The shipped questions about public services whose topics a base never names in ``phrases``: its questions,
    variants and tags as normalized, accent-stripped text (its answers mention many services in passing: "mang
    theo căn cước")."""
    named = f" {' '.join(phrases)} "
    out = []
    for item in bank()["services_out_of_scope"]:
        topics = (normalizer.normalize(t).stripped_text for t in item["topics"])
        if not any(t and f" {t} " in named for t in topics):
            out.append(str(item["q"]))
    return out


def _near_misses(index: SearchIndex, words: Callable[[str], list[str]]) -> list[str]:
    """Short phrases of entries with their key object (rarest word, with a rare neighbour) swapped for a foreign
    object the base never mentions: "quên mật khẩu VNeID" → "quên mật khẩu hộ chiếu"."""
    corpus = " ".join(fold(" ".join((e.question, *e.variants, *e.tags, e.answer))) for e in index.entries)
    foreign = [o for o in bank()["foreign_objects"] if f" {fold(o)} " not in f" {corpus} "]
    if not foreign:
        return []
    out: list[str] = []
    for entry in _sample(index.entries, MAX_NEAR_MISSES):
        phrases = [words(p) for p in (entry.question, *entry.variants)]
        short = [p for p in phrases if 3 <= len(p) <= NEAR_MISS_MAX_WORDS]
        if not short:
            continue
        tokens = min(short, key=len)
        idf = [index.idf(t) for t in tokens]
        key = max(range(len(tokens)), key=lambda k: (idf[k], -k))
        start, end = key, key + 1
        neighbours = [k for k in (key - 1, key + 1) if 0 <= k < len(tokens) and idf[k] >= 0.7 * idf[key]]
        if neighbours:
            start, end = min(key, neighbours[0]), max(key, neighbours[0]) + 1
        swapped = [*tokens[:start], foreign[_pick(entry.id, len(foreign))], *tokens[end:]]
        out.append(" ".join(swapped))
    return out


def _cache_key(index: SearchIndex) -> str:
    """What a calibration depends on: the entries' text, the lexicon (shipped and the base's own), the engine's
    weights, the rates it promises and the model."""
    from bot.kb import search

    digest = hashlib.sha256()
    lexicon = index.normalizer.lexicon  # the shipped one with the base's own additions
    # A sweep that changes a rate must not be handed a calibration made for another.
    promised = (NEGATIVE_ANSWERED, NEAR_MISS_ANSWERED, WRONG_COST, SUGGEST_KEEPS, THRESHOLD_RANGE)
    parts: list[object] = [
        CACHE_VERSION, search.RANK_WEIGHTS, search.ACCEPT_WEIGHTS, search.MEANING_WEIGHT, search.MEANING_MARGIN_CLIP,
        promised, index.semantic is not None, bank(),
        sorted(lexicon.abbreviations.items()), lexicon.synonyms, lexicon.fillers, lexicon.trailing_fillers,
    ]  # fmt: skip
    for part in parts:
        digest.update(repr(part).encode())
    for e in index.entries:
        digest.update(repr((e.id, e.category, e.question, e.variants, e.tags, e.answer)).encode())
    return digest.hexdigest()[:32]


def _cached(key: str) -> tuple[Calibration, tuple[float, ...] | None] | None:
    from bot.kb.semantic import cache_dir

    try:
        data = json.loads((cache_dir() / f"calibration-{key}.json").read_text("utf-8"))
        weights = data.pop("accept_weights")
        return Calibration(**data), (tuple(weights) if weights else None)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _store(key: str, result: Calibration, weights: tuple[float, ...] | None) -> None:
    from bot.kb.semantic import cache_dir

    path = cache_dir() / f"calibration-{key}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**asdict(result), "accept_weights": weights}), "utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.warning("calibration not cached: %s", exc)


def calibrate(index: SearchIndex, build: Callable[[KnowledgeBase, Sequence[str]], SearchIndex]) -> Calibration:
    """Choose the thresholds for ``index`` from its own knowledge base; ``build`` makes an uncalibrated index.
    The result is cached by the base's content (with the fitted weights), so an unchanged base loads at once."""
    kb = index.kb
    if len(kb.entries) < 2:
        return Calibration(*SHIPPED)
    key = _cache_key(index)
    cached = _cached(key)
    if cached is not None:
        result, index.accept_weights = cached
        index.fusion_weight = result.fusion_weight
        log.info("knowledge base %s (cached)", result.summary())
        return result
    result = _calibrate(index, build)
    _store(key, result, index.accept_weights)
    return result


def _calibrate(index: SearchIndex, build: Callable[[KnowledgeBase, Sequence[str]], SearchIndex]) -> Calibration:
    from bot.kb.search import fuse  # the search module imports this one

    kb = index.kb
    holdout_kb, held = _holdout(kb)
    # Half the questions about other services stay indexed; the other half are asked as out-of-scope questions,
    # which a question about another service must then be declined without its own twin in the index.
    services = [e.question for e in index.documents[len(index.entries) :]]
    holdout = build(holdout_kb, services[0::2])
    asked = services[1::2]
    asked += [fold(q) for q in asked]
    contexts: list[str] = bank()["contexts"]
    forms = [
        (entry, form)
        for entry, phrase in held
        for form in dict.fromkeys((phrase, fold(phrase), f"{contexts[_pick(phrase, len(contexts))]} {phrase}"))
    ]
    # The same phrases typed in a hurry, with and without diacritics, as citizens do: they count for the
    # acceptance model and the thresholds, not for the fusion weight (with them it moved on both transfer halves,
    # and top-1 fell by up to 4 points).
    typed = len(forms)
    forms += [
        (entry, typo)
        for entry, phrase in held
        for typo in dict.fromkeys((_typo(phrase), _typo(fold(phrase))))
        if typo not in (phrase, fold(phrase))
    ]
    phrases = [fold(p) for e in kb.entries for p in (e.question, *e.variants)]
    generic = [q for q in bank()["out_of_scope"] if fold(q) not in phrases]
    generic += [fold(q) for q in generic]
    near_texts = _near_misses(index, index.words)
    if index.semantic is not None:
        holdout.prepare_queries([*(f for _, f in forms), *asked])
        index.prepare_queries([*generic, *near_texts])
        # With the largest weight ``rank`` computes the semantic gaps wherever any weight could change the winner;
        # each weight is then tried on them.
        index.fusion_weight = holdout.fusion_weight = max(FUSION_WEIGHTS)
    # Each calibration question is ranked once; fusion weights and acceptance weights are fitted on the lists.
    # Each with the embedding's margins wherever it can read the question: which questions the search answers on
    # words alone depends on the thresholds being chosen.
    pos_lists = [(entry.id, holdout.rank(form, margins=True)) for entry, form in forms]
    neg_lists = [index.rank(q, margins=True) for q in generic]
    svc_lists = [holdout.rank(q, margins=True) for q in asked]
    near_lists = [index.rank(q, margins=True) for q in near_texts]
    if index.semantic is not None:
        weight = _fusion_weight(holdout, pos_lists[:typed])
        index.fusion_weight = holdout.fusion_weight = weight
        pos_lists = [(i, fuse(r, weight)) for i, r in pos_lists]
        neg_lists = [fuse(r, weight) for r in neg_lists]
        svc_lists = [fuse(r, weight) for r in svc_lists]
        near_lists = [fuse(r, weight) for r in near_lists]
    labelled = [(r, holdout.documents[r[0].index].id == i) for i, r in pos_lists if r]
    # How far the embedding alone agrees with each question's best candidate (None without the model).
    pos_margins = [holdout.margin_of(form, r[0]) for (_, form), (_, r) in zip(forms, pos_lists, strict=True) if r]
    # Each negative with the index it was asked of: the generic ones of the base, the other services of its
    # held-out copy (which lacks their twins).
    asked_of = [(index, q, r) for q, r in zip(generic, neg_lists, strict=True)]
    asked_of += [(holdout, q, r) for q, r in zip(asked, svc_lists, strict=True)]
    near_of = [(index, q, r) for q, r in zip(near_texts, near_lists, strict=True)]
    neg_margins = [ix.margin_of(q, r[0]) if r else None for ix, q, r in asked_of]
    near_margins = [ix.margin_of(q, r[0]) if r else None for ix, q, r in near_of]
    # A question whose best match is another service's is declined before the acceptance model is asked.
    negatives_ranked = [r for ix, _, r in (*asked_of, *near_of) if r and not ix.is_background(r[0].index)]
    if REFIT_ACCEPTANCE:
        # Entries found by their answer alone (their single question held out) tell the thresholds how confusable
        # the base is, but would teach the acceptance model to trust answer text more than real questions deserve.
        varied = {e.id for e in kb.entries if e.variants}
        fitted = [
            (r, holdout.documents[r[0].index].id == i)
            for (entry, _), (i, r) in zip(forms, pos_lists, strict=True)
            if r and entry.id in varied and not holdout.is_background(r[0].index)
        ]
        index.accept_weights = holdout.accept_weights = _fit_acceptance(fitted, negatives_ranked)
    # A question naming what no entry of its base names is never answered outright (``SearchIndex.foreign``): it
    # counts as not answered at any threshold, and stays in the rates' denominators, as the search will treat it.
    pos_of = [(holdout, form, r) for (_, form), (_, r) in zip(forms, pos_lists, strict=True) if r]
    positives = [(_score(ix, q, r), ok) for (ix, q, r), (_, ok) in zip(pos_of, labelled, strict=True)]
    negatives = [_score(ix, q, r) for ix, q, r in asked_of]
    near = [_score(ix, q, r) for ix, q, r in near_of]
    if not positives or not negatives:
        return Calibration(*SHIPPED)
    answer_at = max(_answer_threshold(positives, negatives, near), _cost_threshold(positives))
    agree_at, agree_margin = 1.0, 0.0
    if index.semantic is not None:
        answer_at, agree_at, agree_margin = _agreement_thresholds(
            [(s, ok, m) for (s, ok), m in zip(positives, pos_margins, strict=True)],
            list(zip(negatives, neg_margins, strict=True)),
            list(zip(near, near_margins, strict=True)),
            answer_at,
        )

    def agreed(score: float, margin: float | None) -> bool:
        return score >= answer_at or (margin is not None and score >= agree_at and margin >= agree_margin)

    suggest_at = _suggest_threshold(positives, [*negatives, *near], answer_at)

    def as_asked(
        items: Sequence[tuple[SearchIndex, str, Sequence[Ranked]]],
        scores: Sequence[float],
        margins: Sequence[float | None],
        right: Sequence[bool] | None = None,
    ) -> list[_Asked]:
        oks = right if right is not None else [False] * len(items)
        return [
            _Asked(s, agreed(s, m), ix, q, r[0].index if r else -1, ok)
            for (ix, q, r), s, m, ok in zip(items, scores, margins, oks, strict=True)
        ]

    pos_asked = as_asked(pos_of, [s for s, _ in positives], pos_margins, [ok for _, ok in positives])
    neg_asked = as_asked(asked_of, negatives, neg_margins)
    near_asked = as_asked(near_of, near, near_margins)
    stable_at = _stability_threshold(pos_asked, neg_asked, near_asked, suggest_at)

    def answers(a: _Asked) -> bool:
        return a.before or (a.score >= stable_at and a.stable())  # stable_at: 1, or a score at least suggest_at

    right = sum(1 for a in pos_asked if a.ok and answers(a))
    answered = sum(1 for a in (*neg_asked, *near_asked) if answers(a))
    result = Calibration(
        answer_at,
        suggest_at,
        len(positives),
        len(negatives) + len(near),
        right / len(positives),
        answered / (len(negatives) + len(near)),
        index.fusion_weight,
        fitted=True,
        agree_at=agree_at,
        agree_margin=agree_margin,
        stable_at=stable_at,
    )
    log.info("knowledge base %s", result.summary())
    return result


def _score(index: SearchIndex, text: str, ranked: Sequence[Ranked]) -> float:
    """The confidence a calibration question would be answered with: 0 when the search never answers it outright
    because it names a key entity no entry names."""
    return 0.0 if index.foreign(text) else index.top_confidence(ranked)


def _fusion_weight(holdout: SearchIndex, ranked: Sequence[tuple[str, Sequence[Ranked]]]) -> float:
    """The weight of the semantic signal for this base: the middle of the grid, unless another weight ranks the
    held-out questions better by more than chance (a paired comparison: the questions it gets right and the
    middle one does not, against the reverse, beyond twice their standard deviation). Staff-written variants
    share most words with their entry, so most weights tie on them, and picking by a question or two would be
    noise."""
    from bot.kb.search import fuse

    def right(w: float) -> list[bool]:
        out = []
        for entry_id, candidates in ranked:
            first = holdout.first_entry(fuse(candidates, w))
            out.append(first is not None and holdout.entries[first.index].id == entry_id)
        return out

    base = right(FUSION_DEFAULT)
    best_w, best_gain = FUSION_DEFAULT, 0.0
    for w in (w for w in FUSION_WEIGHTS if w != FUSION_DEFAULT):
        other = right(w)
        gained = sum(1 for a, b in zip(other, base, strict=True) if a and not b)
        lost = sum(1 for a, b in zip(other, base, strict=True) if b and not a)
        if gained - lost > max(best_gain, FUSION_SIGNIFICANCE * (gained + lost) ** 0.5):
            best_w, best_gain = w, gained - lost
    return best_w


def _fit_acceptance(
    labelled: Sequence[tuple[Sequence[Ranked], bool]], negatives: Sequence[Sequence[Ranked]]
) -> tuple[float, ...]:
    """Acceptance weights for this base: a class-balanced logistic regression over the shipped features, the
    held-out questions' best candidates as examples (right or not) and the negatives' as wrong ones. Each weight
    keeps the sign its feature's meaning requires, and is pulled toward the shipped weight."""
    from bot.kb.search import ACCEPT_SIGNS, ACCEPT_WEIGHTS, accept_features, meaning_vote

    rows = [accept_features(r, 0) for r, _ in labelled] + [accept_features(r, 0) for r in negatives]
    # The embedding's vote is added to what the weights make of the words (a fixed offset, not refitted).
    offset = np.array([meaning_vote(r[0].margin) for r, _ in labelled] + [meaning_vote(r[0].margin) for r in negatives])
    labels = [float(ok) for _, ok in labelled] + [0.0] * len(negatives)
    y = np.array(labels)
    if len(rows) < 20 or y.sum() < 5 or (1 - y).sum() < 5:
        return tuple(ACCEPT_WEIGHTS)
    x = np.array(rows)
    prior = np.array(ACCEPT_WEIGHTS, dtype=float)
    w = prior.copy()
    pos, neg = float(y.sum()), float(len(y) - y.sum())
    sample = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * neg))
    signs = np.array(ACCEPT_SIGNS)
    for _ in range(ACCEPT_FIT_STEPS):
        p = 1 / (1 + np.exp(-np.clip(x @ w + offset, -30, 30)))
        grad = x.T @ ((p - y) * sample) / len(y) + ACCEPT_PRIOR_PULL * (w - prior)
        w -= ACCEPT_FIT_RATE * grad
        w[(signs != 0) & (w * signs < 0)] = 0.0
    return tuple(float(v) for v in w)


def _answer_threshold(
    positives: Sequence[tuple[float, bool]], negatives: Sequence[float], near: Sequence[float]
) -> float:
    """The lowest threshold within the promised error rates."""
    low, high = THRESHOLD_RANGE
    # Just above a negative's score is where it stops being answered; without those steps a small base (few
    # scores to choose from) would jump to the highest threshold.
    above = {round(s, 4) + 0.0001 for s in (*negatives, *near)}
    scores = {round(s, 4) for s, _ in positives} | {round(s, 4) for s in (*negatives, *near)} | above | {low, high}
    for t in sorted(scores):
        if t < low or t > high:
            continue
        answered = sum(1 for s in negatives if s >= t) / len(negatives)
        near_answered = sum(1 for s in near if s >= t) / max(1, len(near))
        if answered <= NEGATIVE_ANSWERED and near_answered <= NEAR_MISS_ANSWERED:
            return t
    return high


def _cost_threshold(positives: Sequence[tuple[float, bool]]) -> float:
    """The threshold at which answering the held-out questions gains most: right answers minus ``WRONG_COST``
    per wrong one. On a base whose questions are easily confused, it rises above what the negatives ask."""
    low, high = THRESHOLD_RANGE
    if sum(1 for s, _ in positives if s >= low) < COST_MIN_POSITIVES:
        # Too few held-out questions to tell, or too few scored where a threshold can be: a base whose entries
        # each have one question is found by the answers alone when that question is held out, and every such
        # score sits below the range, saying nothing about a threshold inside it. The negatives alone decide.
        return low
    gains: dict[float, float] = {}
    for s, ok in positives:
        gains[s] = gains.get(s, 0.0) + (1.0 if ok else -WRONG_COST)
    best_t, best_gain, gain = high, 0.0, 0.0  # answering nothing gains nothing
    for s in sorted(gains, reverse=True):  # a threshold answers every question scored at or above it
        if s < low:
            break
        gain += gains[s]
        if gain > best_gain:
            best_t, best_gain = min(high, s), gain
    return best_t


def _agreement_thresholds(
    positives: Sequence[tuple[float, bool, float | None]],
    negatives: Sequence[tuple[float, float | None]],
    near: Sequence[tuple[float, float | None]],
    answer_at: float,
) -> tuple[float, float, float]:
    """``answer_at``, the lower threshold for candidates the embedding agrees with, and the margin it must
    agree by: the pair that gains most on the held-out questions (right answers minus ``WRONG_COST`` per wrong
    one) within the promised error rates. Agreement only adds answers to those ``answer_at`` gives; without any
    pair that gains, it is not used (its threshold is 1)."""
    low, high = THRESHOLD_RANGE
    pos_s = np.array([s for s, _, _ in positives])
    pos_ok = np.array([ok for _, ok, _ in positives], dtype=bool)
    pos_m = np.array([-9.0 if m is None else m for _, _, m in positives])
    neg_s = np.array([s for s, _ in negatives] or [0.0])
    neg_m = np.array([-9.0 if m is None else m for _, m in negatives] or [-9.0])
    near_s = np.array([s for s, _ in near] or [0.0])
    near_m = np.array([-9.0 if m is None else m for _, m in near] or [-9.0])
    grid = np.unique(np.round(np.concatenate([pos_s, neg_s, near_s, [low, high, answer_at]]), 4))
    grid = grid[(grid >= low) & (grid <= high)]
    if len(grid) > THRESHOLD_GRID:
        grid = np.unique(np.quantile(grid, np.linspace(0, 1, THRESHOLD_GRID)))

    def rates(a: float, b: float, g: float) -> tuple[float, float, float]:
        hit_pos = (pos_s >= a) | ((pos_s >= b) & (pos_m >= g))
        neg_rate = float(((neg_s >= a) | ((neg_s >= b) & (neg_m >= g))).mean())
        near_rate = float(((near_s >= a) | ((near_s >= b) & (near_m >= g))).mean())
        gain = float((hit_pos & pos_ok).sum()) - WRONG_COST * float((hit_pos & ~pos_ok).sum())
        return gain, neg_rate, near_rate

    base_gain, base_neg, base_near = rates(answer_at, 1.0, 0.0)
    best = (base_gain, 1.0, 0.0)
    for g in AGREE_MARGINS:
        for b in grid[grid < answer_at]:
            gain, neg_rate, near_rate = rates(answer_at, float(b), g)
            if neg_rate > max(NEGATIVE_ANSWERED, base_neg) or near_rate > max(NEAR_MISS_ANSWERED, base_near):
                continue
            if gain > best[0]:
                best = (gain, float(b), g)
    return answer_at, best[1], best[2]


@dataclass
class _Asked:
    """A calibration question as the stability rule sees it."""

    score: float  # its best candidate's confidence
    before: bool  # answered by the other rules
    index: SearchIndex  # the index it was asked of
    text: str
    best: int  # its best candidate's row
    ok: bool = False  # a held-out question's best candidate is the right entry
    _stable: bool | None = None

    def stable(self) -> bool:
        """Whether its best candidate does not hang on any one word (asked once, on first need: each costs up to
        ``STABLE_WORDS`` more searches)."""
        if self._stable is None:
            self._stable = self.index.stable(self.text, self.best)
        return self._stable


def _stability_threshold(
    positives: Sequence[_Asked], negatives: Sequence[_Asked], near: Sequence[_Asked], suggest_at: float
) -> float:
    """The lower threshold from which a candidate that does not hang on any one word (see ``SearchIndex.stable``)
    is answered: the one that gains most on the held-out questions (right answers minus ``WRONG_COST`` per wrong
    one) within the promised error rates. It only adds answers to those the other rules give; without a threshold
    that gains, it is not used (1). Thresholds are tried from the top down, and stability is asked only of the
    questions a threshold reaches before the error rates are exceeded or no gain is left to find."""
    neg_cap = max(NEGATIVE_ANSWERED * len(negatives), sum(a.before for a in negatives))
    near_cap = max(NEAR_MISS_ANSWERED * len(near), sum(a.before for a in near))
    counts = [sum(a.before for a in negatives), sum(a.before for a in near)]
    kind = {id(a): k for k, group in enumerate((negatives, near)) for a in group}
    band = sorted(
        (a for a in (*positives, *negatives, *near) if not a.before and a.score >= suggest_at), key=lambda a: -a.score
    )
    right_left = sum(1 for a in band if a.ok)
    best_t, best_gain, gain = 1.0, 0.0, 0.0
    k = 0
    while k < len(band) and gain + right_left > best_gain:
        t = band[k].score
        while k < len(band) and band[k].score == t:  # a threshold answers every question scored at or above it
            a = band[k]
            k += 1
            right_left -= a.ok
            if not a.stable():
                continue
            if id(a) in kind:
                counts[kind[id(a)]] += 1
            else:
                gain += 1.0 if a.ok else -WRONG_COST
        if counts[0] > neg_cap or counts[1] > near_cap:
            break  # a lower threshold only answers more of them
        if gain > best_gain:
            best_t, best_gain = t, gain
    return best_t


def _suggest_threshold(positives: Sequence[tuple[float, bool]], negatives: Sequence[float], answer_at: float) -> float:
    """The highest threshold that still offers ``SUGGEST_KEEPS`` of the held-out questions whose best candidate
    is right, no higher than ``answer_at``: a suggestion always has a way out ("Không phải các câu trên"), so
    offering one to an out-of-scope question costs little, and declining a right candidate strands a citizen."""
    right = sorted(s for s, ok in positives if ok)
    low = THRESHOLD_RANGE[0] / 2
    if not right:
        return max(low, min(answer_at, SHIPPED[1]))
    t = right[int((1 - SUGGEST_KEEPS) * len(right))]
    return max(low, min(answer_at, t))
