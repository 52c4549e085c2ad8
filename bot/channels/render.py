"""Render the light Markdown of answers for each channel, and split long texts into message-sized chunks.

Answers (YAML and handler replies) use ``**bold**``, ``- `` / ``1. `` lists, ``[label](url)``, `` `code` ``,
``# headings`` and blank-line paragraphs. Telegram gets HTML in which every piece of text is escaped and
only http(s) links become ``<a href>``; Zalo and the terminal get plain text (``label: url``).

Inline markup never spans lines, so rendering is line-local: splitting the Markdown on paragraphs, lines
or words and rendering each chunk never cuts an HTML tag or entity in two.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

TELEGRAM_LIMIT = 4096

_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>[^()\s]+)\)"
    r"|\*\*(?P<bold>[^\n]+?)\*\*"
)
_BULLET = re.compile(r"^(?P<indent>\s*)[-*+]\s+(?P<rest>.*)$")
_NUMBERED = re.compile(r"^(?P<indent>\s*)(?P<num>\d{1,3})[.)]\s+(?P<rest>.*)$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<rest>.*?)\s*#*\s*$")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)
_MANY_BLANKS = re.compile(r"\n{3,}")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: most emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def is_safe_url(url: str) -> bool:
    """True for an absolute http(s) URL without spaces or quotes."""
    return bool(_SAFE_URL.match(url))


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _inline_html(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(text):
        out.append(_esc(text[pos : m.start()]))
        if m.group("code") is not None:
            out.append(f"<code>{_esc(m.group('code'))}</code>")
        elif m.group("label") is not None:
            label, url = m.group("label"), m.group("url")
            if is_safe_url(url):
                out.append(f'<a href="{html.escape(url, quote=True)}">{_inline_html_no_links(label)}</a>')
            else:
                out.append(f"{_inline_html_no_links(label)} ({_esc(url)})")
        else:
            out.append(f"<b>{_inline_html(m.group('bold'))}</b>")
        pos = m.end()
    out.append(_esc(text[pos:]))
    return "".join(out)


def _inline_html_no_links(text: str) -> str:
    # Inside a link label: only bold and code; a nested link would be invalid HTML.
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.group("label") is not None:
            continue
        out.append(_esc(text[pos : m.start()]))
        if m.group("code") is not None:
            out.append(f"<code>{_esc(m.group('code'))}</code>")
        else:
            out.append(f"<b>{_esc(m.group('bold'))}</b>")
        pos = m.end()
    out.append(_esc(text[pos:]))
    return "".join(out)


def _inline_plain(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group("code") is not None:
            return m.group("code")
        if m.group("label") is not None:
            label, url = _inline_plain(m.group("label")), m.group("url")
            return url if label.strip() == url else f"{label}: {url}"
        return _inline_plain(m.group("bold"))

    return _INLINE.sub(repl, text)


def _normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return _MANY_BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")


def to_telegram_html(text: str) -> str:
    """Render light Markdown as Telegram HTML; all text is escaped, only http(s) links are kept."""
    out: list[str] = []
    for line in _normalize(text).split("\n"):
        if m := _HEADING.match(line):
            out.append(f"<b>{_inline_html(m.group('rest'))}</b>")
        elif m := _BULLET.match(line):
            out.append(f"{m.group('indent')}• {_inline_html(m.group('rest'))}")
        elif m := _NUMBERED.match(line):
            out.append(f"{m.group('indent')}{m.group('num')}. {_inline_html(m.group('rest'))}")
        else:
            out.append(_inline_html(line))
    return "\n".join(out)


def to_plain_text(text: str) -> str:
    """Render light Markdown as plain text: ``[label](url)`` → ``label: url``, bold markers removed."""
    out: list[str] = []
    for line in _normalize(text).split("\n"):
        if m := _HEADING.match(line):
            out.append(_inline_plain(m.group("rest")))
        else:
            out.append(_inline_plain(line))
    return "\n".join(out)


def _hard_cut(word: str, limit: int, length: Callable[[str], int]) -> list[str]:
    pieces: list[str] = []
    rest = word
    while rest:
        if length(rest) <= limit:
            pieces.append(rest)
            break
        lo, hi = 1, len(rest)  # the longest prefix that fits, by binary search (at least one char)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if length(rest[:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        pieces.append(rest[:lo])
        rest = rest[lo:]
    return pieces


_SEPARATORS = ("\n\n", "\n", " ")
_MARGIN = 512  # below limit - margin, word-level packing trusts the additive estimate


def _pack(units: list[str], limit: int, length: Callable[[str], int], level: int, *, exact: bool = False) -> list[str]:
    # Rendering is line-local, so lengths add up exactly across paragraph and line separators; across
    # spaces (inside a line) markup may pair up, so near the limit the candidate is measured exactly.
    sep = _SEPARATORS[level]
    sep_len = len(sep)  # rendering keeps separators as they are (measuring them alone would strip them)
    chunks: list[str] = []
    current: str | None = None
    current_len = 0
    for unit in units:
        if not unit.strip():
            continue
        unit_len = length(unit)
        if unit_len > limit:
            if current is not None:
                chunks.append(current)
                current = None
            chunks.extend(_split(unit, limit, length, level + 1))
            continue
        if current is None:
            current, current_len = unit, unit_len
            continue
        estimate = current_len + sep_len + unit_len
        if sep == " " and (exact or estimate > limit - _MARGIN):
            estimate = length(current + sep + unit)
        if estimate <= limit:
            current, current_len = current + sep + unit, estimate
        else:
            chunks.append(current)
            current, current_len = unit, unit_len
    if current is not None:
        chunks.append(current)
    return chunks


def _split(text: str, limit: int, length: Callable[[str], int], level: int) -> list[str]:
    if level >= len(_SEPARATORS):
        return _hard_cut(text, limit, length)
    pieces = _pack(text.split(_SEPARATORS[level]), limit, length, level)
    out: list[str] = []
    for piece in pieces:  # guard against a drifted estimate: re-pack anything still too long, exactly
        if length(piece) <= limit:
            out.append(piece)
        else:
            out.extend(_pack(piece.split(" "), limit, length, len(_SEPARATORS) - 1, exact=True))
    return out


def split_message(text: str, limit: int = TELEGRAM_LIMIT, *, length: Callable[[str], int] = utf16_len) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` (as measured by ``length``).

    Splits on paragraph boundaries first, then lines, then words; a single word longer than the
    limit is cut by characters. Chunks are stripped of surrounding blank lines; empty chunks are dropped.
    """
    text = _normalize(text)
    if not text.strip():
        return []
    if length(text) <= limit:
        return [text]
    return [c.strip("\n") for c in _split(text, limit, length, 0) if c.strip()]


def render_telegram(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Render Markdown as Telegram HTML chunks, each at most ``limit`` UTF-16 units once rendered."""
    chunks = split_message(text, limit, length=lambda s: utf16_len(to_telegram_html(s)))
    return [html_chunk for html_chunk in (to_telegram_html(c) for c in chunks) if html_chunk.strip()]


def render_plain(text: str, limit: int | None = None) -> list[str]:
    """Render Markdown as plain-text chunks (``limit`` in characters; ``None`` means one chunk)."""
    plain = to_plain_text(text)
    if limit is None:
        return [plain] if plain.strip() else []
    return split_message(plain, limit, length=len)
