"""Text as it enters the handlers, made safe to store and search: one pure function for every channel.

Lone UTF-16 surrogates (a half emoji from a client bug or a forged request) cannot be encoded as UTF-8, so
PostgreSQL refuses the whole row; NUL and other control characters are refused by PostgreSQL or garble logs and
terminals. Both are removed; line breaks and tabs stay, and ``\\r\\n``/``\\r`` become ``\\n``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import unicodedata

from bot.messages import IncomingMessage

_NEWLINES = re.compile(r"\r\n?")
_KEEP = frozenset("\n\t")


def clean_text(value: str) -> str:
    """``value`` without lone surrogates and control characters (line breaks and tabs kept)."""
    value = _NEWLINES.sub("\n", value)
    if value.isprintable():  # the common case: nothing to drop, no per-character work
        return value
    return "".join(ch for ch in value if ch in _KEEP or unicodedata.category(ch) not in ("Cc", "Cs"))


def from_shell(value: str) -> str:
    """Text from a command's arguments or standard input, made like any channel's: bytes that were not UTF-8 (which
    Python keeps as lone surrogates) become U+FFFD, then :func:`clean_text`."""
    with contextlib.suppress(UnicodeEncodeError):  # a surrogate that is no escaped byte: clean_text drops it
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return clean_text(value)


def clean_message(msg: IncomingMessage) -> IncomingMessage:
    """``msg`` with its text and display name cleaned (the same object when nothing changes)."""
    text = None if msg.text is None else clean_text(msg.text)
    name = None if msg.display_name is None else clean_text(msg.display_name)
    if text == msg.text and name == msg.display_name:
        return msg
    return dataclasses.replace(msg, text=text, display_name=name)
