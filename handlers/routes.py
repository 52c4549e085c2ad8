"""The routing table: command words and button data → small handlers; free text → the FAQ.

``handle`` is what every channel calls. It also applies the rules common to all handlers: silence in groups
unless addressed, the flood limit, input checks, bare numbers as button presses, and the pending 👎 comment.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable

from bot import metrics
from bot.kb.normalize import fold
from bot.messages import IncomingMessage, Reply
from bot.services import FloodVerdict, Services
from handlers import broadcast_staff, faq, feedback, menu, privacy, reports, smalltalk, staff, subscriptions, texts
from handlers.ui import button, data_buttons, fits, invalid_button, text

log = logging.getLogger(__name__)

Handler = Callable[[IncomingMessage, Services], Awaitable[list[Reply]]]

MAX_TEXT = 4000

COMMANDS: dict[str, Handler] = {
    "start": menu.start,
    "help": menu.help_,
    "menu": menu.topics,
    "dangky": subscriptions.subscribe,
    "huydangky": subscriptions.unsubscribe,
    "xoadulieu": privacy.ask_delete,
    "reload": staff.reload,
    "thongbao": broadcast_staff.start_notice,
    "lichthongbao": broadcast_staff.list_scheduled,
    "themcanbo": broadcast_staff.add_staff,
    "xoacanbo": broadcast_staff.remove_staff,
    "canbo": broadcast_staff.list_staff,
    "thongke": reports.usage,
}

# Whole messages (accent-folded) that mean a command on channels without slash commands.
COMMAND_WORDS: dict[str, str] = {
    "start": "start", "bat dau": "start",
    "help": "help", "tro giup": "help", "huong dan": "help",
    "menu": "menu", "danh muc": "menu", "chu de": "menu",
    "dangky": "dangky", "dang ky": "dangky", "dang ky nhan thong bao": "dangky",
    "huydangky": "huydangky", "huy dang ky": "huydangky",
    "xoadulieu": "xoadulieu", "xoa du lieu": "xoadulieu", "xoa du lieu cua toi": "xoadulieu",
    "thongke": "thongke", "thong ke": "thongke",
}  # fmt: skip

BUTTONS: dict[str, Handler] = {
    "m": menu.navigate,
    "a": faq.answer_button,
    "x": faq.none_of_these,
    "fb": feedback.vote,
    "del": privacy.confirm,
    "sub": subscriptions.choose,
    "unsub": subscriptions.unsubscribe_button,
    "tb": broadcast_staff.notice_button,
}

_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s|$)")
_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")


async def handle(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Answer one incoming message with a list of replies (possibly empty)."""
    metrics.update_received(msg.channel)
    if msg.is_group and not msg.addressed:
        return []
    key = (msg.channel, msg.user_id)
    now = services.clock()
    verdict = services.flood.check(key, now)
    if verdict is FloodVerdict.SILENT:
        return []
    if verdict is FloodVerdict.NOTICE:
        return text(texts.FLOOD)
    try:
        await services.records.touch(channel=msg.channel, external_id=msg.user_id, display_name=msg.display_name)
        replies = await _dispatch(msg, services)
    except Exception:
        log.exception("handler failed on %s message", msg.channel)
        return text(texts.ERROR)
    if replies:
        services.choices.remember(key, data_buttons(replies), now)
    return replies


async def _dispatch(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Route button data, then typed text."""
    if msg.button_data is not None:
        return await on_button(msg, services)
    if msg.text is None:
        return text(texts.ONLY_TEXT)
    problem = check_text(msg.text)
    if problem is not None:
        return text(problem)
    return await on_text(msg, services, msg.text.strip())


async def on_button(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Dispatch button data by its prefix; anything unknown gets a polite "no longer valid"."""
    data = msg.button_data or ""
    handler = BUTTONS.get(data.split(":", 1)[0])
    if handler is None or not fits(data):
        return invalid_button()
    return await handler(msg, services)


async def on_text(msg: IncomingMessage, services: Services, body: str) -> list[Reply]:
    """Commands, bare-number choices, a pending 👎 comment, small talk, and finally the FAQ."""
    key = (msg.channel, msg.user_id)
    now = services.clock()
    if m := _COMMAND.match(body):
        services.pending.clear(key, feedback.PENDING_KIND)
        handler = COMMANDS.get(m.group(1).lower())
        return await handler(msg, services) if handler else await menu.help_(msg, services)
    if m := _NUMBER.match(body):
        choices = services.choices.choices(key, now)
        if not choices:
            return text(texts.NUMBER_WITHOUT_CHOICES)
        number = int(m.group(1))
        if not 1 <= number <= len(choices):
            return text(texts.CHOOSE_NUMBER.format(count=len(choices)))
        pressed = dataclasses.replace(msg, text=None, button_data=choices[number - 1], message_id=None)
        return await on_button(pressed, services)
    folded = fold(body)
    if pending := services.pending.get(key, now, feedback.PENDING_KIND):
        return await feedback.comment(msg, services, pending.value, body, folded)
    if (
        services.pending.get(key, now, broadcast_staff.PENDING_KIND)
        and (timed := await broadcast_staff.typed_time(msg, services, body)) is not None
    ):
        return timed
    if word := COMMAND_WORDS.get(folded):
        return await COMMANDS[word](msg, services)
    if kind := smalltalk.detect(body):
        return await smalltalk.reply(msg, services, kind)
    return await faq.ask(msg, services, body)


async def greet_follower(msg: IncomingMessage, services: Services) -> list[Reply]:
    """A new follower of the ward's Zalo OA: greet, offer /dangky and the topics."""
    await services.records.touch(channel=msg.channel, external_id=msg.user_id, display_name=msg.display_name)
    replies = text(
        texts.FOLLOW_GREETING.format(ward=services.knowledge.kb.ward.name),
        [button(texts.BUTTON_FOLLOW_SUBSCRIBE, "sub:on")],
        [button(texts.BUTTON_TOPICS, "m:root")],
    )
    services.choices.remember((msg.channel, msg.user_id), data_buttons(replies), services.clock())
    return replies


def check_text(value: str) -> str | None:
    """The polite complaint about unusable text (too long, empty, junk, no words), or None if fine."""
    if len(value) > MAX_TEXT:
        return texts.TOO_LONG.format(length=len(value), limit=MAX_TEXT)
    if not value.strip():
        return texts.EMPTY
    junk = sum(1 for ch in value if _is_junk(ch))
    if "\x00" in value or junk * 10 > len(value):
        return texts.JUNK
    if not any(ch.isalnum() for ch in value):
        return texts.NO_WORDS
    return None


def _is_junk(ch: str) -> bool:
    """Control, private-use, unassigned or replacement characters (line breaks and tabs are fine)."""
    if ch in "\n\r\t":
        return False
    return ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Co", "Cn", "Cs")
