"""Small helpers for building replies and buttons; button data is checked by :mod:`handlers.payloads`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.messages import Button, Reply
from handlers import texts
from handlers.payloads import fits

MAX_LABEL = 60


def short_label(label: str, limit: int = MAX_LABEL) -> str:
    """Cut a long label at a word boundary with an ellipsis."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    cut = label[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def button(label: str, data: str) -> Button | None:
    """A data button, or None when the data would be too long."""
    return Button(label=short_label(label), data=data) if fits(data) else None


def rows(*groups: Iterable[Button | None]) -> tuple[tuple[Button, ...], ...]:
    """Rows of buttons, dropping missing buttons and empty rows."""
    out = tuple(tuple(b for b in group if b is not None) for group in groups)
    return tuple(row for row in out if row)


def column(items: Iterable[Button | None]) -> list[tuple[Button | None]]:
    """One button per row."""
    return [(b,) for b in items]


def text(message: str, *button_rows: Iterable[Button | None], edit: str | None = None) -> list[Reply]:
    """A single reply with optional button rows."""
    return [Reply(text=message, buttons=rows(*button_rows), edit_message_id=edit)]


def invalid_button() -> list[Reply]:
    """The polite answer to a button we cannot (or no longer) handle."""
    return text(texts.INVALID_BUTTON, [button(texts.BUTTON_TOPICS, "m:root")])


def data_buttons(replies: Sequence[Reply]) -> list[str]:
    """The data of every data button in ``replies``, in display order: what "1", "2"… stand for."""
    return [b.data for r in replies for row in r.buttons for b in row if b.data is not None and b.url is None]
