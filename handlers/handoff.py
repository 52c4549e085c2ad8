"""A person when the bot is not enough: a citizen's question goes to the staff group, staff answer by replying.

``/hoicanbo [câu hỏi]``, the "Hỏi cán bộ" button under a decline, or "Không phải các câu trên" start it. The staff
group sees the question with the citizen's channel, a short anonymous label and the recent exchange; the first
staff member to claim it owns it; replying to that message sends the answer to the citizen on the channel they
used, marked as coming from ward staff; one more tap saves the pair as a knowledge-base draft.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging

from bot.handoff.drafts import append_draft
from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.broadcast_staff import is_staff
from handlers.ui import button, text

log = logging.getLogger(__name__)

FLOW = "handoff"  # waiting for the question to pass on
FLOW_TTL = 15 * 60.0
MAX_QUESTION = 2000


def citizen_label(channel: str, user_id: str) -> str:
    """A short, stable, anonymous label for a citizen (no name, no phone number, no channel id)."""
    tag = hashlib.sha256(f"{channel}:{user_id}".encode()).hexdigest()[:4].upper()
    return texts.CITIZEN_LABEL.format(tag=tag, channel=texts.CHANNEL_NAMES.get(channel, channel))


def age(since: dt.datetime, now: dt.datetime) -> str:
    """How long ago ``since`` was, in words."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 120:
        return texts.AGE_MINUTES.format(n=minutes)
    if minutes < 48 * 60:
        return texts.AGE_HOURS.format(n=minutes // 60)
    return texts.AGE_DAYS.format(n=minutes // (24 * 60))


def staff_name(msg: IncomingMessage) -> str:
    """How a staff member is named to colleagues."""
    return msg.display_name or f"cán bộ {msg.user_id}"


def closed_note(services: Services) -> str:
    """The "outside office hours" sentence with the next opening, or "" while staff are at work."""
    opening = services.handoff.next_open()
    if opening is None:
        return ""
    return texts.HANDOFF_SENT_CLOSED.format(time=opening.strftime("%H:%M"), day=texts.WEEKDAYS[opening.weekday()],
                                            date=opening.strftime("%d/%m/%Y"))


def unavailable(services: Services) -> list[Reply]:
    """No staff group: the ward's contacts instead."""
    return text(texts.HANDOFF_UNAVAILABLE.format(contact=services.knowledge.kb.ward.contact_line()))


async def ask_staff(msg: IncomingMessage, services: Services) -> list[Reply]:
    """``/hoicanbo [câu hỏi]``: pass the question on, or ask for it."""
    if not services.handoff.available:
        return unavailable(services)
    body = (msg.text or "").strip()
    question = body.split(None, 1)[1].strip() if body.startswith("/") and len(body.split(None, 1)) > 1 else ""
    if question:
        return await pass_on(msg, services, question)
    await services.flows.start((msg.channel, msg.user_id), FLOW, "ask", ttl=FLOW_TTL)
    return text(texts.HANDOFF_ASK_WHAT)


async def ask_button(msg: IncomingMessage, services: Services) -> list[Reply]:
    """The "Hỏi cán bộ" button: pass on the citizen's last question, or ask for one."""
    if not services.handoff.available:
        return unavailable(services)
    recent = await services.handoff.recent_questions(msg.channel, msg.user_id)
    if recent:
        return await pass_on(msg, services, recent[-1])
    await services.flows.start((msg.channel, msg.user_id), FLOW, "ask", ttl=FLOW_TTL)
    return text(texts.HANDOFF_ASK_WHAT)


async def typed_question(msg: IncomingMessage, services: Services, body: str) -> list[Reply]:
    """The text that follows ``/hoicanbo``: the question to pass on."""
    await services.flows.finish((msg.channel, msg.user_id), FLOW)
    return await pass_on(msg, services, body)


async def pass_on(msg: IncomingMessage, services: Services, question: str) -> list[Reply]:
    """Record the ticket, post it in the staff group, and tell the citizen what happens next."""
    question = question[:MAX_QUESTION]
    recent = [q for q in await services.handoff.recent_questions(msg.channel, msg.user_id) if q != question]
    context = "\n".join(f"– {q[:300]}" for q in recent)
    ticket = await services.handoff.create_ticket(msg.channel, msg.user_id, msg.chat_id, question, context)
    body = texts.HANDOFF_STAFF_NEW.format(id=ticket.id, who=citizen_label(msg.channel, msg.user_id),
                                          question=question)
    if context:
        body += texts.HANDOFF_STAFF_CONTEXT.format(lines=context)
    body += texts.HANDOFF_STAFF_HOW
    message_id = await services.handoff.to_staff(text(body, [button(texts.BUTTON_CLAIM, f"hc:c:{ticket.id}")]))
    if message_id is None:
        return text(texts.HANDOFF_RELAY_FAILED.format(contact=services.knowledge.kb.ward.contact_line()))
    await services.handoff.set_ticket_message(ticket.id, message_id)
    return text(texts.HANDOFF_SENT.format(id=ticket.id) + closed_note(services))


async def on_button(msg: IncomingMessage, services: Services) -> list[Reply]:
    """``hc:ask`` (a citizen), ``hc:c:<id>`` and ``hc:kb:<id>`` (staff)."""
    action = (msg.button_data or "").split(":")[1:2]
    if action == ["ask"]:
        return await ask_button(msg, services)
    if action == ["c"]:
        return await claim(msg, services)
    if action == ["kb"]:
        return await save_draft(msg, services)
    return text(texts.INVALID_BUTTON)


async def staff_reply(msg: IncomingMessage, services: Services) -> list[Reply]:
    """A reply in the staff group to one of the bot's messages: an answer to a question or to a report."""
    reply_to = msg.reply_to_message_id or ""
    answer = (msg.text or "").strip()
    ticket = await services.handoff.ticket_for_message(reply_to)
    report = None if ticket is not None else await services.handoff.report_for_message(reply_to)
    if ticket is None and report is None:
        return []  # a reply to another of the bot's messages: nothing for the citizens
    if not await is_staff(msg, services):
        return text(texts.HANDOFF_ONLY_STAFF)
    if not answer:
        return text(texts.HANDOFF_NO_QUESTION)
    if ticket is not None:
        return await answer_ticket(msg, services, ticket.id, answer)
    from handlers.phananh import answer_report  # the reports module builds on this one

    assert report is not None
    return await answer_report(msg, services, report.id, answer)


async def claim(msg: IncomingMessage, services: Services) -> list[Reply]:
    """``hc:c:<id>``: a staff member claims a question (the first one wins)."""
    ticket_id = _number(msg.button_data)
    if ticket_id is None:
        return text(texts.HANDOFF_NOT_FOUND)
    if not await is_staff(msg, services):
        return text(texts.HANDOFF_ONLY_STAFF)
    won, ticket = await services.handoff.claim(ticket_id, msg.user_id, staff_name(msg))
    if ticket is None:
        return text(texts.HANDOFF_NOT_FOUND)
    if not won:
        return text(texts.HANDOFF_CLAIMED_BY_OTHER.format(id=ticket.id, name=ticket.claimed_name or "?"))
    return text(texts.HANDOFF_CLAIMED.format(name=staff_name(msg), id=ticket.id))


async def answer_ticket(msg: IncomingMessage, services: Services, ticket_id: int, answer: str) -> list[Reply]:
    """A staff member replied to a question's message: claim if free, deliver to the citizen, offer the draft."""
    won, ticket = await services.handoff.claim(ticket_id, msg.user_id, staff_name(msg))
    if ticket is None:
        return text(texts.HANDOFF_NOT_FOUND)
    if ticket.status == "answered":
        return text(texts.HANDOFF_ALREADY_ANSWERED.format(id=ticket.id))
    if not won:
        return text(texts.HANDOFF_CLAIMED_BY_OTHER.format(id=ticket.id, name=ticket.claimed_name or "?"))
    reply = text(texts.HANDOFF_ANSWER_TO_CITIZEN.format(id=ticket.id, answer=answer))
    failure = await services.handoff.to_citizen(ticket.channel, ticket.chat_id, reply)
    if failure is not None:
        return text(texts.HANDOFF_NOT_DELIVERED.format(id=ticket.id, reason=failure))
    await services.handoff.answer(ticket.id, msg.user_id, answer)
    return text(texts.HANDOFF_DELIVERED.format(id=ticket.id), [button(texts.BUTTON_SAVE_DRAFT, f"hc:kb:{ticket.id}")])


async def save_draft(msg: IncomingMessage, services: Services) -> list[Reply]:
    """``hc:kb:<id>``: append the question and staff's answer to the knowledge drafts file."""
    ticket_id = _number(msg.button_data)
    if ticket_id is None:
        return text(texts.HANDOFF_NOT_FOUND)
    if not await is_staff(msg, services):
        return text(texts.HANDOFF_ONLY_STAFF)
    ticket = await services.handoff.ticket(ticket_id)
    if ticket is None:
        return text(texts.HANDOFF_NOT_FOUND)
    if not ticket.answer:
        return text(texts.HANDOFF_DRAFT_NOT_READY.format(id=ticket.id))
    today = services.handoff.local_now().date()
    try:
        path, entry_id = await asyncio.to_thread(
            append_draft, services.settings.knowledge_dir, ticket_id=ticket.id, question=ticket.question,
            answer=ticket.answer, today=today,
        )
    except OSError as err:
        log.warning("could not write the knowledge draft: %s", err)
        return text(texts.HANDOFF_DRAFT_FAILED.format(reason=err.strerror or type(err).__name__))
    return text(texts.HANDOFF_DRAFT_SAVED.format(entry=entry_id, file=path.name))


async def queue(msg: IncomingMessage, services: Services) -> list[Reply]:
    """``/hangdoi`` (staff only, guarded in the routing table): what waits for staff, oldest first, with its age."""
    now = services.clock()
    lines = [
        texts.QUEUE_TICKET.format(
            id=t.id, age=age(t.created_at, now), question=_short(t.question),
            state=texts.QUEUE_CLAIMED_BY.format(name=t.claimed_name) if t.claimed_by else texts.QUEUE_UNCLAIMED,
        )
        for t in await services.handoff.open_tickets()
    ]
    lines += [
        texts.QUEUE_REPORT.format(
            code=r.code, age=age(r.created_at, now), topic=r.topic, description=_short(r.description),
            state=texts.QUEUE_CLAIMED_BY.format(name=r.assigned_name) if r.assigned_to else texts.QUEUE_UNCLAIMED,
        )
        for r in await services.handoff.open_reports()
    ]
    if not lines:
        return text(texts.QUEUE_EMPTY)
    return text("\n".join([texts.QUEUE_HEADER, *lines]))


async def remind(services: Services, wait: dt.timedelta) -> int:
    """Tell the staff group once about each question nobody claimed within ``wait``; returns how many."""
    due = await services.handoff.take_due_reminders(wait)
    now = services.clock()
    for ticket in due:
        minutes = int((now - ticket.created_at).total_seconds() // 60)
        await services.handoff.to_staff(text(
            texts.HANDOFF_REMINDER.format(id=ticket.id, minutes=minutes, question=_short(ticket.question)),
            [button(texts.BUTTON_CLAIM, f"hc:c:{ticket.id}")],
        ))
    return len(due)


def _short(value: str, limit: int = 120) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _number(data: str | None) -> int | None:
    tail = (data or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() and len(tail) <= 12 else None
