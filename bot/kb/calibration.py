"""Calibration from the knowledge base being served: where to answer outright, where to suggest, where to decline.

Thresholds fitted on one knowledge base do not transfer to another (scores sit lower on a larger or more
uniform base), so every index calibrates itself when it is built, from its own entries:

- **positives**: for a sample of entries, one question or variant is held out and the others indexed; the
  held-out phrase is asked as typed, without diacritics, and after a sentence of context;
- **negatives**: a shipped bank of generic out-of-scope questions (chit-chat, everyday life, other trades), with
  and without diacritics, minus any the base covers; and near misses made by swapping the key object of an
  entry's question (its rarest word) for a foreign one ("quên mật khẩu VNeID" → "quên mật khẩu hộ chiếu").

The answer threshold is the lowest confidence at which the generic negatives are answered at most
``NEGATIVE_ANSWERED`` of the time and the made-up near misses at most ``NEAR_MISS_ANSWERED`` (many of them stay
answerable: a swap does not always hit the key object): rates the project promises, not scores tuned on any
knowledge. Held-out phrases that retrieve a sibling entry are not counted against a threshold: staff-written
variants often fit a neighbouring entry as well, which is what suggestions are for. The suggestion threshold
maximizes the gap between the positives and the negatives it lets through. Nothing is learned from citizens'
questions, so the same code adapts to any ward's base.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from bot.kb.models import Category, Entry, KnowledgeBase
from bot.kb.normalize import fold

if TYPE_CHECKING:
    from bot.kb.search import SearchIndex

log = logging.getLogger(__name__)

NEGATIVE_ANSWERED = 0.03  # share of generic out-of-scope questions the engine may answer outright
NEAR_MISS_ANSWERED = 0.4  # share of made-up near misses it may answer (many swaps leave the question answerable)
MAX_POSITIVE_ENTRIES = 160  # entries sampled for held-out positives
MAX_NEAR_MISSES = 120
NEAR_MISS_MAX_WORDS = 8  # in a longer phrase one swapped object leaves the question answerable
MAX_HOLDOUT_INDEX = 1500  # entries in the held-out index of a large base (a sample keeps reloads fast)
THRESHOLD_RANGE = (0.15, 0.97)  # a calibration that lands outside this range is clamped into it
FUSION_WEIGHTS = (0.0, 5.0, 10.0, 20.0, 40.0, 80.0)  # lexical score units per unit of cosine gap
SHIPPED = (0.6, 0.2)  # used when a base is too small to calibrate (fewer than two entries)


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

    def summary(self) -> str:
        """One line for ``kb check`` and the log."""
        if not self.fitted:
            return f"calibration: shipped thresholds answer ≥ {self.answer_at:.2f}, suggest ≥ {self.suggest_at:.2f}"
        return (
            f"calibration: answer ≥ {self.answer_at:.2f}, suggest ≥ {self.suggest_at:.2f}, "
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
    sampled = {e.id for e in _sample([e for e in kb.entries if e.variants], MAX_POSITIVE_ENTRIES)}
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
                entry = replace(entry, question=rest[0], variants=rest[1:])
            entries.append(entry)
        categories.append(Category(category.slug, category.title, tuple(entries), category.file))
    return replace(kb, categories=tuple(categories)), held


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


def calibrate(index: SearchIndex, build: Callable[[KnowledgeBase], SearchIndex]) -> Calibration:
    """Choose the thresholds for ``index`` from its own knowledge base; ``build`` makes an uncalibrated index."""
    kb = index.kb
    if len(kb.entries) < 2:
        return Calibration(*SHIPPED)
    holdout_kb, held = _holdout(kb)
    holdout = build(holdout_kb)
    contexts: list[str] = bank()["contexts"]
    forms = [
        (entry, form)
        for entry, phrase in held
        for form in dict.fromkeys((phrase, fold(phrase), f"{contexts[_pick(phrase, len(contexts))]} {phrase}"))
    ]
    phrases = [fold(p) for e in kb.entries for p in (e.question, *e.variants)]
    generic = [q for q in bank()["out_of_scope"] if fold(q) not in phrases]
    near_texts = _near_misses(index, index.words)
    if index.semantic is not None:
        index.prepare_queries([*(f for _, f in forms), *generic, *near_texts])
        index.fusion_weight = holdout.fusion_weight = _fusion_weight(holdout, forms)
    positives: list[tuple[float, bool]] = []
    for entry, form in forms:
        score, top = holdout.confidence_of(form)
        positives.append((score, top == entry.id))
    negatives = [index.confidence_of(q)[0] for q in (*generic, *(fold(q) for q in generic))]
    near = [index.confidence_of(q)[0] for q in near_texts]
    if not positives or not negatives:
        return Calibration(*SHIPPED)
    answer_at = _answer_threshold(positives, negatives, near)
    negatives += near
    suggest_at = _suggest_threshold(positives, negatives, answer_at)
    right = sum(1 for s, ok in positives if ok and s >= answer_at) / len(positives)
    answered = sum(1 for s in negatives if s >= answer_at) / len(negatives)
    result = Calibration(
        answer_at, suggest_at, len(positives), len(negatives), right, answered, index.fusion_weight, fitted=True
    )
    log.info("knowledge base %s", result.summary())
    return result


def _fusion_weight(holdout: SearchIndex, forms: Sequence[tuple[Entry, str]]) -> float:
    """The weight of the semantic signal that ranks the held-out questions best (the smallest among ties)."""
    from bot.kb.search import fuse  # the search module imports this one

    holdout.fusion_weight = 1.0  # any positive weight makes ``rank`` compute the semantic gaps
    ranked = [(entry.id, holdout.rank(form)) for entry, form in forms]
    best_w, best_hits = 0.0, -1
    for w in FUSION_WEIGHTS:
        hits = 0
        for entry_id, candidates in ranked:
            fused = fuse(candidates, w)
            hits += bool(fused) and holdout.entries[fused[0].index].id == entry_id
        if hits > best_hits:
            best_w, best_hits = w, hits
    return best_w


def _answer_threshold(
    positives: Sequence[tuple[float, bool]], negatives: Sequence[float], near: Sequence[float]
) -> float:
    """The lowest threshold within the promised error rates."""
    low, high = THRESHOLD_RANGE
    scores = {round(s, 4) for s, _ in positives} | {round(s, 4) for s in (*negatives, *near)} | {low, high}
    for t in sorted(scores):
        if t < low or t > high:
            continue
        answered = sum(1 for s in negatives if s >= t) / len(negatives)
        near_answered = sum(1 for s in near if s >= t) / max(1, len(near))
        if answered <= NEGATIVE_ANSWERED and near_answered <= NEAR_MISS_ANSWERED:
            return t
    return high


def _suggest_threshold(positives: Sequence[tuple[float, bool]], negatives: Sequence[float], answer_at: float) -> float:
    """The threshold that best separates positives from negatives (Youden's J), no higher than ``answer_at``."""
    low = THRESHOLD_RANGE[0] / 2
    best_t, best_j = low, -1.0
    for t in sorted({round(s, 4) for s, _ in positives} | {round(s, 4) for s in negatives}):
        if t < low or t > answer_at:
            continue
        j = sum(1 for s, _ in positives if s >= t) / len(positives) - sum(1 for s in negatives if s >= t) / len(
            negatives
        )
        if j > best_j:
            best_t, best_j = t, j
    return best_t
