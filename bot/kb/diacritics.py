"""Diacritics put back into words typed without them, from a knowledge base's own vocabulary.

The embedding model reads Vietnamese as written; "quen mat khau" is nearly noise to it. Before a question is
embedded, each word typed without marks takes the accented form the knowledge base itself uses for it, preferring
the form that goes with a neighbouring word ("mat khau" → "mật khẩu", while a lone "mat" could be "mắt" or
"mất"). Words typed with marks are kept as typed; words the base never uses stay as they are.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Sequence

from bot.kb.normalize import strip_accents


class DiacriticRestorer:
    """Most frequent accented forms of the base's words and word pairs, keyed by their bare letters."""

    def __init__(self, texts: Iterable[Sequence[str]]) -> None:
        """Learn from tokenized, accented texts (questions, variants, answers)."""
        words: Counter[tuple[str, str]] = Counter()  # (bare letters, accented form)
        pairs: Counter[tuple[str, str, str, str]] = Counter()  # (bare left, bare right, form left, form right)
        for tokens in texts:
            bare = [strip_accents(t) for t in tokens]
            words.update(zip(bare, tokens, strict=True))
            pairs.update(zip(bare, bare[1:], tokens, tokens[1:], strict=False))  # neighbours: one fewer
        # Only each winner and its count are kept, its words interned and a pair keyed by one string: a large base
        # must not hold every counter, nor a copy of each word per pair. Ties go to the form met first.
        self._words: dict[str, str] = {}
        counts: dict[str, int] = {}
        for (b, form), n in words.items():
            if n > counts.get(b, 0):
                self._words[b], counts[b] = sys.intern(form), n
        self._pairs: dict[str, tuple[str, str, int]] = {}
        for (left, right, form_left, form_right), n in pairs.items():
            key = f"{left} {right}"
            best = self._pairs.get(key)
            if best is None or n > best[2]:
                self._pairs[key] = (sys.intern(form_left), sys.intern(form_right), n)

    def restore(self, tokens: Sequence[str]) -> list[str]:
        """``tokens`` with every word typed without marks given the base's accented form, where it has one."""
        out = list(tokens)
        for k, token in enumerate(tokens):
            if strip_accents(token) != token:
                continue
            best: tuple[str, int] | None = None
            for left in (k - 1, k):
                right = left + 1
                if left < 0 or right >= len(tokens):
                    continue
                found = self._pairs.get(f"{strip_accents(tokens[left])} {strip_accents(tokens[right])}")
                if found is not None and (best is None or found[2] > best[1]):
                    best = (found[0] if left == k else found[1], found[2])
            if best is not None:
                out[k] = best[0]
            elif token in self._words:
                out[k] = self._words[token]
        return out
