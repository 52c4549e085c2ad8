"""The search engine: an index built once per knowledge base, and a hybrid, calibrated search over it.

Stage 1 picks candidates cheaply: BM25 over accent-stripped syllables and syllable bigrams (question, variants
and tags at full weight, the answer at a lower one), plus a character-trigram channel that forgives typos and
merged words. Stage 2 ranks the candidates with a linear model over normalized features (coverage of the
question's IDF mass by the best phrase, by all phrases and by the whole entry; the reverse coverage; bigrams;
a fuzzy ratio; character overlap; BM25 relative to the best; agreement of diacritics). Stage 3 decides: a
logistic acceptance model over the best candidate (its share of the ranking, its lead over the runner-up, the
question's strongest word that the entry lacks, the share of the question the knowledge base never uses)
gives a calibrated confidence in [0, 1]. Both models are fitted by ``benchmarks/fit_confidence.py``.

Questions about other public services that the base never names (shipped with the calibration data) are indexed
after the entries: a question closer to one of them than to any entry is declined, and they are never offered.
Their words also count in the IDF, so that the words every procedure shares ("làm", "nộp hồ sơ", "ở đâu") weigh
less in a small base about one trade. A question about key entities (a document, an account, a civil-status act;
not one named as what it needs) none of which any entry names is never answered outright, only offered: the
procedure words it shares with the base say nothing about its object.

In a long message, words of the clause that asks (``?``, "làm sao", "ở đâu", "không") weigh more than the
context around it. When the whole message is only offered, it is read in parts on words alone (that clause with
the sentence before it, then its question with each of the first clauses): when a part is answered outright from
the entry the whole message ranks first, and none from another entry, that entry is answered. A candidate only
offered is also answered from a lower calibrated threshold when it stays first with each of the question's
strongest words left out in turn: such an answer does not hang on any one word.

With the embedding model (:mod:`bot.kb.semantic`), the question is read whole, with diacritics restored from the
base's own words (:mod:`bot.kb.diacritics`).
The model adds candidates and re-scores them by cosine, and when it alone picks the same entry as the ranking, a
lower calibrated threshold answers. Its margin for each candidate (how far it prefers that entry to every other)
is a vote added to the confidence's log-odds (:func:`meaning_vote`): an answer the words find and the meaning does
not is held back. It runs only where it can change the outcome: not when words alone would answer even with the
vote fully against them, nor when no cosine gap could overturn the lexical lead and no vote change the decision.

An index rebuilt after an edit (or for calibration's held-out copy) takes every unchanged entry's rows from the
index it replaces, or at start from the rows the last build saved (:mod:`bot.kb.index_cache`).
"""

from __future__ import annotations

import copy
import logging
import math
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate, chain, pairwise
from typing import Protocol

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.kb.calibration import SHIPPED, Calibration, bank, other_services
from bot.kb.calibration import calibrate as fit_calibration
from bot.kb.diacritics import DiacriticRestorer
from bot.kb.models import Entry, KnowledgeBase
from bot.kb.normalize import Normalized, Normalizer, builtin_lexicon, strip_accents
from bot.kb.result import Candidate, Decision, SearchResult
from bot.kb.semantic import SemanticModel, shared_model

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1000  # the rest of a longer message is ignored
BM25_K1 = 1.2
BM25_B = 0.75
ANSWER_FIELD_WEIGHT = 0.3
LEXICAL_CANDIDATES = 12
CHAR_CANDIDATES = 6
TOPIC_SMOOTHING = 1.0  # pseudo-count pulling a rare word's topic toward the categories' sizes
ACCENT_MISMATCH_CREDIT = 0.5  # a word typed with other diacritics than the entry's ("thẻ" vs "thế")
CONTEXT_CLAUSE_WEIGHT = 0.4  # words outside the question-bearing clause of a long message
LONG_MESSAGE_TOKENS = 14
TOPIC_CLAUSES = 2  # first clauses of a long message each read with its question (all: +1 right answer in 1,429)
STABLE_WORDS = 4  # a question's strongest words left out in turn to see whether its best entry stays first
SEMANTIC_PHRASES = 1  # phrases embedded per entry, question first: 3 and 6 measured no better, at 3-6x the load
SEMANTIC_MAX_GAP = 0.12  # cosine gaps between candidates beyond this are not seen: a larger lexical lead stands
SEMANTIC_CANDIDATES = 8  # entries the embedding adds to the lexical candidates
DIACRITIC_SHARE_FULL = 0.5  # share of words with marks at which a question counts as typed with diacritics
MEANING_WEIGHT = 40.0  # log-odds per unit of the embedding's margin (fitted on the dev half, see README)
MEANING_MARGIN_CLIP = 0.05  # 90% of margins lie within; 0.1 decided the same on the dev half, and runs the model more
_REPEATS = re.compile(r"(.)\1+")
_TRAILING_REPEAT = re.compile(r"(.)\1+$")
_CLAUSE_SPLIT = re.compile(r"[.!?;:\n]+|,\s+(?=\S+\s+\S+\s+\S+)")
# Words that only ask or address someone, accent-stripped: a question made of nothing else names no topic.
_ASKING_WORDS = frozenset(
    (
        "lam", "sao", "the", "nao", "o", "dau", "bao", "nhieu", "lau", "gio", "khong", "ko", "chua", "co", "phai",
        "duoc", "dc", "gi", "ai", "can", "hay", "nhu", "vay", "va", "a", "ha", "ah", "nhe", "voi", "cho", "hoi",
        "giup", "minh", "toi", "em", "anh", "chi", "ban", "ad", "oi", "vang", "da", "u", "roi", "nua", "ra", "tn",
    )
)  # fmt: skip
# Words before a key entity that make it a means, not the subject: "cần", "mang (theo)", "kèm (theo)", "bằng",
# "qua", "dùng", "xuất trình"; and document nouns that may stand between them ("cần giấy khai sinh", "mang theo thẻ
# căn cước").
_MEANS_WORDS = frozenset(("can", "mang", "kem", "theo", "bang", "qua", "dung", "trinh"))
_DOCUMENT_NOUNS = frozenset(("giay", "the", "ban", "so"))
_QUESTION_MARKERS = re.compile(
    r"\b(gi|sao|the nao|o dau|bao nhieu|bao lau|bao gio|khong|chua|co phai|duoc khong|nao|ai|can gi|hay khong)\b"
)

# Fitted by benchmarks/fit_confidence.py on the dev half of the labelled questions (README, "Accuracy").
FEATURES = (
    "q_cov", "p_cov", "f1", "bi_cov", "fuzzy", "union_cov", "doc_cov", "doc_bi_cov", "answer_cov",
    "char_cov", "bm25_rel", "match_bm25_rel", "bm25_norm", "accents", "topic", "distinct_cov", "bias",
)  # fmt: skip
RANK_WEIGHTS = (
    5.846,
    1.841,
    0.333,
    -2.488,
    6.246,
    -4.523,
    6.297,
    3.552,
    1.157,
    11.214,
    4.181,
    2.348,
    1.240,
    2.923,
    2.966,
    -3.892,
    0.000,
)
ACCEPT_FEATURES = (
    "share×cov", "lead×cov", "q_cov", "union_cov", "doc_cov", "accents", "char_cov", "bm25_norm",
    "max_unmatched", "oov_mass", "sem_lead", "bias",
)  # fmt: skip
# The sign each acceptance weight must keep, so that the model transfers to knowledge bases it was not fitted on.
ACCEPT_SIGNS = (1, 1, 1, 1, 1, 1, 1, 1, -1, -1, 1, 0)
ACCEPT_WEIGHTS = (
    2.534,
    0.112,
    0.000,
    0.000,
    0.000,
    0.000,
    9.319,
    1.048,
    -0.387,
    0.000,
    0.000,
    -5.345,
)


BACKGROUND_PREFIX = "~other-service-"  # ids of the indexed questions about other services
_NO_TERM = -1  # the id of a query term the index has never seen: no entry holds it


@dataclass(frozen=True, slots=True)
class Phrase:
    """One question, variant or tag line of an entry, its words as term ids. A tuple of eight ids takes 104 bytes
    (a numpy array 144, a frozenset 728), and finding an id among so few is as quick as in a set."""

    text: str
    uni: tuple[int, ...]  # its accent-stripped words, each once
    acc: tuple[int, ...]  # the same words with their diacritics
    bi: tuple[int, ...]
    is_tags: bool


@dataclass(frozen=True)
class _Query:
    uni: dict[str, float]  # stripped unigram → match weight (1.0, or less for a typo correction)
    marked: dict[str, str]  # stripped unigram → the accented word the citizen typed, for words typed with marks
    idf: dict[str, float]  # unigram → idf × clause weight (unknown words get the maximum idf)
    bi: frozenset[str]
    text: str
    accented: tuple[str, ...]
    typed_with_diacritics: bool
    grams: frozenset[str]
    mass: float
    oov_mass: float  # share of the mass in words the knowledge base never uses
    # The same words as term ids (_NO_TERM for a word the index has never seen), mapped once per query:
    uni_ids: tuple[int, ...]  # each word of ``uni``, in its order
    typed_ids: tuple[int, ...]  # the accented form typed for each word of ``uni`` (_NO_TERM where none)
    bi_ids: frozenset[int]  # the bigrams of ``bi`` the index has
    uni_array: np.ndarray  # ``uni_ids`` as int32, to search the entries' sorted id arrays
    accent_array: np.ndarray  # ``typed_ids``, then each word of ``accented`` that carries diacritics
    bi_array: np.ndarray  # ``bi_ids``
    # Per term id of a word the base has: (weight, the accented form's id or None when typed without marks,
    # plain idf). A phrase holds a handful of ids, so looking each up here beats scanning the question's words.
    by_id: dict[int, tuple[float, int | None, float]]
    weighted: tuple[tuple[str, float, str | None], ...] = ()  # (word, idf × match weight, accented form typed)


