"""The routing table: command words and button data → small handlers; free text → the FAQ.

``handle`` is what every channel calls. It also applies the rules common to all handlers: silence in groups
unless addressed, the flood limit, input checks, bare numbers as button presses, and the live flows (a 👎
comment, a notice's time) that a typed text may belong to. A document is a knowledge file sent by staff (in the
staff group it needs no mention); anyone else gets a polite refusal from the same staff guard.
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
from bot.sanitize import clean_message
from bot.services import FloodVerdict, Services
from handlers import (
    broadcast_staff,
    faq,
    feedback,
    handoff,
    kb_upload,
    menu,
    phananh,
    privacy,
    reports,
    smalltalk,
    staff,
    subscriptions,
    texts,
)
from handlers.payloads import unpack
from handlers.scam import kiemtra, maybe_check
from handlers.ui import button, choice_map, choose_number, invalid_button, text

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
    "kiemtra": kiemtra,
    "hoicanbo": handoff.ask_staff,
    "hangdoi": handoff.queue,
    "phananh": phananh.start,
    "tracuu": phananh.track,
    "hoantac": kb_upload.ask_undo,
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
    "hoicanbo": "hoicanbo", "hoi can bo": "hoicanbo", "gap can bo": "hoicanbo", "gap nguoi that": "hoicanbo",
    "phananh": "phananh", "phan anh": "phananh", "gui phan anh": "phananh", "kien nghi": "phananh",
    "hangdoi": "hangdoi", "hang doi": "hangdoi",
    "hoantac": "hoantac", "hoan tac": "hoantac",
}  # fmt: skip

# The one authorization rule, applied here: these need staff (ADMIN_TELEGRAM_IDS or the staff table). The
# hand-off and report buttons mix citizens' and staff's actions; their staff actions check the same rule.
STAFF_COMMANDS = frozenset(
    {"reload", "thongbao", "lichthongbao", "themcanbo", "xoacanbo", "canbo", "thongke", "hangdoi", "hoantac"}
)
STAFF_BUTTONS = frozenset({"tb", "kb"})

BUTTONS: dict[str, Handler] = {
    "m": menu.navigate,
    "a": faq.answer_button,
    "x": faq.none_of_these,
    "fb": feedback.vote,
    "del": privacy.confirm,
    "sub": subscriptions.choose,
    "unsub": subscriptions.unsubscribe_button,
    "tb": broadcast_staff.notice_button,
    "hc": handoff.on_button,
    "pa": phananh.on_button,
    "kb": kb_upload.on_button,
}

_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s|$)")
_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")


async def handle(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Answer one incoming message with a list of replies (possibly empty)."""
    msg = clean_message(msg)
    metrics.update_received(msg.channel)
    if msg.is_group and not msg.addressed and not (
        msg.document is not None and services.handoff.staff_chat == (msg.channel, msg.chat_id)
    ):
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
        services.choices.remember(key, choice_map(replies), now)
    return replies


async def _dispatch(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Route button data, then typed text."""
    if msg.button_data is not None:
        return await on_button(msg, services)
    if msg.document is not None:
        return await guarded(kb_upload.receive, True, msg, services, refusal=texts.UPLOAD_NOT_STAFF)
    if msg.is_group and msg.reply_to_message_id and services.handoff.staff_chat == (msg.channel, msg.chat_id):
        return await handoff.staff_reply(msg, services)
    if msg.text is None and msg.photo:
        report = await services.flows.get((msg.channel, msg.user_id), phananh.FLOW)
        if report is not None and (replies := await phananh.typed(msg, services, "", report)) is not None:
            return replies
    if msg.text is None:
        return text(texts.ONLY_TEXT)
    if (reaction := smalltalk.reaction(msg.text)) is not None:
        return await smalltalk.react(msg, services, reaction)
    problem = check_text(msg.text)
    if problem is not None:
        return text(problem)
    return await on_text(msg, services, msg.text.strip())


async def on_button(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Dispatch button data by its prefix; unknown or malformed data gets a polite "no longer valid"."""
    payload = unpack(msg.button_data)
    handler = BUTTONS.get(payload.prefix) if payload is not None else None
    if payload is None or handler is None:
        return invalid_button()
    return await guarded(handler, payload.prefix in STAFF_BUTTONS, msg, services)


async def guarded(
    handler: Handler, staff_only: bool, msg: IncomingMessage, services: Services, *, refusal: str = texts.STAFF_ONLY
) -> list[Reply]:
    """Call ``handler``; a staff-only one only for staff (``msg.is_staff`` is set for those in the staff table),
    others get ``refusal``."""
    if staff_only:
        if not await broadcast_staff.is_staff(msg, services):
            return text(refusal)
        msg = dataclasses.replace(msg, is_staff=True)
    return await handler(msg, services)


async def command(name: str, msg: IncomingMessage, services: Services) -> list[Reply]:
    """Run the command ``name`` (known) behind the staff guard."""
    return await guarded(COMMANDS[name], name in STAFF_COMMANDS, msg, services)


async def on_text(msg: IncomingMessage, services: Services, body: str) -> list[Reply]:
    """Commands, bare-number choices, a live flow's input, small talk, and finally the FAQ.

    A 👎 comment is taken only from text that is clearly not a question; a question is answered and ends the
    wait for the comment. A notice draft waiting for its time is never ended by another flow.
    """
    key = (msg.channel, msg.user_id)
    now = services.clock()
    if m := _COMMAND.match(body):
        try:  # a command ends the wait for a 👎 comment; a database that cannot write must not block the command
            await services.flows.finish(key, feedback.PENDING_KIND)
        except Exception as err:
            log.warning("could not end the %s flow before a command: %s", feedback.PENDING_KIND, type(err).__name__)
        name = m.group(1).lower()
        return await command(name, msg, services) if name in COMMANDS else await menu.help_(msg, services)
    if m := _NUMBER.match(body):
        choices = services.choices.choices(key, now)
        if not choices:
            return text(texts.NUMBER_WITHOUT_CHOICES)
        number = int(m.group(1))
        if number not in choices:
            return text(choose_number(choices))
        pressed = dataclasses.replace(msg, text=None, button_data=choices[number], message_id=None)
        return await on_button(pressed, services)
    folded = fold(body)
    flows = await services.flows.active(key)
    if (report := flows.get(phananh.FLOW)) is not None and (
        replies := await phananh.typed(msg, services, body, report)
    ) is not None:
        return replies
    if flows.get(handoff.FLOW) is not None and smalltalk.detect(body) is None:
        return await handoff.typed_question(msg, services, body)
    if (draft := flows.get(broadcast_staff.PENDING_KIND)) is not None and (
        timed := await broadcast_staff.typed_time(msg, services, body, draft)
    ) is not None:
        return timed
    if (checked := await maybe_check(msg, services, body)) is not None:
        return checked
    if word := COMMAND_WORDS.get(folded):
        return await command(word, msg, services)
    kind = smalltalk.detect(body)
    if (feedback_id := flows.get(feedback.PENDING_KIND)) is not None:
        if kind is None and (feedback.is_skip(folded) or not feedback.looks_like_question(body, folded, services)):
            if replies := await feedback.comment(msg, services, feedback_id, body, folded):
                return replies
        elif kind is None:
            await services.flows.finish(key, feedback.PENDING_KIND)  # a new question: the user moved on
    if kind:
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
    services.choices.remember((msg.channel, msg.user_id), choice_map(replies), services.clock())
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
