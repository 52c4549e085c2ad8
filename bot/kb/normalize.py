"""One normalization pipeline for knowledge-base text and citizens' questions alike.

Steps: Unicode NFC; drop zero-width and control characters, URLs, e-mail addresses, emoji and punctuation
(digits stay); lower-case; new-style tone-mark placement (hoà → hòa, thuỷ → thủy, quí → quý); rewrite
abbreviations and teencode (``ko`` → ``không``, ``cccd`` → ``căn cước công dân``), then synonym phrases to one
canonical form; drop courtesy fillers ("cho em hỏi", "ạ", "ad ơi"). The result keeps an accented token list and
an accent-stripped one (``đ`` → ``d`` mapped explicitly), because many citizens type without diacritics.

Phrase rules are matched on accent-stripped tokens, so ``cho em hoi`` is a filler like ``cho em hỏi``; a token
typed *with* diacritics must agree with the rule's own diacritics (``chở`` is not ``cho``).
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import product
from pathlib import Path
from typing import Any

import yaml

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff"))
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w]+|_")
_QUI = re.compile(r"\bqu([íìỉĩị])(?=\s|$)")
_QUI_MAP = {"í": "ý", "ì": "ỳ", "ỉ": "ỷ", "ĩ": "ỹ", "ị": "ỵ"}
MAX_ALTERNATIVES = 4
_LEADING_NUMBER = re.compile(r"(\d+)(?=[^\W\d_])")


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x00C0, 0x1EFA):
        ch = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if base != ch and base.isascii():
            table[code] = base
    table[ord("đ")] = "d"
    table[ord("Đ")] = "D"
    return table


_FOLD_TABLE = _build_fold_table()
CACHED_UP_TO = 40  # characters: words and short phrases repeat, and are folded from the cache
_COMBINING = re.compile(r"[\u0300-\u036f]")


def strip_accents(text: str) -> str:
    """Remove Vietnamese diacritics (``Định`` → ``Dinh``), mapping đ/Đ to d/D; case is kept."""
    if len(text) > CACHED_UP_TO:  # whole answers are folded once each: caching them only holds memory
        return _COMBINING.sub("", text.translate(_FOLD_TABLE))
    return _strip_word(text)


@lru_cache(maxsize=200_000)
def _strip_word(text: str) -> str:
    return _COMBINING.sub("", text.translate(_FOLD_TABLE))


@lru_cache(maxsize=1)
def _underthesea_rules() -> tuple[dict[str, str], dict[str, str]] | None:
    """underthesea's text-normalization rules (character map, token map), read from its data file.

    Importing ``underthesea`` itself runs its package init, which loads every pipeline (+0.5 s, +90 MiB) though
    only these two tables are used; the file is found without executing the package."""
    spec = importlib.util.find_spec("underthesea")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "pipeline" / "text_normalize"
    files = sorted(folder.glob("tn_rules_*.bin"))
    if not files:
        return None
    import joblib  # type: ignore[import-untyped]  # what underthesea stores its rules with

    data = joblib.load(files[-1])
    return dict(data["character"]), dict(data["token"])


def _token_normalize(word: str) -> str:
    """underthesea's ``text_normalize`` for one word (same rules, same order; its tokenizer splits a leading
    number from the letters after it: ``50.000đ`` → ``50 000 đ``, ``13h30`` → ``13 h30``)."""
    split = _LEADING_NUMBER.match(word)
    if split is not None:
        return f"{split.group(1)} {_token_normalize(word[split.end() :])}"
    rules = _underthesea_rules()
    if rules is None:  # an underthesea without the data file: use its own function
        from underthesea import text_normalize

        return str(text_normalize(word))
    if len(word) > 6:
        return word
    characters, tokens = rules
    word = unicodedata.normalize("NFC", word)
    for odd, standard in characters.items():
        word = word.replace(odd, standard)
    return tokens.get(word, word)


@lru_cache(maxsize=200_000)
def _normalize_word(word: str) -> str:
    # underthesea's rules move tone marks to the new-style place (hoà → hòa, thuỷ → thủy) and repair misplaced
    # ones (thuờng → thường, khỏan → khoản); words repeat a lot, so each is normalized once.
    word = _token_normalize(word)
    return _QUI.sub(lambda m: "qu" + _QUI_MAP[m.group(1)], word)


def clean(text: str) -> str:
    """NFC, lower-case, without zero-width characters, URLs, e-mails, emoji or punctuation; spaces collapsed."""
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = _URL.sub(" ", text).lower()
    return " ".join(_normalize_word(w) for w in _NON_WORD.sub(" ", text).split())


def fold(text: str) -> str:
    """Lower-case, accent-stripped, punctuation-free form: for comparing words whatever the typing."""
    return strip_accents(clean(text))


def has_diacritics(token: str) -> bool:
    """True when the token carries any Vietnamese diacritic (including đ)."""
    return strip_accents(token) != token


@dataclass(frozen=True)
class _Rule:
    key: tuple[str, ...]  # accented key tokens
    readings: tuple[tuple[str, ...], ...]  # replacement token lists; () drops the phrase


def _token_agrees(typed: str, key: str) -> bool:
    return typed == key or (not has_diacritics(typed) and typed == strip_accents(key))


class PhraseRewriter:
    """Longest-match-first rewriting of token phrases, keyed on their accent-stripped form."""

    def __init__(self, rules: Iterable[_Rule], *, trailing_only: bool = False) -> None:
        self._rules: dict[tuple[str, ...], list[_Rule]] = {}
        self._lengths: dict[str, list[int]] = {}  # first folded word → key lengths starting with it, longest first
        self._max_len = 0
        self._trailing_only = trailing_only
        for rule in rules:
            folded = tuple(strip_accents(t) for t in rule.key)
            self._rules.setdefault(folded, []).append(rule)
            self._max_len = max(self._max_len, len(folded))
            lengths = self._lengths.setdefault(folded[0], [])
            if len(folded) not in lengths:
                lengths.append(len(folded))
                lengths.sort(reverse=True)

    def _match(
        self, tokens: Sequence[str], folded: Sequence[str], start: int, exact_length: int | None = None
    ) -> tuple[int, _Rule] | None:
        room = len(tokens) - start
        for length in self._lengths.get(folded[start], ()):
            if length > room or (exact_length is not None and length != exact_length):
                continue
            for rule in self._rules.get(tuple(folded[start : start + length]), ()):
                window = tokens[start : start + length]
                if all(_token_agrees(t, k) for t, k in zip(window, rule.key, strict=True)):
                    return length, rule
        return None

    def rewrite(self, tokens: Sequence[str]) -> list[list[str]]:
        """Rewrite tokens; returns one token list per combination of ambiguous readings (at most four)."""
        if self._trailing_only:
            return [self._strip_trailing(list(tokens))]
        folded = [strip_accents(t) for t in tokens]
        starts = self._lengths
        if starts.keys().isdisjoint(folded):  # most texts: no word starts any rule
            return [list(tokens)]
        pieces: list[tuple[tuple[str, ...], ...]] = []
        i = 0
        n = len(tokens)
        ambiguous = False
        while i < n:
            found = self._match(tokens, folded, i) if folded[i] in starts else None
            if found is None:
                pieces.append(((tokens[i],),))
                i += 1
            else:
                length, rule = found
                pieces.append(rule.readings)
                ambiguous = ambiguous or len(rule.readings) > 1
                i += length
        if not ambiguous:
            return [[t for part in pieces for t in part[0]]]
        out: list[list[str]] = []
        for combo in product(*pieces):
            out.append([t for part in combo for t in part])
            if len(out) >= MAX_ALTERNATIVES:
                break
        return out

    def _strip_trailing(self, tokens: list[str]) -> list[str]:
        changed = True
        while changed and len(tokens) > 1:
            changed = False
            folded = [strip_accents(t) for t in tokens]
            for length in range(min(self._max_len, len(tokens) - 1), 0, -1):
                found = self._match(tokens, folded, len(tokens) - length, exact_length=length)
                if found is not None:
                    del tokens[-length:]
                    changed = True
                    break
        return tokens


@dataclass(frozen=True)
class Normalized:
    """A normalized text: accented tokens, their accent-stripped twins, and alternative readings."""

    tokens: tuple[str, ...]
    stripped: tuple[str, ...]
    typed_with_diacritics: bool
    alternatives: tuple[tuple[str, ...], ...] = field(default=())  # other readings of ambiguous abbreviations

    @property
    def text(self) -> str:
        """The accented normalized text."""
        return " ".join(self.tokens)

    @property
    def stripped_text(self) -> str:
        """The accent-stripped normalized text."""
        return " ".join(self.stripped)


@dataclass(frozen=True)
class Lexicon:
    """Abbreviations, synonym groups and fillers: the built-in data file plus a knowledge base's additions."""

    abbreviations: Mapping[str, tuple[str, ...]]
    synonyms: tuple[tuple[str, ...], ...]
    fillers: tuple[str, ...]
    trailing_fillers: tuple[str, ...]

    def extended(self, abbreviations: Mapping[str, Sequence[str]], synonyms: Sequence[Sequence[str]]) -> Lexicon:
        """A copy with a knowledge base's own abbreviations and synonym groups added (theirs win)."""
        merged = dict(self.abbreviations)
        merged.update({k: tuple(v) for k, v in abbreviations.items()})
        return Lexicon(merged, self.synonyms + tuple(tuple(g) for g in synonyms), self.fillers, self.trailing_fillers)


