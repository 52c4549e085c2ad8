"""Light Markdown → JSON blocks the widget turns into DOM nodes (it never parses HTML).

The same syntax as the other channels (see ``bot.channels.render``): ``**bold**``, `` `code` ``,
``[label](url)``, ``- `` and ``1. `` lists, ``# headings`` and blank-line paragraphs. Text stays text: the widget
sets it with ``textContent``; only absolute http(s) links become links (others stay as text).

Blocks: ``{"k": "p", "lines": [[seg…]…]}``, ``{"k": "h", "c": [seg…]}``, ``{"k": "ul", "items": [[seg…]…]}``,
``{"k": "ol", "start": n, "items": [[seg…]…]}``; a segment is ``{"t": text}`` with optional ``"b": 1`` (bold),
``"code": 1`` or ``"href": url``.
"""

from __future__ import annotations

from typing import Any

from bot.channels.render import (  # the shared syntax, so every channel reads answers alike
    _BULLET,
    _HEADING,
    _INLINE,
    _NUMBERED,
    _normalize,
    is_safe_url,
)

Segment = dict[str, Any]
Block = dict[str, Any]


def inline_segments(text: str, *, bold: bool = False, in_link: bool = False) -> list[Segment]:
    """The inline pieces of one line of light Markdown."""
    out: list[Segment] = []

    def plain(value: str) -> None:
        if value:
            out.append({"t": value, "b": 1} if bold else {"t": value})

    pos = 0
    for m in _INLINE.finditer(text):
        if m.group("label") is not None and in_link:
            continue
        plain(text[pos : m.start()])
        if m.group("code") is not None:
            out.append({"t": m.group("code"), "code": 1})
        elif m.group("label") is not None:
            label, url = m.group("label"), m.group("url")
            if is_safe_url(url):
                for seg in inline_segments(label, bold=bold, in_link=True):
                    out.append({**seg, "href": url})
            else:
                out.extend(inline_segments(label, bold=bold, in_link=True))
                plain(f" ({url})")
        else:
            out.extend(inline_segments(m.group("bold"), bold=True, in_link=in_link))
        pos = m.end()
    plain(text[pos:])
    return out


def to_blocks(text: str) -> list[Block]:
    """Render light Markdown as widget blocks (paragraphs, headings, bullet and numbered lists)."""
    blocks: list[Block] = []
    current: Block | None = None
    for line in _normalize(text).split("\n"):
        if not line.strip():
            current = None
            continue
        if m := _HEADING.match(line):
            blocks.append({"k": "h", "c": inline_segments(m.group("rest"))})
            current = None
        elif m := _BULLET.match(line):
            if current is None or current["k"] != "ul":
                current = {"k": "ul", "items": []}
                blocks.append(current)
            current["items"].append(inline_segments(m.group("rest")))
        elif m := _NUMBERED.match(line):
            if current is None or current["k"] != "ol":
                current = {"k": "ol", "start": int(m.group("num")), "items": []}
                blocks.append(current)
            current["items"].append(inline_segments(m.group("rest")))
        else:
            if current is None or current["k"] != "p":
                current = {"k": "p", "lines": []}
                blocks.append(current)
            current["lines"].append(inline_segments(line))
    return blocks