@dataclass(frozen=True, slots=True)
class _Held:
    """Which of a query's terms one entry holds, field by field: each list is aligned with the query's unigrams
    (the ``*_accented`` ones with the accented forms typed for them)."""

    match: list[bool]  # in the question, variants and tags
    answer: list[bool]
    doc: list[bool]  # in either
    match_accented: list[bool]
    answer_accented: list[bool]
    doc_accented: list[bool]
    doc_marked: list[bool]  # per word of the query typed with diacritics: whether the entry has that accented form
    doc_bigrams: int  # how many of the query's known bigrams the entry has


@dataclass(slots=True)
class _Pool:
    """One reading's lexical candidates and what they were scored from, kept so that the entries the embedding
    adds are scored without reading the question again."""

    q: _Query
    doc: np.ndarray  # every entry's BM25 over its question, variants, tags and answer
    match: np.ndarray  # every entry's BM25 over its question, variants and tags
    char: np.ndarray  # every entry's letter-trigram similarity
    topics: np.ndarray  # per category
    tops: tuple[float, float]  # the best ``doc`` and ``match`` scores
    held: dict[int, _Held] = field(default_factory=dict)
    features: dict[int, list[float]] = field(default_factory=dict)  # ``distinct`` (pool-wide) not yet in


def _bigrams(tokens: Sequence[str]) -> list[str]:
    return [sys.intern(f"{a}_{b}") for a, b in pairwise(tokens)]


def _interned(norm: Normalized) -> Normalized:
    """The same text with every word interned: an index holds each distinct word once, not once per entry."""
    return replace(norm, tokens=tuple(map(sys.intern, norm.tokens)), stripped=tuple(map(sys.intern, norm.stripped)))


def _trigrams(tokens: Sequence[str]) -> set[str]:
    text = f" {' '.join(tokens)} "
    return {text[i : i + 3] for i in range(len(text) - 2)}


class _TermRows:
    """A set of term ids per entry, each kept as a sorted slice of one int32 array (the rows of a CSR matrix):
    4 bytes a term, where a frozenset of strings costs 30 to 60."""

    def __init__(self, ids: np.ndarray, bounds: np.ndarray) -> None:
        self._ids = ids
        self._bounds = bounds  # row i is ids[bounds[i]:bounds[i + 1]]
        self._top = int(ids.max()) if len(ids) else 0

    @classmethod
    def of(cls, rows: Sequence[np.ndarray]) -> _TermRows:
        """From each entry's sorted, distinct ids."""
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        bounds = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(lengths)))
        ids = np.concatenate(rows).astype(np.int32, copy=False) if rows else np.zeros(0, dtype=np.int32)
        return cls(ids, bounds)

    def where(self, keep: np.ndarray) -> _TermRows:
        """The same rows holding only the ids where ``keep`` (aligned with all ids, row after row) is true."""
        kept = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(keep, dtype=np.int64)))
        return _TermRows(self._ids[keep], kept[self._bounds])

    @property
    def flat(self) -> np.ndarray:
        """Every row's ids, row after row."""
        return self._ids

    def owners(self) -> np.ndarray:
        """The row of each id in :attr:`flat`."""
        return np.repeat(np.arange(len(self._bounds) - 1, dtype=np.int64), np.diff(self._bounds))

    def row(self, i: int) -> np.ndarray:
        """Entry ``i``'s term ids, sorted."""
        return self._ids[self._bounds[i] : self._bounds[i + 1]]

    def holds(self, entries: Sequence[int], ids: np.ndarray) -> np.ndarray:
        """Whether each of ``entries`` (rows of the result) holds each of ``ids`` (columns; :data:`_NO_TERM`
        never). One sorted search over the entries' rows laid end to end, each id offset by its row's place so
        that rows never mix: a call per field and query, not per candidate."""
        rows = np.asarray(entries, dtype=np.int64)
        starts = self._bounds[rows]
        lengths = self._bounds[rows + 1] - starts
        total = int(lengths.sum())
        if not total or not len(ids):
            return np.zeros((len(rows), len(ids)), dtype=bool)
        span = max(self._top, int(ids.max())) + 2  # more than any id, and span - 1 is none
        place = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
        offset = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        keys = place * span + self._ids[np.arange(total) + offset]
        wanted = np.arange(len(rows), dtype=np.int64)[:, None] * span + np.where(ids < 0, span - 1, ids)[None, :]
        at = np.minimum(np.searchsorted(keys, wanted), total - 1)
        found: np.ndarray = keys[at] == wanted
        return found


