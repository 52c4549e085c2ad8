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
        words: dict[str, Counter[str]] = {}
        pairs: dict[tuple[str, str], Counter[tuple[str, str]]] = {}
        for tokens in texts:
            bare = [strip_accents(t) for t in tokens]
            for t, b in zip(tokens, bare, strict=True):
                words.setdefault(b, Counter())[t] += 1
            for k in range(len(tokens) - 1):
                pairs.setdefault((bare[k], bare[k + 1]), Counter())[(tokens[k], tokens[k + 1])] += 1
        # Only the winner and its count are kept: a large base must not hold every counter in memory.
        self._words = {b: sys.intern(c.most_common(1)[0][0]) for b, c in words.items()}
        self._pairs = {b: (c.most_common(1)[0][0], c.most_common(1)[0][1]) for b, c in pairs.items()}

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
                found = self._pairs.get((strip_accents(tokens[left]), strip_accents(tokens[right])))
                if found is not None and (best is None or found[1] > best[1]):
                    best = (found[0][0 if left == k else 1], found[1])
            if best is not None:
                out[k] = best[0]
            elif token in self._words:
                out[k] = self._words[token]
        return out
