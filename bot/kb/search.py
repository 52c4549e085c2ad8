"""The search engine: an index built once per knowledge base, and a hybrid, calibrated search over it.

Stage 1 picks candidates cheaply: BM25 over accent-stripped syllables and syllable bigrams (question, variants
and tags at full weight, the answer at a lower one), plus a character-trigram channel that forgives typos and
merged words. Stage 2 reranks the candidates on normalized features: how much of the question's IDF mass the
best-matching phrase covers (and the reverse), bigram coverage, a rapidfuzz ratio, coverage by the whole entry
(the question's unmatched salient words lower it), character coverage, and, when the question was typed with
diacritics, whether they agree with the entry's. A linear score squashed by a logistic gives the confidence.
"""

from __future__ import annotations

import math
from itertools import pairwise
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.kb.models import Entry, KnowledgeBase
from bot.kb.normalize import Normalizer, builtin_lexicon, strip_accents
from bot.kb.result import Candidate, Decision, SearchResult

MAX_QUERY_CHARS = 1000  # a longer message is cut: its question is almost always near the start or end
BM25_K1 = 1.2
BM25_B = 0.75
ANSWER_FIELD_WEIGHT = 0.3
LEXICAL_CANDIDATES = 24
CHAR_CANDIDATES = 12

# Feature weights and thresholds, fitted by benchmarks/fit_confidence.py (see README, "Accuracy").
FEATURES = ("q_cov", "p_cov", "bi_cov", "fuzzy", "max_fuzzy", "doc_cov", "char_cov", "accents", "bias")
WEIGHTS = (4.0, 1.5, 1.5, 2.0, 1.0, 3.0, 1.5, 1.5, -8.5)
ANSWER_AT = 0.5
SUGGEST_AT = 0.2
MIN_MARGIN = 0.08  # below this gap to a runner-up in another entry, suggest rather than answer


@dataclass(frozen=True)
class _Phrase:
    entry: int
    stripped: tuple[str, ...]
    text: str
    uni: frozenset[str]
    bi: frozenset[str]
    is_tags: bool


@dataclass(frozen=True)
class _QueryTerms:
    uni: dict[str, float]  # stripped unigram → match weight (1.0, or less for a typo correction)
    idf: dict[str, float]  # unigram → idf, for every unigram of the question (unknown words get the max)
    bi: frozenset[str]
    text: str
    accented: tuple[str, ...]
    typed_with_diacritics: bool
    grams: frozenset[str]