def _counted(raw: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    """Synonym groups that read a number word after a counting word as its digit: ("lớp 1", "lớp một")."""
    return tuple((f"{c} {d}", f"{c} {w}") for c in raw["counters"] for w, d in raw["numbers"].items())


@lru_cache(maxsize=1)
def builtin_lexicon() -> Lexicon:
    """The lexicon shipped with the engine (``bot/kb/data/abbreviations.yaml``)."""
    raw = yaml.safe_load(resources.files("bot.kb").joinpath("data/abbreviations.yaml").read_text("utf-8"))
    abbreviations = {str(k): tuple(v) if isinstance(v, list) else (str(v),) for k, v in raw["abbreviations"].items()}
    return Lexicon(
        abbreviations=abbreviations,
        synonyms=tuple(tuple(str(p) for p in group) for group in raw["synonyms"]) + _counted(raw["counted"]),
        fillers=tuple(raw["fillers"]),
        trailing_fillers=tuple(raw["trailing_fillers"]),
    )


class Normalizer:
    """The pipeline, compiled once for a lexicon. Call :meth:`normalize` on any text."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        lexicon = lexicon or builtin_lexicon()
        self.lexicon = lexicon
        self._abbrev = PhraseRewriter(
            _Rule(tuple(clean(k).split()), tuple(tuple(clean(r).split()) for r in readings))
            for k, readings in lexicon.abbreviations.items()
            if clean(k)
        )
        synonym_rules = []
        for group in lexicon.synonyms:
            canonical = tuple(clean(group[0]).split())
            for phrase in group[1:]:
                key = tuple(clean(phrase).split())
                if key and key != canonical:
                    synonym_rules.append(_Rule(key, (canonical,)))
        self._synonyms = PhraseRewriter(synonym_rules)
        self._fillers = PhraseRewriter(_Rule(tuple(clean(f).split()), ((),)) for f in lexicon.fillers)
        self._trailing = PhraseRewriter(
            (_Rule(tuple(clean(f).split()), ((),)) for f in lexicon.trailing_fillers), trailing_only=True
        )

    def normalize(self, text: str, *, drop_fillers: bool = True) -> Normalized:
        """Normalize one text into accented and accent-stripped tokens (empty for text with no words).

        ``drop_fillers=False`` skips the courtesy-word passes, for long texts such as answers where they do not
        matter for matching."""
        typed = clean(text).split()
        readings: list[tuple[str, ...]] = []
        for expanded in self._abbrev.rewrite(typed):
            for canon in self._synonyms.rewrite(expanded):
                if not drop_fillers:
                    if tuple(canon) not in readings:
                        readings.append(tuple(canon))
                    continue
                for kept in self._fillers.rewrite(canon):
                    tokens = tuple(self._trailing.rewrite(kept)[0])
                    if not tokens:  # a message made only of courtesy words: keep it for small talk
                        tokens = tuple(canon)
                    if tokens not in readings:
                        readings.append(tokens)
        first = readings[0] if readings else ()
        return Normalized(
            tokens=first,
            stripped=tuple(strip_accents(t) for t in first),
            typed_with_diacritics=any(has_diacritics(t) for t in typed),
            alternatives=tuple(readings[1:MAX_ALTERNATIVES]),
        )


def normalize(text: str) -> Normalized:
    """Normalize with the built-in lexicon (the knowledge store uses its own, extended one)."""
    return _default_normalizer().normalize(text)


@lru_cache(maxsize=1)
def _default_normalizer() -> Normalizer:
    return Normalizer()
