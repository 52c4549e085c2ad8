"""Small helpers for building replies and buttons; button data is checked by :mod:`handlers.payloads`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

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


def button(label: str, data: str, number: int | None = None) -> Button | None:
    """A data button (typed as ``number`` where buttons are typed), or None when the data would be too long."""
    return Button(label=short_label(label), data=data, number=number) if fits(data) else None


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


def numbered(buttons: Iterable[Button]) -> list[tuple[int, Button]]:
    """Each data button with the number that stands for it: its fixed ``number``, else 1, 2, … skipping those."""
    data = [b for b in buttons if b.data is not None and b.url is None]
    taken = {b.number for b in data if b.number is not None}
    out: list[tuple[int, Button]] = []
    counter = 0
    for b in data:
        if b.number is None:
            counter += 1
            while counter in taken:
                counter += 1
        out.append((b.number if b.number is not None else counter, b))
    return out


def choice_map(replies: Sequence[Reply]) -> dict[int, str]:
    """What each typed number stands for in ``replies``: number → button data."""
    return {n: b.data for n, b in numbered(b for r in replies for row in r.buttons for b in row) if b.data}


def number_list(numbers: Iterable[int]) -> str:
    """Numbers for a sentence: "1, 2, 3 hoặc 9", with 0 last (it reads as "back")."""
    ordered = [str(n) for n in sorted(numbers, key=lambda n: (n == 0, n))]
    return ordered[0] if len(ordered) == 1 else ", ".join(ordered[:-1]) + f" {texts.OR} {ordered[-1]}"


def choose_number(choices: Mapping[int, str]) -> str:
    """The polite "choose one of these numbers" for the numbers on offer."""
    numbers = sorted(choices)
    if numbers == list(range(1, len(numbers) + 1)):
        return texts.CHOOSE_NUMBER.format(count=len(numbers))
    return texts.CHOOSE_NUMBER_OF.format(numbers=number_list(numbers))


def data_buttons(replies: Sequence[Reply]) -> list[str]:
    """The data of every data button in ``replies``, in display order: what "1", "2"… stand for."""
    return [b.data for r in replies for row in r.buttons for b in row if b.data is not None and b.url is None]
