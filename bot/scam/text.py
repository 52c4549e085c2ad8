"""Text helpers for the scam checker: accent folding and masking of numbers that must never be kept.

Kept free of the knowledge engine's normalizer so that the checker (and ``python -m bot kiemtra``) starts fast.
"""

from __future__ import annotations

import re
import unicodedata

_COMBINING = re.compile(r"[\u0300-\u036f]")
_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case, without Vietnamese diacritics (``đ`` → ``d``), whitespace collapsed to single spaces."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_EXTRA))
    return _SPACES.sub(" ", _COMBINING.sub("", decomposed)).lower().strip()


# Digit runs (spaces, dots or dashes inside allowed, as card and account numbers are written).
_NUMBER = re.compile(r"(?<![\w])\d(?:[ .\-]?\d){3,}(?![\w])")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_QUERY = re.compile(r"(https?://[^\s?#]+)[?#]\S*", re.IGNORECASE)


def mask(text: str) -> str:
    """``text`` with OTPs, card, account and phone numbers, e-mail names and link queries hidden.

    Numbers of 4–9 digits become ``***`` entirely (OTPs, PINs); longer ones keep their last two digits,
    enough to tell two numbers apart without revealing either.
    """

    def number(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        return "*" * len(digits) if len(digits) < 10 else "*" * (len(digits) - 2) + digits[-2:]

    masked = _NUMBER.sub(number, text)
    masked = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", masked)
    return _QUERY.sub(lambda m: m.group(1) + "?…", masked)