def _bigrams(tokens: Sequence[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in pairwise(tokens)]


def _trigrams(tokens: Sequence[str]) -> set[str]:
    text = f" {' '.join(tokens)} "
    return {text[i : i + 3] for i in range(len(text) - 2)}


class SearchIndex:
    """An immutable index over one knowledge base; build it once, search it from any thread."""

    def __init__(self, kb: KnowledgeBase, normalizer: Normalizer | None = None) -> None:
        self.kb = kb
        self.normalizer = normalizer or Normalizer(
            builtin_lexicon().extended(kb.abbreviations, [list(g) for g in kb.synonyms])
        )
        self.entries: tuple[Entry, ...] = kb.entries
        self._phrases: list[list[_Phrase]] = []
        self._doc_uni: list[frozenset[str]] = []
        self._doc_accented: list[frozenset[str]] = []
        n = len(self.entries)
        term_tf: list[dict[str, float]] = []
        gram_sets: list[set[str]] = []
        lengths = np.zeros(n, dtype=np.float64)
        for i, entry in enumerate(self.entries):
            phrases: list[_Phrase] = []
            tf: dict[str, float] = defaultdict(float)
            grams: set[str] = set()
            accented: set[str] = set()
            uni_all: set[str] = set()
            texts = [(entry.question, False), *((v, False) for v in entry.variants)]
            if entry.tags:
                texts.append((" ".join(entry.tags), True))
            for text, is_tags in texts:
                norm = self.normalizer.normalize(text)
                if not norm.stripped:
                    continue
                bi = _bigrams(norm.stripped)
                phrases.append(
                    _Phrase(i, norm.stripped, norm.stripped_text, frozenset(norm.stripped), frozenset(bi), is_tags)
                )
                for term in (*norm.stripped, *bi):
                    tf[term] += 1.0
                grams |= _trigrams(norm.stripped)
                accented.update(norm.tokens)
                uni_all.update(norm.stripped)
            answer = self.normalizer.normalize(entry.answer)
            for term in (*answer.stripped, *_bigrams(answer.stripped)):
                tf[term] += ANSWER_FIELD_WEIGHT
            accented.update(answer.tokens)
            uni_all.update(answer.stripped)
            lengths[i] = sum(tf.values())
            term_tf.append(tf)
            gram_sets.append(grams)
            self._phrases.append(phrases)
            self._doc_uni.append(frozenset(uni_all))
            self._doc_accented.append(frozenset(accented))

        df: dict[str, int] = defaultdict(int)
        for tf in term_tf:
            for term in tf:
                df[term] += 1
        self._idf = {t: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._max_idf = math.log(1.0 + (n + 0.5) / 0.5)
        avg_len = float(lengths.mean()) if n else 1.0
        postings: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        for i, tf in enumerate(term_tf):
            norm_len = BM25_K1 * (1 - BM25_B + BM25_B * lengths[i] / avg_len)
            for term, f in tf.items():
                ids, ws = postings[term]
                ids.append(i)
                ws.append(self._idf[term] * f * (BM25_K1 + 1) / (f + norm_len))
        self._postings = {t: (np.array(ids, dtype=np.int32), np.array(ws)) for t, (ids, ws) in postings.items()}
        self._vocab = sorted(t for t in df if "_" not in t)
        self._vocab_set = frozenset(self._vocab)

        gram_df: dict[str, int] = defaultdict(int)
        for grams in gram_sets:
            for g in grams:
                gram_df[g] += 1
        self._gram_idf = {g: math.log(1.0 + n / d) for g, d in gram_df.items()}
        gram_post: dict[str, list[int]] = defaultdict(list)
        for i, grams in enumerate(gram_sets):
            for g in grams:
                gram_post[g].append(i)
        self._gram_postings = {g: np.array(ids, dtype=np.int32) for g, ids in gram_post.items()}
        self._gram_mass = np.array([sum(self._gram_idf[g] for g in grams) or 1.0 for grams in gram_sets])

    # ----------------------------------------------------------------------------------------- query side

    def _correct(self, token: str) -> list[tuple[str, float]]:
        """Known words close to an unknown one (typos), or the two known words a merged token splits into."""
        if token in self._vocab_set or token.isdigit() or len(token) < 3:
            return []
        for cut in range(2, len(token) - 1):
            left, right = token[:cut], token[cut:]
            if left in self._vocab_set and right in self._vocab_set and len(left) > 1 and len(right) > 1:
                return [(left, 0.9), (right, 0.9)]
        found = process.extract(
            token, self._vocab, scorer=Levenshtein.normalized_similarity, score_cutoff=0.74, limit=2
        )
        return [(word, 0.85 * score) for word, score, _ in found]

    def _terms(self, tokens: tuple[str, ...], stripped: tuple[str, ...], typed: bool) -> _QueryTerms:
        uni: dict[str, float] = {}
        idf: dict[str, float] = {}
        sequence: list[str] = []
        for token in stripped:
            fixes = self._correct(token)
            if fixes:
                for word, weight in fixes:
                    uni[word] = max(uni.get(word, 0.0), weight)
                    idf[word] = self._idf.get(word, self._max_idf)
                sequence.append(fixes[0][0])
            else:
                uni[token] = 1.0
                idf[token] = self._idf.get(token, self._max_idf)
                sequence.append(token)
        return _QueryTerms(
            uni=uni,
            idf=idf,
            bi=frozenset(_bigrams(sequence)),
            text=" ".join(sequence),
            accented=tokens,
            typed_with_diacritics=typed,
            grams=frozenset(_trigrams(stripped)),
        )

    def _lexical(self, q: _QueryTerms) -> dict[int, float]:
        n = len(self.entries)
        ids: list[np.ndarray] = []
        ws: list[np.ndarray] = []
        for term, weight in (*q.uni.items(), *((b, 1.0) for b in q.bi)):
            post = self._postings.get(term)
            if post is not None:
                ids.append(post[0])
                ws.append(post[1] * weight)
        out: dict[int, float] = {}
        if ids:
            scores = np.bincount(np.concatenate(ids), weights=np.concatenate(ws), minlength=n)
            top = np.argpartition(-scores, min(LEXICAL_CANDIDATES, n - 1))[:LEXICAL_CANDIDATES]
            out.update((int(i), float(scores[i])) for i in top if scores[i] > 0)
        return out

    def _char(self, q: _QueryTerms) -> np.ndarray:
        n = len(self.entries)
        ids: list[np.ndarray] = []
        ws: list[np.ndarray] = []
        mass = 0.0
        for g in q.grams:
            idf = self._gram_idf.get(g)
            if idf is None:
                mass += math.log(1.0 + n)
                continue
            mass += idf
            post = self._gram_postings[g]
            ids.append(post)
            ws.append(np.full(len(post), idf))
        if not ids or mass == 0:
            return np.zeros(n)
        overlap = np.bincount(np.concatenate(ids), weights=np.concatenate(ws), minlength=n)
        return np.asarray(overlap / np.sqrt(mass * self._gram_mass))

    def _features(self, q: _QueryTerms, i: int, char_cov: float) -> list[float]:
        mass = sum(q.idf.values()) or 1.0
        best: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)
        best_score = -1.0
        max_fuzzy = 0.0
        for p in self._phrases[i]:
            matched = sum(q.idf[t] * w for t, w in q.uni.items() if t in p.uni)
            q_cov = matched / mass
            p_mass = sum(self._idf.get(t, self._max_idf) for t in p.uni) or 1.0
            p_cov = sum(self._idf.get(t, self._max_idf) for t in p.uni if t in q.uni) / p_mass
            bi_cov = len(q.bi & p.bi) / len(q.bi) if q.bi else q_cov
            fz = 0.0 if p.is_tags else fuzz.WRatio(q.text, p.text) / 100.0
            if p.is_tags:
                q_cov *= 0.85
            max_fuzzy = max(max_fuzzy, fz)
            score = 0.4 * q_cov + 0.2 * p_cov + 0.15 * bi_cov + 0.25 * fz
            if score > best_score:
                best_score, best = score, (q_cov, p_cov, bi_cov, fz)
        doc = self._doc_uni[i]
        doc_cov = sum(q.idf[t] * w for t, w in q.uni.items() if t in doc) / mass
        accents = 1.0
        if q.typed_with_diacritics:
            marked = [t for t in q.accented if t != _strip(t)]
            if marked:
                agree = self._doc_accented[i]
                accents = sum(1.0 for t in marked if t in agree) / len(marked)
        return [*best, max_fuzzy, doc_cov, min(char_cov, 1.0), accents, 1.0]

    def _score_reading(self, tokens: tuple[str, ...], stripped: tuple[str, ...], typed: bool) -> dict[int, float]:
        q = self._terms(tokens, stripped, typed)
        candidates = self._lexical(q)
        char = self._char(q)
        if len(char):
            top = np.argpartition(-char, min(CHAR_CANDIDATES, len(char) - 1))[:CHAR_CANDIDATES]
            for i in top:
                if char[i] > 0:
                    candidates.setdefault(int(i), 0.0)
        out: dict[int, float] = {}
        for i in candidates:
            f = self._features(q, i, float(char[i]) if len(char) else 0.0)
            out[i] = sum(w * x for w, x in zip(WEIGHTS, f, strict=True))
        return out

    def explain(self, text: str, entry_id: str) -> dict[str, float]:
        """The features of one entry for one question (for tuning and for curious staff)."""
        norm = self.normalizer.normalize(text[:MAX_QUERY_CHARS])
        q = self._terms(norm.tokens, norm.stripped, norm.typed_with_diacritics)
        i = next(k for k, e in enumerate(self.entries) if e.id == entry_id)
        char = self._char(q)
        return dict(zip(FEATURES, self._features(q, i, float(char[i])), strict=True))

    def features_for(self, text: str, limit: int = 10) -> list[tuple[str, list[float]]]:
        """Candidate entries and their feature vectors, best first (used to fit the weights)."""
        norm = self.normalizer.normalize(text[:MAX_QUERY_CHARS])
        if not norm.stripped:
            return []
        q = self._terms(norm.tokens, norm.stripped, norm.typed_with_diacritics)
        char = self._char(q)
        scored = self._score_reading(norm.tokens, norm.stripped, norm.typed_with_diacritics)
        ranked = sorted(scored, key=lambda i: (-scored[i], i))[:limit]
        return [(self.entries[i].id, self._features(q, i, float(char[i]))) for i in ranked]

    def search(self, text: str, limit: int = 5) -> SearchResult:
        """Find the entries that answer ``text``; decide whether to answer, suggest or decline."""
        if not isinstance(text, str):
            text = ""
        norm = self.normalizer.normalize(text[:MAX_QUERY_CHARS])
        if not norm.stripped or not self.entries:
            return SearchResult(text, norm.text, Decision.DECLINE, ())
        readings = [(norm.tokens, norm.stripped)]
        readings += [(alt, tuple(_strip(t) for t in alt)) for alt in norm.alternatives]
        scores: dict[int, float] = {}
        for tokens, stripped in readings:
            for i, s in self._score_reading(tokens, stripped, norm.typed_with_diacritics).items():
                if s > scores.get(i, -math.inf):
                    scores[i] = s
        ranked = sorted(scores, key=lambda i: (-scores[i], i))[:limit]
        candidates = tuple(Candidate(self.entries[i], _sigmoid(scores[i])) for i in ranked)
        return SearchResult(text, norm.text, _decide(candidates), candidates)


def _strip(token: str) -> str:
    return strip_accents(token)


def _sigmoid(x: float) -> float:
    return round(1.0 / (1.0 + math.exp(-x)), 4)


def _decide(candidates: Sequence[Candidate]) -> Decision:
    if not candidates or candidates[0].score < SUGGEST_AT:
        return Decision.DECLINE
    if candidates[0].score < ANSWER_AT:
        return Decision.SUGGEST
    if len(candidates) > 1 and candidates[0].score - candidates[1].score < MIN_MARGIN:
        return Decision.SUGGEST
    return Decision.ANSWER
