"""Button payloads: one typed shape list per prefix, packed and checked (64 bytes at most) in one place.

Button data travels through the citizen's app and comes back as ``IncomingMessage.button_data``; anyone can
forge it. :func:`unpack` accepts only data that matches one of its prefix's shapes exactly: literals, bounded
integers, ASCII slugs, short nonces. Anything else (``fb:99999999999:1``, ``m:cat:vneid:²``) is refused
before a handler sees it, and the routing table answers politely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64  # Telegram's callback_data limit, the smallest of the channels
MAX_INT = 2**31 - 1  # database integer columns


@dataclass(frozen=True)
class Kind:
    """One field's type: a pattern, and for integers a range."""

    name: str
    pattern: re.Pattern[str]
    integer: bool = False

    def accepts(self, value: str) -> bool:
        """True when ``value`` is of this kind."""
        if not self.pattern.fullmatch(value):
            return False
        return not self.integer or 1 <= int(value) <= MAX_INT


INT = Kind("int", re.compile(r"[0-9]{1,10}"), integer=True)
PAGE = Kind("page", re.compile(r"[0-9]{1,3}"))  # a menu page, counted from 0
SLUG = Kind("slug", re.compile(r"[a-z0-9][a-z0-9_-]{0,61}"))
SLUG_OR_ALL = Kind("slug or *", re.compile(r"\*|[a-z0-9][a-z0-9_-]{0,61}"))
SLUG_OR_NONE = Kind("slug or -", re.compile(r"-|[a-z0-9][a-z0-9_-]{0,61}"))
FLAG = Kind("0 or 1", re.compile(r"[01]"))
NONCE = Kind("nonce", re.compile(r"[A-Za-z0-9_-]{1,32}"))

Field = str | Kind  # a literal, or a typed value

# Every button the handlers build, by prefix; each tuple is one accepted shape after the prefix.
SHAPES: dict[str, tuple[tuple[Field, ...], ...]] = {
    "m": (("root",), ("cat", SLUG), ("cat", SLUG, PAGE)),
    "a": ((SLUG,),),
    "fb": (("skip",), (INT, FLAG), ("e", SLUG, FLAG)),
    "del": (("yes", NONCE), ("no", NONCE)),
    "sub": (("on",), ("ok",), ("t", SLUG), ("a", SLUG_OR_NONE)),
    "unsub": ((),),
    "tb": (
        ("t", SLUG_OR_ALL), ("a", SLUG_OR_ALL), ("now",), ("later",), ("go",), ("back",), ("x",), ("c", INT),
    ),
    "x": ((INT,),),
    "hc": (("ask",), ("c", INT), ("kb", INT)),
    "pa": (("t", SLUG), ("skip",), ("ok",), ("no",), ("as", INT), ("cl", INT)),
    "kb": (("ok", NONCE), ("no", NONCE), ("uy", NONCE), ("un", NONCE)),  # apply/cancel an upload; undo/keep
}


@dataclass(frozen=True)
class Payload:
    """Button data split into its prefix and fields."""

    prefix: str
    fields: tuple[str, ...]


def fits(data: str) -> bool:
    """True when ``data`` is short enough for every channel's button payload."""
    return 0 < len(data.encode("utf-8")) <= MAX_BYTES


def _matches(fields: list[str], shape: tuple[Field, ...]) -> bool:
    if len(fields) != len(shape):
        return False
    return all(f == s if isinstance(s, str) else s.accepts(f) for f, s in zip(fields, shape, strict=True))


def unpack(data: str | None) -> Payload | None:
    """The payload of ``data`` when it has a known prefix and matches one of its shapes, else None."""
    if data is None or not fits(data) or not data.isascii():
        return None
    prefix, *fields = data.split(":")
    shapes = SHAPES.get(prefix)
    if shapes is None or not any(_matches(fields, shape) for shape in shapes):
        return None
    return Payload(prefix, tuple(fields))


def pack(prefix: str, *fields: str | int) -> str:
    """Button data for ``prefix`` and ``fields``; raises ValueError when it matches no shape or is too long."""
    data = ":".join([prefix, *(str(f) for f in fields)])
    if unpack(data) is None:
        raise ValueError(f"not a valid {prefix!r} button payload: {data!r}")
    return data