class _Postings:
    """An inverted index in CSR form: a term's entries and weights are one slice of two flat arrays, found by the
    term's number in a vocabulary (shared with the index's other term structures where it can be)."""

    def __init__(self, numbers: dict[str, int], bounds: np.ndarray, ids: np.ndarray, weights: np.ndarray) -> None:
        self._numbers = numbers
        self._bounds = bounds  # term k's slice is bounds[k]:bounds[k + 1]
        self._ids = ids
        self._weights = weights

    def get(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The entries containing ``term`` and their weights, or None."""
        k = self._numbers.get(term)
        if k is None or k + 1 >= len(self._bounds):
            return None
        start, end = int(self._bounds[k]), int(self._bounds[k + 1])
        if start == end:
            return None
        return self._ids[start:end], self._weights[start:end]

    @classmethod
    def build(cls, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, numbers: dict[str, int]) -> _Postings:
        """From (term number, entry, weight) triples."""
        term_ids = np.asarray(rows, dtype=np.int64)
        order = np.argsort(term_ids, kind="stable")
        counts = np.bincount(term_ids, minlength=len(numbers))
        bounds = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(counts)))
        # float32 weights: half the memory of the largest arrays of a big base, and far finer than any decision.
        return cls(
            numbers, bounds, np.asarray(cols, dtype=np.int32)[order], np.asarray(values, dtype=np.float32)[order]
        )


def _bm25_postings(
    terms: np.ndarray, entries: np.ndarray, freqs: np.ndarray, n: int, idf: np.ndarray, numbers: dict[str, int]
) -> _Postings:
    """BM25 weights of every (term, entry) pair, given as aligned arrays; ``idf`` by term number."""
    lengths = np.bincount(entries, weights=freqs, minlength=n)
    avg = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
    norm_len = BM25_K1 * (1 - BM25_B + BM25_B * lengths[entries] / avg)
    weights = idf[terms] * freqs * (BM25_K1 + 1) / (freqs + norm_len)
    return _Postings.build(terms, entries, weights, numbers)


def _content(entry: Entry) -> tuple[str, tuple[str, ...], tuple[str, ...], str]:
    """What an entry's part of the index depends on (with the normalizer)."""
    return (entry.question, entry.variants, entry.tags, entry.answer)


def _same_lexicon(a: KnowledgeBase, b: KnowledgeBase) -> bool:
    """Whether two bases normalize text alike (same abbreviations and synonyms)."""
    return a.abbreviations == b.abbreviations and a.synonyms == b.synonyms


def _sorted_ids(ids: Iterable[int]) -> np.ndarray:
    return np.array(sorted(set(ids)), dtype=np.int32)


@dataclass(frozen=True, slots=True)
class EntryRows:
    """One entry's part of an index, in the index's term ids: made from its text, or taken from the index it
    replaces when the entry did not change."""

    phrases: tuple[Phrase, ...]  # their ``mass`` is set once the whole base's IDF is known
    terms: np.ndarray  # sorted ids of the stripped words and bigrams of the whole entry
    match_counts: np.ndarray  # per term, its occurrences in the question, variants and tags
    answer_counts: np.ndarray  # per term, its occurrences in the answer
    match_accented: np.ndarray
    answer_uni: np.ndarray
    answer_accented: np.ndarray
    grams: np.ndarray  # its distinct character trigrams, by their own numbering
    entities: tuple[frozenset[str], ...]
    vectors: np.ndarray | None = None  # its rows of the embedding matrix, when taken from a previous index


MAX_COUNT = np.iinfo(np.uint16).max
REBUILDS_BEFORE_FRESH = 50  # incremental rebuilds in a row before the vocabulary is started afresh


class Reusable(Protocol):
    """Entries an index can take over instead of reading them again: the index it replaces, or one saved on
    disk (:mod:`bot.kb.index_cache`). Rows are in the ids of ``vocabulary``, which the new index extends."""

    @property
    def vocabulary(self) -> dict[str, int]: ...

    @property
    def gram_vocabulary(self) -> dict[str, int]: ...

    @property
    def rebuilds(self) -> int: ...

    def reusable_for(self, normalizer: Normalizer) -> bool:
        """Whether its rows were made by a normalizer that reads text as ``normalizer`` does."""
        ...

    def rows_for(self, entry: Entry) -> EntryRows | None:
        """The rows made from exactly ``entry``'s text, if it has them."""
        ...


class _Restorer:
    """An index's :class:`DiacriticRestorer`, learnt from its entries the first time the model needs it (a search
    that words alone answer never does). Shallow copies of the index share it."""

    def __init__(self, index: SearchIndex) -> None:
        self._index = index
        self._lock = threading.Lock()
        self._restorer: DiacriticRestorer | None = None

    def get(self) -> DiacriticRestorer | None:
        """The restorer; None for an index without the model."""
        index = self._index
        if index.semantic is None or not index.entries:
            return None
        with self._lock:
            if self._restorer is None:
                self._restorer = DiacriticRestorer(
                    index.normalizer.normalize(text, drop_fillers=False).tokens
                    for entry in index.entries
                    for text in (entry.question, *entry.variants, entry.answer)
                )
            return self._restorer


class SearchIndex:
    """An immutable index over one knowledge base; build it once, search it from any thread."""

    def __init__(
        self,
        kb: KnowledgeBase,
        normalizer: Normalizer | None = None,
        *,
        calibrate: bool = True,
        semantic: SemanticModel | bool = True,
        previous: Reusable | None = None,
        all_cores: bool = False,
        background: Sequence[str] | None = None,
    ) -> None:
        """Index ``kb``. ``semantic``: True for the shared embedding model (if it loads), False for lexical
        only, or a model to use. ``calibrate``: choose the fusion weight and the decision thresholds from ``kb``
        itself. ``previous``: an index this one replaces (a reload, a held-out copy): its entries that did not
        change are taken from it instead of being read again. ``all_cores``: embed on every core (a first load,
        which nothing else waits on). ``background``: questions about other services, indexed beside the entries
        so that a question closer to one of them than to any entry is declined; by default the shipped ones whose
        topics ``kb`` never names."""
        self.kb = kb
        if normalizer is None and isinstance(previous, SearchIndex) and _same_lexicon(previous.kb, kb):
            normalizer = previous.normalizer
        self.normalizer: Normalizer = normalizer or Normalizer(
            builtin_lexicon().extended(kb.abbreviations, [list(g) for g in kb.synonyms])
        )
        self.entries: tuple[Entry, ...] = kb.entries
        self.semantic: SemanticModel | None = shared_model() if semantic is True else (semantic or None)
        self._all_cores = all_cores
        self._entity_groups = self._exclusive_entities()
        self._entity_sets: dict[tuple[frozenset[str], ...], tuple[frozenset[str], ...]] = {}
        old = previous if previous is not None and previous.reusable_for(self.normalizer) else None
        # Every stripped word, bigram and accented word has one id (and every trigram one of its own numbering);
        # a rebuilt index keeps its predecessor's numbering, so the unchanged entries' rows stay valid.
        self._term_ids: dict[str, int] = dict(old.vocabulary) if old is not None else {}
        self._gram_numbers: dict[str, int] = dict(old.gram_vocabulary) if old is not None else {}
        self._rebuilds: int = old.rebuilds + 1 if old is not None else 0
        self._content_at: dict[tuple[str, tuple[str, ...], tuple[str, ...], str], int] | None = None
        rows: list[EntryRows] = []
        self.reused = 0  # entries taken from ``previous`` (for logs and tests)

        def add(entries: Iterable[Entry]) -> None:
            for entry in entries:
                row = old.rows_for(entry) if old is not None else None
                if row is None:
                    row = self._analyse(entry)
                else:
                    self.reused += 1
                rows.append(row)

        add(self.entries)
        if background is None:  # from the phrases just read (or taken over): nothing is normalized again
            background = other_services((p.text for r in rows for p in r.phrases), self.normalizer)
        # Indexed after the entries: a row at or beyond len(self.entries) is a question about another service.
        extra = tuple(
            Entry(id=f"{BACKGROUND_PREFIX}{k}", category=BACKGROUND_PREFIX, question=q, answer="")
            for k, q in enumerate(background)
        )
        self.documents: tuple[Entry, ...] = self.entries + extra
        add(extra)
        n = len(self.documents)

        terms = _TermRows.of([r.terms for r in rows])
        self._answer_uni = _TermRows.of([r.answer_uni for r in rows])
        self._answer_accented = _TermRows.of([r.answer_accented for r in rows])
        self._match_accented = _TermRows.of([r.match_accented for r in rows])
        match_counts = np.concatenate([r.match_counts for r in rows]) if rows else np.zeros(0, dtype=np.uint16)
        answer_counts = np.concatenate([r.answer_counts for r in rows]) if rows else np.zeros(0, dtype=np.uint16)
        self._terms, self._match_counts, self._answer_counts = terms, match_counts, answer_counts
        is_bigram = np.fromiter(("_" in t for t in self._term_ids), dtype=bool, count=len(self._term_ids))
        bigram = is_bigram[terms.flat]
        in_match = match_counts > 0
        self._match_uni = terms.where(in_match & ~bigram)
        self._doc_bi = terms.where(bigram)

        owners = terms.owners()
        flat = terms.flat.astype(np.int64)
        df = np.bincount(flat, minlength=len(self._term_ids))
        with np.errstate(divide="ignore"):
            idf_by_id = np.where(df > 0, np.log1p((n - df + 0.5) / (df + 0.5)), 0.0)
        # The terms of the entries' text (not the accented words), with the IDF of each.
        self._idf: dict[str, float] = {t: float(idf_by_id[k]) for t, k in self._term_ids.items() if df[k]}
        self._max_idf = math.log(1.0 + (n + 0.5) / 0.5)
        doc_freqs = match_counts + ANSWER_FIELD_WEIGHT * answer_counts
        self._doc_postings = _bm25_postings(flat, owners, doc_freqs, n, idf_by_id, self._term_ids)
        self._match_postings = _bm25_postings(
            flat[in_match], owners[in_match], match_counts[in_match].astype(np.float64), n, idf_by_id, self._term_ids
        )
        self._categories = sorted({e.category for e in self.documents})
        self._category_of = [self._categories.index(e.category) for e in self.documents]
        self._topic = self._topic_table()
        self._vocab = sorted(t for t in self._idf if "_" not in t)
        self._vocab_set = frozenset(self._vocab)
        # Phrases are shared with the index they came from; only their IDF masses, which every edit shifts, are
        # computed again (in one pass, the same sums in the same order as phrase by phrase).
        self._phrases = [r.phrases for r in rows]
        every = [p for phrases in self._phrases for p in phrases]
        lengths = np.fromiter((len(p.uni) for p in every), dtype=np.int64, count=len(every))
        ids_of_all = np.fromiter(chain.from_iterable(p.uni for p in every), dtype=np.int64, count=int(lengths.sum()))
        mass = np.bincount(
            np.repeat(np.arange(len(every)), lengths), weights=idf_by_id[ids_of_all], minlength=len(every)
        )
        self._phrase_mass: list[float] = np.where(mass > 0, mass, 1.0).tolist()
        self._phrase_first: list[int] = list(accumulate((len(phrases) for phrases in self._phrases), initial=0))

        self._grams = _TermRows.of([r.grams for r in rows])
        gram_flat = self._grams.flat.astype(np.int64)
        gram_owner = self._grams.owners()
        gram_df = np.bincount(gram_flat, minlength=len(self._gram_numbers))
        with np.errstate(divide="ignore"):
            gram_idf = np.where(gram_df > 0, np.log1p(n / np.maximum(gram_df, 1)), 0.0)
        self._gram_idf = {g: float(gram_idf[k]) for g, k in self._gram_numbers.items() if gram_df[k]}
        self._gram_postings = _Postings.build(gram_flat, gram_owner, gram_idf[gram_flat], self._gram_numbers)
        mass = np.bincount(gram_owner, weights=gram_idf[gram_flat], minlength=n)
        self._gram_mass = np.where(mass > 0, mass, 1.0)
        self._entry_entities = [r.entities for r in rows]
        # Every key entity some entry names (the other services indexed after the entries do not count).
        self._base_entities = frozenset(
            t for named in self._entry_entities[: len(self.entries)] for g in named for t in g
        )
        self.fusion_weight = 0.0  # chosen by calibration; 0 ranks lexically
        self.accept_weights: tuple[float, ...] | None = None  # fitted by calibration; None: the shipped ones
        self._embed_entries(rows)
        self.calibration = Calibration(*SHIPPED)
        self.calibrated = threading.Event()  # set once this index has its own calibration
        if calibrate:
            self.recalibrate()
            self.calibrated.set()

    def _analyse(self, entry: Entry) -> EntryRows:
        """Read one entry's text into its rows, numbering the terms the index has not seen yet."""
        ids = self._term_ids
        match: dict[int, int] = {}
        accented: set[int] = set()
        grams: set[str] = set()
        phrases: list[Phrase] = []
        texts = [(entry.question, False), *((v, False) for v in entry.variants)]
        if entry.tags:
            texts.append((" ".join(entry.tags), True))
        for text, is_tags in texts:
            norm = _interned(self.normalizer.normalize(text))
            if not norm.stripped:
                continue
            bigrams = _bigrams(norm.stripped)
            for term in (*norm.stripped, *bigrams):
                k = ids.setdefault(term, len(ids))
                match[k] = match.get(k, 0) + 1
            tokens = self._new_ids(norm.tokens)
            accented.update(tokens)
            phrases.append(
                Phrase(" ".join(norm.stripped), self._new_ids(norm.stripped), tokens, self._new_ids(bigrams), is_tags)
            )
            grams |= _trigrams(norm.stripped)
        answer = _interned(self.normalizer.normalize(entry.answer, drop_fillers=False))
        in_answer: dict[int, int] = {}
        for term in (*answer.stripped, *_bigrams(answer.stripped)):
            k = ids.setdefault(term, len(ids))
            in_answer[k] = in_answer.get(k, 0) + 1
        terms = _sorted_ids((*match, *in_answer))
        keys = terms.tolist()
        numbers = self._gram_numbers
        return EntryRows(
            phrases=tuple(phrases),
            terms=terms,
            match_counts=np.array([min(match.get(k, 0), MAX_COUNT) for k in keys], dtype=np.uint16),
            answer_counts=np.array([min(in_answer.get(k, 0), MAX_COUNT) for k in keys], dtype=np.uint16),
            match_accented=_sorted_ids(accented),
            answer_uni=_sorted_ids(self._new_ids(answer.stripped)),
            answer_accented=_sorted_ids(self._new_ids(answer.tokens)),
            grams=_sorted_ids(numbers.setdefault(g, len(numbers)) for g in grams),
            entities=self._entities(" ".join((entry.question, *entry.variants, *entry.tags))),
        )

    # What an index that replaces this one takes over (see :class:`Reusable`).

    @property
    def vocabulary(self) -> dict[str, int]:
        """Term ids by term (an id is its term's place: numbered in insertion order)."""
        return self._term_ids

    @property
    def gram_vocabulary(self) -> dict[str, int]:
        """Character-trigram numbers by trigram."""
        return self._gram_numbers

    @property
    def rebuilds(self) -> int:
        """Indexes in the chain of rebuilds this one ends (0: built from scratch)."""
        return self._rebuilds

    def reusable_for(self, normalizer: Normalizer) -> bool:
        """Whether an index normalizing with ``normalizer`` may take over this one's entries."""
        return normalizer is self.normalizer and self._rebuilds < REBUILDS_BEFORE_FRESH

    def rows_for(self, entry: Entry) -> EntryRows | None:
        """The rows this index holds for an entry with exactly ``entry``'s text, if any."""
        if self._content_at is None:
            self._content_at = {_content(e): i for i, e in enumerate(self.documents)}
        i = self._content_at.get(_content(entry))
        return None if i is None else self.rows(i)

    def row_arrays(self) -> dict[str, np.ndarray]:
        """Every entry's id rows as flat arrays and bounds, for saving without an object per entry: ``<name>_ids``
        and ``<name>_bounds`` for terms, match_accented, answer_uni, answer_accented and grams, and the counts
        aligned with the terms."""
        out = {"match_counts": self._match_counts, "answer_counts": self._answer_counts}
        fields = {
            "terms": self._terms,
            "match_accented": self._match_accented,
            "answer_uni": self._answer_uni,
            "answer_accented": self._answer_accented,
            "grams": self._grams,
        }
        for name, rows in fields.items():
            out[f"{name}_ids"], out[f"{name}_bounds"] = rows.flat, rows._bounds
        return out

    def phrases(self, i: int) -> tuple[Phrase, ...]:
        """Entry ``i``'s phrases (question, variants, tags) as term ids."""
        return self._phrases[i]

    def entities(self, i: int) -> tuple[frozenset[str], ...]:
        """Per group of exclusive key entities, those entry ``i`` names."""
        return self._entry_entities[i]

    def rows(self, i: int) -> EntryRows:
        """Entry ``i``'s rows as this index holds them."""
        start, end = int(self._terms._bounds[i]), int(self._terms._bounds[i + 1])
        vectors = None
        if len(self._sem_starts):
            stop = self._sem_starts[i + 1] if i + 1 < len(self._sem_starts) else len(self._sem_matrix)
            vectors = self._sem_matrix[self._sem_starts[i] : stop]
        return EntryRows(
            phrases=self._phrases[i],
            terms=self._terms.row(i),
            match_counts=self._match_counts[start:end],
            answer_counts=self._answer_counts[start:end],
            match_accented=self._match_accented.row(i),
            answer_uni=self._answer_uni.row(i),
            answer_accented=self._answer_accented.row(i),
            grams=self._grams.row(i),
            entities=self._entry_entities[i],
            vectors=vectors,
        )

    def _new_ids(self, terms: Iterable[str]) -> tuple[int, ...]:
        """The distinct ids of ``terms``, numbering the new ones (while the index is built)."""
        ids = self._term_ids
        return tuple(dict.fromkeys(ids.setdefault(t, len(ids)) for t in terms))

    def _id(self, term: str) -> int:
        """The id of ``term``, or :data:`_NO_TERM`."""
        return self._term_ids.get(term, _NO_TERM)

    def term_sets(self, i: int) -> dict[str, frozenset[str]]:
        """Entry ``i``'s indexed terms by field, decoded back into strings: "match", "match_accented", "answer",
        "answer_accented", "doc_bigrams", then "phrase K", "phrase K accented" and "phrase K bigrams" per phrase.
        For checks and tests: it inverts the whole vocabulary."""
        terms = list(self._term_ids)  # an id is its term's position: ids are numbered in insertion order

        def decode(ids: Iterable[int]) -> frozenset[str]:
            return frozenset(terms[int(k)] for k in ids)

        out = {
            "match": decode(self._match_uni.row(i)),
            "match_accented": decode(self._match_accented.row(i)),
            "answer": decode(self._answer_uni.row(i)),
            "answer_accented": decode(self._answer_accented.row(i)),
            "doc_bigrams": decode(self._doc_bi.row(i)),
        }
        for k, p in enumerate(self._phrases[i]):
            out[f"phrase {k}"] = decode(p.uni)
            out[f"phrase {k} accented"] = decode(p.acc)
            out[f"phrase {k} bigrams"] = decode(p.bi)
        return out

    def _topic_table(self) -> dict[str, np.ndarray]:
        """P(category | word) for every word of the questions, variants and tags, smoothed toward the prior."""
        k = len(self._categories)
        prior = np.bincount(self._category_of, minlength=k).astype(float)
        prior /= max(1.0, prior.sum())
        terms = list(self._term_ids)  # an id is its term's position
        counts: dict[str, np.ndarray] = {}
        for i, category in enumerate(self._category_of):
            for term in self._match_uni.row(i).tolist():
                counts.setdefault(terms[term], np.zeros(k))[category] += 1.0
        return {t: (c + TOPIC_SMOOTHING * prior) / (c.sum() + TOPIC_SMOOTHING) for t, c in counts.items()}

    def _topic_scores(self, q: _Query) -> np.ndarray:
        """For each category, the share of the question's weight whose words point to it."""
        total = np.zeros(len(self._categories))
        mass = 0.0
        for t, w in q.uni.items():
            dist = self._topic.get(t)
            if dist is not None:
                total += dist * q.idf[t] * w
                mass += q.idf[t] * w
        return total / mass if mass > 0 else total

    def _embed_entries(self, rows: Sequence[EntryRows]) -> None:
        """Each entry's question as a vector: taken from the index this one replaces, else from the on-disk cache
        or the model."""
        # Every phrase vector in one float32 matrix (an entry's rows contiguous; float16 has no fast product).
        self._sem_matrix = np.zeros((0, 0), dtype=np.float32)
        self._sem_starts = np.zeros(0, dtype=np.int64)
        self._restorer = _Restorer(self)
        if self.semantic is None or not self.entries:
            return
        texts: list[str] = []
        owner: list[int] = []
        for i, (entry, row) in enumerate(zip(self.documents, rows, strict=True)):
            if row.vectors is not None:
                continue
            for phrase in (entry.question, *entry.variants[: SEMANTIC_PHRASES - 1]):
                texts.append(self.normalizer.normalize(phrase).text or entry.answer[:MAX_QUERY_CHARS])
                owner.append(i)
        try:
            fresh = self.semantic.embed(texts, all_cores=self._all_cores)
        except Exception as exc:  # the engine must keep answering lexically
            log.warning("entry embeddings failed, ranking lexically: %s", exc)
            self.semantic = None
            return
        parts: list[np.ndarray] = []
        per_entry = Counter(owner)
        taken = 0
        for i, row in enumerate(rows):
            block = row.vectors
            if block is None:
                block = fresh[taken : taken + per_entry[i]]
                taken += per_entry[i]
            parts.append(block)
        lengths = np.fromiter((len(b) for b in parts), dtype=np.int64, count=len(parts))
        self._sem_matrix = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
        self._sem_starts = np.cumsum(lengths) - lengths

    def _exclusive_entities(self) -> list[dict[str, str]]:
        """The shipped groups of key entities that exclude each other, normalized like any text: each maps every name
        of its members to the member's first name (one member may have several: "giấy phép lái xe", "bằng lái")."""
        groups = []
        for group in bank()["exclusive_entities"]:
            names: dict[str, str] = {}
            for member in group:
                forms = [f for f in (self.normalizer.normalize(a).stripped_text for a in _aliases(member)) if f]
                for form in forms:
                    names.setdefault(form, forms[0])
            if len(set(names.values())) > 1:
                groups.append(names)
        return groups

    def _entities(self, text: str) -> tuple[frozenset[str], ...]:
        """Per group, the key entities ``text`` names (a name inside a longer name it holds does not count)."""
        return self._entities_in(self.normalizer.normalize(text).stripped_text)

    def _entities_in(self, stripped_text: str) -> tuple[frozenset[str], ...]:
        """:meth:`_entities` of text already normalized and accent-stripped."""
        found = tuple(
            frozenset(names[t] for t in named)
            for names, named in zip(self._entity_groups, self._names_in(stripped_text), strict=True)
        )
        # Most entries name the same few entities, or none: one shared tuple each instead of one per entry.
        return self._entity_sets.setdefault(found, found)

    def _names_in(self, stripped_text: str) -> list[set[str]]:
        """Per group, the names of key entities ``stripped_text`` holds, as written there."""
        padded = f" {stripped_text} "
        out = []
        for names in self._entity_groups:
            named = {t for t in names if f" {t} " in padded}
            out.append({t for t in named if not any(t != o and f" {t} " in f" {o} " for o in named)})
        return out

    def contradicts(self, text: str, i: int) -> bool:
        """True when ``text`` names a key entity and entry ``i`` names another of the same group but not it
        (VNeID asked, VssID answered)."""
        return _contradict(self._entities(text), self._entry_entities[i])

    def foreign(self, text: str) -> bool:
        """True when ``text`` is about key entities and no entry of the base names any of those it names (a question
        about an ID card on a base about power and water). In a long message only its question (the last clause that
        asks) counts: the story around it names documents in passing; and an entity named only as what is needed or
        used ("có cần căn cước không", "trả qua VNeID") is not what the question is about."""
        found = self._asking(text)
        if found is not None:
            clauses, _, asking = found
            text = clauses[asking[-1]]
        norm = self.normalizer.normalize(text)
        per_group = self._names_in(norm.stripped_text)
        named = {names[t] for names, written in zip(self._entity_groups, per_group, strict=True) for t in written}
        if not named or named & self._base_entities:
            return False
        return any(not _only_as_means(norm.stripped, tuple(t.split())) for written in per_group for t in written)

    def meaning_text(self, text: str) -> str:
        """What the embedding reads for ``text``: its normalized words, with diacritics put back from the base's
        own vocabulary into words typed without them. A long message is read whole: the story around its question
        tells the model what "it" refers to, and its vote on the decision was right more often so than on the
        asking clause alone (README, Accuracy)."""
        return self._meaning_of(self.normalizer.normalize(text[:MAX_QUERY_CHARS]).tokens)

    def _meaning_of(self, tokens: Sequence[str]) -> str:
        """:meth:`meaning_text` of a question already normalized into ``tokens``."""
        restorer = self._restorer.get()
        return " ".join(restorer.restore(tokens) if restorer is not None else tokens)

    def _entry_cosines(self, vector: np.ndarray) -> np.ndarray:
        """Each entry's best phrase cosine with a query vector."""
        cosines: np.ndarray = np.maximum.reduceat(self._sem_matrix @ vector, self._sem_starts)
        return cosines

    def meaning_margin(self, text: str, i: int) -> float | None:
        """How far the embedding prefers entry ``i`` to every other entry for ``text`` (its best phrase's cosine
        minus the best other entry's; negative when another entry is closer); None without the model."""
        if self.semantic is None or len(self._sem_starts) < 2:
            return None
        reading = self.meaning_text(text)
        if not reading:
            return None
        return _margin(self._entry_cosines(self.semantic.embed_query(reading)), i)

    def margin_of(self, text: str, r: Ranked) -> float | None:
        """:meth:`meaning_margin` of candidate ``r`` of ``text``'s ranking: the one :meth:`rank` found where the model
        ran for it, else computed (the model asked, or its vector taken from the cache)."""
        return r.margin if r.margin is not None else self.meaning_margin(text, r.index)

    def meaning_best(self, text: str) -> int | None:
        """The entry the embedding alone ranks first for ``text`` (None without the model); for benchmarks."""
        if self.semantic is None or not len(self._sem_starts):
            return None
        reading = self.meaning_text(text)
        if not reading:
            return None
        return int(np.argmax(self._entry_cosines(self.semantic.embed_query(reading))))

    def recalibrate(self) -> Calibration:
        """Choose the fusion weight and the decision thresholds from this knowledge base itself (see
        :mod:`bot.kb.calibration`)."""

        def build(other: KnowledgeBase, background: Sequence[str]) -> SearchIndex:
            return SearchIndex(
                other,
                self.normalizer,
                calibrate=False,
                semantic=self.semantic or False,
                previous=self,
                all_cores=self._all_cores,
                background=background,
            )

        try:
            self.calibration = fit_calibration(self, build)
        finally:
            if self.semantic is not None:  # the model's cached vectors: the index holds its own, the disk the rest
                self.semantic.release()
        return self.calibration

    def adopt_calibration(self, other: SearchIndex) -> None:
        """Use ``other``'s calibration until this index has its own (a reload keeps answering meanwhile)."""
        self.calibration, self.fusion_weight, self.accept_weights = (
            other.calibration,
            other.fusion_weight,
            other.accept_weights,
        )

    def recalibrate_live(self) -> None:
        """Recalibrate while this index serves searches: the fitting runs on a shallow twin (calibration changes
        the weights it tries), and the result is swapped in at the end."""
        twin = copy.copy(self)
        twin._all_cores = False  # searches are being served meanwhile
        try:
            twin.recalibrate()
        except Exception:  # the previous calibration stays; searching must not stop
            log.exception("knowledge base calibration failed; the previous thresholds stay")
            return
        self.adopt_calibration(twin)
        self.calibrated.set()

    def prepare_queries(self, texts: Sequence[str]) -> None:
        """Embed what the model reads for ``texts`` ahead, in batches and cached on disk (calibration questions,
        never citizens'), so that searching them later costs no model time."""
        if self.semantic is not None:
            self.semantic.embed([r for r in (self.meaning_text(t) for t in texts) if r], all_cores=self._all_cores)

    @staticmethod
    def _semantic_share(text: str) -> float:
        """How much the embedding is to be trusted for ``text``: the share of its words typed with diacritics,
        relative to ordinary Vietnamese (where about half the words carry marks); 0 without any."""
        words = text.split()
        if not words:
            return 0.0
        marked = sum(1 for w in words if strip_accents(w) != w)
        return min(1.0, marked / len(words) / DIACRITIC_SHARE_FULL)

    def idf(self, word: str) -> float:
        """The inverse document frequency of a word (accented or not); 0.0 for a word the base never uses."""
        return self._idf.get(strip_accents(word), 0.0)

    def words(self, text: str) -> list[str]:
        """The normalized, accented words of ``text``."""
        return list(self.normalizer.normalize(text).tokens)

    def confidence_of(self, text: str) -> tuple[float, str | None]:
        """The best candidate's confidence and id, before any decision."""
        ranked = self.rank(text)
        if not ranked or self.is_background(ranked[0].index):
            return 0.0, None
        return accept_probability(ranked, 0, self.accept_weights), self.entries[ranked[0].index].id

    # ----------------------------------------------------------------------------------------- query side

    def _correct(self, token: str) -> list[tuple[str, float]]:
        """Known words close to an unknown one (typos), or the two known words a merged token splits into."""
        if token in self._vocab_set or token.isdigit() or len(token) < 3:
            return []
        # A key held or pressed twice ("gii", "khongg", "nhaaa"): the last letter first, since "xoong" is a word.
        for squeezed in (_TRAILING_REPEAT.sub(r"\1", token), _REPEATS.sub(r"\1", token)):
            if squeezed != token and squeezed in self._vocab_set:
                return [(squeezed, 0.95)]
        for cut in range(2, len(token) - 1):
            left, right = token[:cut], token[cut:]
            if left in self._vocab_set and right in self._vocab_set:
                return [(left, 0.9), (right, 0.9)]
        found = process.extract(
            token, self._vocab, scorer=Levenshtein.normalized_similarity, score_cutoff=0.74, limit=2
        )
        return [(word, 0.85 * score) for word, score, _ in found]

    def asking_part(self, text: str) -> str | None:
        """In a long message, the clauses that ask, with the sentence just before them (which usually names what
        "it" or "that" is); None for a short message."""
        found = self._asking(text)
        if found is None:
            return None
        clauses, _, asking = found
        return _asking_part_of(clauses, asking)

    def asking_readings(self, text: str) -> list[str]:
        """A long message read in parts: its :meth:`asking_part`, then its question (the last clause that asks)
        with each of the first :data:`TOPIC_CLAUSES` clauses, since the sentence that names the topic is often
        the first, not the one just before the question ("Sổ bảo hiểm ghi sai năm sinh. Tôi làm ở công ty xây
        dựng. Sửa ở đâu?"). Empty for a short message."""
        found = self._asking(text)
        if found is None:
            return []
        clauses, _, asking = found
        last = asking[-1]
        readings = [_asking_part_of(clauses, asking)]
        readings += [f"{clauses[k]} {clauses[last]}" for k in range(min(TOPIC_CLAUSES, last))]
        return list(dict.fromkeys(readings))

    def _asking(self, text: str) -> tuple[list[str], list[tuple[str, ...]], list[int]] | None:
        """A long message's clauses, their stripped words, and which of them ask; None for a short message."""
        clauses = [c for c in _CLAUSE_SPLIT.split(text) if c.strip()]
        if len(clauses) < 2:
            return None
        normalized = [self.normalizer.normalize(c).stripped for c in clauses]
        if sum(len(c) for c in normalized) < LONG_MESSAGE_TOKENS:
            return None
        asking = [k for k, c in enumerate(clauses) if "?" in c or _QUESTION_MARKERS.search(" ".join(normalized[k]))]
        if not asking:
            asking = [len(clauses) - 1]  # Vietnamese usually asks at the end
        return clauses, normalized, asking

    def _clause_weights(self, text: str) -> dict[str, float]:
        """Weights of words outside the clause that asks, in a long message; empty for a short one."""
        found = self._asking(text)
        if found is None:
            return {}
        _, normalized, asking = found
        weights: dict[str, float] = {}
        for k, tokens in enumerate(normalized):
            w = 1.0 if k in asking else CONTEXT_CLAUSE_WEIGHT
            for t in tokens:
                weights[t] = max(weights.get(t, 0.0), w)
        return weights

    def _query(
        self, tokens: tuple[str, ...], stripped: tuple[str, ...], typed: bool, clause_weights: dict[str, float]
    ) -> _Query:
        uni: dict[str, float] = {}
        idf: dict[str, float] = {}
        sequence: list[str] = []
        oov = 0.0
        marked = {s: t for s, t in zip(stripped, tokens, strict=True) if s != t}
        for token in stripped:
            weight = clause_weights.get(token, 1.0)
            fixes = self._correct(token)
            if fixes:
                for word, match in fixes:
                    uni[word] = max(uni.get(word, 0.0), match)
                    idf[word] = max(idf.get(word, 0.0), self._idf[word] * weight)
                sequence.append(fixes[0][0])
                continue
            known = self._idf.get(token)
            if known is None and token not in idf:
                oov += self._max_idf * weight
            uni[token] = 1.0
            idf[token] = max(idf.get(token, 0.0), (known if known is not None else self._max_idf) * weight)
            sequence.append(token)
        mass = sum(idf.values()) or 1.0
        weighted = tuple((t, idf[t] * w, marked.get(t)) for t, w in uni.items())
        typed_ids = tuple(_NO_TERM if typed is None else self._id(typed) for _, _, typed in weighted)
        marked_ids = tuple(self._id(t) for t in tokens if t != strip_accents(t))
        bigrams = frozenset(_bigrams(sequence))
        uni_ids = tuple(self._id(t) for t in uni)
        bi_ids = frozenset(k for k in map(self._id, bigrams) if k != _NO_TERM)
        plain = {self._term_ids[t]: self._idf[t] for t in uni if t in self._idf}
        by_id = {
            word: (weight, None if typed is None else typed_id, plain.get(word, 0.0))
            for (_, weight, typed), word, typed_id in zip(weighted, uni_ids, typed_ids, strict=True)
            if word != _NO_TERM
        }
        return _Query(
            weighted=weighted,
            by_id=by_id,
            uni_ids=uni_ids,
            typed_ids=typed_ids,
            bi_ids=bi_ids,
            uni_array=np.array(uni_ids, dtype=np.int32),
            accent_array=np.array((*typed_ids, *marked_ids), dtype=np.int32),
            bi_array=np.array(sorted(bi_ids), dtype=np.int32),
            uni=uni,
            marked=marked,
            idf=idf,
            bi=bigrams,
            text=" ".join(sequence),
            accented=tokens,
            typed_with_diacritics=typed,
            grams=frozenset(_trigrams(stripped)),
            mass=mass,
            oov_mass=min(1.0, oov / mass),
        )

    def _bm25(self, q: _Query, postings: _Postings) -> np.ndarray:
        n = len(self.documents)
        ids: list[np.ndarray] = []
        ws: list[np.ndarray] = []
        for term, weight in (*q.uni.items(), *((b, 1.0) for b in q.bi)):
            post = postings.get(term)
            if post is not None:
                ids.append(post[0])
                ws.append(post[1] * weight)
        if not ids:
            return np.zeros(n)
        return np.bincount(np.concatenate(ids), weights=np.concatenate(ws), minlength=n)

    def _char(self, q: _Query) -> np.ndarray:
        n = len(self.documents)
        ids: list[np.ndarray] = []
        ws: list[np.ndarray] = []
        mass = 0.0
        for g in q.grams:
            post = self._gram_postings.get(g)
            if post is None:
                mass += math.log(1.0 + n)
                continue
            mass += self._gram_idf[g]
            ids.append(post[0])
            ws.append(post[1])
        if not ids or mass == 0:
            return np.zeros(n)
        overlap = np.bincount(np.concatenate(ids), weights=np.concatenate(ws), minlength=n)
        return np.asarray(overlap / np.sqrt(mass * self._gram_mass))

    @staticmethod
    def _coverage(q: _Query, held: Sequence[bool], accented: Sequence[bool]) -> float:
        """Share of the question's IDF mass in the words a field holds (``held``, per word of the query). A word
        typed with diacritics counts fully only where the field has the same accented word (``accented``: "thẻ"
        is not "thế"), half where only the letters agree."""
        total = 0.0
        for (_, weight, typed), has, has_accented in zip(q.weighted, held, accented, strict=True):
            if has:
                total += weight if typed is None or has_accented else weight * ACCENT_MISMATCH_CREDIT
        return total / q.mass

    @staticmethod
    def _phrase_coverage(q: _Query, p: Phrase) -> tuple[float, float]:
        """:meth:`_coverage` of one phrase, and the plain IDF of the question's words it holds, looked up id by id
        (a phrase's ids are distinct, so each word counts once)."""
        covered = held = 0.0
        by_id = q.by_id
        for word in p.uni:
            hit = by_id.get(word)
            if hit is not None:
                weight, typed_id, idf = hit
                covered += weight if typed_id is None or typed_id in p.acc else weight * ACCENT_MISMATCH_CREDIT
                held += idf
        return covered / q.mass, held

    def _held(self, q: _Query, picked: Sequence[int]) -> dict[int, _Held]:
        """Which of the query's terms each of the ``picked`` entries holds, field by field."""
        n = len(q.uni_ids)
        match = self._match_uni.holds(picked, q.uni_array)
        answer = self._answer_uni.holds(picked, q.uni_array)
        if q.accent_array.size and q.accent_array.max() != _NO_TERM:
            match_accented = self._match_accented.holds(picked, q.accent_array)
            answer_accented = self._answer_accented.holds(picked, q.accent_array)
        else:  # typed without diacritics (or none the base knows): nothing to search
            match_accented = answer_accented = np.zeros((len(picked), len(q.accent_array)), dtype=bool)
        doc_accented = match_accented | answer_accented
        bigrams = self._doc_bi.holds(picked, q.bi_array).sum(axis=1).tolist()
        return {
            i: _Held(
                match=m,
                answer=a,
                doc=d,
                match_accented=ma[:n],
                answer_accented=aa[:n],
                doc_accented=da[:n],
                doc_marked=da[n:],
                doc_bigrams=b,
            )
            for i, m, a, d, ma, aa, da, b in zip(
                picked,
                match.tolist(),
                answer.tolist(),
                (match | answer).tolist(),
                match_accented.tolist(),
                answer_accented.tolist(),
                doc_accented.tolist(),
                bigrams,
                strict=True,
            )
        }

    def _features(
        self,
        q: _Query,
        i: int,
        held: _Held,
        char: float,
        bm25: tuple[float, float, float, float],
        topic: float,
        fuzzy: Sequence[float],
    ) -> list[float]:
        """Entry ``i``'s ranking features; ``fuzzy``: the fuzzy ratio of the question to each of its phrases, 0 for
        its tag line (:meth:`_fuzzy`)."""
        best = (0.0, 0.0, 0.0, 0.0, 0.0)
        best_score = -1.0
        for k, (p, fz) in enumerate(zip(self._phrases[i], fuzzy, strict=True), self._phrase_first[i]):
            q_cov, held_idf = self._phrase_coverage(q, p)
            q_cov *= 0.85 if p.is_tags else 1.0
            p_cov = held_idf / self._phrase_mass[k]
            f1 = 2 * q_cov * p_cov / (q_cov + p_cov) if q_cov + p_cov > 0 else 0.0
            bi_cov = len(q.bi_ids.intersection(p.bi)) / len(q.bi) if q.bi else q_cov
            score = 0.35 * q_cov + 0.2 * p_cov + 0.15 * f1 + 0.1 * bi_cov + 0.2 * fz
            if score > best_score:
                best_score, best = score, (q_cov, p_cov, f1, bi_cov, fz)
        doc_cov = self._coverage(q, held.doc, held.doc_accented)
        doc_bi_cov = held.doc_bigrams / len(q.bi) if q.bi else doc_cov
        bm25_doc, bm25_doc_top, bm25_match, bm25_match_top = bm25
        accents = 1.0
        if q.typed_with_diacritics and held.doc_marked:
            accents = sum(1.0 for has in held.doc_marked if has) / len(held.doc_marked)
        return [
            *best,
            self._coverage(q, held.match, held.match_accented),
            doc_cov,
            doc_bi_cov,
            self._coverage(q, held.answer, held.answer_accented),
            min(char, 1.0),
            bm25_doc / bm25_doc_top if bm25_doc_top > 0 else 0.0,
            bm25_match / bm25_match_top if bm25_match_top > 0 else 0.0,
            min(2.0, bm25_doc / q.mass),
            accents,
            topic,
            1.0,
        ]

    def _max_unmatched(self, q: _Query, held: _Held) -> float:
        missing = [q.idf[t] for t, has in zip(q.uni, held.doc, strict=True) if not has]
        return max(missing, default=0.0) / self._max_idf

    def _pool(self, q: _Query) -> _Pool:
        """The lexical candidates of one reading: the entries its words and its letters score highest."""
        doc = self._bm25(q, self._doc_postings)
        match = self._bm25(q, self._match_postings)
        char = self._char(q)
        n = len(self.documents)
        picked: set[int] = set()
        for scores, k in ((doc, LEXICAL_CANDIDATES), (char, CHAR_CANDIDATES)):
            top = np.argpartition(-scores, min(k, n - 1))[:k]
            picked.update(int(i) for i in top if scores[i] > 0)
        pool = _Pool(q, doc, match, char, self._topic_scores(q), (float(doc.max()), float(match.max())))
        self._extend(pool, picked)
        return pool

    def _extend(self, pool: _Pool, entries: Iterable[int]) -> None:
        """Add ``entries`` to ``pool`` with their features (the pool-wide one, ``distinct``, aside)."""
        new = [i for i in entries if i not in pool.features]
        if not new:
            return
        q = pool.q
        held = self._held(q, new)
        pool.held.update(held)
        fuzzy = self._fuzzy(q, new)
        for i in new:
            pool.features[i] = self._features(
                q,
                i,
                held[i],
                float(pool.char[i]),
                (float(pool.doc[i]), pool.tops[0], float(pool.match[i]), pool.tops[1]),
                float(pool.topics[self._category_of[i]]),
                fuzzy[i],
            )

    def _fuzzy(self, q: _Query, entries: Sequence[int]) -> dict[int, list[float]]:
        """Per entry, the fuzzy ratio of the question to each of its phrases (the better of the plain and the
        word-sorted ratio), in [0, 1], and 0 for its tag line (a list, not a sentence): every sentence of every
        entry in one call per scorer, not two calls each."""
        texts = [p.text for i in entries for p in self._phrases[i] if not p.is_tags]
        if not texts:
            return {i: [0.0] * len(self._phrases[i]) for i in entries}
        ratios = iter(
            (
                np.maximum(
                    process.cdist([q.text], texts, scorer=fuzz.ratio, dtype=np.float64, workers=1)[0],
                    process.cdist([q.text], texts, scorer=fuzz.token_sort_ratio, dtype=np.float64, workers=1)[0],
                )
                / 100
            ).tolist()
        )
        return {i: [0.0 if p.is_tags else next(ratios) for p in self._phrases[i]] for i in entries}

    def _candidates(self, pool: _Pool) -> dict[int, tuple[list[float], float]]:
        """The pool's candidates' features and the weight of the question's strongest word each lacks."""
        q, held = pool.q, pool.held
        # Words that only some of the candidates contain are what tells them apart ("vneid" vs "vssid"):
        # each matched word counts 1 / (how many candidates in the pool contain it).
        holders = [sum(1 for i in pool.features if held[i].match[k]) for k in range(len(q.uni))]
        out: dict[int, tuple[list[float], float]] = {}
        for i, f in pool.features.items():
            has = held[i].match
            distinct = sum(q.idf[t] * w / holders[k] for k, (t, w) in enumerate(q.uni.items()) if has[k]) / q.mass
            out[i] = ([*f[:-1], distinct, f[-1]], self._max_unmatched(q, held[i]))
        return out

    def _lexical(
        self,
        typed_with_diacritics: bool,
        readings: Sequence[tuple[tuple[str, ...], tuple[str, ...]]],
        clause_weights: dict[str, float],
    ) -> list[_Pool]:
        """One pool of lexical candidates per reading of the question."""
        return [self._pool(self._query(t, s, typed_with_diacritics, clause_weights)) for t, s in readings]

    def _ranked(self, pools: Sequence[_Pool]) -> dict[int, Ranked]:
        """Every candidate of the pools with its features and ranking score, from the reading that scores it
        highest."""
        best: dict[int, Ranked] = {}
        for pool in pools:
            for i, (f, unmatched) in self._candidates(pool).items():
                score = _dot(RANK_WEIGHTS, f)
                if i not in best or score > best[i].lexical:
                    best[i] = Ranked(i, score, f, unmatched, pool.q.oov_mass, lexical=score)
        return best

    def rank(self, text: str, *, model: bool = True, margins: bool = False) -> list[Ranked]:
        """Every candidate for ``text`` with its ranking score and features, best first, over all readings;
        ``model``: whether the embedding may be asked (where it can change the outcome); ``margins``: ask it
        wherever it can read the question, for each candidate's margin (calibration, whose thresholds are not
        chosen yet)."""
        if not isinstance(text, str) or not self.entries:
            return []
        text = text[:MAX_QUERY_CHARS]
        norm = self.normalizer.normalize(text)
        if not norm.stripped:
            return []
        clause_weights = self._clause_weights(text)
        readings = [(norm.tokens, norm.stripped)]
        readings += [(alt, tuple(strip_accents(t) for t in alt)) for alt in norm.alternatives]
        pools = self._lexical(norm.typed_with_diacritics, readings, clause_weights)
        best = self._ranked(pools)
        ranked = list(best.values())
        lexical = fuse(ranked, 0.0)  # without semantic gaps any fusion weight ranks the same
        if not model or self.semantic is None or not ranked:
            return lexical
        # Answered on words alone whatever the embedding says: the model is not asked (it costs 15-20 searches).
        settled = accept_probability(lexical, 0, self.accept_weights, vote=-1.0) >= self.calibration.answer_at
        if settled and not margins:
            return lexical
        reading = self._meaning_of(norm.tokens)  # ``text`` is clipped and normalized above
        share = self._semantic_share(reading) if reading else 0.0
        if share <= 0:
            return lexical
        scores = sorted((r.lexical for r in ranked), reverse=True)
        # Whether a cosine gap could change the winner (fusion weight 0: never).
        reorders = (
            not settled
            and self.fusion_weight > 0
            and (len(scores) == 1 or scores[0] - scores[1] <= self.fusion_weight * share * SEMANTIC_MAX_GAP)
        )
        # Whether the embedding's vote could lift the best candidate to a suggestion at least.
        undecided = accept_probability(lexical, 0, self.accept_weights, vote=1.0) >= self.calibration.suggest_at
        if not (reorders or undecided or margins):
            return lexical
        per_entry = self._entry_cosines(self.semantic.embed_query(reading))
        if reorders:
            k = min(SEMANTIC_CANDIDATES, len(self.documents))
            extra = [int(i) for i in np.argpartition(-per_entry, k - 1)[:k]]
            if any(i not in best for i in extra):
                for pool in pools:
                    self._extend(pool, extra)
                best = self._ranked(pools)
            ranked = list(best.values())
        ranked = [replace(r, margin=_margin(per_entry, r.index)) for r in ranked]
        if not reorders:
            return fuse(ranked, 0.0)
        cosines = {r.index: float(per_entry[r.index]) for r in ranked}
        top = max(cosines.values())
        ranked = [replace(r, semantic=cosines[r.index] - top, share=share) for r in ranked]
        return fuse(ranked, self.fusion_weight)

    def search(self, text: str, limit: int = 5) -> SearchResult:
        """Find the entries that answer ``text``; decide whether to answer, suggest or decline."""
        return self._search(text, limit, whole=True)

    def _search(self, text: str, limit: int, whole: bool) -> SearchResult:
        """:meth:`search`; ``whole``: the message as sent (a long one's parts may then be read alone, on words
        alone: the model reads the message once)."""
        query = text if isinstance(text, str) else ""
        ranked = self.rank(query, model=whole)
        if not ranked:
            return SearchResult(query, "", Decision.DECLINE, ())
        norm = self.normalizer.normalize(query[:MAX_QUERY_CHARS])
        candidates: list[Candidate] = []
        shown: list[Ranked] = []  # each candidate as ranked
        ceiling = 1.0
        for k, r in enumerate(ranked):
            if len(candidates) == limit:
                break
            if self.is_background(r.index):
                continue
            confidence = min(ceiling, accept_probability(ranked, k, self.accept_weights))
            ceiling = confidence
            candidates.append(Candidate(self.entries[r.index], confidence))
            shown.append(r)
        topicless = _topicless(norm.stripped)
        if self.is_background(ranked[0].index) and not topicless:
            # Closer to a question about another service than to any entry: not this base's to answer. (Words
            # that only ask, "thế nào?", say no more about another service than about this base.)
            return SearchResult(query, norm.text, Decision.DECLINE, tuple(candidates))
        if not candidates:
            return SearchResult(query, norm.text, Decision.DECLINE, ())
        decision = self._decide(candidates)
        first = shown[0].index
        if topicless:
            # "làm sao?", "ở đâu?": a question with no topic is never answered outright, whatever it matches.
            decision = Decision.SUGGEST if decision is Decision.ANSWER else decision
        elif (
            decision is not Decision.ANSWER
            and whole
            and (
                self._meaning_agrees(query, shown[0], candidates[0].score)
                # A message too far from every entry to be offered one is not read again, in parts or without its
                # strongest words (each costs more searches, and on the labelled questions such a reading of a
                # message in parts never answered one).
                or (
                    decision is Decision.SUGGEST
                    and (
                        self._parts_agree(query, first)
                        or (candidates[0].score >= self.calibration.stable_at and self.stable(query, first))
                    )
                )
            )
        ):
            decision = Decision.ANSWER
        if decision is Decision.ANSWER and self.foreign(query[:MAX_QUERY_CHARS]):
            # What the question is about (a document, an account, a civil-status act) is named by no entry: shared
            # procedure words ("đăng ký", "cần giấy tờ gì") are not enough to answer outright.
            decision = Decision.SUGGEST
        if decision is not Decision.DECLINE:
            asked = self._entities_in(norm.stripped_text)  # of the words read, as everything above
            if _contradict(asked, self._entry_entities[first]):
                # Never answer outright from an entry about another system or document than the one named, nor
                # offer it first: the candidates that do not contradict the question come first.
                decision = Decision.SUGGEST
                fits = [
                    c
                    for c, r in zip(candidates, shown, strict=True)
                    if not _contradict(asked, self._entry_entities[r.index])
                ]
                candidates = fits + [c for c in candidates if c not in fits]
        return SearchResult(query, norm.text, decision, tuple(candidates))

    def _parts_agree(self, query: str, i: int) -> bool:
        """True when one of a long message's :meth:`asking_readings`, read alone, is answered outright from the same
        entry as the whole message is ranked first on, and none is answered from another: the story around a
        question lowers the confidence of the entry it asks about, and two readings that agree are rarely both
        wrong."""
        agreed = False
        for part in self.asking_readings(query[:MAX_QUERY_CHARS]):
            alone = self._search(part, 1, whole=False)
            if alone.answered and alone.candidates[0].entry is not self.entries[i]:
                return False
            agreed = agreed or alone.answered
        return agreed

    def stable(self, text: str, i: int) -> bool:
        """True when entry ``i`` stays the best entry, on words alone, with each of the question's
        ``STABLE_WORDS`` strongest words left out in turn. An answer that does not hang on any one word is right
        more often than its confidence says; the calibration decides from which confidence this may answer."""
        tokens = self.normalizer.normalize(text[:MAX_QUERY_CHARS]).tokens
        strongest = sorted({t for t in tokens if self.idf(t) > 0}, key=lambda t: (-self.idf(t), t))[:STABLE_WORDS]
        if not strongest:
            return False
        for word in strongest:
            first = self.first_entry(self.rank(" ".join(t for t in tokens if t != word), model=False))
            if first is None or first.index != i:
                return False
        return True

    def first_entry(self, ranked: Sequence[Ranked]) -> Ranked | None:
        """The best of ``ranked`` that is an entry: the one a citizen would be offered first (questions about other
        services are never offered)."""
        return next((r for r in ranked if not self.is_background(r.index)), None)

    def _meaning_agrees(self, query: str, r: Ranked, confidence: float) -> bool:
        """True when the embedding, on its own, picks candidate ``r``'s entry, the ranking's first, by the
        calibrated margin, for a candidate that is not confident enough on words alone. Two independent readings
        that agree are rarely both wrong."""
        cal = self.calibration
        if self.semantic is None or cal.agree_at >= cal.answer_at or confidence < cal.agree_at:
            return False
        margin = self.margin_of(query, r)
        return margin is not None and margin >= cal.agree_margin

    def is_background(self, i: int) -> bool:
        """Whether row ``i`` of a ranking is a question about another service rather than an entry."""
        return i >= len(self.entries)

    def top_confidence(self, ranked: Sequence[Ranked]) -> float:
        """The confidence with which the best of ``ranked`` would be answered; 0 when it is about another
        service (such a question is declined)."""
        if not ranked or self.is_background(ranked[0].index):
            return 0.0
        return accept_probability(ranked, 0, self.accept_weights)

    def _decide(self, candidates: Sequence[Candidate]) -> Decision:
        cal = self.calibration
        if not candidates or candidates[0].score < cal.suggest_at:
            return Decision.DECLINE
        if candidates[0].score < cal.answer_at:
            return Decision.SUGGEST
        return Decision.ANSWER


@dataclass(frozen=True)
class Ranked:
    """One candidate as the ranking model sees it."""

    index: int
    score: float
    features: list[float]
    max_unmatched: float
    oov_mass: float
    lexical: float = 0.0  # the lexical ranking score alone
    semantic: float = 0.0  # embedding cosine minus the best candidate's (≤ 0; 0 when the signal did not run)
    share: float = 0.0  # how far the embedding is trusted for this question (its share of words with diacritics)
    margin: float | None = None  # how far the embedding alone prefers this entry to every other (None: not asked)


def _asking_part_of(clauses: Sequence[str], asking: Sequence[int]) -> str:
    """The clauses that ask, with the one just before the first of them."""
    read = sorted({*asking, *(k - 1 for k in asking[:1] if k > 0)})
    return " ".join(clauses[k] for k in read)


def _only_as_means(words: Sequence[str], entity: tuple[str, ...]) -> bool:
    """True when every mention of ``entity`` in ``words`` (accent-stripped) follows a word saying it is needed or
    used (:data:`_MEANS_WORDS`), directly or through a document noun ("cần giấy khai sinh", "mang theo thẻ căn
    cước")."""
    n = len(entity)
    starts = [i for i in range(len(words) - n + 1) if tuple(words[i : i + n]) == entity]
    if not starts:
        return False
    for i in starts:
        before = words[max(0, i - 2) : i]
        direct = bool(before) and before[-1] in _MEANS_WORDS
        through = len(before) == 2 and before[1] in _DOCUMENT_NOUNS and before[0] in _MEANS_WORDS
        if not (direct or through):
            return False
    return True


def _topicless(words: Sequence[str]) -> bool:
    """True when every (accent-stripped) word only asks or addresses ("làm sao", "ở đâu vậy ạ", "cho em hỏi"):
    whatever entry shares those words, nothing says which topic is meant."""
    return bool(words) and all(w in _ASKING_WORDS for w in words)


def fuse(ranked: Sequence[Ranked], weight: float) -> list[Ranked]:
    """Candidates re-scored as lexical score + weight × trust × semantic gap, best first."""
    out = [replace(r, score=r.lexical + weight * r.share * r.semantic) for r in ranked]
    return sorted(out, key=lambda r: (-r.score, r.index))


def accept_features(ranked: Sequence[Ranked], k: int) -> list[float]:
    """The acceptance model's inputs for candidate ``k`` of a ranked list."""
    r = ranked[k]
    top = max(x.score for x in ranked)
    exps = [math.exp(max(-50.0, x.score - top)) for x in ranked]
    share = exps[k] / sum(exps)
    others = [x.score for j, x in enumerate(ranked) if j != k]
    lead = min(5.0, r.score - max(others)) if others else 5.0
    named = dict(zip(FEATURES, r.features, strict=True))
    # Being ahead of the other candidates counts only together with absolute evidence: in a small knowledge
    # base one weak candidate easily takes the whole share.
    cover = named["union_cov"]
    return [
        share * cover,
        max(0.0, min(1.0, lead)) * cover,
        *(named[k] for k in ("q_cov", "union_cov", "doc_cov", "accents", "char_cov")),
        min(1.5, named["bm25_norm"]),
        r.max_unmatched,
        r.oov_mass,
        # How far the embedding prefers this candidate to the others, as far as it is trusted for the question.
        max(-1.0, min(1.0, 10 * (r.semantic - max((x.semantic for j, x in enumerate(ranked) if j != k), default=0.0))))
        * r.share,
        1.0,
    ]


def accept_probability(
    ranked: Sequence[Ranked], k: int, weights: Sequence[float] | None = None, *, vote: float | None = None
) -> float:
    """Calibrated probability that candidate ``k`` is the right answer, in [0, 1]; ``weights`` are an index's
    own acceptance weights (fitted by its calibration), else the shipped ones. The embedding's margin for the
    candidate, where it was asked, counts as a vote (:func:`meaning_vote`); ``vote`` in [-1, 1] puts one in its
    place, for what the decision would be at either extreme."""
    margin = ranked[k].margin
    if vote is not None:
        margin = vote * MEANING_MARGIN_CLIP
    words = _dot(ACCEPT_WEIGHTS if weights is None else weights, accept_features(ranked, k))
    return _sigmoid(words + meaning_vote(margin))


def meaning_vote(margin: float | None) -> float:
    """The embedding's vote on a candidate, in log-odds: its margin over every other entry of the base (see
    :meth:`SearchIndex.meaning_margin`), clipped, times ``MEANING_WEIGHT``; 0 when the model was not asked. An
    independent reading that prefers another entry is the best sign of a wrong answer the words cannot see."""
    if margin is None:
        return 0.0
    return MEANING_WEIGHT * max(-MEANING_MARGIN_CLIP, min(MEANING_MARGIN_CLIP, margin))


def _aliases(member: str | list[str]) -> list[str]:
    """The names of one member of an entity group: a name, or a list of names of the same thing."""
    return [member] if isinstance(member, str) else [str(a) for a in member]


def _contradict(asked: Sequence[frozenset[str]], named: Sequence[frozenset[str]]) -> bool:
    """True when, in some group of exclusive key entities, a question names ``asked`` and an entry ``named``, both
    some, and none in common."""
    return any(mine and theirs and not (mine & theirs) for mine, theirs in zip(asked, named, strict=True))


def _margin(per_entry: np.ndarray, i: int) -> float | None:
    """Row ``i``'s cosine minus the best other row's; None when there is no other."""
    if len(per_entry) < 2:
        return None
    best = int(np.argmax(per_entry))
    other = np.partition(per_entry, -2)[-2] if i == best else per_entry[best]
    return float(per_entry[i]) - float(other)


def _dot(weights: Sequence[float], values: Sequence[float]) -> float:
    return sum(w * x for w, x in zip(weights, values, strict=True))


def _sigmoid(x: float) -> float:
    x = max(-30.0, min(30.0, x))
    return round(1.0 / (1.0 + math.exp(-x)), 4)
